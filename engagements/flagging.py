"""The flagging pass: raise what became due, escalate what went unanswered, resolve
what no longer applies.

Only the background pass lives here: when something is due is
``engagements.deadlines``' to say, and the flags are written by
``engagements.flags``.

Like Healthchecks' ``sendalerts``, the database row is the queue. Each exchange
stores ``next_check_at`` (indexed, partial): a pass reads only rows whose
moment has come, in batches, and claims them with ``SELECT … FOR UPDATE SKIP
LOCKED`` so any number of passes can run at once without raising a flag twice
(SQLite serialises writers instead). A partial unique index on open flags is
the last guard. Flags and their notification rows are written in the same
transaction, and everything derives from stored times, so a missed pass is
caught up by the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engagements import deadlines, flags, sql
from engagements.backlog import backlog_add
from engagements.models import Engagement, Exchange, Flag

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000


@dataclass
class PassReport:
    raised_overdue: int = 0
    raised_ghosted: int = 0
    raised_delivery: int = 0
    resolved: int = 0
    notifications: int = 0
    notification_ids: list[int] = field(default_factory=list)

    @property
    def raised(self) -> int:
        return self.raised_overdue + self.raised_ghosted + self.raised_delivery

    def __str__(self) -> str:
        return (
            f"raised {self.raised_overdue} reply overdue, {self.raised_delivery} delivery overdue; "
            f"escalated {self.raised_ghosted} to ghosted; resolved {self.resolved}; "
            f"{self.notifications} notifications queued"
        )


_locked = sql.skip_locked


def _exchange_batch(now: datetime, report: PassReport, batch_size: int) -> int:
    with transaction.atomic():
        # Plain tuples: the pass needs five values a row, not model instances.
        rows = list(
            _locked(
                # deadlines.is_past: a reply at the due instant is still on time.
                Exchange.objects.filter(next_check_at__lt=now)
                .order_by("next_check_at", "id")
                .values_list(
                    "pk", "escalation", "replied_at", "reply_due_at", "ghosted_due_at", "engagement__status"
                )
            )[:batch_size]  # type: ignore[index]
        )
        if not rows:
            return 0
        # What a killed worker was holding (make cluster-test kills one mid-batch and says what it held).
        logger.info("Holding %d exchanges for the flag pass", len(rows))
        overdue: list[int] = []
        superseded: list[int] = []
        ghosted: list[int] = []
        # (escalation, next check, a flag raised on it) -> the exchanges that take those values.
        steps: dict[tuple[int, datetime | None, bool], list[int]] = {}
        for pk, escalation, replied_at, reply_due_at, ghosted_due_at, status in rows:
            raised = False
            if status in Engagement.OPEN_STATUSES and replied_at is None:
                first = escalation
                escalation = deadlines.escalation_reached(first, reply_due_at, ghosted_due_at, now)
                if first < deadlines.OVERDUE <= escalation:
                    # Raised and escalated in the same run: the overdue flag is already superseded.
                    (superseded if escalation >= deadlines.GHOSTED else overdue).append(pk)
                if first < deadlines.GHOSTED <= escalation:
                    ghosted.append(pk)
                raised = escalation > first
                next_check = deadlines.next_check(escalation, None, reply_due_at, ghosted_due_at)
            else:
                next_check = None
            steps.setdefault((escalation, next_check, raised), []).append(pk)
        report.raised_overdue += len(overdue) + len(superseded)
        report.raised_ghosted += len(ghosted)
        if ghosted:
            flags.supersede(ghosted, now=now)
        new_flags = flags.raise_from_rows(
            Exchange, overdue, kind=Flag.Kind.REPLY_OVERDUE, due_column="reply_due_at", now=now
        )
        flags.raise_from_rows(
            Exchange,
            superseded,
            kind=Flag.Kind.REPLY_OVERDUE,
            due_column="reply_due_at",
            now=now,
            superseded=True,
        )
        new_flags += flags.raise_from_rows(
            Exchange, ghosted, kind=Flag.Kind.GHOSTED, due_column="ghosted_due_at", now=now
        )
        if ghosted:
            _queue_metrics(ghosted)
        _save_steps(steps)
        _queue_notifications(new_flags, report)
        return len(rows)


def _queue_metrics(exchange_ids: list[int]) -> None:
    """A ghosting counts against the provider: queue their reliability figures for a refresh."""
    pairs = (
        Engagement.objects.filter(exchanges__id__in=exchange_ids)
        .values_list("workspace_id", "provider_id")
        .distinct()
    )
    by_workspace: dict[int, list[int]] = {}
    for workspace_id, provider_id in pairs:
        by_workspace.setdefault(workspace_id, []).append(provider_id)
    for workspace_id, provider_ids in by_workspace.items():
        backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)


def _save_steps(steps: dict[tuple[int, datetime | None, bool], list[int]]) -> None:
    """One UPDATE per distinct (escalation, next check, raised): far cheaper than bulk_update's CASE per row.

    An exchange a flag was just raised on has an open flag (a ghosted one at least, if its
    overdue flag was superseded): its ``flag_open`` is set in the same UPDATE.
    """
    for (escalation, next_check_at, raised), ids in steps.items():
        marker = {"flag_open": True} if raised else {}
        Exchange.objects.filter(pk__in=ids).update(
            escalation=escalation, next_check_at=next_check_at, **marker
        )


def _delivery_batch(now: datetime, report: PassReport, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            _locked(
                # deadlines.is_late: the due date's end is already the next day.
                Engagement.objects.filter(delivery_check_at__lte=now)
                .order_by("delivery_check_at", "id")
                .values_list("pk", "status")
            )[:batch_size]  # type: ignore[index]
        )
        if not rows:
            return 0
        logger.info("Holding %d engagements for the flag pass", len(rows))
        owed = [pk for pk, status in rows if status in deadlines.DELIVERY_OWED_STATUSES]
        new_flags = flags.raise_from_rows(
            Engagement, owed, kind=Flag.Kind.DELIVERY_OVERDUE, due_column="delivery_check_at", now=now
        )
        Engagement.objects.filter(pk__in=[pk for pk, _ in rows]).update(delivery_check_at=None)
        report.raised_delivery += len(new_flags)
        _queue_notifications(new_flags, report)
        return len(rows)


def _queue_notifications(flag_ids: list[int], report: PassReport) -> None:
    ready, written = flags.notify_counted(flag_ids)
    report.notifications += written
    report.notification_ids.extend(ready)


def _resolve_stale(now: datetime) -> int:
    """Close open flags that no longer apply (a safety net: services resolve them as they happen)."""
    closed = Flag.objects.filter(Q(engagement__status__in=Engagement.CLOSED_STATUSES))
    count = flags.resolve(closed, resolution=Flag.Resolution.CLOSED, now=now)
    count += flags.resolve(
        Flag.objects.filter(exchange__replied_at__isnull=False), resolution=Flag.Resolution.REPLIED, now=now
    )
    return count


def flag_pass(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    on_commit: Callable[[list[int]], None] | None = None,
) -> PassReport:
    """Run one pass; ``on_commit`` gets the ids of notifications ready to deliver."""
    now = now or timezone.now()
    report = PassReport()
    while _exchange_batch(now, report, batch_size) == batch_size:
        pass
    while _delivery_batch(now, report, batch_size) == batch_size:
        pass
    report.resolved = _resolve_stale(now)
    if on_commit is not None and report.notification_ids:
        on_commit(report.notification_ids)
    return report
