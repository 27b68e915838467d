"""Celery tasks that poll IMAP mailboxes.

The beat runs ``poll_mailboxes`` every minute; it claims the mailboxes whose
poll is due (a lease each) and queues one ``poll_mailbox`` per mailbox, so a
slow server delays only its own mailbox. A redelivered task whose lease has
meanwhile passed to another poll does nothing.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from engagements.mail import imap


@shared_task(name="engagements.tasks.poll_mailboxes")
def poll_mailboxes() -> int:
    claimed = imap.mailboxes_claim(timezone.now())
    for pk, lease in claimed:
        poll_mailbox.delay(pk, lease.isoformat())
    return len(claimed)


@shared_task(name="engagements.tasks.poll_mailbox")
def poll_mailbox(pk: int, lease: str | None = None) -> str:
    """Poll one mailbox under the beat's lease; without one ("Poll now") it claims the mailbox itself."""
    result = imap.mailbox_poll_claimed(pk=pk, lease=datetime.fromisoformat(lease) if lease else None)
    return "skipped" if result is None else str(result)
