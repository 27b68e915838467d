"""When is it due, when is it next looked at, is it overdue: the one home of these rules.

Three deadlines exist (docs/design.md explains each with worked examples):

- **Reply**: a request's reply is due ``reply_within`` of the provider's
  business time after the request (``engagements.clock``), under the
  effective response policy. A reply at the due instant is within the policy.
- **Ghosted**: once the policy's number of follow-ups went out unanswered,
  the request turns *ghosted* ``followup_wait`` of business time after the
  last of them.
- **Delivery**: the work is due by the end of its due date in the provider's
  zone, while the provider owes it (requested or in progress).
- **Our answer**: once the provider wrote last and owes nothing, our answer
  is due ``reply_within`` of *our* business time after their message: the
  policy's hours in our zone (``policies.our_calendar``).

``obligations`` puts them together: who owes what on an engagement at a
moment, the one answer every "whose turn" on every page shows.

A reply is due *at* an instant and counts as on time at that very instant,
so it is overdue strictly after it; a delivery is due *on* a date, whose
end (midnight in the provider's zone) already belongs to the next day, so it
is late from that instant on. The models store the
results (``Exchange.reply_due_at``, ``ghosted_due_at``, ``next_check_at``,
``Engagement.delivery_check_at``); everything that shows or acts on a
deadline — the services, the flagging pass, the pages (through their
views), the demo loader and the reliability figures — asks this module,
so a page can never tell a different story than the flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from engagements.clock import BusinessCalendar, add_business_time, business_seconds, calendar_seconds
from engagements.exchanges import DerivedExchange
from engagements.models import Engagement, Exchange, Flag
from providers.models import ResponsePolicy

# --- Replies and ghosting ------------------------------------------------------------------


def _after(start: datetime, seconds: int, calendar: BusinessCalendar) -> datetime | None:
    """``start`` plus business time; None when that lies beyond the calendar's end (year 9999).

    Only a clock stopped "until further notice" (on hold, or an absence stored
    to 9999) with a long allowance gets there: it never runs out, so no deadline.
    """
    try:
        return add_business_time(start, seconds, calendar)
    except ValueError:
        return None


def reply_due(
    requested_at: datetime, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> datetime | None:
    """When the reply to a request made at ``requested_at`` is due (None: never, see ``_after``)."""
    return _after(requested_at, policy.reply_within_seconds, calendar)


def ghosted_due(
    derived: DerivedExchange, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> datetime | None:
    """When a still-unanswered request turns ghosted, or None while it cannot (yet).

    The policy's number of follow-ups must have gone out; the wait runs from the last one.
    """
    if (
        derived.replied_at is not None
        or not policy.followups_before_ghosted
        or derived.followups < policy.followups_before_ghosted
        or derived.last_followup_at is None
    ):
        return None
    return _after(derived.last_followup_at, policy.followup_wait_seconds, calendar)


def exchange_values(
    derived: DerivedExchange, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> dict[str, Any]:
    """The stored fields of an Exchange row for one derived exchange under a policy.

    The services and the demo loader both write exactly these.
    """
    due = reply_due(derived.requested_at, policy=policy, calendar=calendar)
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
        "ghosted_due_at": ghosted_due(derived, policy=policy, calendar=calendar),
    }
    if derived.replied_at is not None:
        try:
            values["reply_business_seconds"] = business_seconds(
                derived.requested_at, derived.replied_at, calendar
            )
        except ValueError:
            # Beyond the clock's horizon (an archive's request answered a decade later):
            # the calendar time, which is larger, as the figures count a wait that long.
            values["reply_business_seconds"] = calendar_seconds(derived.requested_at, derived.replied_at)
        # Without a due time the allowance never ran out.
        values["within_policy"] = due is None or not is_past(due, derived.replied_at)
    return values


# The escalation ladder an unanswered request climbs: nothing raised, reply overdue, ghosted.
NOT_RAISED = Exchange.ESCALATION_NONE
OVERDUE = Exchange.ESCALATION_OVERDUE
GHOSTED = Exchange.ESCALATION_GHOSTED


def next_check(
    escalation: int,
    replied_at: datetime | None,
    reply_due_at: datetime | None,
    ghosted_due_at: datetime | None,
) -> datetime | None:
    """The next deadline the flagging pass must act on at this step of the ladder (None: nothing more).

    On plain values: the pass reads tuples, not model instances.
    """
    if replied_at is not None:
        return None
    if escalation == NOT_RAISED:
        return reply_due_at
    if escalation == OVERDUE:
        return ghosted_due_at
    return None


# A request typed in after its reply was already due (history entered after the fact) is looked
# at this long after it was entered, not at once: its reply is usually the next thing typed in.
BACKDATE_GRACE = timedelta(minutes=10)


def exchange_next_check(exchange: Exchange, derived: DerivedExchange | None = None) -> datetime | None:
    """When the flagging pass next looks at this exchange.

    None while its engagement is closed (``engagement_open``, set first): the pass owes it
    nothing, and a message logged on a closed engagement must not give it a check in the past.

    With ``derived`` (its log): a deadline that had already passed when the
    message it runs from was entered — the request for the reply, the last
    follow-up for ghosting — is deferred to ``BACKDATE_GRACE`` after that.
    """
    if not exchange.engagement_open:
        return None
    due = next_check(exchange.escalation, exchange.replied_at, exchange.reply_due_at, exchange.ghosted_due_at)
    if due is None or derived is None:
        return due
    logged_at = derived.logged_at if exchange.escalation == NOT_RAISED else derived.followup_logged_at
    if logged_at is not None and due < logged_at:
        return logged_at + BACKDATE_GRACE
    return due


def escalation_reached(
    escalation: int, reply_due_at: datetime | None, ghosted_due_at: datetime | None, now: datetime
) -> int:
    """The step an unanswered request has reached by ``now``; a missed pass may catch up several."""
    while (due := next_check(escalation, None, reply_due_at, ghosted_due_at)) is not None and is_past(
        due, now
    ):
        escalation += 1
    return escalation


def flag_kinds_above(step: int) -> tuple[str, ...]:
    """The flags of the ladder's steps above ``step``: those a request that only reached it must not have."""
    kinds = {OVERDUE: Flag.Kind.REPLY_OVERDUE, GHOSTED: Flag.Kind.GHOSTED}
    return tuple(kinds[s] for s in (OVERDUE, GHOSTED) if s > step)


