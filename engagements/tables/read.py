"""An uploaded or pasted spreadsheet as a header row and data rows.

tablib (with openpyxl for XLSX) does the reading; this module only decides
how to decode the bytes and which separator a CSV uses, since spreadsheets
exported in German-speaking countries use ``;`` and Excel adds a BOM.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

import tablib
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Beyond this many data rows a file is refused: 10,000 is what the import is built and measured for.
MAX_ROWS = 20_000
MAX_COLUMNS = 100
SEPARATORS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"


class TableError(ValueError):
    """The file cannot be read as a table; the message says why, for the person who sent it."""


@dataclass
class Table:
    headers: list[str]
    # (the row's number in the spreadsheet, the header being row 1; its cells)
    rows: list[tuple[int, list[Any]]]


def max_bytes() -> int:
    return int(settings.TABLE_IMPORT_MAX_BYTES)


def _decode(data: bytes) -> str:
    # utf-8-sig drops Excel's BOM; files saved by older Excel on Windows are cp1252.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(_("The file is neither UTF-8 nor Windows-1252 text."))


def _separator(text: str) -> str:
    """The separator of the header line: the one it holds most of (a tab when pasted from a sheet)."""
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _csv(data: bytes) -> tablib.Dataset:
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise TableError(_("This is not a text file. Upload a CSV or XLSX file."))
    try:
        return tablib.Dataset().load(text, format="csv", delimiter=_separator(text))
    except (csv.Error, tablib.InvalidDimensions) as exc:
        raise TableError(_("The rows of this file do not line up: %(error)s") % {"error": exc}) from exc


def _xlsx(data: bytes) -> tablib.Dataset:
    try:
        return tablib.Dataset().load(io.BytesIO(data), format="xlsx")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, tablib.InvalidDimensions) as exc:
        raise TableError(_("This XLSX file cannot be read. Save it again from your spreadsheet.")) from exc


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unique(headers: list[str]) -> list[str]:
    """Headers are how columns are mapped: a repeated one becomes "Name (2)"."""
    seen: dict[str, int] = {}
    unique = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        unique.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return unique


def read_table(data: bytes, filename: str = "") -> Table:
    """The table in ``data`` (CSV, pasted cells or XLSX), without blank rows; TableError if unreadable."""
    if len(data) > max_bytes():
        raise TableError(
            _("The file is too large (at most %(size)s).") % {"size": filesizeformat(max_bytes())}
        )
    if not data.strip():
        raise TableError(_("The file is empty."))
    name = filename.lower()
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(_("Old Excel files (.xls) cannot be read. Save the sheet as XLSX or CSV."))
    dataset = _xlsx(data) if data.startswith(XLSX_MAGIC) or name.endswith(".xlsx") else _csv(data)
    headers = [str(h or "").strip() for h in (dataset.headers or [])]
    if not any(headers):
        raise TableError(_("The first row must name the columns."))
    if len(headers) > MAX_COLUMNS:
        raise TableError(_("The file has more than %(count)d columns.") % {"count": MAX_COLUMNS})
    # A nameless column still needs a name to be mapped by.
    headers = _unique([h or _("Column %(number)d") % {"number": i} for i, h in enumerate(headers, start=1)])
    rows = [(n, list(row)) for n, row in enumerate(dataset, start=2) if not all(_blank(v) for v in row)]
    if len(rows) > MAX_ROWS:
        raise TableError(_("The file has more than %(count)d rows.") % {"count": MAX_ROWS})
    return Table(headers=headers, rows=rows)
