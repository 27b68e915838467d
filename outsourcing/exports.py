"""Tables as downloads: CSV or XLSX from the rows a page shows, safe to open in a spreadsheet.

A cell a spreadsheet would read as a formula (``=HYPERLINK(...)``, ``+1``,
``@SUM``) can run when someone opens the file, and the text in our tables
comes from providers and e-mails. Such text gets a leading apostrophe, the
usual guard (OWASP "CSV injection"); real numbers are never touched.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeGuard
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What starts a formula (or, for tab and carriage return, hides one) in Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
MAX_FILENAME = 100
# XLSX keeps at most this many decimals in a display format worth showing.
MAX_DECIMAL_PLACES = 10
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def guard_text(text: str) -> str:
    """The text, with a leading apostrophe when a spreadsheet would take it for a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _is_number(value: object) -> TypeGuard[int | float | Decimal]:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_finite(value: int | float | Decimal) -> bool:
    """NaN and infinity have no spreadsheet cell: they are left empty."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True


def _local(value: datetime) -> datetime:
    """Wall-clock time in the current zone, without tzinfo: spreadsheets have no time zones."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


def safe_filename(filename: str, extension: str) -> str:
    """A download name without paths, quotes or control characters, ending in ``.extension``."""
    name = unicodedata.normalize("NFC", filename).strip()
    name = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    name = re.sub(r"[^\w.\- ]+", "-", name).strip(" .-")
    name = re.sub(r"\s+", " ", name)
    suffix = f".{extension}"
    if name.lower().endswith(suffix):
        name = name[: -len(suffix)]
    name = name[:MAX_FILENAME].strip(" .-") or "export"
    return f"{name}{suffix}"


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII name for old clients and the UTF-8 name (RFC 6266) for the rest."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^\w.\- ]+", "-", ascii_name) or "export"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=utf-8''{quote(filename, safe='')}"
    return header


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if _is_number(value):
        if not _is_finite(value):
            return ""
        # Decimal's str() may use an exponent ("1E+2"); a spreadsheet wants plain digits.
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return guard_text(str(value))


def _csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    # The BOM tells Excel the file is UTF-8; without it umlauts arrive mangled.
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([guard_text(str(h)) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


class _XlsxCells:
    """Writes one value per cell with the right XlsxWriter call and a cached number format."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.formats: dict[str, Any] = {}

    def format(self, num_format: str) -> Any:
        if num_format not in self.formats:
            self.formats[num_format] = self.workbook.add_format({"num_format": num_format})
        return self.formats[num_format]

    def write(self, sheet: Any, row: int, col: int, value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif _is_number(value):
            if not _is_finite(value):
                return
            if isinstance(value, Decimal):
                # Keep what the page shows: 12.50 stays 12.50, not 12.5.
                places = min(max(-int(value.as_tuple().exponent), 0), MAX_DECIMAL_PLACES)
                fmt = self.format("0." + "0" * places) if places else None
                sheet.write_number(row, col, float(value), fmt)
            else:
                sheet.write_number(row, col, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, _local(value), self.format(DATETIME_FORMAT))
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, self.format(DATE_FORMAT))
        else:
            # write_string, never write(): nothing a provider typed becomes a formula or a link.
            sheet.write_string(row, col, guard_text(str(value)))


def _xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.BytesIO()
    # constant_memory writes each row out as soon as the next begins: a long table stays cheap.
    workbook = xlsxwriter.Workbook(
        out,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    cells = _XlsxCells(workbook)
    for col, header in enumerate(headers):
        sheet.write_string(0, col, guard_text(str(header)), bold)
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            cells.write(sheet, r, col, value)
    workbook.close()
    return out.getvalue()


def table_response(
    *, filename: str, fmt: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    """A download of one table as ``fmt`` ("csv" or "xlsx"); any other format is a ValueError.

    Cells may be text (lazy translations too), numbers, Decimals, booleans,
    dates, aware datetimes (shown in the current time zone) or None (empty).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format: {fmt!r}")
    content = _csv_bytes(headers, rows) if fmt == "csv" else _xlsx_bytes(headers, rows)
    response = HttpResponse(content, content_type=FORMATS[fmt])
    response["Content-Disposition"] = _content_disposition(safe_filename(filename, fmt))
    return response
