"""``manage.py seed_demo [--scale N] [--if-empty] [--reset]``: load the demo workspace."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engagements import demo


class Command(BaseCommand):
    help = (
        f"Create the demo workspace {demo.DEMO_NAME!r} (slug {demo.DEMO_SLUG!r}); "
        f"log in as {demo.TEAM[0][0]} / {demo.DEMO_PASSWORD}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=int,
            default=1,
            help="Multiply the volume: N × 40 engagements (~10 messages each); 2500 ≈ 100k engagements.",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any workspace exists (make run)."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo workspace and everything in it first."
        )

    def handle(self, *args: Any, scale: int, if_empty: bool, reset: bool, **options: Any) -> None:
        if scale < 1:
            raise CommandError("--scale must be at least 1.")
        report = demo.seed_demo(scale=scale, if_empty=if_empty, reset=reset, log=self.stdout.write)
        if report.status == "skipped":
            self.stdout.write("Workspaces exist already: demo data not loaded (--if-empty).")
        elif report.status == "present":
            self.stdout.write(
                f"demo data already present (workspace {demo.DEMO_SLUG!r}); --reset rebuilds it."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created: {report.providers} providers, {report.engagements} engagements, "
                    f"{report.messages} messages, {report.exchanges} exchanges, "
                    f"{report.status_changes} status changes in {report.seconds:.1f} s. "
                    f"Log in as {demo.TEAM[0][0]} / {demo.DEMO_PASSWORD}."
                )
            )
