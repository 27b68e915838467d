"""Celery tasks that import mail files uploaded in the browser."""

from __future__ import annotations

from celery import shared_task

from engagements.mail import upload


@shared_task(name="engagements.tasks.import_mail_upload")
def import_mail_upload(upload_id: int) -> str:
    """Import one upload; a redelivered copy finds it claimed and does nothing (see ``upload``)."""
    return upload.mail_upload_run(upload_id)


@shared_task(name="engagements.tasks.requeue_stalled_mail_uploads")
def requeue_stalled_mail_uploads() -> int:
    """The beat's sweep: queue again the imports whose worker stopped (see ``upload``)."""
    return upload.mail_uploads_requeue_stalled()
