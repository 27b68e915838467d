"""Write actions on engagements and their log. Every entry point calls these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import snapshots
from engagements.clock import BusinessCalendar, add_business_time, business_seconds
from engagements.exchanges import DerivedExchange, LogEntry, derive_exchanges
from engagements.flagging import delivery_deadline
from engagements.models import (
    Attachment,
    Engagement,
    Exchange,
    Flag,
    Message,
    MessageVersion,
    Notification,
    Review,
    StatusChange,
)
from engagements.policies import engagement_calendar, engagement_policies
from outsourcing.models import Membership, User, Workspace
from outsourcing.uploads import check_upload
from providers.models import Absence, Provider, ResponsePolicy
from providers.services import absence_add

ENGAGEMENT_FIELDS = (
    "title",
    "brief",
    "category",
    "priority",
    "fee_amount",
    "fee_currency",
    "due_on",
    "client_name",
    "response_policy",
)
MAX_BACKDATE_DAYS = 3650
MESSAGE_CONTENT_FIELDS = ("direction", "kind", "channel", "occurred_at", "subject", "body")


def _check_same_workspace(workspace: Workspace, provider: Provider, owner: User | None) -> None:
    if provider.workspace_id != workspace.pk:
        raise ValidationError({"provider": _("Choose a provider of this workspace.")})
    if owner is not None and not Membership.objects.filter(workspace=workspace, user=owner).exists():
        raise ValidationError({"owner": _("The owner must be a member of this workspace.")})


@transaction.atomic
def engagement_create(
    *,
    workspace: Workspace,
    provider: Provider,
    owner: User | None,
    title: str,
    created_by: User | None,
    brief: str = "",
    category: str = "",
    priority: int = Engagement.Priority.NORMAL,
    fee_amount: Decimal | None = None,
    fee_currency: str = "",
    due_on: Any = None,
    client_name: str = "",
    status: str = Engagement.Status.DRAFT,
    response_policy: ResponsePolicy | None = None,
) -> Engagement:
    """Delegate a task to a provider."""
    _check_same_workspace(workspace, provider, owner)
    if response_policy is not None and response_policy.workspace_id != workspace.pk:
        raise ValidationError({"response_policy": _("Choose a policy of this workspace.")})
    engagement = Engagement(
        workspace=workspace,
        provider=provider,
        owner=owner,
        title=title,
        brief=brief,
        category=category,
        priority=priority,
        fee_amount=fee_amount,
        fee_currency=fee_currency,
        due_on=due_on,
        client_name=client_name,
        status=status,
        response_policy=response_policy,
    )
    engagement.full_clean()
    engagement.save()
    StatusChange.objects.create(engagement=engagement, to_status=status, changed_by=created_by)
    _refresh_delivery_check(engagement)
    return engagement


@transaction.atomic
def engagement_update(
    *,
    engagement: Engagement,
    by: User | None,
    provider: Provider | None = None,
    owner: User | None = None,
    **fields: Any,
) -> Engagement:
    """Edit an engagement's details (not its status: see engagement_set_status)."""
    unknown = set(fields) - set(ENGAGEMENT_FIELDS)
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    provider = provider or engagement.provider
    _check_same_workspace(engagement.workspace, provider, owner)
    policy = fields.get("response_policy")
    if policy is not None and policy.workspace_id != engagement.workspace_id:
        raise ValidationError({"response_policy": _("Choose a policy of this workspace.")})
    # Compared with the stored row: a bound ModelForm has already copied its data onto the instance.
    stored = (
        Engagement.objects.filter(pk=engagement.pk)
        .values("provider_id", "response_policy_id", "due_on", "category")
        .get()
    )
    clock_changed = provider.pk != stored["provider_id"] or (
        "response_policy" in fields and getattr(policy, "pk", None) != stored["response_policy_id"]
    )
    due_changed = "due_on" in fields and fields["due_on"] != stored["due_on"]
    for name, value in fields.items():
        setattr(engagement, name, value)
    engagement.provider = provider
    engagement.owner = owner
    engagement.full_clean()
    engagement.save(update_fields=[*fields, "provider", "owner", "updated_at"])
    if due_changed:
        Flag.objects.filter(engagement=engagement, kind=Flag.Kind.DELIVERY_OVERDUE, resolved_at=None).update(
            resolved_at=timezone.now(), resolution=Flag.Resolution.DISMISSED, reason=_("The due date moved.")
        )
    _refresh_delivery_check(engagement)
    if clock_changed:
        exchanges_recompute(engagement=engagement)
    if provider.pk != stored["provider_id"] or engagement.category != stored["category"]:
        # Its figures move from one provider or category to another.
        snapshots.backlog_add(
            workspace_id=engagement.workspace_id, provider_ids=[stored["provider_id"], provider.pk]
        )
    return engagement


