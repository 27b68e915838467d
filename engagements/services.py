"""Write actions on engagements and their log. Every entry point calls these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import deadlines, flags, sql
from engagements.backlog import backlog_add, backlog_add_for_engagement, backlog_add_for_engagements
from engagements.clock import BusinessCalendar
from engagements.exchanges import SUMMARY_FIELDS, LogEntry, derive_exchanges, engagement_summary
from engagements.models import (
    Attachment,
    Engagement,
    Exchange,
    Flag,
    Message,
    MessageVersion,
    Review,
    StatusChange,
)
from engagements.policies import engagement_calendar, engagement_policies, our_calendar, our_zone
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
# Mail carries the date it was sent: an archive of any age is logged as it happened.
MAIL_SOURCES = frozenset({Message.Source.IMAP, Message.Source.WEBHOOK, Message.Source.IMPORT})
# Before this, a mail's date is a mailer's zero (1970-01-01) or garbage, never when it was sent.
EARLIEST_MAIL = datetime(1970, 1, 2, tzinfo=UTC)
MESSAGE_CONTENT_FIELDS = ("direction", "kind", "channel", "occurred_at", "subject", "body")


def _check_same_workspace(workspace: Workspace, provider: Provider, owner: User | None) -> None:
    if provider.workspace_id != workspace.pk:
        raise ValidationError({"provider": _("Choose a provider of this workspace.")})
    if owner is not None and not Membership.objects.filter(workspace=workspace, user=owner).exists():
        raise ValidationError({"owner": _("The owner must be a member of this workspace.")})


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
    return engagements_create(workspace=workspace, engagements=[engagement], created_by=created_by)[0]


# Rows per INSERT when many are written at once.
BATCH = 1000


@transaction.atomic
def engagements_create(
    *, workspace: Workspace, engagements: Sequence[Engagement], created_by: User | None
) -> list[Engagement]:
    """Delegate several tasks at once (a spreadsheet import), each as ``engagement_create`` would.

    ``engagements`` are unsaved, with provider and owner set. Every one is
    checked before any is written, so a bad one creates none; the rows and
    their first status change then go in with one INSERT per table.
    """
    owner_ids = {e.owner_id for e in engagements if e.owner_id is not None}
    members = set(
        Membership.objects.filter(workspace=workspace, user_id__in=owner_ids).values_list(
            "user_id", flat=True
        )
    )
    for engagement in engagements:
        engagement.workspace = workspace
        if engagement.provider.workspace_id != workspace.pk:
            raise ValidationError({"provider": _("Choose a provider of this workspace.")})
        if engagement.owner_id is not None and engagement.owner_id not in members:
            raise ValidationError({"owner": _("The owner must be a member of this workspace.")})
        policy = engagement.response_policy
        if policy is not None and policy.workspace_id != workspace.pk:
            raise ValidationError({"response_policy": _("Choose a policy of this workspace.")})
        # The relations were checked just above, once for the batch rather than by a query each.
        engagement.full_clean(
            exclude=["workspace", "provider", "owner", "response_policy"], validate_constraints=False
        )
        if engagement.fee_amount is not None and engagement.fee_amount < 0:
            raise ValidationError({"fee_amount": _("The fee cannot be negative.")})
        # New, so no delivery flag yet: the flagging pass looks at the due date while delivery is owed.
        engagement.delivery_check_at = deadlines.delivery_deadline(engagement)
    Engagement.objects.bulk_create(engagements, batch_size=BATCH)
    StatusChange.objects.bulk_create(
        [StatusChange(engagement=e, to_status=e.status, changed_by=created_by) for e in engagements],
        batch_size=BATCH,
    )
    return list(engagements)


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
        .values("provider_id", "response_policy_id", "due_on", "category", "owner_id")
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
        overdue = flags.open_flags(engagement).filter(kind=Flag.Kind.DELIVERY_OVERDUE)
        deadline = deadlines.delivery_deadline(engagement)
        if deadline is not None and deadlines.is_late(deadline, timezone.now()):
            flags.move_deadline(overdue, due_at=deadline)  # still overdue, by the new date too
        else:
            flags.withdraw(overdue, reason=_("The due date moved."))
    _refresh_delivery_check(engagement)
    if clock_changed:
        exchanges_recompute(engagement=engagement)
    elif engagement.owner_id != stored["owner_id"] and engagement.our_turn_since is not None:
        # Our answer is due on its owner's clock.
        our_answers_refresh(engagement_ids=[engagement.pk])
        engagement.refresh_from_db(fields=["our_turn_since", "our_answer_due_at"])
    if provider.pk != stored["provider_id"] or engagement.category != stored["category"]:
        # Its figures move from one provider or category to another.
        backlog_add(workspace_id=engagement.workspace_id, provider_ids=[stored["provider_id"], provider.pk])
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
        changes.update(
            delivered_at=now,
            delivered_on_time=deadlines.delivered_on_time(current.due_on, current.provider.time_zone, now),
        )
    elif status == Engagement.Status.COMPLETED:
        changes["completed_at"] = now
    if status in Engagement.CLOSED_STATUSES:
        changes["closed_at"] = now
    elif previous in Engagement.CLOSED_STATUSES:
        changes["closed_at"] = None
    Engagement.objects.filter(pk=current.pk).update(**changes)
    for name, value in changes.items():
        setattr(engagement, name, value)
    backlog_add_for_engagement(current)
    _after_status_change(engagement, previous)
    return engagement


def resolve_flags_for_status(open_flags: QuerySet, exchanges: QuerySet, status: str, now: datetime) -> None:
    """What a new status settles: closing resolves every open flag and stops the checks;
    a status that owes no delivery resolves the delivery flags (one engagement or many).

    It also keeps the exchanges' ``engagement_open`` true to the status: every status
    change, one engagement's or many's, comes through here.
    """
    if status in Engagement.CLOSED_STATUSES:
        flags.resolve(open_flags, resolution=Flag.Resolution.CLOSED, now=now)
        exchanges.update(next_check_at=None, engagement_open=False)
        return
    # Reopened; open all along, there is nothing to write.
    exchanges.filter(engagement_open=False).update(engagement_open=True)
    if status not in deadlines.DELIVERY_OWED_STATUSES:
        flags.resolve(
            open_flags.filter(kind=Flag.Kind.DELIVERY_OVERDUE),
            resolution=Flag.Resolution.DELIVERED
            if status == Engagement.Status.DELIVERED
            else Flag.Resolution.CLOSED,
            now=now,
        )


def _after_status_change(engagement: Engagement, previous: str) -> None:
    """Keep flags and deadlines true to the new status."""
    now = timezone.now()
    status = engagement.status
    resolve_flags_for_status(
        flags.open_flags(engagement), Exchange.objects.filter(engagement=engagement), status, now
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
    deadline = None if already_flagged else deadlines.delivery_deadline(engagement)
    if engagement.delivery_check_at != deadline:
        engagement.delivery_check_at = deadline
        Engagement.objects.filter(pk=engagement.pk).update(delivery_check_at=deadline)


def _check_occurred_at(occurred_at: datetime, now: datetime | None = None, *, source: str = "") -> None:
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("The time needs a time zone.")})
    now = now or timezone.now()
    # A minute's grace for clocks that disagree slightly with ours.
    if occurred_at > now + timedelta(minutes=1):
        raise ValidationError({"occurred_at": _("A message cannot be logged in the future.")})
    if source in MAIL_SOURCES:
        if occurred_at < EARLIEST_MAIL:
            raise ValidationError({"occurred_at": _("A mail cannot be dated before 1970.")})
    # A date typed more than ten years back is a typo (2016 for 2026), not a log entry.
    elif occurred_at < now - timedelta(days=MAX_BACKDATE_DAYS):
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
    _check_occurred_at(message.occurred_at, now, source=message.source)
    message.full_clean(exclude=["engagement", "workspace", "author"])


@transaction.atomic
def messages_log(
    items: Sequence[LogItem], *, checked: bool = False, copy: bool = False, recompute: bool = True
) -> list[Message]:
    """Log several messages at once, then recompute each touched engagement once.

    What ``message_log`` does for one message, for a batch (the mail
    importer): one INSERT for the rows, one recompute per engagement rather
    than per message. Validation comes first, so a bad item logs nothing (``checked``: the
    caller has run ``message_check`` on each already). ``copy``: the rows go in with COPY on
    PostgreSQL (a chat export's 100,000 lines), several times faster than INSERT. ``recompute=False``:
    the caller recomputes the exchanges itself once after its last batch (a worker's chat import).
    """
    if not items:
        return []
    if not checked:
        now = timezone.now()
        for item in items:
            message_check(item.message, now)
    messages = [item.message for item in items]
    if copy:
        # insert_many sets each row's id, so the attachments below find their message.
        messages = sql.insert_many(Message, messages)
    else:
        messages = Message.objects.bulk_create(messages, batch_size=BATCH)
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
    if recompute:
        exchanges_recompute_many(engagements=list(touched.values()))
    return messages


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
    if "occurred_at" in fields and fields["occurred_at"] != message.occurred_at:
        _check_occurred_at(fields["occurred_at"], source=message.source)
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


@transaction.atomic
def message_set_not_an_answer(*, message: Message, not_an_answer: bool, by: User | None) -> Message:
    """Say that a message from the provider does not answer the request (or does after all).

    The request stays open and its clock keeps running from the request, so
    the reliability figures count it as unanswered until a real reply comes.
    Who said so, and when, is kept with the message.
    """
    if message.direction != Message.Direction.INBOUND:
        raise ValidationError(_("Only a message from the provider can be marked as not an answer."))
    if message.is_deleted:
        raise ValidationError(_("A deleted message cannot be marked."))
    if message.is_auto_reply:
        raise ValidationError(_("An automatic reply never counts as an answer anyway."))
    if message.not_an_answer == not_an_answer:
        return message
    message.not_an_answer = not_an_answer
    message.not_an_answer_by = by if not_an_answer else None
    message.not_an_answer_at = timezone.now() if not_an_answer else None
    message.save(update_fields=["not_an_answer", "not_an_answer_by", "not_an_answer_at", "updated_at"])
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


def _log_entries(engagement_ids: Iterable[int]) -> dict[int, list[LogEntry]]:
    """Each engagement's live log as the exchange rules read it (one query; notes left out)."""
    entries_of: dict[int, list[LogEntry]] = {pk: [] for pk in engagement_ids}
    for engagement_id, message_id, direction, kind, occurred_at, is_auto_reply, not_an_answer, created_at in (
        Message.objects.filter(engagement_id__in=entries_of, deleted_at=None)
        .exclude(direction=Message.Direction.NOTE)
        .order_by()
        .values_list(
            "engagement_id",
            "id",
            "direction",
            "kind",
            "occurred_at",
            "is_auto_reply",
            "not_an_answer",
            "created_at",
        )
    ):
        entries_of[engagement_id].append(
            LogEntry(
                id=message_id,
                direction=direction,
                kind=kind,
                occurred_at=occurred_at,
                is_auto_reply=is_auto_reply,
                not_an_answer=not_an_answer,
                logged_at=created_at,
            )
        )
    return entries_of


def _set_our_answer_due(
    engagements: Iterable[Engagement],
    calendars: dict[int, tuple[ResponsePolicy, BusinessCalendar]] | None = None,
) -> None:
    """Set ``our_answer_due_at`` on each instance from its ``our_turn_since`` (the caller saves it).

    ``calendars``: each engagement's policy and provider calendar, when the caller has them.
    One query for the owners' zones, and only when the log leaves the word to us somewhere.
    """
    ours = []
    for engagement in engagements:
        if engagement.our_turn_since is None:
            engagement.our_answer_due_at = None
        else:
            ours.append(engagement)
    if not ours:
        return
    if calendars is None:
        calendars = engagement_policies(e.pk for e in ours)
    owner_ids = {e.owner_id for e in ours if e.owner_id is not None}
    zone_of: dict[int | None, str] = {}
    if owner_ids:
        zone_of.update(User.objects.filter(pk__in=owner_ids).values_list("pk", "time_zone"))
    for engagement in ours:
        policy, calendar = calendars[engagement.pk]
        zone = our_zone(zone_of.get(engagement.owner_id))
        engagement.our_answer_due_at = deadlines.our_answer_due(
            engagement.our_turn_since, policy=policy, calendar=our_calendar(calendar, zone)
        )


def exchanges_recompute(*, engagement: Engagement, queue_metrics: bool = True) -> list[Exchange]:
    """Rewrite an engagement's exchanges from its log (work proportional to one log).

    Exchanges keep their row (identified by the opening request) when they
    still exist, so flags pointing at them survive a recompute. Due times
    follow the provider's business calendar under the effective policy.
    """
    return exchanges_recompute_many(engagements=[engagement], queue_metrics=queue_metrics)[engagement.pk]


@transaction.atomic(savepoint=False)
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
    # The engagements locked first, as a status change locks them, and their status read then:
    # closed meanwhile, their exchanges are written closed (engagement_open, no next check), and
    # the change's own update of the exchanges waits for these rows rather than deadlocking on them.
    status_of = dict(
        Engagement.objects.filter(pk__in=by_id)
        .select_for_update(no_key=True)
        .order_by("pk")
        .values_list("pk", "status")
    )
    for pk, engagement in by_id.items():
        engagement.status = status_of.get(pk, engagement.status)
    entries_of = _log_entries(by_id)
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
    # Flags the log now proves wrong, by why: exchange ids per tuple of flag kinds.
    in_time: dict[tuple[str, ...], list[int]] = {}
    moved: dict[tuple[str, ...], list[int]] = {}
    reopen: list[int] = []
    result: dict[int, list[Exchange]] = {}
    for pk, engagement in by_id.items():
        entries = entries_of[pk]
        derived = {d.request_id: d for d in derive_exchanges(entries)}
        existing = existing_of[pk]
        policy, calendar = calendars[pk]
        stale += [e.pk for request_id, e in existing.items() if request_id not in derived]
        rows: list[Exchange] = []
        for request_id, d in derived.items():
            values = deadlines.exchange_values(d, policy=policy, calendar=calendar)
            found = existing.get(request_id)
            if found is None:
                row = Exchange(
                    workspace_id=engagement.workspace_id,
                    engagement=engagement,
                    request_message_id=request_id,
                    engagement_open=engagement.is_open,
                    **values,
                )
                row.next_check_at = deadlines.exchange_next_check(row, d)
                to_create.append(row)
                rows.append(row)
                continue
            row = found
            before = _exchange_state(row)
            for k, v in values.items():
                setattr(row, k, v)
            row.engagement_open = engagement.is_open
            if row.escalation and row.replied_at is not None:
                # Flags for deadlines the reply beat were wrong; the rest were true until it came.
                ghosted_at = deadlines.ghosted_due_unanswered(d, policy=policy, calendar=calendar)
                reached = deadlines.escalation_reached(
                    deadlines.NOT_RAISED, row.reply_due_at, ghosted_at, row.replied_at
                )
                if reached < row.escalation:
                    in_time.setdefault(deadlines.flag_kinds_above(reached), []).append(row.pk)
                # Answered: the ladder starts again should the reply ever be removed.
                row.escalation = deadlines.NOT_RAISED
                answered.append(row.pk)
            elif row.escalation:
                # A deadline moved later (an absence, a hold, another policy): what it no longer
                # reaches is withdrawn; a reply-overdue flag that ghosting had superseded is open again.
                reached = deadlines.escalation_reached(
                    deadlines.NOT_RAISED, row.reply_due_at, row.ghosted_due_at, now
                )
                if reached < row.escalation:
                    moved.setdefault(deadlines.flag_kinds_above(reached), []).append(row.pk)
                    if reached == deadlines.OVERDUE:
                        reopen.append(row.pk)
                    row.escalation = reached
            row.next_check_at = deadlines.exchange_next_check(row, d)
            if _exchange_state(row) != before:
                # Only what the new entry moved is written: most of a long log's exchanges stay as they were.
                to_update.append(row)
            rows.append(row)
        _set_summary(engagement, list(derived.values()), entries)
        result[pk] = sorted(rows, key=lambda e: (e.requested_at, e.request_message_id))

    if stale:
        flags.withdraw(
            Flag.objects.filter(exchange_id__in=stale),
            reason=_("The request was removed from the log."),
            now=now,
        )
        Exchange.objects.filter(pk__in=stale).delete()
    for kinds, ids in in_time.items():
        flags.withdraw(
            Flag.objects.filter(exchange_id__in=ids, kind__in=kinds),
            reason=_("The reply came before this deadline."),
            now=now,
        )
    for kinds, ids in moved.items():
        flags.withdraw(
            Flag.objects.filter(exchange_id__in=ids, kind__in=kinds),
            reason=_("The deadline moved: the request was not overdue by then."),
            now=now,
        )
    if reopen:
        flags.reopen_superseded(Flag.objects.filter(exchange_id__in=reopen))
    if to_create:
        # Many at once (a chat export's thousands) by COPY on PostgreSQL.
        sql.insert_many(Exchange, to_create)
    if to_update:
        _update_rows(Exchange, to_update, EXCHANGE_STATE_FIELDS)
    if answered:
        flags.resolve(
            Flag.objects.filter(exchange_id__in=answered), resolution=Flag.Resolution.REPLIED, now=now
        )
    _set_our_answer_due(by_id.values(), calendars)
    _update_rows(Engagement, list(by_id.values()), (*SUMMARY_FIELDS, "our_answer_due_at"))
    if queue_metrics:
        backlog_add_for_engagements(by_id.values())
    return result


# What a recompute writes on an exchange row.
EXCHANGE_STATE_FIELDS = (*EXCHANGE_FIELDS, "escalation", "next_check_at", "engagement_open")


def _exchange_state(row: Exchange) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in EXCHANGE_STATE_FIELDS)


def _update_rows(model: Any, rows: Sequence[Any], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows``: one row by a plain UPDATE, several by bulk_update.

    bulk_update's CASE per field costs a few milliseconds to build even for one row,
    the common case of a message logged by hand.
    """
    if len(rows) == 1:
        (row,) = rows
        model.objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in fields})
    else:
        model.objects.bulk_update(rows, list(fields))


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


def _our_turn_ids(engagements: Any) -> list[int]:
    """Open engagements whose log leaves the word to us: their answer's due time follows our calendar."""
    ours = engagements.filter(our_turn_since__isnull=False).exclude(status__in=Engagement.CLOSED_STATUSES)
    return list(ours.order_by("pk").values_list("pk", flat=True))


def _policy_users(policy: ResponsePolicy) -> Any:
    """Engagements whose effective policy is ``policy``: their own; else their provider's; else the default."""
    users = Engagement.objects.filter(response_policy=policy) | Engagement.objects.filter(
        response_policy=None, provider__response_policy=policy
    )
    if policy.is_default:
        users |= Engagement.objects.filter(
            workspace_id=policy.workspace_id, response_policy=None, provider__response_policy=None
        )
    return users


def policy_engagement_ids(policy: ResponsePolicy) -> list[int]:
    """Engagements waiting for a reply whose effective policy is ``policy``."""
    return _waiting_ids(_policy_users(policy))


def policy_our_turn_ids(policy: ResponsePolicy) -> list[int]:
    """Engagements waiting for our answer whose effective policy is ``policy`` (its allowance is ours too)."""
    return _our_turn_ids(_policy_users(policy))


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
        backlog_add_for_engagements(batch)
        done += len(batch)
    return done


def our_answers_refresh(*, engagement_ids: Sequence[int]) -> int:
    """Re-read from the log whether it is our turn, and when our answer is due, for these engagements.

    For what moves our side's clock without touching the log (another owner,
    an owner's time zone) and for rows stored before these fields existed.
    A batch at a time, each in a fixed number of queries.
    """
    done = 0
    for start in range(0, len(engagement_ids), RECOMPUTE_BATCH):
        with transaction.atomic():
            # Locked before the log is read: a message logged meanwhile is either read here or
            # written after us by its own recompute, never overwritten by an older reading.
            batch = list(
                Engagement.objects.filter(pk__in=engagement_ids[start : start + RECOMPUTE_BATCH])
                .select_for_update()
                .only("pk", "owner_id", "our_turn_since", "our_answer_due_at")
                .order_by("pk")
            )
            entries_of = _log_entries(e.pk for e in batch)
            for engagement in batch:
                entries = entries_of[engagement.pk]
                summary = engagement_summary(derive_exchanges(entries), entries)
                engagement.our_turn_since = summary["our_turn_since"]
            _set_our_answer_due(batch)
            Engagement.objects.bulk_update(batch, ["our_turn_since", "our_answer_due_at"])
        done += len(batch)
    return done


def owner_answers_refresh(*, owner_id: int) -> int:
    """A person's time zone changed: the answers they owe are due on their new clock."""
    return our_answers_refresh(engagement_ids=_our_turn_ids(Engagement.objects.filter(owner_id=owner_id)))


def provider_recompute(*, provider_id: int) -> int:
    """The provider's calendar changed (absence, policy, time zone, country): recompute what waits."""
    engagements = Engagement.objects.filter(provider_id=provider_id)
    # Their policy may have changed, and its allowance is ours too.
    our_answers_refresh(engagement_ids=_our_turn_ids(engagements))
    return engagements_recompute(engagement_ids=_waiting_ids(engagements))


def policy_recompute(*, policy_id: int) -> int:
    """A policy changed or became the default: recompute the engagements it now governs."""
    policy = ResponsePolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        # Deleted since: its users were noted, and queued, just before the delete.
        return 0
    # Answered requests keep the due times of their day; only our answer still waiting moves.
    our_answers_refresh(engagement_ids=policy_our_turn_ids(policy))
    return engagements_recompute(engagement_ids=policy_engagement_ids(policy))


# --- Reviews ------------------------------------------------------------------

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
    backlog_add_for_engagement(current)
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
