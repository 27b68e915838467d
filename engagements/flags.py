"""Flags: raise (every kind), resolve, snooze and dismiss — the one module that writes them.

The background pass (``engagements.flagging``) decides what became due and
hands the rows to ``raise_from_rows``; the services resolve flags through
``resolve`` when the log, the status or the due date says they no longer
apply. Flags are never deleted: resolved ones are the history the
reliability numbers read. Every raise writes the flag's outbox rows in the
same transaction (``engagements.notifications.outbox``).

Each exchange stores whether an open flag points at it (``Exchange.flag_open``,
read by Needs attention). Whatever here opens or closes an exchange's flag also
sets that marker, from the flags themselves, in the same transaction; the
flagging pass sets it for the exchanges it raises flags on in its own UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import jobs
from engagements.models import Engagement, Exchange, Flag, Message, Notification
from engagements.notifications.outbox import queue_for_flags, withdraw_alerts
from engagements.sql import id_in
from outsourcing.models import User

MAX_SNOOZE_DAYS = 365


# --- Raising --------------------------------------------------------------------------------


def raise_from_rows(
    source: type[Exchange] | type[Engagement],
    ids: Sequence[int],
    *,
    kind: str,
    due_column: str,
    now: datetime,
    superseded: bool = False,
) -> list[int]:
    """INSERT … SELECT flags straight from claimed exchange or engagement rows; returns the new ids.

    The deadline is a column of the source row, so no row travels to Python
    and back (the flagging pass raises thousands at once). ``superseded``:
    raised and escalated past in the same run, so recorded already resolved.
    The caller holds the source rows locked and, for exchanges, sets their
    ``flag_open`` (the pass does it in the UPDATE that moves their escalation on).
    """
    if not ids:
        return []
    keys = "workspace_id, engagement_id, id" if source is Exchange else "workspace_id, id, NULL"
    db_now = connection.ops.adapt_datetimefield_value(now)
    where, id_params = id_in("id", ids)
    sql = (
        # Only model table names and the caller's column name are formatted in; values are parameters.
        f"INSERT INTO {Flag._meta.db_table} "  # nosec B608  # see the line above
        "(workspace_id, engagement_id, exchange_id, kind, due_at, raised_at, resolved_at, resolution, reason) "
        f"SELECT {keys}, %s, {due_column}, %s, %s, %s, '' FROM {source._meta.db_table} WHERE {where} "
        "RETURNING id"
    )
    params = [
        kind,
        db_now,
        db_now if superseded else None,
        Flag.Resolution.ESCALATED.value if superseded else "",
        *id_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def notify_counted(flag_ids: Sequence[int]) -> tuple[list[int], int]:
    """Write the outbox rows of newly raised flags: the ids ready to deliver now, and how many were written.

    The rest are in-app rows (delivered by existing) and rows waiting for a daily digest.
    """
    written = queue_for_flags(flag_ids)
    return [pk for pk, status in written if status == Notification.Status.PENDING], len(written)


def notify(flag_ids: Sequence[int]) -> list[int]:
    """Write the outbox rows of newly raised flags; returns the ids ready to deliver now."""
    return notify_counted(flag_ids)[0]


def raise_bounced(*, message: Message) -> Flag | None:
    """Flag the engagement of a bounced mail (one open such flag per engagement) and notify its people."""
    engagement = message.engagement
    if Flag.objects.filter(engagement=engagement, kind=Flag.Kind.BOUNCED, resolved_at=None).exists():
        return None
    try:
        with transaction.atomic():
            flag = Flag.objects.create(
                workspace_id=engagement.workspace_id,
                engagement=engagement,
                kind=Flag.Kind.BOUNCED,
                due_at=message.occurred_at,
                reason=(message.subject or _("Delivery failure"))[:300],
            )
    except IntegrityError:
        return None  # raised meanwhile by a concurrent import
    jobs.deliver_later(notify([flag.pk]))
    return flag


# --- The exchanges' marker ---------------------------------------------------------------------


@contextmanager
def _marking(exchanges: QuerySet[Exchange]) -> Iterator[None]:
    """Around a change of which flags are open: afterwards set ``flag_open`` of ``exchanges``.

    The exchanges are locked first, in id order, as the flagging pass claims
    them before it writes their flags: the marker is then computed after any
    concurrent raise on them committed (a statement sees only what committed
    before it began), and the two never wait on each other's rows crosswise.
    """
    with transaction.atomic(savepoint=False):
        locked = exchanges.order_by("pk").values_list("pk", flat=True)
        if connection.features.has_select_for_update:
            locked = locked.select_for_update(of=("self",))
        ids = list(locked)
        yield
        if ids:
            Exchange.objects.filter(pk__in=ids).mark_flagged()


def _exchanges_of(flags: QuerySet[Flag]) -> QuerySet[Exchange]:
    return Exchange.objects.filter(pk__in=flags.values("exchange_id"))


# --- Resolving ------------------------------------------------------------------------------


def _resolve_open(
    flags: QuerySet[Flag],
    *,
    resolution: str,
    now: datetime | None = None,
    reason: str = "",
    by: User | None = None,
) -> int:
    changes: dict[str, Any] = {"resolved_at": now or timezone.now(), "resolution": resolution}
    if reason:
        changes["reason"] = reason
    if by is not None:
        changes["resolved_by"] = by
    return flags.filter(resolved_at=None).update(**changes)


def resolve(
    flags: QuerySet[Flag],
    *,
    resolution: str,
    now: datetime | None = None,
    reason: str = "",
    by: User | None = None,
) -> int:
    """Resolve the open ones among ``flags``; returns how many.

    A conditional update: a flag resolved meanwhile (by a reply, a person or
    the pass) keeps its first resolution. Their exchanges' markers follow.
    """
    open_flags = flags.filter(resolved_at=None)
    with _marking(_exchanges_of(open_flags)):
        return _resolve_open(open_flags, resolution=resolution, now=now, reason=reason, by=by)


def supersede(exchange_ids: Sequence[int], *, now: datetime) -> int:
    """Resolve the reply-overdue flags of exchanges escalated to ghosted; returns how many.

    For the flagging pass, which raises their ghosted flags in the same
    transaction: the exchanges stay flagged, so their marker is left alone.
    """
    return _resolve_open(
        Flag.objects.filter(exchange_id__in=exchange_ids, kind=Flag.Kind.REPLY_OVERDUE),
        resolution=Flag.Resolution.ESCALATED,
        now=now,
    )


def open_flags(engagement: Engagement) -> QuerySet[Flag]:
    return Flag.objects.filter(engagement=engagement, resolved_at=None)


def withdraw(flags: QuerySet[Flag], *, reason: str, now: datetime | None = None) -> int:
    """Withdraw flags the log proves wrong (a back-dated reply in time, a moved deadline, a removed request).

    Open ones, and reply-overdue flags that ghosting superseded (an automatic
    resolution, not a person's). A withdrawn flag never counts in the
    reliability figures; its alerts that have not gone out never will, and
    whoever already got one is told it was withdrawn.
    """
    now = now or timezone.now()
    rows = list(
        flags.filter(Q(resolved_at=None) | Q(resolution=Flag.Resolution.ESCALATED)).values_list(
            "pk", "exchange_id"
        )
    )
    if not rows:
        return 0
    ids = [pk for pk, _exchange in rows]
    with _marking(Exchange.objects.filter(pk__in={e for _pk, e in rows if e is not None})):
        Flag.objects.filter(pk__in=ids).update(
            resolved_at=now, resolution=Flag.Resolution.WITHDRAWN, reason=reason[:300], resolved_by=None
        )
    jobs.deliver_later(withdraw_alerts(ids, now=now))
    return len(ids)


def reopen_superseded(flags: QuerySet[Flag]) -> int:
    """Open again the reply-overdue flags that a ghosting (now withdrawn) had superseded."""
    superseded = flags.filter(kind=Flag.Kind.REPLY_OVERDUE, resolution=Flag.Resolution.ESCALATED)
    with _marking(_exchanges_of(superseded)):
        return superseded.update(resolved_at=None, resolution="")


def move_deadline(flags: QuerySet[Flag], *, due_at: datetime) -> int:
    """The open flags stay true under a new deadline (a due date moved, but not past today)."""
    return flags.filter(resolved_at=None).update(due_at=due_at)


# --- What people do with a flag ---------------------------------------------------------------


def _claim_open_flag(flag: Flag, **changes: Any) -> None:
    """Change a flag only while it is still open (conditional update, as in the flagging pass).

    The page may be older than the flag's state: a reply or another person may
    have resolved it meanwhile, and a resolved flag is history, never edited.
    """
    if not Flag.objects.filter(pk=flag.pk, resolved_at=None).update(**changes):
        raise ValidationError(_("This flag is already resolved."))
    for name, value in changes.items():
        setattr(flag, name, value)


@transaction.atomic
def flag_snooze(*, flag: Flag, until: datetime, by: User | None) -> Flag:
    """Hide an open flag from the attention list until ``until``, at most a year ahead.

    The exchange's ``next_check_at`` is left alone: the escalation ladder runs on.
    """
    check_snooze_until(until)
    _claim_open_flag(flag, snoozed_until=until)
    return flag


def check_snooze_until(until: datetime) -> None:
    """Raise ValidationError unless ``until`` is an aware moment in the future, at most a year ahead."""
    if timezone.is_naive(until):
        raise ValidationError({"until": _("The time needs a time zone.")})
    now = timezone.now()
    if until <= now:
        raise ValidationError({"until": _("Choose a moment in the future.")})
    if until > now + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError({"until": _("A flag can be snoozed for at most a year.")})


@transaction.atomic
def flag_unsnooze(*, flag: Flag, by: User | None) -> Flag:
    """Put a snoozed flag back on the attention list now."""
    _claim_open_flag(flag, snoozed_until=None)
    return flag


def checked_reason(reason: str, missing: str) -> str:
    """A person's reason for resolving a flag: required, and short enough to keep whole."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": missing})
    max_length = Flag._meta.get_field("reason").max_length or 300
    if len(reason) > max_length:
        raise ValidationError(
            {"reason": _("The reason can be at most %(n)d characters long.") % {"n": max_length}}
        )
    return reason


@transaction.atomic
def flag_dismiss(*, flag: Flag, reason: str, by: User | None) -> Flag:
    """Resolve an open flag by hand; the reason is kept with it in the history."""
    reason = checked_reason(reason, _("Say why the flag is dismissed."))
    request = Exchange.objects.filter(pk=flag.exchange_id) if flag.exchange_id else Exchange.objects.none()
    with _marking(request):
        _claim_open_flag(
            flag,
            resolved_at=timezone.now(),
            resolution=Flag.Resolution.DISMISSED,
            resolved_by=by,
            reason=reason,
        )
    return flag


@transaction.atomic
def flag_withdraw(*, flag: Flag, reason: str, by: User | None) -> Flag:
    """Take back a flag a person knows to be wrong (say, the request went to the wrong provider).

    Unlike a dismissal it stops counting in the reliability figures, and whoever
    got its alert is told it was withdrawn — as when the log itself proves a flag
    wrong (``withdraw``). The reason is kept with it.
    """
    reason = checked_reason(reason, _("Say why the flag is withdrawn."))
    if not withdraw(Flag.objects.filter(pk=flag.pk), reason=reason):
        raise ValidationError(_("This flag is already resolved."))
    Flag.objects.filter(pk=flag.pk).update(resolved_by=by)
    flag.refresh_from_db()
    return flag