@transaction.atomic
def engagement_set_status(*, engagement: Engagement, status: str, by: User | None) -> Engagement:
    """Move an engagement along its lifecycle; refuses moves the lifecycle forbids."""
    # Lock the row so two concurrent moves cannot both pass the check.
    current = (
        Engagement.objects.select_for_update(of=("self",)).select_related("provider").get(pk=engagement.pk)
    )
    if not current.can_transition_to(status):
        raise ValidationError(
            _("An engagement cannot go from %(old)s to %(new)s.")
            % {
                "old": current.get_status_display(),
                "new": Engagement.Status(status).label if status in Engagement.Status.values else status,
            }
        )
    previous = current.status
    now = timezone.now()
    StatusChange.objects.create(
        engagement=current, from_status=previous, to_status=status, changed_at=now, changed_by=by
    )
    changes: dict[str, Any] = {"status": status, "updated_at": now}
    if status == Engagement.Status.DELIVERED:
        # The last delivery counts: work sent back for changes is delivered again.
        due_end = Engagement.due_end(current.due_on, current.provider.time_zone)
        changes.update(delivered_at=now, delivered_on_time=None if due_end is None else now <= due_end)
    elif status == Engagement.Status.COMPLETED:
        changes["completed_at"] = now
    if status in Engagement.CLOSED_STATUSES:
        changes["closed_at"] = now
    elif previous in Engagement.CLOSED_STATUSES:
        changes["closed_at"] = None
    Engagement.objects.filter(pk=current.pk).update(**changes)
    for name, value in changes.items():
        setattr(engagement, name, value)
    snapshots.backlog_add_for_engagement(current)
    _after_status_change(engagement, previous)
    return engagement


def _after_status_change(engagement: Engagement, previous: str) -> None:
    """Keep flags and deadlines true to the new status."""
    now = timezone.now()
    status = engagement.status
    open_flags = Flag.objects.filter(engagement=engagement, resolved_at=None)
    if status in Engagement.CLOSED_STATUSES:
        open_flags.update(resolved_at=now, resolution=Flag.Resolution.CLOSED)
        Exchange.objects.filter(engagement=engagement).update(next_check_at=None)
    elif status not in Engagement.DELIVERY_OWED_STATUSES:
        open_flags.filter(kind=Flag.Kind.DELIVERY_OVERDUE).update(
            resolved_at=now,
            resolution=Flag.Resolution.DELIVERED
            if status == Engagement.Status.DELIVERED
            else Flag.Resolution.CLOSED,
        )
    _refresh_delivery_check(engagement)
    # Holds pause the response clock; leaving a closed state restarts it.
    if Engagement.Status.ON_HOLD in (status, previous) or previous in Engagement.CLOSED_STATUSES:
        exchanges_recompute(engagement=engagement)


def _refresh_delivery_check(engagement: Engagement) -> None:
    """Watch the due date while the delivery is owed and not already flagged."""
    already_flagged = Flag.objects.filter(
        engagement=engagement, kind=Flag.Kind.DELIVERY_OVERDUE, resolved_at=None
    ).exists()
    deadline = None if already_flagged else delivery_deadline(engagement)
    if engagement.delivery_check_at != deadline:
        engagement.delivery_check_at = deadline
        Engagement.objects.filter(pk=engagement.pk).update(delivery_check_at=deadline)


