from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops import backup


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into a new folder (see README, Backups)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", type=Path, default=Path(settings.BACKUP_DIR), help="where the backup folder is made"
        )

    def handle(self, *args: Any, output: Path, **options: Any) -> None:
        try:
            folder = backup.backup(output)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(folder))
