"""One flagging pass: the same code the Celery beat task runs every minute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from engagements import jobs
from engagements.flagging import flag_pass


class Command(BaseCommand):
    help = "Raise overdue and ghosted flags that became due, resolve what no longer applies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-deliver",
            action="store_true",
            help="Only write the outbox; leave delivery to the worker's next sweep.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = flag_pass(on_commit=None if options["no_deliver"] else jobs.deliver_later)
        self.stdout.write(str(report))
