"""The flagging pass: raise what became due, escalate what went unanswered, resolve
what no longer applies.

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

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from engagements.models import Engagement, Exchange, Flag, Notification
from engagements.notifications import notifications_for_flags

BATCH_SIZE = 1000


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


def _locked(queryset: object) -> object:
    # SKIP LOCKED lets concurrent passes share the work instead of queueing on
    # each other's rows. OF self: only the claimed table's rows are locked.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))  # type: ignore[attr-defined]
    return queryset


def _exchange_batch(now: datetime, report: PassReport, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            _locked(
                Exchange.objects.filter(next_check_at__lte=now)
                .select_related("engagement")
                .order_by("next_check_at", "id")
            )[:batch_size]  # type: ignore[index]
        )
        if not rows:
            return 0
        flags: list[Flag] = []
        escalated: list[int] = []
        for exchange in rows:
            engagement = exchange.engagement
            if not engagement.is_open or exchange.replied_at is not None:
                exchange.next_check_at = None
                continue
            # A pass that was missed may have several steps to catch up on.
            while (due := exchange.compute_next_check()) is not None and due <= now:
                if exchange.escalation == Exchange.ESCALATION_NONE:
                    kind = Flag.Kind.REPLY_OVERDUE
                    report.raised_overdue += 1
                else:
                    kind = Flag.Kind.GHOSTED
                    escalated.append(exchange.pk)
                    report.raised_ghosted += 1
                flags.append(
                    Flag(
                        workspace_id=exchange.workspace_id,
                        engagement=engagement,
                        exchange=exchange,
                        kind=kind,
                        due_at=due,
                        raised_at=now,
                    )
                )
                exchange.escalation += 1
            exchange.next_check_at = exchange.compute_next_check()
        if escalated:
            Flag.objects.filter(
                exchange_id__in=escalated, kind=Flag.Kind.REPLY_OVERDUE, resolved_at=None
            ).update(resolved_at=now, resolution=Flag.Resolution.ESCALATED)
        # The same run may both raise and escalate one exchange: the first of
        # its flags is then already superseded.
        _close_superseded(flags, now)
        Flag.objects.bulk_create(flags)
        _save_steps(rows)
        _queue_notifications(flags, report)
        return len(rows)


def _save_steps(rows: list[Exchange]) -> None:
    """One UPDATE per distinct (escalation, next check): far cheaper than bulk_update's CASE per row."""
    groups: dict[tuple[int, datetime | None], list[int]] = {}
    for row in rows:
        groups.setdefault((row.escalation, row.next_check_at), []).append(row.pk)
    for (escalation, next_check_at), ids in groups.items():
        Exchange.objects.filter(pk__in=ids).update(escalation=escalation, next_check_at=next_check_at)


def _close_superseded(flags: list[Flag], now: datetime) -> None:
    ghosted = {f.exchange_id for f in flags if f.kind == Flag.Kind.GHOSTED}
    for f in flags:
        if f.kind == Flag.Kind.REPLY_OVERDUE and f.exchange_id in ghosted:
            f.resolved_at = now
            f.resolution = Flag.Resolution.ESCALATED


def _delivery_batch(now: datetime, report: PassReport, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            _locked(
                Engagement.objects.filter(delivery_check_at__lte=now).order_by("delivery_check_at", "id")
            )[:batch_size]  # type: ignore[index]
        )
        if not rows:
            return 0
        flags = [
            Flag(
                workspace_id=e.workspace_id,
                engagement=e,
                kind=Flag.Kind.DELIVERY_OVERDUE,
                due_at=e.delivery_check_at,
                raised_at=now,
            )
            for e in rows
            if e.status in Engagement.DELIVERY_OWED_STATUSES
        ]
        Engagement.objects.filter(pk__in=[e.pk for e in rows]).update(delivery_check_at=None)
        Flag.objects.bulk_create(flags)
        report.raised_delivery += len(flags)
        _queue_notifications(flags, report)
        return len(rows)


def _queue_notifications(flags: list[Flag], report: PassReport) -> None:
    open_flags = [f for f in flags if f.resolved_at is None]
    if not open_flags:
        return
    created = Notification.objects.bulk_create(notifications_for_flags(open_flags))
    report.notifications += len(created)
    report.notification_ids.extend(
        n.pk for n in created if n.status == Notification.Status.PENDING and n.pk is not None
    )


def _resolve_stale(now: datetime) -> int:
    """Close open flags that no longer apply (a safety net: services resolve them as they happen)."""
    closed = Flag.objects.filter(resolved_at=None).filter(
        Q(engagement__status__in=Engagement.CLOSED_STATUSES)
    )
    count = closed.update(resolved_at=now, resolution=Flag.Resolution.CLOSED)
    count += Flag.objects.filter(resolved_at=None, exchange__replied_at__isnull=False).update(
        resolved_at=now, resolution=Flag.Resolution.REPLIED
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


def delivery_deadline(engagement: Engagement) -> datetime | None:
    """End of the due date in the provider's zone: the delivery is late after that."""
    return delivery_deadline_for(engagement.due_on, engagement.status, engagement.provider.time_zone)


def delivery_deadline_for(due_on: date | None, status: str, time_zone: str) -> datetime | None:
    if due_on is None or status not in Engagement.DELIVERY_OWED_STATUSES:
        return None
    zone = zoneinfo.ZoneInfo(time_zone or "UTC")
    end = datetime.combine(due_on + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return end.astimezone(UTC)
