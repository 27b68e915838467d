"""Mail files uploaded in the browser: checked and stored at once, imported by a worker.

``mail_upload_create`` checks a file (.eml or .mbox), stores it and queues its
import. ``mail_upload_run`` (the task's body) reads it one message at a time
into the one importer and, after every batch, writes how far into the file it
got and what became of the mail, for the page's progress bar.

Run at most once at a time, and never lost: the run claims the row with a
conditional update (waiting -> importing), so a redelivered task finds it
taken and does nothing (Redis hands a task that runs past its visibility
timeout to another worker). While it runs it holds a lease in the cache,
renewed after every batch. An importing row without a lease was left by a
worker that died: its redelivered task (late acks bring it back) takes it
over and goes on after the last batch recorded; a batch committed but not
yet recorded is found again as duplicates (by Message-ID), so nothing is
logged twice. Without Redis the cache is the worker process's own memory,
which dies with it, so the same holds.
"""

from __future__ import annotations

import logging
import re
import secrets
from functools import partial
from pathlib import PurePath

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import jobs
from engagements.mail import importer
from engagements.mail.sources import MailFileReader
from engagements.models import InboundMail, MailUpload
from outsourcing.models import User, Workspace

logger = logging.getLogger(__name__)

MBOX, EML = ".mbox", ".eml"
# A first line that is a header field: printable characters but the colon, then a colon.
HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
SNIFF_BYTES = 4096
# Messages per batch (one transaction each): the progress moves on after every one.
UPLOAD_BATCH = 200
# Longer than any batch of the importer takes; a run renews it after every batch.
LEASE_SECONDS = 15 * 60


# --- Upload ------------------------------------------------------------------


