"""Slow, bulk work has a queue of its own: the flag pass and notification delivery never wait
behind a reliability refresh or an import (outsourcing/settings.py, CELERY_TASK_ROUTES)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from engagements import services
from engagements.models import Flag
from engagements.tasks import flag_overdue, refresh_metrics_all
from ops import health
from outsourcing.celery import app as celery_app
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import wait_for

# Each task's queue, written out: what must not wait, and the slow bulk work.
QUEUE = {
    "api.tasks.purge_idempotent_requests": "default",
    "engagements.tasks.build_export": "bulk",
    "engagements.tasks.deliver_due_notifications": "default",
    "engagements.tasks.deliver_notifications": "default",
    "engagements.tasks.flag_overdue": "default",
    "engagements.tasks.import_chat_upload": "bulk",
    "engagements.tasks.import_mail_upload": "bulk",
    "engagements.tasks.poll_mailbox": "bulk",
    "engagements.tasks.poll_mailboxes": "default",
    "engagements.tasks.recompute_engagements": "default",
    "engagements.tasks.recompute_policy": "default",
    "engagements.tasks.recompute_provider": "default",
    "engagements.tasks.refresh_metrics_all": "bulk",
    "engagements.tasks.refresh_metrics_backlog": "bulk",
    "engagements.tasks.refresh_metrics_workspace": "bulk",
    "engagements.tasks.refresh_our_answers": "default",
    "engagements.tasks.refresh_owner_answers": "default",
    "engagements.tasks.requeue_stalled_mail_uploads": "default",
    "engagements.tasks.requeue_stalled_chat_uploads": "default",
    "engagements.tasks.run_import": "bulk",
    "engagements.tasks.send_daily_digests": "default",
    "engagements.tasks.send_due_reports": "default",
    "engagements.tasks.send_report_now": "default",
    "engagements.tasks.sweep_archives": "default",
}
BULK = {name for name, queue in QUEUE.items() if queue == "bulk"}
WAITING = 20


def _queue(name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


def test_each_task_goes_to_the_default_queue_or_the_bulk_one_as_its_kind_needs():
    ours = {name for name in celery_app.tasks if not name.startswith("celery.")}
    # A new task is placed on purpose: it must be listed here.
    assert ours == set(QUEUE)
    names = {"default": settings.CELERY_TASK_DEFAULT_QUEUE, "bulk": settings.CELERY_BULK_QUEUE}
    assert {name: _queue(name) for name in ours} == {name: names[queue] for name, queue in QUEUE.items()}


def test_a_worker_started_without_naming_queues_reads_both():
    # (Tests that publish to queues of their own add those to the app's list as they go.)
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.CELERY_BULK_QUEUE,
    }
    assert {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_BULK_QUEUE} <= set(
        celery_app.amqp.queues.consume_from
    )


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_flag_pass_is_taken_while_the_bulk_queue_is_full(
    team, through_the_broker, finished_tasks, monkeypatch
):
    provider = ProviderFactory(workspace=team.workspace, name="Silent Agency", time_zone="UTC", country="")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    requested_at = timezone.now() - timedelta(days=10)
    with time_machine.travel(requested_at, tick=False):
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=requested_at)
    # Logging the request queued its workspace's refresh; add those a busy afternoon queues
    # (at a million messages each takes ~40 s).
    for _ in range(WAITING - 1):
        refresh_metrics_all.delay()
    bulk = settings.CELERY_BULK_QUEUE
    assert wait_for(
        lambda: health.queue_depth()[1] == {settings.CELERY_TASK_DEFAULT_QUEUE: 0, bulk: WAITING}, 10
    ), health.queue_depth()
    # The worker reads the default queue only, as the Procfile's and compose.yaml's `worker` does.
    # (Selecting queues is remembered by the app: undone after the test.)
    monkeypatch.setattr(celery_app.amqp.queues, "_consume_from", None)
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=30,
        queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
    ):
        flag_overdue.delay()
        assert finished_tasks.wait_for("engagements.tasks.flag_overdue", seconds=60), finished_tasks.results
        # Its notifications are delivered by the same queue's worker.
        assert finished_tasks.wait_for("engagements.tasks.deliver_notifications", seconds=60), (
            finished_tasks.results
        )

    assert Flag.objects.filter(engagement=engagement, kind=Flag.Kind.REPLY_OVERDUE).count() == 1
    assert not [name for name in finished_tasks.names if name in BULK]
    # Still waiting, every one of them.
    assert health.queue_depth()[1] == {settings.CELERY_TASK_DEFAULT_QUEUE: 0, bulk: WAITING}