def _check_occurred_at(occurred_at: datetime, now: datetime | None = None) -> None:
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("The time needs a time zone.")})
    now = now or timezone.now()
    # A minute's grace for clocks that disagree slightly with ours.
    if occurred_at > now + timedelta(minutes=1):
        raise ValidationError({"occurred_at": _("A message cannot be logged in the future.")})
    # The business clock counts at most ~10 years; nothing older is a real log entry.
    if occurred_at < now - timedelta(days=MAX_BACKDATE_DAYS):
        raise ValidationError({"occurred_at": _("A message cannot be dated more than ten years back.")})


def _store_attachments(message: Message, files: Iterable[UploadedFile]) -> None:
    for upload in files:
        content_type = check_upload(upload)
        Attachment.objects.create(
            message=message,
            file=upload,
            original_name=(upload.name or "file")[:255],
            content_type=content_type,
            size=upload.size or 0,
        )


@dataclass
class LogItem:
    """One message to log (unsaved, its engagement set) and the files that come with it."""

    message: Message
    attachments: Sequence[UploadedFile] = ()


def message_check(message: Message, now: datetime | None = None) -> None:
    """Raise ValidationError if the log cannot hold this message (a bad date, an over-long field)."""
    _check_occurred_at(message.occurred_at, now)
    message.full_clean(exclude=["engagement", "workspace", "author"])


@transaction.atomic
def messages_log(items: Sequence[LogItem], *, checked: bool = False) -> list[Message]:
    """Log several messages at once, then recompute each touched engagement once.

    What ``message_log`` does for one message, for a batch (the mail
    importer): one INSERT for the rows, one recompute per engagement rather
    than per message. Validation comes first, so a bad item logs nothing (``checked``: the
    caller has run ``message_check`` on each already).
    """
    if not items:
        return []
    if not checked:
        now = timezone.now()
        for item in items:
            message_check(item.message, now)
    messages = Message.objects.bulk_create([item.message for item in items])
    for item in items:
        _store_attachments(item.message, item.attachments)
    touched: dict[int, Engagement] = {}
    for message in messages:
        engagement = message.engagement
        touched.setdefault(engagement.pk, engagement)
        # Logging the first request sends a draft on its way.
        if (
            engagement.status == Engagement.Status.DRAFT
            and message.direction == Message.Direction.OUTBOUND
            and message.kind == Message.Kind.REQUEST
        ):
            engagement_set_status(
                engagement=engagement, status=Engagement.Status.REQUESTED, by=message.author
            )
    exchanges_recompute_many(engagements=list(touched.values()))
    return messages


def bounce_flag_raise(*, message: Message) -> Flag | None:
    """Flag the engagement of a bounced mail (one open such flag per engagement) and notify its people."""
    from engagements import notifications, tasks

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
    ready = [
        pk for pk, status in notifications.queue_for_flags([flag.pk]) if status == Notification.Status.PENDING
    ]
    if ready:
        transaction.on_commit(partial(tasks.enqueue_delivery, ready))
    return flag


def message_log(
    *,
    engagement: Engagement,
    direction: str,
    kind: str,
    occurred_at: datetime | None = None,
    channel: str = Message.Channel.EMAIL,
    subject: str = "",
    body: str = "",
    author: User | None = None,
    sender: str = "",
    source: str = Message.Source.MANUAL,
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    is_auto_reply: bool = False,
    attachments: Sequence[UploadedFile] = (),
    quoted: str = "",
    html: str = "",
    absence_until: date | None = None,
) -> Message:
    """Log one request, reply or note, then recompute the engagement's exchanges."""
    message = Message(
        workspace_id=engagement.workspace_id,
        engagement=engagement,
        direction=direction,
        kind=kind,
        channel=channel,
        occurred_at=occurred_at or timezone.now(),
        subject=subject,
        body=body,
        author=author,
        sender=sender,
        source=source,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        is_auto_reply=is_auto_reply,
        quoted=quoted,
        html=html,
        absence_until=absence_until,
    )
    return messages_log([LogItem(message, attachments)])[0]