def ghosted_due_unanswered(
    derived: DerivedExchange, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> datetime | None:
    """When an answered request would have turned ghosted had the reply not come (its flags' premise)."""
    return ghosted_due(replace(derived, reply_id=None, replied_at=None), policy=policy, calendar=calendar)


def is_past(deadline: datetime, now: datetime) -> bool:
    """Whether a reply or ghosting deadline has passed: what happens at the due instant is on time."""
    return now > deadline


# --- Deliveries ------------------------------------------------------------------------------

# While the provider still owes the delivery (on hold pauses the obligation).
DELIVERY_OWED_STATUSES = Engagement.DELIVERY_OWED_STATUSES


def due_end(due_on: date | None, time_zone: str) -> datetime | None:
    """The end of the due date in the provider's zone, in UTC: a delivery from then on is late.

    None without a due date, and for one whose end the calendar cannot hold
    (9999-12-31, stored before due dates were checked): such a date is treated
    as no deadline, and the edit form asks for a real one.
    """
    if due_on is None:
        return None
    zone = ZoneInfo(time_zone or "UTC")
    try:
        return datetime.combine(due_on + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def delivery_deadline_for(due_on: date | None, status: str, time_zone: str) -> datetime | None:
    """When the flagging pass must look at a delivery: its deadline while it is owed, else None."""
    if status not in DELIVERY_OWED_STATUSES:
        return None
    return due_end(due_on, time_zone)


def delivery_deadline(engagement: Engagement) -> datetime | None:
    """``delivery_deadline_for`` an engagement (load it with its provider)."""
    return delivery_deadline_for(engagement.due_on, engagement.status, engagement.provider.time_zone)


def is_late(deadline: datetime, at: datetime) -> bool:
    """Whether ``at`` is past a delivery deadline: midnight after the due date is already the next day."""
    return at >= deadline


def delivered_on_time(due_on: date | None, time_zone: str, delivered_at: datetime) -> bool | None:
    """Whether work delivered at ``delivered_at`` met its due date (None without one)."""
    deadline = due_end(due_on, time_zone)
    return None if deadline is None else not is_late(deadline, delivered_at)


def delivery_overdue(engagement: Engagement, now: datetime) -> bool:
    """Whether the provider owes the work and its due date has ended in their zone."""
    deadline = delivery_deadline(engagement)
    return deadline is not None and is_late(deadline, now)


def mark_delivery_overdue(engagements: Sequence[Engagement], now: datetime) -> None:
    """Set ``delivery_is_overdue`` on each engagement for a page to show (load them with their provider)."""
    for engagement in engagements:
        engagement.delivery_is_overdue = delivery_overdue(engagement, now)  # type: ignore[attr-defined]


# --- A request as a person sees it ----------------------------------------------------------


def request_state_key(
    *,
    replied_at: datetime | None,
    within_policy: bool | None,
    reply_due_at: datetime | None,
    ghosted_due_at: datetime | None,
    engagement_open: bool,
    now: datetime,
) -> str:
    """One request's state at ``now``, from its stored times: the ladder the flagging pass climbs.

    - ``within`` / ``late``: answered inside or outside the policy;
    - ``dropped``: never answered, and its engagement closed (nobody waits any more);
    - ``overdue``: unanswered past its reply due time;
    - ``ghosted``: overdue, and past the wait after the policy's last follow-up too;
    - ``not_due``: unanswered, not due yet (follow-ups sent quickly ghost nobody before that).
    """
    if replied_at is not None:
        return "within" if within_policy else "late"
    if not engagement_open:
        return "dropped"
    step = escalation_reached(NOT_RAISED, reply_due_at, ghosted_due_at, now)
    return {NOT_RAISED: "not_due", OVERDUE: "overdue"}.get(step, "ghosted")


def exchange_state_key(exchange: Exchange, now: datetime) -> str:
    """``request_state_key`` of an exchange (load it with its engagement)."""
    return request_state_key(
        replied_at=exchange.replied_at,
        within_policy=exchange.within_policy,
        reply_due_at=exchange.reply_due_at,
        ghosted_due_at=exchange.ghosted_due_at,
        engagement_open=exchange.engagement.status in Engagement.OPEN_STATUSES,
        now=now,
    )


# --- Whose turn: who owes what --------------------------------------------------------------

PROVIDER = "provider"
US = "us"
# What is owed.
REPLY = "reply"
DELIVERY = "delivery"
ANSWER = "answer"
# Where it stands: the request ladder's "not_due" / "overdue" / "ghosted", and "paused" on hold.
NOT_DUE = "not_due"
IS_OVERDUE = "overdue"
IS_GHOSTED = "ghosted"
PAUSED = "paused"

# While our answer can be owed: the engagement is under way (a draft owes nothing yet, on hold
# pauses everyone, a closed one owes nothing).
ANSWER_OWED_STATUSES = (
    Engagement.Status.REQUESTED,
    Engagement.Status.IN_PROGRESS,
    Engagement.Status.DELIVERED,
)


def our_answer_due(
    our_turn_since: datetime | None, *, policy: ResponsePolicy, calendar: BusinessCalendar
) -> datetime | None:
    """When our answer to the provider's word at ``our_turn_since`` is due, on our calendar.

    The policy's reply allowance, counted on ``policies.our_calendar``: the rule we hold
    the provider to, held to us. None when it is not our turn (or never due, see ``_after``).
    """
    if our_turn_since is None:
        return None
    return _after(our_turn_since, policy.reply_within_seconds, calendar)


@dataclass(frozen=True)
class Obligation:
    """One thing one side owes the other at ``now``: a reply, the delivery, or our answer."""

    debtor: str  # PROVIDER or US
    what: str  # REPLY, DELIVERY or ANSWER
    state: str  # NOT_DUE, IS_OVERDUE, IS_GHOSTED or PAUSED
    now: datetime
    # When it became owed: the request, the provider's word we owe an answer to (None: a delivery).
    since: datetime | None = None
    # When it is (was) due; None: no deadline.
    due_at: datetime | None = None
    # A delivery's due date, as the person typed it.
    due_on: date | None = None

    @property
    def is_overdue(self) -> bool:
        return self.state in (IS_OVERDUE, IS_GHOSTED)

    @property
    def waited(self) -> timedelta | None:
        """How long it has been owed (the silence, or our wait)."""
        return None if self.since is None else max(self.now - self.since, timedelta(0))

    @property
    def overdue_by(self) -> timedelta | None:
        """How long past its deadline, once overdue."""
        return self.now - self.due_at if self.is_overdue and self.due_at is not None else None


@dataclass(frozen=True)
class Turn:
    """Whose turn it is on an engagement at a moment: its situation and what is owed, theirs first."""

    # "closed", "draft", "on_hold" or "open".
    situation: str
    obligations: tuple[Obligation, ...] = ()

    @property
    def ours(self) -> Obligation | None:
        return next((o for o in self.obligations if o.debtor == US), None)


def obligations(
    engagement: Engagement,
    now: datetime,
    *,
    reply_due_at: datetime | None = None,
    ghosted_due_at: datetime | None = None,
) -> list[Obligation]:
    """Who owes what on ``engagement`` at ``now`` (load it with its provider), the provider's first.

    ``reply_due_at``/``ghosted_due_at``: those of its open request, if any.

    - The provider owes a **reply** while a request is open: the request's
      ladder says not due, overdue or ghosted (``request_state_key``).
    - The provider owes the **delivery** while the status owes it and there is
      a due date: due, or overdue from the end of that date (``delivery_overdue``).
    - We owe our **answer** when the log leaves the next word to us
      (``our_turn_since``) and the provider owes nothing: overdue once our
      allowance (``our_answer_due_at``) has passed.
    - A closed engagement owes nothing, nor does a draft yet; on hold, every
      obligation is paused (the clock stops for both sides).
    """
    status = engagement.status
    if status in Engagement.CLOSED_STATUSES or status == Engagement.Status.DRAFT:
        return []
    held = status == Engagement.Status.ON_HOLD
    owed: list[Obligation] = []
    if engagement.awaiting_reply:
        state = PAUSED
        if not held:
            state = request_state_key(
                replied_at=None,
                within_policy=None,
                reply_due_at=reply_due_at,
                ghosted_due_at=ghosted_due_at,
                engagement_open=True,
                now=now,
            )
        owed.append(
            Obligation(PROVIDER, REPLY, state, now, since=engagement.waiting_since, due_at=reply_due_at)
        )
    deadline = due_end(engagement.due_on, engagement.provider.time_zone)
    if deadline is not None and (held or status in DELIVERY_OWED_STATUSES):
        state = PAUSED if held else IS_OVERDUE if delivery_overdue(engagement, now) else NOT_DUE
        owed.append(Obligation(PROVIDER, DELIVERY, state, now, due_at=deadline, due_on=engagement.due_on))
    if not owed and engagement.our_turn_since is not None:
        due = engagement.our_answer_due_at
        state = PAUSED if held else IS_OVERDUE if due is not None and is_past(due, now) else NOT_DUE
        owed.append(Obligation(US, ANSWER, state, now, since=engagement.our_turn_since, due_at=due))
    return owed


def whose_turn(
    engagement: Engagement,
    now: datetime,
    *,
    reply_due_at: datetime | None = None,
    ghosted_due_at: datetime | None = None,
) -> Turn:
    """``obligations`` with the situation a page names when there are none (closed, draft, on hold)."""
    if engagement.status in Engagement.CLOSED_STATUSES:
        situation = "closed"
    elif engagement.status == Engagement.Status.DRAFT:
        situation = "draft"
    elif engagement.status == Engagement.Status.ON_HOLD:
        situation = "on_hold"
    else:
        situation = "open"
    found = obligations(engagement, now, reply_due_at=reply_due_at, ghosted_due_at=ghosted_due_at)
    return Turn(situation, tuple(found))


def mark_whose_turn(engagements: Sequence[Engagement], now: datetime) -> None:
    """Set ``turn`` on each engagement for a page to show.

    Load them with their provider and ``queries.with_open_request_deadlines`` (which adds
    ``open_reply_due_at``/``open_ghosted_due_at``): without those this fails, never guesses.
    """
    for engagement in engagements:
        engagement.turn = whose_turn(  # type: ignore[attr-defined]
            engagement,
            now,
            reply_due_at=engagement.open_reply_due_at,  # type: ignore[attr-defined]
            ghosted_due_at=engagement.open_ghosted_due_at,  # type: ignore[attr-defined]
        )


# --- The same rule as filters, for the pages that list and sort by it ------------------------

# Under way: a draft owes nothing yet, a closed engagement nothing at all.
UNDER_WAY_STATUSES = (*ANSWER_OWED_STATUSES, Engagement.Status.ON_HOLD)


def _delivery_owed_q() -> Q:
    """``obligations``' delivery, owed or paused: the status owes it and a due date the calendar holds."""
    return (
        Q(status__in=(*DELIVERY_OWED_STATUSES, Engagement.Status.ON_HOLD))
        & Q(due_on__isnull=False)
        & ~Q(due_on=date.max)  # see due_end: no deadline
    )


def provider_reply_owed_q() -> Q:
    """``obligations`` lists the provider's reply (due, overdue, ghosted or paused)."""
    return Q(awaiting_reply=True, status__in=UNDER_WAY_STATUSES)


def our_answer_owed_q() -> Q:
    """``obligations`` lists our answer: the log leaves the word to us and the provider owes nothing.

    No open request is implied by ``our_turn_since``; no delivery is the rest.
    """
    return Q(our_turn_since__isnull=False, status__in=UNDER_WAY_STATUSES) & ~_delivery_owed_q()


def our_answer_overdue_q(now: datetime) -> Q:
    """``obligations`` says our answer is overdue at ``now`` (on hold it is paused, never overdue)."""
    return our_answer_owed_q() & Q(status__in=ANSWER_OWED_STATUSES, our_answer_due_at__lt=now)
