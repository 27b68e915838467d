"""python manage.py import_mail PATH... --workspace SLUG: .eml files, mbox files and Maildir folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engagements.mail import importer
from engagements.mail.sources import UnknownSource, messages
from engagements.models import InboundMail
from outsourcing.models import Workspace


class Command(BaseCommand):
    help = (
        "Import mail into a workspace's log: .eml and mbox files, Maildir folders. "
        "Prints how many were imported (threaded to an engagement or left unsorted) and rejected."
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
        counts = importer.ImportCounts()
        for path in options["paths"]:
            try:
                done = importer.mail_import_many(
                    workspace=workspace, raws=messages(path), source=InboundMail.Source.IMPORT
                )
            except (UnknownSource, OSError) as error:
                raise CommandError(str(error)) from error
            for outcome in (importer.THREADED, importer.UNSORTED, importer.REJECTED, importer.DUPLICATE):
                setattr(counts, outcome, getattr(counts, outcome) + getattr(done, outcome))
        self.stdout.write(
            f"imported {counts.imported}: threaded {counts.threaded}, unsorted {counts.unsorted}; "
            f"rejected {counts.rejected}; already there {counts.duplicate}"
        )
