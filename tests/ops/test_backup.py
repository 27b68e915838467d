"""`make backup` / `make restore`: a backup restored into a fresh database and media folder gives
the same reliability figures and the same files; a damaged or misplaced restore is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from engagements import services
from engagements.models import Attachment
from tests.factories import EngagementFactory, ProviderFactory
from tests.ops.figures import figures
from tests.realparts import ROOT, database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _history(team) -> None:
    """Requests answered quickly, slowly and not at all, by two providers, and an attachment."""
    start = timezone.now() - timedelta(days=40)
    for p, name in enumerate(("Lena Vogel", "Marco Rossi")):
        provider = ProviderFactory(workspace=team.workspace, name=name, time_zone="UTC", country="")
        for i in range(6):
            engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
            asked = start + timedelta(days=i * 5, hours=p)
            services.message_log(
                engagement=engagement,
                direction="out",
                kind="request",
                occurred_at=asked,
                attachments=[SimpleUploadedFile(f"brief-{p}-{i}.txt", f"Brief {p} {i}".encode())]
                if i == 0
                else (),
            )
            if i % 3 != 2:
                services.message_log(
                    engagement=engagement,
                    direction="in",
                    kind="reply",
                    occurred_at=asked + timedelta(hours=3 + 20 * (i % 3) + p),
                )


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_a_backup_restored_into_a_fresh_database_gives_the_same_figures_and_files(team, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and a second database: runs on PostgreSQL (as in CI)")
    _history(team)
    now = timezone.now()
    expected = figures(team.workspace.pk, now)
    assert json.loads(expected)["None"]["requests"] == 12, "the history is there to be compared"
    media = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    originals = {p.relative_to(media): p.read_bytes() for p in media.rglob("*") if p.is_file()}
    assert len(originals) == Attachment.objects.count() == 2

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "outsourcing.settings", "DATABASE_URL": database_url()}
    made = _manage("backup", "--output", str(tmp_path / "backups"), env={**env, "MEDIA_ROOT": str(media)})
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.strip())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["engine"], manifest["media_files"]) == ("postgresql", 2)

    fresh = f"restore_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(database_url().rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{fresh}"')
    restored_env = {
        **env,
        "DATABASE_URL": database_url().rsplit("/", 1)[0] + f"/{fresh}",
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
    }
    try:
        done = _manage("restore", str(folder), env=restored_env)
        assert done.returncode == 0, done.stderr
        again = _manage("restore", str(folder), env=restored_env)
        assert again.returncode != 0 and "not empty" in again.stderr, (
            "a second restore over the first is refused"
        )
        shown = subprocess.run(
            [sys.executable, "-m", "tests.ops.figures", str(team.workspace.pk), now.isoformat()],
            cwd=ROOT,
            env=restored_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == json.loads(expected)
        restored = tmp_path / "restored-media"
        assert {
            p.relative_to(restored): p.read_bytes() for p in restored.rglob("*") if p.is_file()
        } == originals
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        admin.close()


def test_a_damaged_backup_is_refused_before_anything_is_written(team, tmp_path):
    folder = Path(call_command_output("backup", "--output", str(tmp_path)))
    with (folder / "media.tar.gz").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(CommandError, match=r"media\.tar\.gz is missing or damaged"):
        call_command("restore", str(folder))


def test_a_folder_that_is_no_backup_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="not a backup folder"):
        call_command("restore", str(tmp_path))


def test_a_restore_into_a_database_in_use_is_refused(team, tmp_path):
    folder = Path(call_command_output("backup", "--output", str(tmp_path)))
    with pytest.raises(CommandError, match="the database is not empty"):
        call_command("restore", str(folder))


def call_command_output(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()
