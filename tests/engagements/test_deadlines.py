"""The one home of "when is it due, is it overdue": the pages and the flags follow the same rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

from engagements import deadlines, services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag
from tests.engagements.conftest import url
from tests.factories import ProviderFactory


def _delegate(team, provider, *, due_on: date) -> Engagement:
    return services.engagement_create(
        workspace=team.workspace,
        provider=provider,
        owner=team.alice,
        title="Webinar slides",
        created_by=team.alice,
        status=Engagement.Status.IN_PROGRESS,
        due_on=due_on,
    )


def _badges(team, engagement: Engagement) -> tuple[bool, bool]:
    """Whether the list row and the engagement page mark the delivery as overdue."""
    client = team.client_for(team.alice)
    listed = client.get(url("list"))
    row = next(e for e in listed.context["page_obj"] if e.pk == engagement.pk)
    detail = client.get(url("detail", pk=engagement.pk))
    assert detail.context["engagement"].delivery_is_overdue == (
        "badge text-bg-danger" in detail.content.decode()
    )
    return row.delivery_is_overdue, detail.context["engagement"].delivery_is_overdue


def test_the_overdue_badge_turns_on_with_the_flag_at_midnight_in_the_providers_zone(team, settings):
    # The reader is in Berlin; the provider in Los Angeles, nine hours behind.
    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    provider = ProviderFactory(workspace=team.workspace, time_zone="America/Los_Angeles")
    engagement = _delegate(team, provider, due_on=date(2027, 2, 5))
    # 6 Feb 02:00 in Berlin, still 5 Feb 17:00 in Los Angeles: not due yet, for the flag and the pages.
    with time_machine.travel(datetime(2027, 2, 6, 1, 0, tzinfo=UTC), tick=False):
        assert flag_pass().raised_delivery == 0
        assert _badges(team, engagement) == (False, False)
    # Midnight in Los Angeles: the due date is over in the provider's zone.
    with time_machine.travel(datetime(2027, 2, 6, 8, 0, tzinfo=UTC), tick=False):
        assert flag_pass().raised_delivery == 1
        assert _badges(team, engagement) == (True, True)


def test_an_engagement_on_hold_owes_no_delivery_on_any_page(team):
    provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin")
    engagement = _delegate(team, provider, due_on=date(2027, 2, 5))
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.ON_HOLD, by=team.alice)
    with time_machine.travel(datetime(2027, 2, 10, tzinfo=UTC), tick=False):
        assert flag_pass().raised_delivery == 0
        assert _badges(team, engagement) == (False, False)


def test_a_delivery_at_midnight_after_the_due_date_is_late_and_one_a_second_before_is_not():
    end = deadlines.due_end(date(2027, 2, 5), "Europe/Berlin")
    assert end == datetime(2027, 2, 5, 23, 0, tzinfo=UTC)
    assert deadlines.delivered_on_time(date(2027, 2, 5), "Europe/Berlin", end - timedelta(seconds=1))
    assert not deadlines.delivered_on_time(date(2027, 2, 5), "Europe/Berlin", end)


def test_a_reply_at_the_due_instant_is_on_time_and_the_flag_comes_only_after_it(team):
    provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin", country="DE")
    engagement = _delegate(team, provider, due_on=date(2027, 3, 31))
    # Mon 1 Mar 2027 10:00 Berlin; two business days later: Wed 10:00 Berlin = 09:00 UTC.
    with time_machine.travel(datetime(2027, 3, 1, 9, 5, tzinfo=UTC), tick=False):
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            occurred_at=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        )
    exchange = Exchange.objects.get(engagement=engagement)
    due = exchange.reply_due_at
    assert due == datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    assert flag_pass(now=due).raised_overdue == 0
    assert flag_pass(now=due + timedelta(microseconds=1)).raised_overdue == 1

    with time_machine.travel(due + timedelta(hours=1), tick=False):
        services.message_log(engagement=engagement, direction="in", kind="reply", occurred_at=due)
    exchange.refresh_from_db()
    assert exchange.within_policy is True
    # The flag raised a microsecond after the deadline is withdrawn: the reply beat it.
    assert Flag.objects.get(engagement=engagement).resolution == Flag.Resolution.WITHDRAWN


def test_the_request_state_follows_the_stored_deadlines():
    now = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
    due = now - timedelta(days=1)
    state = deadlines.request_state_key
    common = {"within_policy": None, "engagement_open": True, "now": now}
    assert state(replied_at=None, reply_due_at=now, ghosted_due_at=None, **common) == "not_due"
    assert state(replied_at=None, reply_due_at=due, ghosted_due_at=None, **common) == "overdue"
    assert state(replied_at=None, reply_due_at=due, ghosted_due_at=due, **common) == "ghosted"
    assert state(replied_at=None, reply_due_at=due, ghosted_due_at=now + timedelta(1), **common) == "overdue"
    closed = {**common, "engagement_open": False}
    assert state(replied_at=None, reply_due_at=due, ghosted_due_at=due, **closed) == "dropped"
    answered = {**common, "reply_due_at": due, "ghosted_due_at": None, "replied_at": now}
    assert state(**{**answered, "within_policy": True}) == "within"
    assert state(**{**answered, "within_policy": False}) == "late"