@transaction.atomic
def message_edit(*, message: Message, by: User | None, **fields: Any) -> Message:
    """Change a logged message; the previous content is kept as a version."""
    unknown = set(fields) - set(MESSAGE_CONTENT_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if message.is_deleted:
        raise ValidationError(_("A deleted message cannot be edited."))
    if "occurred_at" in fields:
        _check_occurred_at(fields["occurred_at"])
    changed = {k: v for k, v in fields.items() if getattr(message, k) != v}
    if not changed:
        return message
    MessageVersion.objects.create(
        message=message,
        version=message.version,
        replaced_by=by,
        **{name: getattr(message, name) for name in MESSAGE_CONTENT_FIELDS},
    )
    for name, value in changed.items():
        setattr(message, name, value)
    message.version += 1
    message.full_clean(exclude=["engagement", "workspace", "author"])
    message.save(update_fields=[*changed, "version", "updated_at"])
    exchanges_recompute(engagement=message.engagement)
    return message


@transaction.atomic
def message_delete(*, message: Message, by: User | None) -> Message:
    """Soft-delete: the entry stays in the history, marked, and stops counting."""
    if message.is_deleted:
        return message
    message.deleted_at = timezone.now()
    message.deleted_by = by
    message.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    exchanges_recompute(engagement=message.engagement)
    return message


@transaction.atomic
def message_restore(*, message: Message, by: User | None) -> Message:
    if not message.is_deleted:
        return message
    message.deleted_at = None
    message.deleted_by = None
    message.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    exchanges_recompute(engagement=message.engagement)
    return message


EXCHANGE_FIELDS = (
    "requested_at",
    "reply_message_id",
    "replied_at",
    "followups",
    "last_followup_at",
    "reply_seconds",
    "reply_due_at",
    "reply_business_seconds",
    "within_policy",
    "ghosted_due_at",
)


def exchanges_recompute(*, engagement: Engagement, queue_metrics: bool = True) -> list[Exchange]:
    """Rewrite an engagement's exchanges from its log (work proportional to one log).

    Exchanges keep their row (identified by the opening request) when they
    still exist, so flags pointing at them survive a recompute. Due times
    follow the provider's business calendar under the effective policy.
    """
    return exchanges_recompute_many(engagements=[engagement], queue_metrics=queue_metrics)[engagement.pk]


def exchanges_recompute_many(
    *, engagements: Sequence[Engagement], queue_metrics: bool = True
) -> dict[int, list[Exchange]]:
    """``exchanges_recompute`` for several engagements in a fixed number of queries (a mail batch).

    Returns each engagement's exchanges, oldest first, by engagement id.
    """
    # In id order: two batches touching the same engagements lock their rows in the same order.
    by_id = {e.pk: e for e in sorted(engagements, key=lambda e: e.pk)}
    if not by_id:
        return {}
    entries_of: dict[int, list[LogEntry]] = {pk: [] for pk in by_id}
    for engagement_id, message_id, direction, kind, occurred_at, is_auto_reply in (
        Message.objects.filter(engagement_id__in=by_id, deleted_at=None)
        .exclude(direction=Message.Direction.NOTE)
        .order_by()
        .values_list("engagement_id", "id", "direction", "kind", "occurred_at", "is_auto_reply")
    ):
        entries_of[engagement_id].append(
            LogEntry(
                id=message_id,
                direction=direction,
                kind=kind,
                occurred_at=occurred_at,
                is_auto_reply=is_auto_reply,
            )
        )
    existing_of: dict[int, dict[int, Exchange]] = {pk: {} for pk in by_id}
    for row in Exchange.objects.filter(engagement_id__in=by_id):
        existing_of[row.engagement_id][row.request_message_id] = row
    if len(by_id) == 1:
        # One engagement: its own three small queries rather than the five of the bulk read.
        ((pk, only),) = by_id.items()
        calendars = {pk: engagement_calendar(only)}
    else:
        calendars = engagement_policies(by_id)
    now = timezone.now()

    stale: list[int] = []
    to_create: list[Exchange] = []
    to_update: list[Exchange] = []
    answered: list[int] = []
    result: dict[int, list[Exchange]] = {}
    for pk, engagement in by_id.items():
        entries = entries_of[pk]
        derived = {d.request_id: d for d in derive_exchanges(entries)}
        existing = existing_of[pk]
        policy, calendar = calendars[pk]
        stale += [e.pk for request_id, e in existing.items() if request_id not in derived]
        rows: list[Exchange] = []
        for request_id, d in derived.items():
            values = exchange_values(d, policy=policy, calendar=calendar)
            found = existing.get(request_id)
            if found is None:
                row = Exchange(
                    workspace_id=engagement.workspace_id,
                    engagement=engagement,
                    request_message_id=request_id,
                    **values,
                )
                row.next_check_at = row.compute_next_check()
                to_create.append(row)
                rows.append(row)
                continue
            row = found
            for k, v in values.items():
                setattr(row, k, v)
            if row.replied_at is not None and row.escalation:
                # Answered: the ladder starts again should the reply ever be removed.
                row.escalation = Exchange.ESCALATION_NONE
                answered.append(row.pk)
            row.next_check_at = row.compute_next_check()
            to_update.append(row)
            rows.append(row)
        _set_summary(engagement, list(derived.values()), entries)
        result[pk] = sorted(rows, key=lambda e: (e.requested_at, e.request_message_id))

    if stale:
        Flag.objects.filter(exchange_id__in=stale, resolved_at=None).update(
            resolved_at=now,
            resolution=Flag.Resolution.DISMISSED,
            reason=_("The request was removed from the log."),
        )
        Exchange.objects.filter(pk__in=stale).delete()
    if to_create:
        Exchange.objects.bulk_create(to_create)
    if to_update:
        Exchange.objects.bulk_update(to_update, [*EXCHANGE_FIELDS, "escalation", "next_check_at"])
    if answered:
        Flag.objects.filter(exchange_id__in=answered, resolved_at=None).update(
            resolved_at=now, resolution=Flag.Resolution.REPLIED
        )
    Engagement.objects.bulk_update(list(by_id.values()), list(SUMMARY_FIELDS))
    if queue_metrics:
        providers_of: dict[int, set[int]] = {}
        for engagement in by_id.values():
            providers_of.setdefault(engagement.workspace_id, set()).add(engagement.provider_id)
        for workspace_id, provider_ids in providers_of.items():
            snapshots.backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)
    return result


