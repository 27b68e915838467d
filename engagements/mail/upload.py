"""Mail files uploaded in the browser: checked and stored at once, imported by a worker.

``mail_upload_create`` checks a file (.eml or .mbox), stores it and queues its
import. ``mail_upload_run`` (the task's body) reads it one message at a time
into the one importer and, after every batch, writes how far into the file it
got and what became of the mail, for the page's progress bar.

Run at most once at a time, and never stranded. A run claims the row with a
conditional update (waiting -> importing) and takes a lease on it, a time in
the row renewed after every batch; a redelivered task finds it taken and does
nothing. A worker that dies (SIGKILL, or Ctrl-C of `make run`) leaves its
lease to run out, and with the on-disk broker its task message is gone for
good; so the beat's sweep (``mail_uploads_requeue_stalled``) queues every
import whose lease ran out again, and a person can press Retry on it. The new
run goes on after the last batch recorded; a batch committed but not yet
recorded is found again as duplicates (by Message-ID, or by fingerprint
without one), so nothing is logged twice. A run that finds its lease taken
over stops at its next batch.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import jobs
from engagements.mail import importer, sources
from engagements.mail.sources import MailFileReader
from engagements.models import InboundMail, MailUpload
from outsourcing.models import User, Workspace

logger = logging.getLogger(__name__)

MBOX, EML = sources.MBOX, sources.EML
# Messages per batch (one transaction each): the progress moves on after every one.
UPLOAD_BATCH = 200
# Stalled imports the sweep queues again per pass (a few at most, in practice).
SWEEP_LIMIT = 100


# --- Upload ------------------------------------------------------------------


def _lease_end(now: datetime) -> datetime:
    """Until when a claim (or a place in the queue) taken at ``now`` holds."""
    return now + timedelta(seconds=settings.MAIL_UPLOAD_LEASE_SECONDS)


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
    head = file.read(sources.SNIFF_BYTES)
    file.seek(0)
    kind = sources.mail_kind(name, head)
    if kind is None:
        raise ValidationError(_("%(name)s is not a mail file: upload .eml or .mbox files.") % {"name": name})
    return kind


def _enqueue(upload_id: int) -> None:
    try:
        jobs.send_now("engagements.tasks.import_mail_upload", upload_id)
    except jobs.BROKER_AWAY:
        # The broker is away (the file is saved): no error page, and nobody has to press Retry.
        # With its lease ended now, the beat's sweep for stalled imports queues it again
        # within its minute, once the broker is back.
        logger.warning("Mail upload %s could not be queued; the stalled-import sweep takes it", upload_id)
        MailUpload.objects.filter(pk=upload_id, status=MailUpload.Status.QUEUED).update(
            lease_until=timezone.now()
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
        lease_until=_lease_end(timezone.now()),
    )
    # Stored under the kind it was read as: the run goes by the stored name.
    upload.file.save(f"upload{kind}", file, save=False)
    upload.save()
    transaction.on_commit(partial(_enqueue, upload.pk))
    return upload


def _requeue(uploads: QuerySet[MailUpload], now: datetime) -> int:
    """Put these imports back in the queue, with a fresh lease for a worker to take them up in."""
    return uploads.exclude(file="").update(
        status=MailUpload.Status.QUEUED,
        error="",
        finished_at=None,
        lease_until=_lease_end(now),
        lease_holder="",
    )


def mail_upload_retry(*, upload: MailUpload) -> bool:
    """Queue a failed or stalled import again; it goes on after the last batch it recorded.

    False when there is nothing to retry: the import did not fail and is not
    stalled (a worker is on it), its file is gone, or someone else queued it
    again first (a conditional UPDATE decides).
    """
    now = timezone.now()
    with transaction.atomic():
        retryable = Q(status=MailUpload.Status.FAILED) | MailUpload.stalled_at(now)
        queued = _requeue(MailUpload.objects.filter(retryable, pk=upload.pk), now)
        if queued:
            transaction.on_commit(partial(_enqueue, upload.pk))
    return bool(queued)


def mail_uploads_requeue_stalled(now: datetime | None = None) -> int:
    """Queue again every import whose lease ran out (the beat's sweep); returns how many.

    A failed import is left for a person to retry: it stopped for a reason.
    """
    now = now or timezone.now()
    stalled = MailUpload.objects.filter(MailUpload.stalled_at(now))
    requeued = 0
    for pk in stalled.exclude(file="").values_list("pk", flat=True)[:SWEEP_LIMIT]:
        # Conditional: a run that renewed its lease, or a Retry, since the read wins.
        if _requeue(stalled.filter(pk=pk), now):
            logger.warning("Mail upload %s stalled (its worker stopped); queued again", pk)
            transaction.on_commit(partial(_enqueue, pk))
            requeued += 1
    return requeued


# --- Import ------------------------------------------------------------------


class LeaseLost(Exception):
    """Another run took the import over (this one was too slow to renew its lease): stop."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _claim(upload_id: int, run: str) -> bool:
    """Take the upload for this run: a waiting one, or an importing one whose run stopped renewing its lease."""
    now = timezone.now()
    free = Q(status=MailUpload.Status.QUEUED) | MailUpload.stalled_at(now)
    # One UPDATE: of two redelivered copies, one takes it.
    return bool(
        MailUpload.objects.filter(free, pk=upload_id).update(
            status=MailUpload.Status.RUNNING, started_at=now, lease_until=_lease_end(now), lease_holder=run
        )
    )


def _import(upload: MailUpload, run: str) -> None:
    # A taken-over run goes on from the last batch recorded, adding to its counts.
    done = importer.ImportCounts(
        threaded=upload.threaded,
        unsorted=upload.unsorted,
        rejected=upload.rejected,
        duplicate=upload.duplicates,
    )
    held = MailUpload.objects.filter(pk=upload.pk, lease_holder=run)
    with upload.file.open("rb") as stored:
        reader = MailFileReader(stored, mbox=(upload.file.name or "").endswith(MBOX), start=upload.bytes_done)

        def on_batch(counts: importer.ImportCounts) -> None:
            renewed = held.update(
                bytes_done=reader.position,
                threaded=done.threaded + counts.threaded,
                unsorted=done.unsorted + counts.unsorted,
                rejected=done.rejected + counts.rejected,
                duplicates=done.duplicate + counts.duplicate,
                lease_until=_lease_end(timezone.now()),
            )
            if not renewed:
                raise LeaseLost

        counts = importer.mail_import_many(
            workspace=upload.workspace,
            raws=reader,
            source=InboundMail.Source.UPLOAD,
            on_batch=on_batch,
            batch_size=UPLOAD_BATCH,
        )
    finished = held.update(
        status=MailUpload.Status.DONE,
        bytes_done=upload.size,
        threaded=done.threaded + counts.threaded,
        unsorted=done.unsorted + counts.unsorted,
        rejected=done.rejected + counts.rejected,
        duplicates=done.duplicate + counts.duplicate,
        finished_at=timezone.now(),
        # The mail is in the log and the Unsorted inbox now; the file is not needed any more.
        file="",
        lease_until=None,
        lease_holder="",
    )
    if not finished:
        raise LeaseLost
    if upload.file.name:
        upload.file.storage.delete(upload.file.name)


def mail_upload_run(upload_id: int) -> str:
    """Import an uploaded file (the task's body); safe to run twice. Returns what became of it."""
    run = secrets.token_hex(8)
    if not _claim(upload_id, run):
        return "skipped"
    try:
        upload = MailUpload.objects.select_related("workspace").get(pk=upload_id)
        _import(upload, run)
    except LeaseLost:
        logger.warning("Mail upload %s was taken over by another run; this one stops", upload_id)
        return "skipped"
    except Exception as error:  # shown on the upload's page rather than lost in a log
        logger.exception("Mail upload %s failed", upload_id)
        MailUpload.objects.filter(pk=upload_id, lease_holder=run).update(
            status=MailUpload.Status.FAILED,
            error=_describe(error),
            finished_at=timezone.now(),
            lease_until=None,
            lease_holder="",
        )
        return MailUpload.Status.FAILED
    return MailUpload.Status.DONE


def recent(workspace: Workspace, limit: int = 20) -> list[MailUpload]:
    """The workspace's latest uploads, for the upload page."""
    return list(MailUpload.objects.filter(workspace=workspace).select_related("uploaded_by")[:limit])
