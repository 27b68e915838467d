"""Crash test: a worker process killed with SIGKILL in the middle of delivering a
batch. A new worker and the beat's sweep deliver everything else; nothing
twice.

The SMTP server on loopback holds the fifth message's DATA without answering,
so the kill lands at a known point: four mails accepted, the fifth in flight
(unanswered, so not delivered), fifteen not started (all twenty claimed together).
A mail counts as delivered only once the server answered 250.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from engagements import deadlines, services
from engagements.flagging import flag_pass
from engagements.models import Notification
from engagements.tasks import deliver_due_notifications, deliver_notifications
from outsourcing.celery import app as celery_app
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import Worker, database_url, free_port, wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _through_the_broker(_tasks_run_inline):
    celery_app.conf.task_always_eager = False


BATCH = 20
HOLD_AT = 5
LEASE_SECONDS = 3


class HoldingInbox:
    """Accepts mail, except that it never answers the HOLD_AT-th message's DATA."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.seen = 0
        self.holding = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seen += 1
            hold = self.seen == HOLD_AT
        if hold:
            self.holding.set()
            # The sender dies while waiting; whatever is answered then reaches nobody.
            await asyncio.sleep(60)
            return "451 Try again later"
        with self.lock:
            self.accepted.append(envelope.content)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message_from_bytes(raw)["Message-ID"] for raw in self.accepted]


def test_a_worker_killed_mid_batch_leaves_nothing_undelivered_and_nothing_sent_twice(team):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database they can share: runs on PostgreSQL (as in CI)")
    provider = ProviderFactory(workspace=team.workspace, time_zone="UTC", country="")
    for i in range(BATCH):
        engagement = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice, title=f"Task {i}"
        )
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            occurred_at=timezone.now() - timedelta(days=10),
        )
    # Typed in after the replies were due: looked at once the grace for entering history is over.
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == BATCH
    emails = Notification.objects.filter(channel=Notification.Channel.EMAIL)
    ids = list(emails.order_by("id").values_list("pk", flat=True))
    assert len(ids) == BATCH

    inbox = HoldingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    # A queue of its own, so no other test's worker takes these tasks.
    queue = f"crash-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        "DATABASE_URL": database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # Its bulk queue too: this worker reads no other test's tasks, and no other worker these.
        "CELERY_BULK_QUEUE": queue,
        "NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "120",
    }
    first = Worker(env)
    second = None
    try:
        first.wait_ready()
        deliver_notifications.apply_async(args=[ids], queue=queue)
        if not inbox.holding.wait(90):
            pytest.fail("the worker never reached the fifth mail:\n" + "".join(first.log))
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        assert first.process.returncode == -signal.SIGKILL

        # Where the kill left things: four sent and recorded; the fifth (mid-send) and the
        # fifteen not started claimed with the batch, under a lease that has yet to run out.
        statuses = Counter(emails.values_list("status", flat=True))
        assert statuses == {
            Notification.Status.SENT: HOLD_AT - 1,
            Notification.Status.SENDING: BATCH - HOLD_AT + 1,
        }
        assert len(inbox.accepted) == HOLD_AT - 1

        second = Worker(env)
        second.wait_ready()
        # The beat's sweep, once the dead worker's lease ran out.
        time.sleep(LEASE_SECONDS + 0.5)
        deliver_due_notifications.apply_async(queue=queue)
        assert wait_for(lambda: emails.filter(status=Notification.Status.SENT).count() == BATCH, 60), Counter(
            emails.values_list("status", flat=True)
        )
        # A late second sweep finds nothing left to do.
        deliver_due_notifications.apply_async(queue=queue)
        time.sleep(2)
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        controller.stop()

    delivered = Counter(inbox.message_ids())
    expected = {f"<{key}@outsourcing-tracker>" for key in emails.values_list("idempotency_key", flat=True)}
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    assert len(inbox.accepted) == BATCH
    held = emails.get(pk=ids[HOLD_AT - 1])
    assert held.attempts == 2