def exchange_values(
    derived: DerivedExchange, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> dict[str, Any]:
    """The stored fields of an Exchange row for one derived exchange under a policy."""
    due = _due_or_none(derived.requested_at, policy.reply_within_seconds, calendar)
    values: dict[str, Any] = {
        "requested_at": derived.requested_at,
        "reply_message_id": derived.reply_id,
        "replied_at": derived.replied_at,
        "followups": derived.followups,
        "last_followup_at": derived.last_followup_at,
        "reply_seconds": derived.reply_seconds,
        "reply_due_at": due,
        "reply_business_seconds": None,
        "within_policy": None,
        "ghosted_due_at": None,
    }
    if derived.replied_at is not None:
        values["reply_business_seconds"] = business_seconds(
            derived.requested_at, derived.replied_at, calendar
        )
        # A reply exactly at the due instant is on time; without a due time it never ran out.
        values["within_policy"] = due is None or derived.replied_at <= due
    elif (
        policy.followups_before_ghosted
        and derived.followups >= policy.followups_before_ghosted
        and derived.last_followup_at is not None
    ):
        values["ghosted_due_at"] = _due_or_none(
            derived.last_followup_at, policy.followup_wait_seconds, calendar
        )
    return values


def _due_or_none(start: datetime, seconds: int, calendar: BusinessCalendar) -> datetime | None:
    """``start`` plus business time; None when that lies beyond the calendar's end (year 9999).

    Only a clock stopped "until further notice" (on hold, or an absence stored
    to 9999) with a long allowance gets there: it never runs out, so no deadline.
    """
    try:
        return add_business_time(start, seconds, calendar)
    except ValueError:
        return None


# The Engagement fields engagement_summary() gives.
SUMMARY_FIELDS = ("awaiting_reply", "waiting_since", "last_message_at", "last_inbound_at", "last_outbound_at")


def engagement_summary(derived: Sequence[DerivedExchange], entries: Sequence[LogEntry]) -> dict[str, Any]:
    """The Engagement summary fields for a log (notes and deleted entries already left out)."""
    open_ = [d for d in derived if d.replied_at is None]
    inbound = [
        e.occurred_at for e in entries if e.direction == Message.Direction.INBOUND and not e.is_auto_reply
    ]
    outbound = [e.occurred_at for e in entries if e.direction == Message.Direction.OUTBOUND]
    return {
        "awaiting_reply": bool(open_),
        "waiting_since": open_[0].requested_at if open_ else None,
        "last_message_at": max((e.occurred_at for e in entries), default=None),
        "last_inbound_at": max(inbound, default=None),
        "last_outbound_at": max(outbound, default=None),
    }


def _set_summary(engagement: Engagement, derived: list[Any], entries: list[LogEntry]) -> None:
    """Set the summary fields on the instance (the caller saves them, for many at once)."""
    for name, value in engagement_summary(derived, entries).items():
        setattr(engagement, name, value)


# Engagements recomputed per query when a policy or a provider's calendar changed.
RECOMPUTE_BATCH = 100


def _waiting_ids(engagements: Any) -> list[int]:
    # Closed engagements are left alone: closing cleared their next check, a recompute would re-arm it.
    waiting = engagements.filter(awaiting_reply=True).exclude(status__in=Engagement.CLOSED_STATUSES)
    return list(waiting.order_by("pk").values_list("pk", flat=True))


def policy_engagement_ids(policy: ResponsePolicy) -> list[int]:
    """Engagements waiting for a reply whose effective policy is ``policy``.

    Their own policy; else their provider's; else, for the default, neither.
    """
    users = Engagement.objects.filter(response_policy=policy) | Engagement.objects.filter(
        response_policy=None, provider__response_policy=policy
    )
    if policy.is_default:
        users |= Engagement.objects.filter(
            workspace_id=policy.workspace_id, response_policy=None, provider__response_policy=None
        )
    return _waiting_ids(users)


def engagements_recompute(*, engagement_ids: Sequence[int]) -> int:
    """Recompute these engagements' exchanges under their current policy, a batch at a time.

    Each batch in one transaction and a fixed number of queries, however many
    engagements it holds. Idempotent: it derives everything from the log and
    the current calendar.
    """
    done = 0
    for start in range(0, len(engagement_ids), RECOMPUTE_BATCH):
        batch = list(
            Engagement.objects.filter(
                pk__in=engagement_ids[start : start + RECOMPUTE_BATCH], awaiting_reply=True
            )
            .exclude(status__in=Engagement.CLOSED_STATUSES)
            .select_related("workspace", "provider", "response_policy", "provider__response_policy")
            .order_by("pk")
        )
        with transaction.atomic():
            exchanges_recompute_many(engagements=batch, queue_metrics=False)
        providers: dict[int, set[int]] = {}
        for engagement in batch:
            providers.setdefault(engagement.workspace_id, set()).add(engagement.provider_id)
        for workspace_id, provider_ids in providers.items():
            snapshots.backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)
        done += len(batch)
    return done


