"""``Exchange.flag_open`` (an open flag points here) stays true to the flags on every path that
raises, resolves, withdraws or reopens one: Needs attention reads it instead of the flags."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.apps import apps

from engagements import bulk, flags, services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message
from engagements.queries import attention_awaiting
from providers import services as provider_services
from tests.consistency import RULES
from tests.factories import EngagementFactory, ProviderFactory

# Wed 2027-03-10 12:00 UTC.
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
RULE = "an exchange's flag_open says whether an open flag points at it"

pytestmark = pytest.mark.django_db


def wrong_markers() -> list[int]:
    """Exchanges whose marker disagrees with their flags (every exchange, not just the one in hand)."""
    return list(RULES[RULE].values_list("pk", flat=True))


def marker(engagement: Engagement) -> bool:
    return Exchange.objects.get(engagement=engagement).flag_open


def awaiting(team) -> list[int]:
    return [e.engagement_id for e in attention_awaiting(team.workspace, now=NOW + timedelta(days=30))]


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Pixel Forge", time_zone="UTC", country="")
    return EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Logo")


@pytest.fixture
def two_step(team, engagement) -> Engagement:
    """Reply within a day, ghosted a day after one follow-up."""
    policy = provider_services.policy_create(
        workspace=team.workspace,
        name="One nudge",
        reply_within=1,
        followups_before_ghosted=1,
        followup_wait=1,
    )
    engagement.response_policy = policy
    engagement.save(update_fields=["response_policy"])
    return engagement


def log(engagement, direction, kind, occurred_at, *, at=NOW) -> Message:
    with time_machine.travel(at, tick=False):
        return services.message_log(
            engagement=engagement, direction=direction, kind=kind, occurred_at=occurred_at
        )


@pytest.fixture
def flagged(engagement) -> Flag:
    """A request four days old, its reply-overdue flag raised by the pass."""
    log(engagement, "out", "request", NOW - timedelta(days=4))
    assert not marker(engagement)
    assert flag_pass(now=NOW + timedelta(hours=1)).raised_overdue == 1
    return Flag.objects.get(engagement=engagement)


def test_the_pass_marks_the_request_it_flags_and_a_reply_clears_it(team, engagement, flagged):
    assert marker(engagement)
    assert engagement.pk not in awaiting(team)

    log(engagement, "in", "reply", NOW + timedelta(hours=2), at=NOW + timedelta(hours=2))

    flagged.refresh_from_db()
    assert flagged.resolution == Flag.Resolution.REPLIED
    assert not marker(engagement)
    assert wrong_markers() == []


def test_a_snoozed_flag_still_covers_its_request(team, engagement, flagged):
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        flags.flag_snooze(flag=flagged, until=NOW + timedelta(days=3), by=team.alice)
        bulk.flags_snooze(
            workspace=team.workspace, flag_ids=[flagged.pk], until=NOW + timedelta(days=4), by=team.alice
        )

    # Listed under "Snoozed", so not again under "Awaiting reply": as before the marker.
    assert marker(engagement)
    assert engagement.pk not in awaiting(team)
    assert wrong_markers() == []


def test_dismissing_a_flag_clears_the_marker_and_the_request_is_awaited_again(team, engagement, flagged):
    flags.flag_dismiss(flag=flagged, reason="Chased by phone", by=team.alice)

    assert not marker(engagement)
    assert engagement.pk in awaiting(team)
    assert wrong_markers() == []


def test_dismissing_in_bulk_clears_every_marker(team, engagement, flagged):
    other = EngagementFactory(workspace=team.workspace, provider=engagement.provider, owner=team.bob)
    log(other, "out", "request", NOW - timedelta(days=4))
    flag_pass(now=NOW + timedelta(hours=1))
    assert marker(other)

    dismissed = bulk.flags_dismiss(
        workspace=team.workspace,
        flag_ids=list(Flag.objects.values_list("pk", flat=True)),
        reason="Chased by phone",
        by=team.alice,
    )

    assert dismissed == 2
    assert not marker(engagement)
    assert not marker(other)
    assert wrong_markers() == []


def test_withdrawing_a_flag_by_hand_clears_the_marker(team, engagement, flagged):
    flags.flag_withdraw(flag=flagged, reason="Sent to the wrong provider", by=team.alice)

    assert not marker(engagement)
    assert wrong_markers() == []


def test_closing_the_engagement_clears_the_marker(team, engagement, flagged):
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.CANCELLED, by=team.alice)

    assert not marker(engagement)
    assert wrong_markers() == []


def test_closing_in_bulk_clears_the_markers(team, engagement, flagged):
    bulk.engagements_set_status(
        workspace=team.workspace,
        engagement_ids=[engagement.pk],
        status=Engagement.Status.CANCELLED,
        by=team.alice,
    )

    assert not marker(engagement)
    assert wrong_markers() == []


def test_an_absence_that_moves_the_deadline_clears_the_marker_until_the_next_flag(team, engagement, flagged):
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        provider_services.absence_add(
            provider=engagement.provider, starts_on=date(2027, 3, 5), ends_on=date(2027, 3, 14)
        )
        services.provider_recompute(provider_id=engagement.provider_id)

    flagged.refresh_from_db()
    assert flagged.resolution == Flag.Resolution.WITHDRAWN
    assert not marker(engagement)
    due = Exchange.objects.get(engagement=engagement).reply_due_at
    assert due is not None
    assert flag_pass(now=due + timedelta(seconds=1)).raised_overdue == 1
    assert marker(engagement)
    assert wrong_markers() == []


def test_ghosting_keeps_the_request_flagged_and_removing_the_follow_up_reopens_the_overdue_flag(
    team, two_step
):
    log(two_step, "out", "request", NOW - timedelta(days=6), at=NOW - timedelta(days=6))
    follow_up = log(two_step, "out", "follow_up", NOW - timedelta(days=4), at=NOW - timedelta(days=4))
    # Raised and escalated in one run: the overdue flag is superseded, the ghosted one open.
    report = flag_pass(now=NOW)
    assert (report.raised_overdue, report.raised_ghosted) == (1, 1)
    assert marker(two_step)
    assert wrong_markers() == []

    with time_machine.travel(NOW, tick=False):
        services.message_delete(message=follow_up, by=team.alice)

    assert (
        Flag.objects.get(engagement=two_step, kind=Flag.Kind.GHOSTED).resolution == Flag.Resolution.WITHDRAWN
    )
    assert Flag.objects.get(engagement=two_step, kind=Flag.Kind.REPLY_OVERDUE).is_open
    assert marker(two_step)
    assert wrong_markers() == []


def test_escalating_an_overdue_flag_to_ghosted_in_a_later_pass_keeps_the_marker(team, two_step):
    log(two_step, "out", "request", NOW - timedelta(days=6), at=NOW - timedelta(days=6))
    assert flag_pass(now=NOW - timedelta(days=4, hours=12)).raised_overdue == 1
    overdue = Flag.objects.get(engagement=two_step)
    flags.flag_dismiss(flag=overdue, reason="Chased by phone", by=team.alice)
    assert not marker(two_step)
    log(two_step, "out", "follow_up", NOW - timedelta(days=4), at=NOW - timedelta(days=4))

    assert flag_pass(now=NOW).raised_ghosted == 1

    assert marker(two_step)
    assert two_step.pk not in awaiting(team)
    assert wrong_markers() == []


def test_a_flag_saved_on_its_own_marks_its_exchange(team, engagement):
    log(engagement, "out", "request", NOW - timedelta(days=4))
    exchange = Exchange.objects.get(engagement=engagement)

    flag = Flag.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=NOW,
    )
    assert marker(engagement)
    flag.resolved_at = NOW
    flag.save(update_fields=["resolved_at"])
    assert not marker(engagement)


def test_the_migration_marks_the_exchanges_flagged_before_the_marker_existed(team, engagement, flagged):
    open_request = EngagementFactory(workspace=team.workspace, provider=engagement.provider)
    log(open_request, "out", "request", NOW)
    Exchange.objects.update(flag_open=False)
    assert wrong_markers() == [Exchange.objects.get(engagement=engagement).pk]

    migration = importlib.import_module("engagements.migrations.0035_exchange_flag_open")
    migration.mark_flagged(apps, None)

    assert marker(engagement)
    assert not marker(open_request)
    assert wrong_markers() == []
