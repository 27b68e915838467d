"""The flagging pass over the seed story and its neighbours, with time travel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from engagements import services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message, Notification
from engagements.notifications import outbox as notifications
from engagements.policies import default_policy
from tests.factories import EngagementFactory, ProviderFactory

# Mon 2027-02-01 10:00 Berlin (09:00 UTC); no German holidays in the weeks that follow.
DAY0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def at(day: int, hour: int = 9) -> datetime:
    return DAY0.replace(hour=hour) + timedelta(days=day)


@pytest.fixture
def story(team):
    policy = default_policy(team.workspace)
    policy.followups_before_ghosted = 1
    policy.save(update_fields=["followups_before_ghosted"])
    provider = ProviderFactory(
        workspace=team.workspace, name="BrightDesk", time_zone="Europe/Berlin", country="DE"
    )
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Build 500 B2B leads"
    )
    with time_machine.travel(at(0), tick=False):
        services.message_log(
            engagement=engagement, direction="out", kind="request", occurred_at=at(0), author=team.alice
        )
    return engagement


def _log(engagement, day, direction, kind):
    with time_machine.travel(at(day), tick=False):
        return services.message_log(
            engagement=engagement, direction=direction, kind=kind, occurred_at=at(day)
        )


def test_the_due_time_is_two_business_days_in_the_providers_calendar(story):
    exchange = Exchange.objects.get(engagement=story)
    # Mon 10:00 Berlin + 16 business hours = Wed 10:00 Berlin.
    assert exchange.reply_due_at == datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
    assert exchange.next_check_at == exchange.reply_due_at


def test_nothing_is_raised_before_the_due_time(story):
    report = flag_pass(now=at(2, 8))
    assert report.raised == 0
    assert not Flag.objects.exists()


def test_the_seed_story_is_flagged_escalated_to_ghosted_and_resolved_by_the_late_reply(story, team):
    report = flag_pass(now=at(3))
    assert (report.raised_overdue, report.raised_ghosted) == (1, 0)
    overdue = Flag.objects.get(kind=Flag.Kind.REPLY_OVERDUE)
    assert overdue.is_open

    _log(story, 7, "out", "follow_up")  # the polite follow-up: the clock is not reset
    exchange = Exchange.objects.get(engagement=story)
    assert exchange.requested_at == at(0)
    assert exchange.ghosted_due_at is not None

    report = flag_pass(now=at(10))
    assert report.raised_ghosted == 1
    overdue.refresh_from_db()
    assert overdue.resolution == Flag.Resolution.ESCALATED
    ghosted = Flag.objects.get(kind=Flag.Kind.GHOSTED)
    assert ghosted.is_open

    _log(story, 15, "in", "reply")
    ghosted.refresh_from_db()
    assert ghosted.resolution == Flag.Resolution.REPLIED
    exchange.refresh_from_db()
    assert exchange.reply_seconds == 15 * 86400
    assert exchange.within_policy is False
    assert exchange.next_check_at is None
    assert Flag.objects.filter(resolved_at=None).count() == 0


def test_a_second_pass_raises_nothing_twice(story):
    assert flag_pass(now=at(3)).raised == 1
    assert flag_pass(now=at(3)).raised == 0
    assert Flag.objects.count() == 1


def test_a_missed_pass_catches_up_on_every_step(story):
    _log(story, 7, "out", "follow_up")
    report = flag_pass(now=at(20))
    assert (report.raised_overdue, report.raised_ghosted) == (1, 1)
    assert Flag.objects.filter(resolved_at=None).get().kind == Flag.Kind.GHOSTED


def test_an_auto_reply_does_not_resolve_the_flag(story):
    flag_pass(now=at(3))
    with time_machine.travel(at(3, 10), tick=False):
        services.message_log(engagement=story, direction="in", kind="reply", is_auto_reply=True)
    assert Flag.objects.get().is_open


def test_closing_the_engagement_resolves_its_flags(story, team):
    flag_pass(now=at(3))
    services.engagement_set_status(engagement=story, status=Engagement.Status.CANCELLED, by=team.alice)
    assert Flag.objects.get().resolution == Flag.Resolution.CLOSED
    assert flag_pass(now=at(30)).raised == 0


def test_a_message_logged_on_a_closed_engagement_gives_its_requests_no_next_check(story, team):
    services.engagement_set_status(engagement=story, status=Engagement.Status.CANCELLED, by=team.alice)
    # A late note on the cancelled engagement re-derives its exchanges: they stay closed, so the
    # flagging pass owes them nothing (its lag, now minus the oldest due check, stays 0).
    _log(story, 5, "out", "follow_up")
    assert list(Exchange.objects.values_list("engagement_open", "next_check_at")) == [(False, None)]
    assert flag_pass(now=at(30)).raised == 0


def test_a_flag_writes_email_and_in_app_rows_for_the_owner_and_a_webhook_row(story, team):
    team.workspace.webhook_url = "https://hooks.example.com/tracker"
    team.workspace.save(update_fields=["webhook_url"])
    flag_pass(now=at(3))
    rows = Notification.objects.order_by("channel")
    assert sorted((n.channel, n.recipient_id) for n in rows) == sorted(
        [("email", team.alice.pk), ("in_app", team.alice.pk), ("webhook", None)]
    )
    assert len({n.idempotency_key for n in rows}) == 3


def test_a_notification_is_delivered_once_however_often_the_task_runs(story, team):
    flag_pass(now=at(3))
    email = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert notifications.deliver(email.pk) == "sent"
    assert notifications.deliver(email.pk) == "skipped"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [team.alice.email]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{email.idempotency_key}@outsourcing-tracker>"
    email.refresh_from_db()
    assert email.status == Notification.Status.SENT


def test_delivery_overdue_is_raised_the_day_after_the_due_date(team):
    provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin")
    engagement = services.engagement_create(
        workspace=team.workspace,
        provider=provider,
        owner=team.alice,
        title="E-book cover",
        created_by=team.alice,
        status=Engagement.Status.REQUESTED,
        due_on=date(2027, 2, 5),
    )
    assert engagement.delivery_check_at == datetime(2027, 2, 5, 23, 0, tzinfo=UTC)
    assert flag_pass(now=datetime(2027, 2, 5, 22, 59, tzinfo=UTC)).raised_delivery == 0
    assert flag_pass(now=datetime(2027, 2, 5, 23, 0, tzinfo=UTC)).raised_delivery == 1
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.IN_PROGRESS, by=team.alice)
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.DELIVERED, by=team.alice)
    assert Flag.objects.get(kind=Flag.Kind.DELIVERY_OVERDUE).resolution == Flag.Resolution.DELIVERED


def test_an_absence_spanning_the_due_time_moves_it(story, django_capture_on_commit_callbacks):
    from providers.services import absence_add

    with django_capture_on_commit_callbacks(execute=True):
        absence_add(provider=story.provider, starts_on=date(2027, 2, 2), ends_on=date(2027, 2, 3))
    exchange = Exchange.objects.get(engagement=story)
    # Mon 7 h + (Tue, Wed away) + Thu 8 h + Fri 1 h: Fri 10:00 Berlin.
    assert exchange.reply_due_at == datetime(2027, 2, 5, 9, 0, tzinfo=UTC)


def test_the_command_prints_what_it_raised(story, capsys):
    with time_machine.travel(at(3), tick=False):
        call_command("flag_overdue", "--no-deliver")
    out = capsys.readouterr().out
    assert "raised 1 reply overdue" in out
    assert Message.objects.count() == 1


def test_the_engagement_page_shows_a_late_reply_as_late(story, team):
    _log(story, 15, "in", "reply")
    client = team.client_for(team.bob)
    response = client.get(reverse("engagements:detail", kwargs={"ws": "acme", "pk": story.pk}))
    assert response.status_code == 200
    assert b'data-testid="request-state" data-state="late"' in response.content
    assert b"outside the policy" in response.content
