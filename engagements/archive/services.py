"""The write actions of complete exports and imports: one function each, for the pages and the tasks.

A run claims its row with a conditional update (waiting -> working), so a
redelivered task finds it taken and does nothing. A worker that dies leaves
the row working; the hourly sweep marks such rows failed (an export can be
started again, an import uploaded again: it loaded nothing).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import jobs
from engagements.archive.build import build_archive
from engagements.archive.restore import ArchiveError, archive_restore, open_archive, workspace_is_empty
from engagements.models import DataArchive
from outsourcing.models import User, Workspace

logger = logging.getLogger(__name__)

Status = DataArchive.Status
# A run that has not finished after this long lost its worker.
STALE_AFTER = timedelta(hours=6)
TASKS = {
    DataArchive.Kind.EXPORT: "engagements.tasks.build_export",
    DataArchive.Kind.IMPORT: "engagements.tasks.run_import",
}


def _enqueue(archive_id: int, kind: str) -> None:
    try:
        jobs.send_now(TASKS[DataArchive.Kind(kind)], archive_id)
    except Exception:  # the broker is away: say so on the row, not with a 500
        logger.exception("Archive %s could not be queued", archive_id)
        DataArchive.objects.filter(pk=archive_id, status=Status.QUEUED).update(
            status=Status.FAILED,
            error=_("The background worker could not be reached; please try again."),
            finished_at=timezone.now(),
        )


def _progress(archive_id: int, step: str, done: int, total: int) -> None:
    DataArchive.objects.filter(pk=archive_id).update(
        step=step[:40], percent=min(99, 100 * done // max(total, 1))
    )


class _SideProgress:
    """Progress written through a connection of its own, seen by the page while the export's
    snapshot transaction is still open on the main one. Best effort: a refused write is skipped."""

    def __init__(self, archive_id: int) -> None:
        self.archive_id = archive_id
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, step: str, done: int, total: int) -> None:
        table = DataArchive._meta.db_table
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET step = %s, percent = %s WHERE id = %s",  # nosec B608  # table and column names from our models, values as parameters
                    [step[:40], min(99, 100 * done // max(total, 1)), self.archive_id],
                )
        except DatabaseError:
            logger.info("Progress of archive %s not recorded", self.archive_id, exc_info=True)

    def close(self) -> None:
        self.connection.close()


def _claim(archive_id: int, kind: str) -> DataArchive | None:
    claimed = DataArchive.objects.filter(pk=archive_id, kind=kind, status=Status.QUEUED).update(
        status=Status.RUNNING, percent=0
    )
    return DataArchive.objects.select_related("workspace").get(pk=archive_id) if claimed else None


def _finish(archive: DataArchive, **fields: object) -> None:
    for name, value in fields.items():
        setattr(archive, name, value)
    archive.finished_at = timezone.now()
    archive.save(update_fields=[*fields, "finished_at"])


# --- Export ------------------------------------------------------------------------------


@transaction.atomic
def archive_export_create(*, workspace: Workspace, by: User) -> DataArchive:
    """Start a complete export of ``workspace``; a worker builds it once this commits."""
    archive = DataArchive.objects.create(workspace=workspace, kind=DataArchive.Kind.EXPORT, requested_by=by)
    transaction.on_commit(partial(_enqueue, archive.pk, archive.kind))
    return archive


def archive_export_run(archive_id: int) -> str:
    """Build the zip (the task's body): write it to a temporary file, then store it."""
    archive = _claim(archive_id, DataArchive.Kind.EXPORT)
    if archive is None:
        return "taken"
    handle, path = tempfile.mkstemp(suffix=".zip")
    os.close(handle)
    try:
        progress = _SideProgress(archive.pk)
        try:
            manifest = build_archive(archive.workspace, path, progress)
        finally:
            progress.close()
        stamp = timezone.now().strftime("%Y-%m-%d")
        with open(path, "rb") as built:
            archive.file.save("export.zip", File(built), save=False)
        _finish(
            archive,
            file=archive.file.name,
            original_name=f"{archive.workspace.slug}-export-{stamp}.zip",
            size=os.path.getsize(path),
            status=Status.DONE,
            percent=100,
            step="",
            counts={name: table["rows"] for name, table in manifest["tables"].items()},
            expires_at=timezone.now() + timedelta(days=settings.ARCHIVE_EXPORT_DAYS),
        )
        return "done"
    except Exception as error:
        logger.exception("Export %s failed", archive_id)
        _finish(archive, status=Status.FAILED, error=str(error)[:500])
        return "failed"
    finally:
        os.unlink(path)


# --- Import ------------------------------------------------------------------------------


def archive_import_check(*, workspace: Workspace, file: UploadedFile) -> None:
    """What can be told at once, before the upload is stored: raise ArchiveError if it cannot go in."""
    limit = settings.ARCHIVE_UPLOAD_MAX_BYTES
    if (file.size or 0) > limit:
        raise ArchiveError(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(file.size or 0), "limit": filesizeformat(limit)}
        )
    if not workspace_is_empty(workspace):
        raise ArchiveError(_("This workspace has data already: import into a new, empty workspace."))
    if DataArchive.objects.filter(
        workspace=workspace, kind=DataArchive.Kind.IMPORT, status__in=[Status.QUEUED, Status.RUNNING]
    ).exists():
        raise ArchiveError(_("An import into this workspace is under way already."))
    file.seek(0)
    archive, _manifest = open_archive(file)  # type: ignore[arg-type]
    archive.close()
    file.seek(0)