def provider_recompute(*, provider_id: int) -> int:
    """The provider's calendar changed (absence, policy, time zone, country): recompute what waits."""
    return engagements_recompute(
        engagement_ids=_waiting_ids(Engagement.objects.filter(provider_id=provider_id))
    )


def policy_recompute(*, policy_id: int) -> int:
    """A policy changed or became the default: recompute the engagements it now governs."""
    policy = ResponsePolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        # Deleted since: its users were noted, and queued, just before the delete.
        return 0
    return engagements_recompute(engagement_ids=policy_engagement_ids(policy))


# --- Flags: snooze, unsnooze, dismiss -----------------------------------------

MAX_SNOOZE_DAYS = 365


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
    if timezone.is_naive(until):
        raise ValidationError({"until": _("The time needs a time zone.")})
    now = timezone.now()
    if until <= now:
        raise ValidationError({"until": _("Choose a moment in the future.")})
    if until > now + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError({"until": _("A flag can be snoozed for at most a year.")})
    _claim_open_flag(flag, snoozed_until=until)
    return flag


@transaction.atomic
def flag_unsnooze(*, flag: Flag, by: User | None) -> Flag:
    """Put a snoozed flag back on the attention list now."""
    _claim_open_flag(flag, snoozed_until=None)
    return flag


