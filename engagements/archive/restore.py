"""Reading a complete export back into a fresh workspace: checked first, then loaded all at once.

``open_archive`` refuses anything that is not one of our exports before a
byte is unpacked: not a zip, encrypted, too many or too large members (a zip
bomb declares what it unpacks to, and Python's reader stops there), names
that climb out (``../``, absolute, backslashes), no manifest, another format
or version. ``archive_restore`` then reads every table twice: a check pass
(every value converts, every reference points at a row of the archive, every
file is there), with its progress saved on the import's row, and the load, in
one transaction, so an archive loads completely or not at all. Each row gets
a new id; references follow through the old-to-new maps.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, models, transaction
from django.utils.translation import gettext as _

from engagements import backlog, sql
from engagements.archive.tables import (
    FORMAT,
    MANIFEST,
    PEOPLE,
    RESTORED_WORKSPACE_FIELDS,
    TABLES,
    VERSION,
    Table,
)
from engagements.models import Engagement, Exchange
from outsourcing.files import stored_name
from outsourcing.models import Membership, Workspace
from providers.models import Provider, ResponsePolicy
from providers.services import policy_default

MANIFEST_MAX_BYTES = 1024 * 1024
# One row of JSON (a message with its body and quoted history) is never longer.
LINE_MAX_CHARS = 64 * 1024 * 1024
# Unpacked more than this many times smaller than it packs: a zip bomb, not our data.
MAX_RATIO = 1_000
BATCH = 1_000
TOP_FOLDERS = ("json/", "csv/", "files/")

Progress = Callable[[str, int, int], None]


def file_limit() -> int:
    """The largest file an archive may bring: what an upload or an imported mail may be."""
    return max(settings.MAX_UPLOAD_SIZE, settings.MAIL_MAX_BYTES)


class ArchiveError(Exception):
    """The archive cannot be imported; the message says why, for the person who uploaded it."""


def _name_ok(name: str) -> bool:
    parts = name.split("/")
    return (name == MANIFEST or name.startswith(TOP_FOLDERS)) and not (
        "\\" in name or ":" in name or name.startswith("/") or ".." in parts or "" in parts[:-1]
    )


def open_archive(file: IO[bytes] | str) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    """Open an uploaded export and read its manifest, or raise ``ArchiveError`` saying what is wrong."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        raise ArchiveError(_("This is not a zip file.")) from None
    try:
        return archive, _checked_manifest(archive)
    except BaseException:
        archive.close()
        raise


