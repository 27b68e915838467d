"""Celery tasks: thin wrappers around the flagging pass, notification delivery and recomputes.

Every task is safe to run twice (late acks may redeliver it): the pass claims
rows with SKIP LOCKED, delivery claims its batch of notifications with a lease, and a
recompute derives everything afresh from the log and the current calendar.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from engagements import backlog, jobs, services
from engagements.flagging import flag_pass
from engagements.notifications import outbox as notifications
from engagements.notifications.digest import send_daily_digests as _send_daily_digests
from engagements.reliability import snapshots
from engagements.reports.services import report_send_claimed as _send_report_now
from engagements.reports.services import send_due_reports as _send_due_reports
from engagements.throttle import throttled


@shared_task(name="engagements.tasks.flag_overdue")
def flag_overdue() -> str:
    return str(flag_pass(on_commit=jobs.deliver_later))


@shared_task(name="engagements.tasks.deliver_notifications")
def deliver_notifications(ids: list[int]) -> dict[str, int]:
    return notifications.deliver_many(ids)


@shared_task(name="engagements.tasks.deliver_due_notifications")
def deliver_due_notifications() -> int:
    """Retry what failed, and pick up what a dead worker left mid-delivery."""
    ids = notifications.due_for_delivery(timezone.now())
    jobs.deliver_later(ids)
    return len(ids)


@shared_task(name="engagements.tasks.recompute_provider")
def recompute_provider(provider_id: int) -> int:
    return services.provider_recompute(provider_id=provider_id)


@shared_task(name="engagements.tasks.recompute_policy")
def recompute_policy(policy_id: int) -> int:
    return services.policy_recompute(policy_id=policy_id)


@shared_task(name="engagements.tasks.recompute_engagements")
def recompute_engagements(engagement_ids: list[int]) -> int:
    return services.engagements_recompute(engagement_ids=engagement_ids)


@shared_task(name="engagements.tasks.refresh_our_answers")
def refresh_our_answers(engagement_ids: list[int]) -> int:
    return services.our_answers_refresh(engagement_ids=engagement_ids)


@shared_task(name="engagements.tasks.refresh_owner_answers")
def refresh_owner_answers(owner_id: int) -> int:
    return services.owner_answers_refresh(owner_id=owner_id)


@shared_task(name="engagements.tasks.send_daily_digests")
def send_daily_digests() -> int:
    return _send_daily_digests()


def _refresh_pace(task: Any) -> float:
    """How gently a refresh task runs (engagements.throttle): full speed when run in place (tests)."""
    return 0.0 if task.request.is_eager else settings.METRICS_REFRESH_THROTTLE


@shared_task(name="engagements.tasks.refresh_metrics_backlog", bind=True)
def refresh_metrics_backlog(self: Any) -> int:
    with throttled(_refresh_pace(self)):
        return snapshots.backlog_refresh()


@shared_task(name="engagements.tasks.refresh_metrics_workspace", bind=True)
def refresh_metrics_workspace(self: Any, workspace_id: int, paced: bool = False) -> int:
    """A change committed: recompute the workspace's queued figures (soon: paced by engagements.backlog).

    A task queued while the previous refresh ran was sent with no wait (that one had not ended):
    it is sent again for when the pace allows, its "queued" mark still set, and does nothing now.
    Run in place (eagerly: tests, no broker) it refreshes at once, as a countdown means nothing there.
    """
    wait = None if self.request.is_eager else backlog.refresh_wait(workspace_id)
    if wait:
        jobs.send_now("engagements.tasks.refresh_metrics_workspace", workspace_id, True, countdown=wait)
        return 0
    # A lone change's refresh runs at full speed (its figures show within seconds); one paced
    # behind another (a steady stream of changes) runs throttled, leaving the CPU to the pages.
    with throttled(_refresh_pace(self) if paced else 0.0):
        return snapshots.backlog_refresh(workspace_id=workspace_id)


@shared_task(name="engagements.tasks.refresh_metrics_all", bind=True)
def refresh_metrics_all(self: Any) -> int:
    with throttled(_refresh_pace(self)):
        return snapshots.refresh_all()


# The mail tasks live beside the mail code; importing them here registers them with the worker.
from engagements.archive import tasks as archive_tasks  # noqa: E402, F401
from engagements.chat import tasks as chat_tasks  # noqa: E402, F401
from engagements.mail import imap_tasks, upload_tasks  # noqa: E402, F401


@shared_task(name="engagements.tasks.send_due_reports")
def send_due_reports() -> int:
    """Every enabled reliability report whose last whole month or week has not gone out yet."""
    return _send_due_reports()


@shared_task(name="engagements.tasks.send_report_now")
def send_report_now(report_id: int, period_key: str, claimed_at: str) -> int:
    """A report's "Send now", claimed by the page's request (engagements.reports.services)."""
    return _send_report_now(report_id=report_id, period_key=period_key, claimed_at=claimed_at)