@transaction.atomic
def flag_dismiss(*, flag: Flag, reason: str, by: User | None) -> Flag:
    """Resolve an open flag by hand; the reason is kept with it in the history."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the flag is dismissed.")})
    max_length = Flag._meta.get_field("reason").max_length or 300
    if len(reason) > max_length:
        raise ValidationError(
            {"reason": _("The reason can be at most %(n)d characters long.") % {"n": max_length}}
        )
    _claim_open_flag(
        flag,
        resolved_at=timezone.now(),
        resolution=Flag.Resolution.DISMISSED,
        resolved_by=by,
        reason=reason,
    )
    return flag


# --- Reviews ------------------------------------------------------------------

# Belongs with the model imports at the top; kept here while that block is being edited elsewhere.

REVIEW_RATINGS = range(1, 6)


@transaction.atomic
def review_save(
    *,
    engagement: Engagement,
    by: User,
    quality: int,
    communication: int,
    on_time: bool,
    would_hire_again: bool,
    final_fee_amount: Decimal | None = None,
    comment: str = "",
) -> Review:
    """Record how a completed engagement went, or correct its review: one per engagement.

    Only completed work is reviewed, so the quality figures describe finished
    engagements. A correction keeps when the review was first given and names
    who changed it last.
    """
    # The locked row: its status is the current one, and two first saves cannot both insert.
    current = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if current.status != Engagement.Status.COMPLETED:
        raise ValidationError(_("Only a completed engagement can be reviewed."))
    errors: dict[str, str] = {}
    for name, rating in (("quality", quality), ("communication", communication)):
        if isinstance(rating, bool) or not isinstance(rating, int) or rating not in REVIEW_RATINGS:
            errors[name] = _("Choose a rating from 1 to 5.")
    if final_fee_amount is not None:
        if final_fee_amount < 0:
            errors["final_fee_amount"] = _("The fee cannot be negative.")
        elif not current.fee_currency:
            # A sum without a currency could not be added up with anything on the reliability pages.
            errors["final_fee_amount"] = _("Set the engagement's currency before entering the fee paid.")
    if errors:
        raise ValidationError(errors)
    review = Review.objects.filter(engagement=current).first() or Review(
        engagement=current, workspace_id=current.workspace_id
    )
    review.quality = quality
    review.communication = communication
    review.on_time = bool(on_time)
    review.would_hire_again = bool(would_hire_again)
    review.final_fee_amount = final_fee_amount
    review.comment = comment.strip()
    review.reviewer = by
    review.full_clean(exclude=["engagement", "workspace", "reviewer"])
    review.save()
    snapshots.backlog_add_for_engagement(current)
    return review


@transaction.atomic
def message_absence_record(*, message: Message) -> Absence:
    """Record the absence an out-of-office reply announced, from its day to the last day away."""
    if message.absence_until is None:
        raise ValidationError(_("This message announces no absence."))
    provider = message.engagement.provider
    # From the day of the reply in the provider's zone (they were away when it came).
    starts_on = message.occurred_at.astimezone(ZoneInfo(provider.time_zone or "UTC")).date()
    starts_on = min(starts_on, message.absence_until)
    if Absence.objects.filter(
        provider=provider, starts_on__lte=message.absence_until, ends_on__gte=starts_on
    ).exists():
        raise ValidationError(
            _("%(provider)s already has an absence in that time.") % {"provider": provider.name}
        )
    return absence_add(
        provider=provider,
        starts_on=starts_on,
        ends_on=message.absence_until,
        note=(_("From an out-of-office reply: %(subject)s") % {"subject": message.subject})[:200],
    )