def mail_file_check(file: UploadedFile) -> str:
    """Check one uploaded file; return how it will be read (``MBOX`` or ``EML``), or raise ValidationError.

    By name (.eml, .mbox) or, for any other name, by content: an mbox starts
    with a "From " line (Thunderbird's folders have no extension), a single
    message with a header line.
    """
    name = file.name or ""
    size = file.size or 0
    limit = settings.MAIL_UPLOAD_MAX_BYTES
    if size > limit:
        raise ValidationError(
            _("%(name)s is too large (%(size)s); the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    if size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    suffix = PurePath(name).suffix.lower()
    if b"\x00" not in head:
        start = head.lstrip()
        if suffix == MBOX or start.startswith(b"From "):
            return MBOX
        if suffix == EML or HEADER_LINE.match(start):
            return EML
    raise ValidationError(_("%(name)s is not a mail file: upload .eml or .mbox files.") % {"name": name})


def _enqueue(upload_id: int) -> None:
    try:
        jobs.send_now("engagements.tasks.import_mail_upload", upload_id)
    except Exception as error:  # the broker is away: say so on the upload, not with a 500
        logger.exception("Mail upload %s could not be queued", upload_id)
        MailUpload.objects.filter(pk=upload_id, status=MailUpload.Status.QUEUED).update(
            status=MailUpload.Status.FAILED, error=_describe(error), finished_at=timezone.now()
        )


@transaction.atomic
def mail_upload_create(*, workspace: Workspace, by: User | None, file: UploadedFile) -> MailUpload:
    """Check and store an uploaded mail file; its import is queued once this commits."""
    kind = mail_file_check(file)
    upload = MailUpload(
        workspace=workspace,
        uploaded_by=by,
        original_name=(file.name or kind)[:255],
        size=file.size or 0,
    )
    # Stored under the kind it was read as: the run goes by the stored name.
    upload.file.save(f"upload{kind}", file, save=False)
    upload.save()
    transaction.on_commit(partial(_enqueue, upload.pk))
    return upload


def mail_upload_retry(*, upload: MailUpload) -> bool:
    """Queue a failed import again; it goes on after the last batch it recorded.

    False when there is nothing to retry: the import did not fail, its file is
    gone, or someone else queued it again first (a conditional UPDATE decides).
    """
    with transaction.atomic():
        queued = (
            MailUpload.objects.filter(pk=upload.pk, status=MailUpload.Status.FAILED)
            .exclude(file="")
            .update(status=MailUpload.Status.QUEUED, error="", finished_at=None)
        )
        if queued:
            transaction.on_commit(partial(_enqueue, upload.pk))
    return bool(queued)


# --- Import ------------------------------------------------------------------


def _lease_key(upload_id: int) -> str:
    return f"mail-upload-lease:{upload_id}"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _claim(upload_id: int, run: str) -> bool:
    """Take the upload for this run: a waiting one, or an importing one whose run stopped renewing its lease."""
    key = _lease_key(upload_id)
    claimed = MailUpload.objects.filter(pk=upload_id, status=MailUpload.Status.QUEUED).update(
        status=MailUpload.Status.RUNNING, started_at=timezone.now()
    )
    if claimed:
        cache.set(key, run, LEASE_SECONDS)
        return True
    running = MailUpload.objects.filter(pk=upload_id, status=MailUpload.Status.RUNNING).exists()
    # add() is atomic: of two redelivered copies, one takes it over.
    return running and cache.add(key, run, LEASE_SECONDS)


def _import(upload: MailUpload, run: str) -> None:
    # A taken-over run goes on from the last batch recorded, adding to its counts.
    done = importer.ImportCounts(
        threaded=upload.threaded,
        unsorted=upload.unsorted,
        rejected=upload.rejected,
        duplicate=upload.duplicates,
    )
    with upload.file.open("rb") as stored:
        reader = MailFileReader(stored, mbox=(upload.file.name or "").endswith(MBOX), start=upload.bytes_done)

        def on_batch(counts: importer.ImportCounts) -> None:
            MailUpload.objects.filter(pk=upload.pk).update(
                bytes_done=reader.position,
                threaded=done.threaded + counts.threaded,
                unsorted=done.unsorted + counts.unsorted,
                rejected=done.rejected + counts.rejected,
                duplicates=done.duplicate + counts.duplicate,
            )
            cache.set(_lease_key(upload.pk), run, LEASE_SECONDS)

        counts = importer.mail_import_many(
            workspace=upload.workspace,
            raws=reader,
            source=InboundMail.Source.UPLOAD,
            on_batch=on_batch,
            batch_size=UPLOAD_BATCH,
        )
    upload.status = MailUpload.Status.DONE
    upload.bytes_done = upload.size
    upload.threaded = done.threaded + counts.threaded
    upload.unsorted = done.unsorted + counts.unsorted
    upload.rejected = done.rejected + counts.rejected
    upload.duplicates = done.duplicate + counts.duplicate
    upload.finished_at = timezone.now()
    stored_name, storage = upload.file.name, upload.file.storage
    # The mail is in the log and the Unsorted inbox now; the file is not needed any more.
    upload.file = ""  # type: ignore[assignment]
    upload.save(
        update_fields=[
            "status",
            "bytes_done",
            "threaded",
            "unsorted",
            "rejected",
            "duplicates",
            "finished_at",
            "file",
        ]
    )
    if stored_name:
        storage.delete(stored_name)


def mail_upload_run(upload_id: int) -> str:
    """Import an uploaded file (the task's body); safe to run twice. Returns what became of it."""
    run = secrets.token_hex(8)
    if not _claim(upload_id, run):
        return "skipped"
    try:
        upload = MailUpload.objects.select_related("workspace").get(pk=upload_id)
        _import(upload, run)
    except Exception as error:  # shown on the upload's page rather than lost in a log
        logger.exception("Mail upload %s failed", upload_id)
        MailUpload.objects.filter(pk=upload_id).update(
            status=MailUpload.Status.FAILED, error=_describe(error), finished_at=timezone.now()
        )
        return MailUpload.Status.FAILED
    finally:
        cache.delete(_lease_key(upload_id))
    return MailUpload.Status.DONE


def recent(workspace: Workspace, limit: int = 20) -> list[MailUpload]:
    """The workspace's latest uploads, for the upload page."""
    return list(MailUpload.objects.filter(workspace=workspace).select_related("uploaded_by")[:limit])