@transaction.atomic
def archive_import_create(*, workspace: Workspace, by: User, file: UploadedFile) -> DataArchive:
    """Check and store an uploaded export; a worker loads it into ``workspace`` once this commits."""
    archive_import_check(workspace=workspace, file=file)
    archive = DataArchive(
        workspace=workspace,
        kind=DataArchive.Kind.IMPORT,
        requested_by=by,
        original_name=(file.name or "export.zip")[:255],
        size=file.size or 0,
    )
    archive.file.save("import.zip", file, save=False)
    archive.save()
    transaction.on_commit(partial(_enqueue, archive.pk, archive.kind))
    return archive


def archive_import_run(archive_id: int) -> str:
    """Load the uploaded export (the task's body); its zip is deleted either way."""
    archive = _claim(archive_id, DataArchive.Kind.IMPORT)
    if archive is None:
        return "taken"
    # The load holds its transaction open for minutes at the benchmark scale: on PostgreSQL its
    # progress goes through a connection of its own. SQLite takes one writer at a time, so there
    # the page sees the check's progress and then the load's end.
    progress: Callable[[str, int, int], None] = partial(_progress, archive.pk)
    side = _SideProgress(archive.pk) if connection.vendor == "postgresql" else None
    try:
        with archive.file.open("rb") as upload:
            zipped, manifest = open_archive(upload)  # type: ignore[arg-type]
            with zipped:
                counts = archive_restore(
                    zipped, manifest, workspace=archive.workspace, progress=side or progress
                )
        outcome, fields = "done", {"status": Status.DONE, "percent": 100, "step": "", "counts": counts}
    except ArchiveError as error:
        outcome, fields = "failed", {"status": Status.FAILED, "error": str(error)[:500]}
    except Exception:
        logger.exception("Import %s failed", archive_id)
        outcome, fields = "failed", {"status": Status.FAILED, "error": _("The archive could not be read.")}
    finally:
        if side is not None:
            side.close()
    archive.file.delete(save=False)
    _finish(archive, file="", **fields)
    return outcome


# --- Both --------------------------------------------------------------------------------


def archive_delete(*, archive: DataArchive) -> None:
    """Delete an export (its zip with it) or the record of an import."""
    if archive.file:
        archive.file.delete(save=False)
    archive.delete()


def archives_sweep(now: datetime | None = None) -> int:
    """Delete the zips of expired exports and fail runs whose worker died; returns rows touched."""
    now = now or timezone.now()
    touched = 0
    for archive in DataArchive.objects.filter(kind=DataArchive.Kind.EXPORT, expires_at__lt=now).exclude(
        file=""
    ):
        archive.file.delete(save=False)
        archive.save(update_fields=["file"])
        touched += 1
    touched += DataArchive.objects.filter(
        Q(status__in=[Status.QUEUED, Status.RUNNING]), created_at__lt=now - STALE_AFTER
    ).update(status=Status.FAILED, error=_("The worker stopped before it finished."), finished_at=now)
    return touched
