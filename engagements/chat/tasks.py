"""Celery task that imports a large chat export with the choices made on the page."""

from __future__ import annotations

from celery import shared_task

from engagements.chat import importer


@shared_task(name="engagements.tasks.import_chat_upload")
def import_chat_upload(upload_id: int) -> str:
    """Import one queued export; a redelivered copy finds it claimed and does nothing."""
    return importer.upload_run(upload_id)


@shared_task(name="engagements.tasks.requeue_stalled_chat_uploads")
def requeue_stalled_chat_uploads() -> int:
    """The beat's sweep: background imports whose worker went silent are queued again."""
    return importer.uploads_requeue_stalled()
