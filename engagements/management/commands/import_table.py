"""python manage.py import_table PATH --workspace SLUG --kind providers|engagements|messages [--dry-run]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from engagements.models import TableImport
from engagements.tables import columns, importer
from engagements.tables.read import TableError, read_table
from outsourcing import zones
from outsourcing.models import Workspace


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file of providers, engagements or message history into a workspace, "
        "all rows or none. Columns are matched as the import page last mapped them, else by their headers. "
        "Prints created, updated, skipped and the rows with errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--kind", required=True, choices=TableImport.Kind.values)
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--column",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="map a header to a field (repeatable), e.g. --column 'E-Mail=emails'",
        )
        parser.add_argument(
            "--time-zone",
            default=settings.DISPLAY_TIME_ZONE,
            help="the zone of dates and times written without one (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        if not zones.is_known(options["time_zone"]):
            raise CommandError(f"Unknown time zone {options['time_zone']!r}.")
        kind = options["kind"]
        path: Path = options["path"]
        try:
            table = read_table(path.read_bytes(), path.name)
        except (OSError, TableError) as error:
            raise CommandError(str(error)) from error
        mapping = columns.guess_mapping(
            kind, table.headers, importer.mapping_remembered(workspace=workspace, kind=kind)
        )
        mapping.update(self._explicit(options["column"], kind, table.headers))
        with timezone.override(options["time_zone"]):
            report = importer.table_import(
                workspace=workspace, kind=kind, table=table, mapping=mapping, dry_run=options["dry_run"]
            )
        for problem in report.problems:
            self.stderr.write(problem)
        for row in report.rows:
            for message in row.errors:
                self.stderr.write(f"row {row.number}: {message}")
        counts = report.counts
        self.stdout.write(
            f"created {counts['create']}, updated {counts['update']}, skipped {counts['skip']}, "
            f"errors {counts['error'] + len(report.problems)}"
        )
        if not report.ok:
            raise CommandError("Nothing was imported: fix the rows above and run again.")
        if report.dry_run:
            self.stdout.write("dry run: nothing was written")

    def _explicit(self, pairs: list[str], kind: str, headers: list[str]) -> dict[str, str]:
        keys = {c.key for c in columns.COLUMNS[kind]}
        mapping = {}
        for pair in pairs:
            header, sep, key = pair.rpartition("=")
            if not sep or header not in headers or key not in keys:
                raise CommandError(
                    f"--column {pair!r}: use HEADER=FIELD with a header of the file and one of {sorted(keys)}"
                )
            mapping[header] = key
        return mapping
