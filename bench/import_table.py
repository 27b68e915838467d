"""Spreadsheet import on PostgreSQL (issue 14): 10,000 providers, then 10,000 engagements, each under 30 s.

Each file is the messy kind people have: the providers a German CSV (BOM,
``;``, 1.234,56, an extra column), the engagements an XLSX with date cells,
Excel serial numbers and German status names. Timed from the bytes to the
committed rows, through ``table_import`` as the import page and
``manage.py import_table`` run it. Then the same engagements again: every row
matched and skipped as unchanged, and 10,000 messages logged through the log's
service.
"""

from __future__ import annotations

import io
import os
import sys
import time
from datetime import date, timedelta

from bench.__main__ import _fresh_workspace

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_import"
COUNT = int(os.environ.get("BENCH_IMPORT_COUNT", "10000"))
TARGET_SECONDS = 30.0


def _providers_csv() -> bytes:
    lines = ["Name;E-Mail;Stundensatz;Währung;Land;Fähigkeiten;Lieblingsfarbe"]
    for i in range(COUNT):
        if i % 2:
            rate = f"{1000 + i:,}".replace(",", ".") + ",50"  # 1.001,50
            lines.append(f"Provider {i};p{i}@vendor.example;{rate};EUR;Deutschland;SEO, Figma;blau")
        else:
            lines.append(f"Provider {i};p{i}@vendor.example;{i % 90},5;EUR;DE;Webdesign;grün")
    return ("\ufeff" + "\n".join(lines)).encode()


def _engagements_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Titel", "Anbieter", "Fällig", "Honorar", "Status", "Priorität", "Notiz"])
    for i in range(COUNT):
        due = date(2027, 1, 1) + timedelta(days=i % 200) if i % 2 else 46400 + i % 200
        sheet.append(
            [
                f"Task {i}",
                f"p{i % 500}@vendor.example",
                due,
                f"{i % 900},00",
                "Angefragt" if i % 3 else "Entwurf",
                "Hoch",
                "x",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _timed(workspace, user, kind: str, data: bytes, filename: str):
    from django.db import reset_queries

    from engagements.tables import columns, importer
    from engagements.tables.read import read_table

    reset_queries()
    started = time.perf_counter()
    table = read_table(data, filename)
    mapping = columns.guess_mapping(kind, table.headers)
    report = importer.table_import(workspace=workspace, kind=kind, table=table, mapping=mapping, by=user)
    seconds = time.perf_counter() - started
    if not report.applied:
        errors = [(row.number, row.errors) for row in report.rows if row.errors][:5]
        raise SystemExit(f"{kind}: not imported: {report.problems} {errors}")
    return seconds, report.counts


def _line(what: str, seconds: float, counts: dict[str, int], target: float | None = TARGET_SECONDS) -> str:
    verdict = (
        "" if target is None else f"  target < {target:.0f} s: {'met' if seconds < target else 'NOT met'}"
    )
    rate = COUNT / seconds
    return f"{what}: {seconds:.1f} s ({rate:,.0f} rows/s) {counts}{verdict}"


def main() -> int:
    workspace, user = _fresh_workspace(os.environ.get("BENCH_IMPORT_DATABASE_URL", DEFAULT_URL))
    from django.utils import timezone

    print("Spreadsheet import, PostgreSQL")
    seconds, counts = _timed(workspace, user, "providers", _providers_csv(), "providers.csv")
    print(_line(f"{COUNT:,} providers from a German CSV", seconds, counts))
    engagements = _engagements_xlsx()
    seconds, counts = _timed(workspace, user, "engagements", engagements, "engagements.xlsx")
    print(_line(f"{COUNT:,} engagements from an XLSX", seconds, counts))
    seconds, counts = _timed(workspace, user, "engagements", engagements, "engagements.xlsx")
    print(_line(f"the same {COUNT:,} engagements again (all unchanged)", seconds, counts, None))
    start = timezone.now() - timedelta(days=60)
    lines = ["Engagement;Provider;When;Direction;Subject"]
    for i in range(COUNT):
        task = i % 2000
        when = start + timedelta(minutes=i)
        direction = "out" if (i // 2000) % 2 == 0 else "in"
        lines.append(
            f"Task {task};p{task % 500}@vendor.example;{when:%d.%m.%Y %H:%M};{direction};Round {i // 2000}"
        )
    seconds, counts = _timed(workspace, user, "messages", "\n".join(lines).encode(), "messages.csv")
    print(_line(f"{COUNT:,} messages over 2,000 engagements", seconds, counts, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
