"""A real Celery worker on the configured broker (Redis in CI): the beat task raises a
flag, and its notifications arrive at a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from email import message_from_bytes

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from engagements import services
from engagements.models import Flag, Notification
from engagements.notifications.outbox import signature
from engagements.tasks import flag_overdue
from outsourcing.celery import app as celery_app
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _through_the_broker(through_the_broker):
    pass


@pytest.fixture
def webhook_receiver(settings, http_receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    return f"{http_receiver.url}/hook", http_receiver.received


def test_the_beat_task_raises_a_flag_delivered_by_smtp_and_webhook_exactly_once(
    team, smtp_server, webhook_receiver
):
    url, received = webhook_receiver
    team.workspace.webhook_url = url
    team.workspace.webhook_secret = "s3cret"
    team.workspace.save(update_fields=["webhook_url", "webhook_secret"])
    provider = ProviderFactory(workspace=team.workspace, name="Silent Agency", time_zone="UTC", country="")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="SEO audit"
    )
    requested_at = timezone.now() - timedelta(days=10)
    # Logged when it was sent: a request typed in after its reply was due waits out a grace first.
    with time_machine.travel(requested_at, tick=False):
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=requested_at)

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        flag_overdue.delay()
        assert wait_for(lambda: len(smtp_server.messages) >= 1 and len(received) >= 1)
        # Anything still queued would show up now as a duplicate.
        flag_overdue.delay()
        time.sleep(2)

    assert Flag.objects.filter(engagement=engagement, kind=Flag.Kind.REPLY_OVERDUE).count() == 1
    assert len(smtp_server.messages) == 1
    mail = message_from_bytes(smtp_server.messages[0])
    assert mail["To"] == team.alice.email
    assert "SEO audit" in mail["Subject"]
    email_row = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert mail["Message-ID"] == f"<{email_row.idempotency_key}@outsourcing-tracker>"

    assert len(received) == 1
    _path, headers, body = received[0]
    sent_at = int(headers["X-Tracker-Signature"].split(",")[0].removeprefix("t="))
    assert abs(sent_at - timezone.now().timestamp()) < 120
    assert headers["X-Tracker-Signature"] == signature("s3cret", body, sent_at)
    payload = json.loads(body)
    assert "SEO audit" in payload["text"]
    assert headers["Idempotency-Key"] == payload["idempotency_key"]
    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.SENT}
