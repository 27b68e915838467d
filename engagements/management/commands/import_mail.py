"""python manage.py import_mail PATH... --workspace SLUG: .eml files, mbox files, Maildir folders, folders of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engagements.mail import importer
from engagements.models import InboundMail
from outsourcing.models import Workspace

OUTCOMES = (importer.THREADED, importer.UNSORTED, importer.REJECTED, importer.DUPLICATE)


def _line(counts: importer.ImportCounts) -> str:
    return (
        f"imported {counts.imported}: threaded {counts.threaded}, unsorted {counts.unsorted}; "
        f"rejected {counts.rejected}; already there {counts.duplicate}"
    )


class Command(BaseCommand):
    help = (
        "Import mail into a workspace's log: .eml and mbox files, Maildir folders, and folders holding "
        "them (searched through; files without an extension are read when they hold mail). Prints a line "
        "for every file or Maildir found (what it brought, 'empty', or why it was skipped), then the total."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--workspace", required=True, help="the workspace's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        missing = [str(p) for p in options["paths"] if not p.exists()]
        if missing:
            raise CommandError(f"Not found: {', '.join(missing)}")
        total = importer.ImportCounts()
        for result in importer.mail_import_paths(
            workspace=workspace, paths=options["paths"], source=InboundMail.Source.IMPORT
        ):
            if result.counts is None or not result.counts.total:
                self.stdout.write(f"{result.path}: {result.note}")
                continue
            self.stdout.write(f"{result.path}: {_line(result.counts)}")
            for outcome in OUTCOMES:
                setattr(total, outcome, getattr(total, outcome) + getattr(result.counts, outcome))
        self.stdout.write(_line(total))
