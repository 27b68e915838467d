"""A message from the provider that does not answer the request: the request stays open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engagements import services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message
from engagements.reliability.metrics import Period, Scope, compute
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderFactory

# Mon 2027-03-01 10:00 in Berlin; the seed story: a request, a follow-up a week later, an off-topic
# message after 15 days, then the real answer after 20.
DAY0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def log(engagement, direction, kind, day: float, **extra) -> Message:
    at = DAY0 + timedelta(days=day)
    with time_machine.travel(at, tick=False):
        return services.message_log(
            engagement=engagement, direction=direction, kind=kind, occurred_at=at, **extra
        )


@pytest.fixture
def story(team):
    provider = ProviderFactory(
        workspace=team.workspace, name="Silent VA", time_zone="Europe/Berlin", country="DE"
    )
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Lead list"
    )
    log(engagement, "out", "request", 0)
    log(engagement, "out", "follow_up", 7)
    off_topic = log(engagement, "in", "reply", 15, body="Did you see my invoice?")
    return engagement, off_topic


def test_marking_an_off_topic_message_keeps_the_request_open_and_its_clock_running(team, story):
    engagement, off_topic = story
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.replied_at is not None  # counted as the answer until a person says otherwise

    with time_machine.travel(DAY0 + timedelta(days=16), tick=False):
        services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.alice)

    exchange.refresh_from_db()
    engagement.refresh_from_db()
    assert exchange.replied_at is None
    assert exchange.within_policy is None
    assert exchange.requested_at == DAY0  # the clock runs from the request, not from the off-topic message
    assert engagement.awaiting_reply is True
    assert engagement.waiting_since == DAY0
    off_topic.refresh_from_db()
    assert off_topic.not_an_answer_by == team.alice
    assert off_topic.not_an_answer_at == DAY0 + timedelta(days=16)


def test_the_real_reply_after_an_off_topic_message_closes_the_request_late(team, story):
    engagement, off_topic = story
    services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.bob)
    answer = log(engagement, "in", "reply", 20, body="Here is the list.")
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.reply_message_id == answer.pk
    assert exchange.reply_seconds == 20 * 86400
    assert exchange.within_policy is False
    assert exchange.followups == 1


def test_an_off_topic_message_is_overdue_and_ghosting_material_for_the_flagging_pass(team, story):
    engagement, off_topic = story
    services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.alice)
    report = flag_pass(now=DAY0 + timedelta(days=16))
    assert report.raised_overdue == 1
    assert Flag.objects.filter(engagement=engagement, resolved_at=None).count() == 1


def test_the_reliability_figures_count_it_as_unanswered_until_a_real_reply(team, story):
    _engagement, off_topic = story
    scope = Scope(workspace_id=team.workspace.pk)
    now = DAY0 + timedelta(days=17)
    period = Period.standard("all", now)
    before = compute(scope, period, now=now, group_by_provider=False)[None]
    assert before.response_rate.point == 1.0
    services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.alice)
    after = compute(scope, period, now=now, group_by_provider=False)[None]
    assert after.requests == 1
    assert after.response_rate.point == 0.0


def test_it_counts_as_an_answer_again_when_unmarked(team, story):
    engagement, off_topic = story
    services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.alice)
    services.message_set_not_an_answer(message=off_topic, not_an_answer=False, by=team.alice)
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.reply_message_id == off_topic.pk
    off_topic.refresh_from_db()
    assert (off_topic.not_an_answer, off_topic.not_an_answer_by) == (False, None)


@pytest.mark.parametrize(
    ("direction", "auto"),
    [(Message.Direction.OUTBOUND, False), (Message.Direction.NOTE, False), (Message.Direction.INBOUND, True)],
)
def test_only_a_real_message_from_the_provider_can_be_marked(team, direction, auto):
    engagement = EngagementFactory(workspace=team.workspace)
    message = services.message_log(
        engagement=engagement, direction=direction, kind="other", is_auto_reply=auto
    )
    with pytest.raises(services.ValidationError):
        services.message_set_not_an_answer(message=message, not_an_answer=True, by=team.alice)


@pytest.mark.parametrize(("who", "status"), [("alice", 302), ("bob", 302), ("vera", 403), ("charlie", 404)])
def test_members_mark_it_from_the_log_and_viewers_and_outsiders_cannot(team, story, who, status):
    _engagement, off_topic = story
    client = team.client_for(getattr(team, who))
    response = client.post(url("message_not_an_answer", pk=off_topic.pk), {"not_an_answer": "1"})
    assert response.status_code == status
    off_topic.refresh_from_db()
    assert off_topic.not_an_answer is (status == 302)


def test_the_log_shows_the_mark_and_the_button_to_undo_it(team, story):
    engagement, off_topic = story
    client = team.client_for(team.bob)
    page = client.get(url("detail", pk=engagement.pk)).content.decode()
    assert 'data-testid="mark-not-an-answer"' in page
    response = client.post(url("message_not_an_answer", pk=off_topic.pk), {"not_an_answer": "1"}, follow=True)
    page = response.content.decode()
    assert "the request stays open" in page
    assert 'data-testid="not-an-answer"' in page
    assert 'data-testid="counts-as-answer"' in page
    assert Engagement.objects.get(pk=engagement.pk).awaiting_reply is True
