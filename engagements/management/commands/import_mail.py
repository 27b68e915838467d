"""python manage.py import_mail PATH... --workspace SLUG: .eml files, mbox files and Maildir folders."""

from __future__ import annotations

from collections import Counter
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
        counts: Counter[str] = Counter()
        for path in options["paths"]:
            try:
                for raw in messages(path):
                    result = importer.mail_import(
                        workspace=workspace, raw=raw, source=InboundMail.Source.IMPORT
                    )
                    counts[result.outcome] += 1
            except (UnknownSource, OSError) as error:
                raise CommandError(str(error)) from error
        imported = counts[importer.THREADED] + counts[importer.UNSORTED]
        self.stdout.write(
            f"imported {imported}: threaded {counts[importer.THREADED]}, unsorted {counts[importer.UNSORTED]}; "
            f"rejected {counts[importer.REJECTED]}; already there {counts[importer.DUPLICATE]}"
        )
