"""Bulk actions on the rows a person ticked: snooze, dismiss, follow up, change status or owner.

One service per action, as for the single actions (``engagements.flags``,
``engagements.services``, ``engagements.mail.outbound``), and the same rules:
only open flags change (a conditional update), only moves the lifecycle allows
happen. Each takes the workspace and the ids that were posted; an id of
another workspace, or of a row gone meanwhile, is ignored. The work grows with
the selection, the number of queries does not: one UPDATE (or ``bulk_update``)
per step, never one per row. The follow-up is the exception it must be: one
mail per provider, as the people receiving them would want.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import deadlines, flags, services
from engagements.backlog import backlog_add
from engagements.mail import outbound
from engagements.models import Engagement, Exchange, Flag, Message, StatusChange
from outsourcing.models import Membership, User, Workspace
from providers.models import Provider, ProviderEmail

# What a follow-up by e-mail can be about: a bounce asks to resend the request itself (one at a time).
FOLLOWABLE = (Flag.Kind.REPLY_OVERDUE, Flag.Kind.GHOSTED, Flag.Kind.DELIVERY_OVERDUE)


def _ids(values: Iterable[Any]) -> list[int]:
    return sorted({int(v) for v in values})


def open_flags(workspace: Workspace, flag_ids: Iterable[Any]) -> QuerySet[Flag]:
    """The open ones among ``flag_ids`` that belong to the workspace (the others are ignored)."""
    # The engagement's workspace too: Flag.workspace is a copy without a database constraint.
    return Flag.objects.filter(
        workspace=workspace, engagement__workspace=workspace, pk__in=_ids(flag_ids), resolved_at=None
    )


# --- Flags ------------------------------------------------------------------------------------


def flags_snooze(*, workspace: Workspace, flag_ids: Sequence[int], until: datetime, by: User | None) -> int:
    """Hide the selected open flags until ``until`` (at most a year ahead); returns how many (one UPDATE)."""
    flags.check_snooze_until(until)
    return open_flags(workspace, flag_ids).update(snoozed_until=until)


def flags_dismiss(*, workspace: Workspace, flag_ids: Sequence[int], reason: str, by: User | None) -> int:
    """Resolve the selected open flags by hand, each keeping the reason; returns how many.

    One UPDATE of the flags; their requests' ``flag_open`` follows (``flags.resolve``).
    """
    reason = flags.checked_reason(reason, _("Say why the flags are dismissed."))
    return flags.resolve(
        open_flags(workspace, flag_ids), resolution=Flag.Resolution.DISMISSED, reason=reason, by=by
    )


def flag_engagement_ids(workspace: Workspace, flag_ids: Sequence[int]) -> list[int]:
    """The engagements of the selected open flags (for a status change from Needs attention)."""
    return sorted(set(open_flags(workspace, flag_ids).values_list("engagement_id", flat=True)))


@dataclass
class FollowupOutcome:
    """What a bulk follow-up did: per provider mailed, their name and how many items the mail covered."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    # Why a provider got no mail, one sentence each.
    refused: list[str] = field(default_factory=list)
    # Selected flags no mail can be about (bounces, resolved meanwhile, another workspace's).
    left_out: int = 0

    @property
    def mails(self) -> int:
        return len(self.sent)

    @property
    def items(self) -> int:
        return sum(n for _name, n in self.sent)