def _checked_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    infos = archive.infolist()
    if len(infos) > settings.ARCHIVE_MAX_MEMBERS:
        raise ArchiveError(
            _("The zip holds %(count)d files; an export holds at most %(limit)d.")
            % {"count": len(infos), "limit": settings.ARCHIVE_MAX_MEMBERS}
        )
    names: set[str] = set()
    unpacked = 0
    for info in infos:
        if info.is_dir():
            continue
        if not _name_ok(info.filename) or info.filename in names:
            raise ArchiveError(
                _("The zip holds a file named %(name)s, which no export has.") % {"name": info.filename[:200]}
            )
        if info.flag_bits & 0x1:
            raise ArchiveError(_("The zip is encrypted; export archives never are."))
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1024 * 1024:
            raise ArchiveError(
                _("%(name)s unpacks to far more than it packs: refused as a zip bomb.")
                % {"name": info.filename[:200]}
            )
        names.add(info.filename)
        unpacked += info.file_size
    if unpacked > settings.ARCHIVE_MAX_UNPACKED_BYTES:
        raise ArchiveError(_("The zip unpacks to more than this server takes."))
    if MANIFEST not in names:
        raise ArchiveError(_("The zip has no manifest.json: it is not an export of this app."))
    if archive.getinfo(MANIFEST).file_size > MANIFEST_MAX_BYTES:
        raise ArchiveError(_("The manifest is too large."))
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError):
        raise ArchiveError(_("The manifest cannot be read.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(_("The zip is not an export of this app."))
    if manifest.get("version") != VERSION:
        raise ArchiveError(
            _("The export has format version %(found)s; this version of the app reads version %(ours)s.")
            % {"found": str(manifest.get("version"))[:20], "ours": VERSION}
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        raise ArchiveError(_("The manifest lists no tables."))
    for name in [PEOPLE, *(t.name for t in TABLES if t.restore)]:
        if f"json/{name}.json" not in names:
            raise ArchiveError(_("The table %(name)s is missing from the zip.") % {"name": name})
    return manifest


def _rows(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    """The rows of ``json/NAME.json``: an array with one row per line, as the export writes it."""
    with archive.open(f"json/{name}.json") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8")
        if text.readline(16).strip() != "[":
            raise ArchiveError(_("json/%(name)s.json is not an export's table.") % {"name": name})
        for number, line in enumerate(iter(lambda: text.readline(LINE_MAX_CHARS), ""), start=1):
            stripped = line.strip().removesuffix(",")
            if stripped == "]":
                return
            if not line.endswith("\n") and len(line) >= LINE_MAX_CHARS:
                raise ArchiveError(_("Row %(n)d of %(name)s is too long.") % {"n": number, "name": name})
            try:
                row = json.loads(stripped)
            except ValueError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("id"), int):
                raise ArchiveError(_("Row %(n)d of %(name)s cannot be read.") % {"n": number, "name": name})
            yield row
        raise ArchiveError(_("json/%(name)s.json ends too early.") % {"name": name})


Resolve = Callable[[str, int], int | None]


def _plain_types(field: models.Field) -> tuple[type, ...]:
    """The JSON types a column takes as they are (``bool`` is not ``int`` here: ``type()`` is asked)."""
    if isinstance(field, models.BooleanField):
        return (bool,)
    if isinstance(field, models.IntegerField):
        return (int,)
    if isinstance(field, models.CharField | models.TextField) and not isinstance(field, models.JSONField):
        return (str,)
    return ()


class _Loader:
    """Converts one table's rows; ``resolve`` maps a reference to the row it now points at."""

    def __init__(self, archive: zipfile.ZipFile, workspace: Workspace, table: Table) -> None:
        self.archive = archive
        self.workspace = workspace
        self.table = table
        self.fields = {f.attname: f for f in table.fields()}
        self.has_workspace = any(f.name == "workspace" for f in table.model._meta.concrete_fields)
        # Worked out once per table, not once per value: a million messages pass through here.
        self.choices = {
            attname: frozenset(str(choice) for choice, _label in field.flatchoices)
            for attname, field in self.fields.items()
            if field.choices
        }
        self.members = frozenset(archive.namelist()) if table.files else frozenset()
        self.plain = {attname: _plain_types(field) for attname, field in self.fields.items()}

    def _error(self, row: dict[str, Any], text: str) -> ArchiveError:
        return ArchiveError(
            _("%(table)s, row %(id)s: %(problem)s")
            % {"table": self.table.name, "id": row.get("id"), "problem": text}
        )

    def _value(self, row: dict[str, Any], attname: str, value: Any, resolve: Resolve) -> Any:
        field = self.fields.get(attname)
        if field is None:
            raise self._error(row, _("unknown column %(name)s") % {"name": attname[:60]})
        target = self.table.refs.get(attname)
        if target is not None:
            if value is None:
                return None
            if not isinstance(value, int):
                raise self._error(row, _("%(name)s is not a row number") % {"name": attname})
            new = resolve(target, value)
            if new is None and target != PEOPLE:
                raise self._error(row, _("%(name)s points at a row the archive lacks") % {"name": attname})
            return new
        if attname in self.table.files:
            return value or ""
        try:
            # A text column's string, a number column's integer need no converting; times and decimals do.
            if type(value) not in self.plain.get(attname, ()):
                value = field.to_python(value)
        except ValidationError:
            raise self._error(row, _("%(name)s has a value that does not fit") % {"name": attname}) from None
        if value in (None, "") and not (field.null or field.blank or field.has_default()):
            raise self._error(row, _("%(name)s is empty") % {"name": attname})
        max_length = getattr(field, "max_length", None)
        if isinstance(value, str) and max_length and len(value) > max_length:
            raise self._error(row, _("%(name)s is too long") % {"name": attname})
        valid = self.choices.get(attname)
        if valid is not None and value not in ("", None) and str(value) not in valid:
            raise self._error(row, _("%(name)s has a value that does not fit") % {"name": attname})
        return value

    def values(self, row: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
        values = {
            attname: self._value(row, attname, value, resolve)
            for attname, value in row.items()
            if attname != "id"
        }
        for attname in self.table.files:
            member = values.get(attname)
            if member and not member.startswith(f"files/{self.table.name}/"):
                raise self._error(row, _("a file outside the archive's files"))
            if member and member not in self.members:
                raise self._error(row, _("its file %(name)s is missing") % {"name": member[:200]})
            if member and self.archive.getinfo(member).file_size > file_limit():
                raise self._error(
                    row, _("its file %(name)s is larger than any upload") % {"name": member[:200]}
                )
        values.update(self.table.on_import)
        return values


def _people(archive: zipfile.ZipFile, workspace: Workspace) -> dict[int, int]:
    """Old user id -> the member of ``workspace`` with the same e-mail address (others are dropped)."""
    members = {
        email.casefold(): user_id
        for email, user_id in Membership.objects.filter(workspace=workspace).values_list(
            "user__email", "user_id"
        )
    }
    people: dict[int, int] = {}
    for row in _rows(archive, PEOPLE):
        email = row.get("email")
        if isinstance(email, str) and email.casefold() in members:
            people[row["id"]] = members[email.casefold()]
    return people


def workspace_is_empty(workspace: Workspace) -> bool:
    """Nothing of a workspace's own yet: no provider, no engagement, no policy but the default."""
    return not (
        Provider.objects.filter(workspace=workspace).exists()
        or Engagement.objects.filter(workspace=workspace).exists()
        or ResponsePolicy.objects.filter(workspace=workspace, is_default=False).exists()
    )


def _check(
    archive: zipfile.ZipFile, workspace: Workspace, manifest: dict[str, Any], progress: Progress
) -> int:
    """The check pass: every table converts and refers only to rows it holds. Returns the row count."""
    seen: dict[str, set[int]] = {PEOPLE: {row["id"] for row in _rows(archive, PEOPLE)}}
    total = sum(int(manifest["tables"].get(t.name, {}).get("rows", 0) or 0) for t in TABLES if t.restore) or 1
    done = 0

    def resolve(target: str, old: int) -> int | None:
        return old if old in seen[target] else None

    for table in TABLES:
        if not table.restore:
            continue
        loader = _Loader(archive, workspace, table)
        ids: set[int] = set()
        for row in _rows(archive, table.name):
            loader.values(row, resolve)
            if row["id"] in ids:
                raise ArchiveError(
                    _("%(table)s holds row %(id)s twice.") % {"table": table.name, "id": row["id"]}
                )
            ids.add(row["id"])
            done += 1
            if done % BATCH == 0:
                progress(table.name, done, total * 2)
        seen[table.name] = ids
    return done


def _save_file(
    archive: zipfile.ZipFile, member: str, folder: str, workspace: Workspace, saved: list[str]
) -> str:
    name = stored_name(folder, workspace.pk, member)
    with archive.open(member) as source:
        # Streamed in chunks: a file may be as large as a mail the importer takes.
        stored = default_storage.save(name, File(source, name=name))
    saved.append(stored)
    return stored


def _load(
    archive: zipfile.ZipFile, workspace: Workspace, saved: list[str], progress: Callable[[str, int], None]
) -> dict[str, int]:
    """The load: every table, new ids, references followed (inside the caller's transaction)."""
    maps: dict[str, dict[int, int]] = {PEOPLE: _people(archive, workspace)}
    counts: dict[str, int] = {}

    def resolve(target: str, old: int) -> int | None:
        return maps[target].get(old)

    default = policy_default(workspace=workspace)
    for table in TABLES:
        if not table.restore:
            continue
        loader = _Loader(archive, workspace, table)
        maps[table.name] = {}
        batch: list[tuple[int, models.Model]] = []
        for row in _rows(archive, table.name):
            values = loader.values(row, resolve)
            for attname, folder in table.files.items():
                if values.get(attname):
                    values[attname] = _save_file(archive, values[attname], folder, workspace, saved)
            if table.model is ResponsePolicy and values.get("is_default"):
                for attname, value in values.items():
                    setattr(default, attname, value)
                default.save()
                maps[table.name][row["id"]] = default.pk
                continue
            if loader.has_workspace:
                values["workspace"] = workspace
            batch.append((row["id"], table.model(**values)))
            if len(batch) >= BATCH:
                _insert(table, batch, maps[table.name])
                progress(table.name, sum(map(len, maps.values())))
        _insert(table, batch, maps[table.name])
        counts[table.name] = len(maps[table.name])
        progress(table.name, sum(map(len, maps.values())))
    return counts


def _insert(table: Table, batch: list[tuple[int, models.Model]], ids: dict[int, int]) -> None:
    """Write a batch of rows and note their new ids: COPY on PostgreSQL (ids reserved first), else bulk_create."""
    if not batch:
        return
    rows = [row for _old, row in batch]
    if connection.vendor == "postgresql":
        for row, pk in zip(rows, sql.reserve_ids(table.model, len(rows)), strict=True):
            row.pk = pk
        sql.copy_objects(table.model, rows)
    else:
        rows = table.model._base_manager.bulk_create(rows)  # type: ignore[attr-defined]
    for (old, _row), new in zip(batch, rows, strict=True):
        ids[old] = new.pk
    batch.clear()


def archive_restore(
    archive: zipfile.ZipFile, manifest: dict[str, Any], *, workspace: Workspace, progress: Progress
) -> dict[str, int]:
    """Check the archive, then load it into the empty ``workspace`` all at once; returns rows per table."""
    if not workspace_is_empty(workspace):
        raise ArchiveError(_("This workspace has data already: import into a new, empty workspace."))
    total = _check(archive, workspace, manifest, progress)
    progress("load", total, total * 2)
    saved: list[str] = []
    try:
        with transaction.atomic():
            # Seen by the page only through ``progress``'s own connection (services.py): this one's
            # transaction shows nothing before it commits.
            counts = _load(
                archive, workspace, saved, lambda step, loaded: progress(step, total + loaded, total * 2)
            )
            Exchange.objects.filter(workspace=workspace).mark_flagged()
            Exchange.objects.filter(workspace=workspace).mark_engagement_open()
            settings_row = manifest.get("workspace")
            if isinstance(settings_row, dict):
                for name in RESTORED_WORKSPACE_FIELDS:
                    if isinstance(settings_row.get(name), bool):
                        setattr(workspace, name, settings_row[name])
                workspace.save(update_fields=list(RESTORED_WORKSPACE_FIELDS))
            # The figures are the engine's to compute afresh, from the rows just loaded.
            backlog.backlog_add(
                workspace_id=workspace.pk,
                provider_ids=Provider.objects.filter(workspace=workspace).values_list("pk", flat=True),
            )
    except DatabaseError as error:
        _forget(saved)
        raise ArchiveError(
            _("The rows do not fit together: %(error)s") % {"error": str(error)[:200]}
        ) from None
    except BaseException:
        _forget(saved)
        raise
    return counts


def _forget(saved: list[str]) -> None:
    for name in saved:
        default_storage.delete(name)
