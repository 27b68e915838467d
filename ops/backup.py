"""Backups: the database (pg_dump's custom format, or SQLite's online backup) and the uploaded
files, with a manifest, in one folder; and the way back into an empty database.

A backup folder holds ``manifest.json``, ``database.dump`` (PostgreSQL) or ``database.sqlite3``
and ``media.tar.gz``. The manifest records each file's SHA-256, checked before a restore.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump/pg_restore with argument lists, never a shell
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db import connections

FORMAT = "outsourcing-tracker-backup"
VERSION = 1


class BackupError(Exception):
    """Something a person running the command must fix; the message says what."""


@dataclass(frozen=True)
class Database:
    engine: str  # "postgresql" or "sqlite"
    settings: dict[str, Any]

    @classmethod
    def default(cls) -> Database:
        conn = connections["default"]
        return cls(engine=conn.vendor, settings=conn.settings_dict)

    def pg_args(self) -> tuple[list[str], dict[str, str]]:
        """Connection arguments for pg_dump/pg_restore; the password goes in the environment."""
        s = self.settings
        args = ["--dbname", s["NAME"]]
        if s.get("HOST"):
            args += ["--host", s["HOST"]]
        if s.get("PORT"):
            args += ["--port", str(s["PORT"])]
        if s.get("USER"):
            args += ["--username", s["USER"]]
        env = {**os.environ, "PGPASSWORD": s.get("PASSWORD") or ""}
        return args, env


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _media_root() -> Path:
    return Path(default_storage.location)  # type: ignore[attr-defined]


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")


def backup(output: Path, *, now: datetime | None = None) -> Path:
    """Write a backup folder under ``output``; returns its path."""
    now = now or datetime.now(UTC)
    database = Database.default()
    folder = output / f"outsourcing-{now:%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=False)
    if database.engine == "postgresql":
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is needed for a PostgreSQL backup (apt-get install postgresql-client)")
        args, env = database.pg_args()
        dump = folder / "database.dump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", "--file", str(dump), *args], env)
    elif database.engine == "sqlite":
        dump = folder / "database.sqlite3"
        source = sqlite3.connect(database.settings["NAME"])
        target = sqlite3.connect(dump)
        with target:
            source.backup(target)
        source.close()
        target.close()
    else:
        raise BackupError(f"backups of {database.engine} databases are not supported")

    media = folder / "media.tar.gz"
    root = _media_root()
    files = 0
    with tarfile.open(media, "w:gz") as archive:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=str(path.relative_to(root)))
                    files += 1
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": now.isoformat(),
        "engine": database.engine,
        "media_files": files,
        "files": {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in (dump, media)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a backup folder: no readable manifest.json ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{folder} holds a backup this version cannot read")
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{name} is missing or damaged: its checksum differs from the manifest's")
    return manifest


def _is_empty(database: Database) -> bool:
    with connections["default"].cursor() as cursor:
        return not connections["default"].introspection.table_names(cursor)


def restore(folder: Path) -> dict[str, Any]:
    """Load a backup into the (empty) default database and its files into the media folder."""
    manifest = _manifest(folder)
    database = Database.default()
    if manifest["engine"] != database.engine:
        raise BackupError(f"this backup is of a {manifest['engine']} database, not {database.engine}")
    if not _is_empty(database):
        raise BackupError(
            "the database is not empty: restore into a new, empty database (createdb), then point DATABASE_URL at it"
        )
    root = _media_root()
    if root.is_dir() and any(root.iterdir()):
        raise BackupError(f"the media folder {root} is not empty: restore into an empty one (MEDIA_ROOT)")
    if database.engine == "postgresql":
        args, env = database.pg_args()
        _run(
            ["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", *args, str(folder / "database.dump")],
            env,
        )
    else:
        connections["default"].close()
        shutil.copyfile(folder / "database.sqlite3", database.settings["NAME"])
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "media.tar.gz", "r:gz") as archive:
        # The "data" filter refuses absolute paths, "..", links out of the folder and devices.
        archive.extractall(root, filter="data")
    return manifest