def _addresses_by_provider(provider_ids: Iterable[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for provider_id, email in (
        ProviderEmail.objects.filter(provider_id__in=list(provider_ids))
        .order_by("provider_id", "position", "id")
        .values_list("provider_id", "email")
    ):
        found.setdefault(provider_id, []).append(email)
    return found


def _bounced_by_provider(engagement_ids: Iterable[int]) -> dict[int, set[str]]:
    """The addresses the engagements' logged bounces name, per provider, lower-cased (one query)."""
    found: dict[int, set[str]] = {}
    for provider_id, recorded in (
        Message.objects.filter(
            engagement_id__in=list(engagement_ids), kind=Message.Kind.BOUNCE, deleted_at=None
        )
        .exclude(failed_recipients="")
        .values_list("engagement__provider_id", "failed_recipients")
    ):
        found.setdefault(provider_id, set()).update(a.lower() for a in recorded.split())
    return found


def flags_follow_up(
    *,
    workspace: Workspace,
    flag_ids: Sequence[int],
    by: User,
    may_send: Callable[[], bool] = lambda: True,
) -> FollowupOutcome:
    """Send ONE follow-up mail per provider about all of their selected overdue flags, and log it.

    A provider with one selected flag gets exactly the single follow-up (its
    flag's text, the workspace's own if it has one, in the request's thread:
    ``outbound.compose_initial`` and ``outbound.mail_send``); one with several
    gets one mail listing them (``outbound.combined_followup``), logged on each
    engagement. Each mail goes to the first address no bounce reported. A
    provider without such an address, a refused mail, or ``may_send`` saying
    no (the sending limits) leaves that provider out and says why; the others
    are still sent, each in its own transaction.
    """
    outcome = FollowupOutcome()
    ids = _ids(flag_ids)
    chosen = list(
        open_flags(workspace, ids)
        .filter(kind__in=FOLLOWABLE)
        .select_related("engagement__provider", "exchange")
        .order_by("engagement__provider__name", "engagement__provider_id", "due_at", "id")
    )
    outcome.left_out = len(ids) - len(chosen)
    groups: dict[int, list[Flag]] = {}
    for flag in chosen:
        groups.setdefault(flag.engagement.provider_id, []).append(flag)
    if not groups:
        return outcome
    addresses = _addresses_by_provider(groups)
    bounced = _bounced_by_provider({flag.engagement_id for flag in chosen})
    for provider_id, group in groups.items():
        provider: Provider = group[0].engagement.provider
        to = outbound.recipients(addresses.get(provider_id, []), bounced.get(provider_id, set()))
        if not to:
            outcome.refused.append(
                _("%(provider)s: no e-mail address to write to.") % {"provider": provider.name}
            )
            continue
        if not may_send():
            outcome.refused.append(
                _("%(provider)s: not sent, too much mail was sent from here in a short time.")
                % {"provider": provider.name}
            )
            continue
        engagements = list({flag.engagement_id: flag.engagement for flag in group}.values())
        try:
            if len(group) == 1:
                flag = group[0]
                text = outbound.compose_initial(
                    flag.engagement, Message.Kind.FOLLOW_UP, sender_name=by.display_name, flag=flag
                )
                outbound.mail_send(
                    engagement=flag.engagement,
                    by=by,
                    kind=Message.Kind.FOLLOW_UP,
                    to=to,
                    subject=text["subject"],
                    body=text["body"],
                )
            else:
                text = outbound.combined_followup(group, sender_name=by.display_name)
                outbound.mail_send_combined(
                    engagements=engagements, by=by, to=to, subject=text["subject"], body=text["body"]
                )
        except ValidationError as exc:
            outcome.refused.append(f"{provider.name}: {' '.join(exc.messages)}")
            continue
        outcome.sent.append((provider.name, len(group)))
    return outcome


# --- Engagements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusOutcome:
    """How many engagements moved, and how many could not (the lifecycle forbids the move)."""

    moved: int
    refused: int


def engagements_set_status(
    *, workspace: Workspace, engagement_ids: Sequence[int], status: str, by: User | None
) -> StatusOutcome:
    """``services.engagement_set_status`` for many engagements, in a fixed number of queries.

    Those whose lifecycle forbids the move stay as they are and are counted.
    The same effects as one at a time: a status change kept for each, closed
    flags resolved, the delivery watch and (for holds and reopened work) the
    response clock brought up to date, the providers' figures queued.
    """
    if status not in Engagement.Status.values:
        raise ValidationError({"status": _("Choose a status.")})
    ids = _ids(engagement_ids)
    with transaction.atomic():
        # Locked in id order, as the single move locks its row: concurrent moves cannot both pass.
        rows = list(
            Engagement.objects.select_for_update(of=("self",))
            .select_related("provider")
            .filter(workspace=workspace, pk__in=ids)
            .order_by("pk")
        )
        movable = [e for e in rows if e.can_transition_to(status)]
        if not movable:
            return StatusOutcome(0, len(rows))
        now = timezone.now()
        previous = {e.pk: e.status for e in movable}
        StatusChange.objects.bulk_create(
            StatusChange(engagement=e, from_status=e.status, to_status=status, changed_at=now, changed_by=by)
            for e in movable
        )
        # The same values for all of them: one UPDATE (a CASE per row would cost more at hundreds).
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        if status == Engagement.Status.DELIVERED:
            changes["delivered_at"] = now
        elif status == Engagement.Status.COMPLETED:
            changes["completed_at"] = now
        if status in Engagement.CLOSED_STATUSES:
            changes["closed_at"] = now
        Engagement.objects.filter(pk__in=[e.pk for e in movable]).update(**changes)
        reopened = [e for e in movable if previous[e.pk] in Engagement.CLOSED_STATUSES]
        if reopened and status not in Engagement.CLOSED_STATUSES:
            Engagement.objects.filter(pk__in=[e.pk for e in reopened]).update(closed_at=None)
            for e in reopened:
                e.closed_at = None
        on_time: dict[bool | None, list[int]] = {}
        for e in movable:
            for name, value in changes.items():
                setattr(e, name, value)
            if status == Engagement.Status.DELIVERED:
                e.delivered_on_time = deadlines.delivered_on_time(e.due_on, e.provider.time_zone, now)
                on_time.setdefault(e.delivered_on_time, []).append(e.pk)
        # Whether each delivery met its due date: at most three values, one UPDATE each.
        for value, pks in on_time.items():
            Engagement.objects.filter(pk__in=pks).update(delivered_on_time=value)
        backlog_add(workspace_id=workspace.pk, provider_ids={e.provider_id for e in movable})
        _after_status_changes(movable, previous, status, now)
    return StatusOutcome(len(movable), len(rows) - len(movable))


def _after_status_changes(
    movable: list[Engagement], previous: dict[int, str], status: str, now: datetime
) -> None:
    """``services._after_status_change`` for engagements that all moved to ``status``."""
    ids = [e.pk for e in movable]
    services.resolve_flags_for_status(
        Flag.objects.filter(engagement_id__in=ids, resolved_at=None),
        Exchange.objects.filter(engagement_id__in=ids),
        status,
        now,
    )
    # The delivery watch (services._refresh_delivery_check), for all of them at once.
    flagged = set(
        Flag.objects.filter(
            engagement_id__in=ids, kind=Flag.Kind.DELIVERY_OVERDUE, resolved_at=None
        ).values_list("engagement_id", flat=True)
    )
    watched = []
    for e in movable:
        deadline = None if e.pk in flagged else deadlines.delivery_deadline(e)
        if e.delivery_check_at != deadline:
            e.delivery_check_at = deadline
            watched.append(e)
    if watched:
        Engagement.objects.bulk_update(watched, ["delivery_check_at"])
    # Holds pause the response clock; leaving a closed state restarts it.
    clocked = [
        e
        for e in movable
        if Engagement.Status.ON_HOLD in (status, previous[e.pk])
        or previous[e.pk] in Engagement.CLOSED_STATUSES
    ]
    if clocked:
        services.exchanges_recompute_many(engagements=clocked)


def engagements_set_owner(
    *, workspace: Workspace, engagement_ids: Sequence[int], owner: User, by: User | None
) -> int:
    """Give the selected engagements to ``owner`` (a member of the workspace); returns how many changed.

    One UPDATE; the answers we owe on them are then due on the new owner's clock
    (``services.our_answers_refresh``, a fixed number of queries per batch).
    """
    if not Membership.objects.filter(workspace=workspace, user=owner).exists():
        raise ValidationError({"owner": _("The owner must be a member of this workspace.")})
    with transaction.atomic():
        changing = list(
            Engagement.objects.filter(workspace=workspace, pk__in=_ids(engagement_ids))
            .exclude(owner=owner)
            .values_list("pk", "our_turn_since")
        )
        if not changing:
            return 0
        Engagement.objects.filter(pk__in=[pk for pk, _since in changing]).update(
            owner=owner, updated_at=timezone.now()
        )
        ours = [pk for pk, since in changing if since is not None]
        if ours:
            services.our_answers_refresh(engagement_ids=ours)
    return len(changing)
