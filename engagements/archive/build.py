"""Writing the zip of a complete export, table by table, with the progress on its row.

The zip holds ``manifest.json`` (format, version, when, and per table its
row count and members), each table as ``json/NAME.json`` and ``csv/NAME.csv``
(the same rows and columns), and the stored files under ``files/``. The JSON
is an array with one row per line, so the import reads it a line at a time
and a million messages never sit in memory at once.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.utils import timezone

from engagements.archive.tables import (
    FORMAT,
    MANIFEST,
    PEOPLE,
    PEOPLE_COLUMNS,
    TABLES,
    VERSION,
    WORKSPACE_FIELDS,
    Table,
    csv_converters,
    json_converters,
    rows_of,
)
from outsourcing.models import Membership, User, Workspace

CHUNK = 2_000

Progress = Callable[[str, int, int], None]


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")


class _TableWriter:
    """Writes one table as JSON and CSV, each spooled to a temporary file and added to the zip on close.

    Spooled rather than written straight into the zip: a zip takes one member at a
    time, and the table's files go in while its rows are being written.
    """

    def __init__(
        self, archive: zipfile.ZipFile, name: str, columns: list[str], fields: list[models.Field | None]
    ) -> None:
        self.archive = archive
        self.name = name
        self.columns = columns
        self._to_json = json_converters(fields)
        self._to_csv = csv_converters(fields)
        self.count = 0
        self._json = _spool()
        self._json.write(b"[")
        self._csv_file = _spool()
        self._csv_text = io.TextIOWrapper(self._csv_file, encoding="utf-8", newline="")
        self._csv = csv.writer(self._csv_text)
        self._csv.writerow(columns)

    def row(self, values: list[Any]) -> None:
        values = [v if c is None or v is None else c(v) for v, c in zip(values, self._to_json, strict=True)]
        line = json.dumps(dict(zip(self.columns, values, strict=True)), ensure_ascii=False)
        self._json.write((",\n" if self.count else "\n").encode() + line.encode())
        self._csv.writerow(
            ["" if v is None else v if c is None else c(v) for v, c in zip(values, self._to_csv, strict=True)]
        )
        self.count += 1

    def _add(self, member: str, spooled: IO[bytes]) -> None:
        spooled.seek(0)
        with self.archive.open(member, "w", force_zip64=True) as out:
            shutil.copyfileobj(spooled, out)

    def close(self) -> dict[str, Any]:
        self._json.write(b"\n]\n")
        self._add(f"json/{self.name}.json", self._json)
        self._json.close()
        self._csv_text.flush()
        self._add(f"csv/{self.name}.csv", self._csv_file)
        self._csv_text.close()
        return {"rows": self.count, "json": f"json/{self.name}.json", "csv": f"csv/{self.name}.csv"}


def _copy_file(archive: zipfile.ZipFile, stored: str, member: str) -> bool:
    """Copy a stored upload into the zip; False when storage no longer has it."""
    try:
        source = default_storage.open(stored, "rb")
    except FileNotFoundError:
        return False
    with source, archive.open(member, "w", force_zip64=True) as out:
        shutil.copyfileobj(source, out)
    return True


def _table_rows(table: Table, workspace: Workspace) -> Iterator[list[Any]]:
    attnames = [f.attname for f in table.fields()]
    for values in rows_of(table, workspace).values_list("pk", *attnames).iterator(chunk_size=CHUNK):
        yield list(values)


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of the database for the whole export, whatever is logged meanwhile.

    Tables are read one after another: without this, a message logged between
    reading the messages and reading the exchanges would leave an exchange
    pointing at a message the archive lacks. PostgreSQL gives a transaction
    one snapshot with REPEATABLE READ; SQLite's read transaction has one anyway,
    begun DEFERRED here: the settings' IMMEDIATE would hold the write lock, and
    every request that logs something would wait for the export to finish.
    """
    if connection.vendor == "sqlite":
        mode = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = "DEFERRED"  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                yield
        finally:
            connection.transaction_mode = mode  # type: ignore[attr-defined]
        return
    outermost = not connection.in_atomic_block  # inside a caller's transaction, its snapshot holds
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def build_archive(workspace: Workspace, path: str, progress: Progress) -> dict[str, Any]:
    """Write the complete export of ``workspace`` to the zip at ``path``; returns the manifest.

    ``progress(step, done, total)`` is called after every chunk of rows, from
    inside the snapshot's transaction: it must write through a connection of its own.
    """
    with _snapshot():
        return _build(workspace, path, progress)


def _build(workspace: Workspace, path: str, progress: Progress) -> dict[str, Any]:
    totals = {table.name: rows_of(table, workspace).count() for table in TABLES}
    total = sum(totals.values()) or 1
    done = 0
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "workspace": {name: getattr(workspace, name) for name in ("slug", *WORKSPACE_FIELDS)},
        "tables": {},
        "missing_files": [],
    }
    people: set[int] = set()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for table in TABLES:
            columns = table.columns()
            user_columns = [i for i, c in enumerate(columns) if table.refs.get(c) == PEOPLE]
            file_columns = [i for i, c in enumerate(columns) if c in table.files]
            writer = _TableWriter(archive, table.name, columns, [None, *table.fields()])
            for values in _table_rows(table, workspace):
                people.update(values[i] for i in user_columns if values[i] is not None)
                for i in file_columns:
                    if values[i]:
                        member = f"files/{table.name}/{values[0]}{PurePath(values[i]).suffix.lower()[:10]}"
                        if _copy_file(archive, values[i], member):
                            values[i] = member
                        else:
                            manifest["missing_files"].append(values[i])
                            values[i] = ""
                writer.row(values)
                done += 1
                if done % CHUNK == 0:
                    progress(table.name, done, total)
            manifest["tables"][table.name] = writer.close()
            progress(table.name, done, total)
        manifest["tables"][PEOPLE] = _write_people(archive, workspace, people)
        manifest["files"] = {
            "count": sum(1 for info in archive.infolist() if info.filename.startswith("files/")),
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _write_people(archive: zipfile.ZipFile, workspace: Workspace, referenced: set[int]) -> dict[str, Any]:
    """The members, with their roles, and anyone else a row names (a member who left)."""
    roles = dict(Membership.objects.filter(workspace=workspace).values_list("user_id", "role"))
    users = User.objects.filter(pk__in=set(roles) | referenced).order_by("pk")
    writer = _TableWriter(archive, PEOPLE, PEOPLE_COLUMNS, [None] * len(PEOPLE_COLUMNS))
    for user in users:
        writer.row([user.pk, user.email, user.first_name, user.last_name, roles.get(user.pk, "")])
    return writer.close()
