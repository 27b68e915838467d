"""Flags the log proves wrong are withdrawn, and so are their alerts: nobody is left with a false alarm."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from engagements import deadlines, services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message, Notification
from engagements.notifications import outbox
from engagements.notifications.digest import send_daily_digests
from engagements.reliability.metrics import Period, Scope, compute
from providers import services as provider_services
from tests.factories import EngagementFactory, ProviderFactory

# Wed 2027-03-10 12:00 UTC: the moment a person types in last week's history.
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Pixel Forge", time_zone="UTC", country="")
    return EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Logo")


def log(engagement, direction, kind, occurred_at, *, at=NOW) -> Message:
    with time_machine.travel(at, tick=False):
        return services.message_log(
            engagement=engagement, direction=direction, kind=kind, occurred_at=occurred_at
        )


def test_history_typed_in_order_raises_no_alert(team, engagement):
    # The request four days back (its reply was due two business days later), then its reply.
    log(engagement, "out", "request", NOW - timedelta(days=4))
    assert flag_pass(now=NOW + timedelta(minutes=1)).raised == 0
    log(engagement, "in", "reply", NOW - timedelta(days=3), at=NOW + timedelta(minutes=2))
    assert flag_pass(now=NOW + deadlines.BACKDATE_GRACE + timedelta(minutes=5)).raised == 0
    assert Flag.objects.count() == 0
    assert Notification.objects.count() == 0
    assert Exchange.objects.get(engagement=engagement).within_policy is True


def test_a_back_dated_request_left_alone_is_flagged_once_the_grace_is_over(team, engagement):
    log(engagement, "out", "request", NOW - timedelta(days=4))
    assert flag_pass(now=NOW + deadlines.BACKDATE_GRACE - timedelta(seconds=1)).raised == 0
    assert flag_pass(now=NOW + deadlines.BACKDATE_GRACE + timedelta(seconds=1)).raised_overdue == 1


def _alerted(team, engagement, settings) -> Flag:
    """A back-dated request whose grace ran out: flagged, alert e-mailed and shown in the app."""
    log(engagement, "out", "request", NOW - timedelta(days=4))
    later = NOW + deadlines.BACKDATE_GRACE + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        report = flag_pass()
        for pk in report.notification_ids:
            outbox.deliver(pk)
    assert [m.subject for m in mail.outbox] == ["Reply overdue: Logo (Pixel Forge)"]
    return Flag.objects.get(engagement=engagement)


def test_a_reply_logged_later_as_in_time_withdraws_the_flag_and_corrects_its_alerts(
    team, engagement, settings, django_capture_on_commit_callbacks
):
    flag = _alerted(team, engagement, settings)
    in_app = Notification.objects.get(flag=flag, channel=Notification.Channel.IN_APP)
    assert in_app.read_at is None

    # The reply is found and logged: it came a day after the request, well in time. The
    # correction is queued for delivery once that commits.
    with (
        time_machine.travel(NOW + timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.message_log(
            engagement=engagement, direction="in", kind="reply", occurred_at=NOW - timedelta(days=3)
        )

    flag.refresh_from_db()
    assert flag.resolution == Flag.Resolution.WITHDRAWN
    assert flag.reason == "The reply came before this deadline."
    in_app.refresh_from_db()
    assert in_app.read_at is not None  # no longer counted unread
    correction = Notification.objects.get(flag=flag, channel=Notification.Channel.EMAIL, correction=True)
    assert correction.status == Notification.Status.SENT
    assert [m.subject for m in mail.outbox] == [
        "Reply overdue: Logo (Pixel Forge)",
        "Withdrawn: Reply overdue: Logo (Pixel Forge)",
    ]
    assert "Please ignore the earlier alert. The reply came before this deadline." in mail.outbox[1].body


def test_a_withdrawal_stops_alerts_that_have_not_gone_out(team, engagement, settings):
    membership = team.membership(team.alice)
    membership.email_digest = True
    membership.save(update_fields=["email_digest"])
    log(engagement, "out", "request", NOW - timedelta(days=4))
    flag_pass(now=NOW + timedelta(hours=1))
    digest_row = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert digest_row.status == Notification.Status.DIGEST

    log(engagement, "in", "reply", NOW - timedelta(days=3), at=NOW + timedelta(hours=2))

    digest_row.refresh_from_db()
    assert digest_row.status == Notification.Status.WITHDRAWN
    # Nobody had it: no correction is written, and the digest has nothing to send.
    assert not Notification.objects.filter(correction=True, channel=Notification.Channel.EMAIL).exists()
    assert send_daily_digests() == 0


def test_a_reply_after_the_deadline_resolves_the_flag_as_replied(team, engagement, settings):
    flag = _alerted(team, engagement, settings)
    log(engagement, "in", "reply", NOW, at=NOW + timedelta(hours=1))
    flag.refresh_from_db()
    assert flag.resolution == Flag.Resolution.REPLIED
    assert not Notification.objects.filter(correction=True).exists()


def test_an_absence_that_moves_the_deadline_withdraws_the_flag_and_a_new_one_comes_when_due(team, engagement):
    log(engagement, "out", "request", NOW - timedelta(days=4))
    flag_pass(now=NOW + timedelta(hours=1))
    flag = Flag.objects.get(engagement=engagement)
    # The provider had announced a week away, which pauses the clock.
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        provider_services.absence_add(
            provider=engagement.provider, starts_on=date(2027, 3, 5), ends_on=date(2027, 3, 14)
        )
        services.provider_recompute(provider_id=engagement.provider_id)
    flag.refresh_from_db()
    assert flag.resolution == Flag.Resolution.WITHDRAWN
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.escalation == deadlines.NOT_RAISED
    due = exchange.reply_due_at
    assert due is not None
    assert due > NOW + timedelta(days=4)
    assert flag_pass(now=NOW + timedelta(days=1)).raised == 0
    assert flag_pass(now=due + timedelta(seconds=1)).raised_overdue == 1


def test_removing_a_follow_up_withdraws_the_ghosting_and_reopens_the_overdue_flag(team, engagement):
    policy = provider_services.policy_create(
        workspace=team.workspace,
        name="One nudge",
        reply_within=1,
        followups_before_ghosted=1,
        followup_wait=1,
    )
    engagement.response_policy = policy
    engagement.save(update_fields=["response_policy"])
    log(engagement, "out", "request", NOW - timedelta(days=6), at=NOW - timedelta(days=6))
    follow_up = log(engagement, "out", "follow_up", NOW - timedelta(days=4), at=NOW - timedelta(days=4))
    flag_pass(now=NOW)
    ghosted = Flag.objects.get(engagement=engagement, kind=Flag.Kind.GHOSTED)
    overdue = Flag.objects.get(engagement=engagement, kind=Flag.Kind.REPLY_OVERDUE)
    assert overdue.resolution == Flag.Resolution.ESCALATED

    with time_machine.travel(NOW, tick=False):
        services.message_delete(message=follow_up, by=team.alice)

    ghosted.refresh_from_db()
    overdue.refresh_from_db()
    assert ghosted.resolution == Flag.Resolution.WITHDRAWN
    assert overdue.is_open  # the request is still overdue: its flag is open again, not raised twice
    assert Exchange.objects.get(engagement=engagement).escalation == deadlines.OVERDUE
    assert flag_pass(now=NOW + timedelta(minutes=5)).raised == 0


def test_a_withdrawn_ghosting_does_not_count_against_the_provider(team, engagement):
    test_removing_a_follow_up_withdraws_the_ghosting_and_reopens_the_overdue_flag(team, engagement)
    later = NOW + timedelta(days=1)
    scope = Scope(workspace_id=team.workspace.pk)
    figures = compute(scope, Period.standard("all", later), now=later, group_by_provider=False)[None]
    assert figures.ghosted == 0
    assert Flag.objects.filter(kind=Flag.Kind.GHOSTED).count() == 1


def test_the_webhook_hears_of_the_withdrawal(
    team, engagement, settings, http_receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    team.workspace.webhook_url = f"{http_receiver.url}/hook"
    team.workspace.webhook_secret = "s3cret"
    team.workspace.save(update_fields=["webhook_url", "webhook_secret"])
    log(engagement, "out", "request", NOW - timedelta(days=4))
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        for pk in flag_pass().notification_ids:
            outbox.deliver(pk)
    with (
        time_machine.travel(NOW + timedelta(hours=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.message_log(
            engagement=engagement, direction="in", kind="reply", occurred_at=NOW - timedelta(days=3)
        )
    events = [json.loads(body)["event"] for _path, _headers, body in http_receiver.received]
    assert events == ["flag.raised", "flag.withdrawn"]


def test_an_unread_false_alarm_is_quietly_marked_read_and_says_why(team, engagement, settings):
    _alerted(team, engagement, settings)
    log(engagement, "in", "reply", NOW - timedelta(days=3), at=NOW + timedelta(hours=1))
    page = team.client_for(team.alice).get(reverse("notifications:list", kwargs={"ws": "acme"}))
    html = page.content.decode()
    assert "Withdrawn: The reply came before this deadline." in html
    assert page.context["unread"] == 0


def test_a_false_alarm_already_read_in_the_app_gets_an_unread_correction(team, engagement, settings):
    flag = _alerted(team, engagement, settings)
    Notification.objects.filter(flag=flag, channel=Notification.Channel.IN_APP).update(read_at=NOW)
    log(engagement, "in", "reply", NOW - timedelta(days=3), at=NOW + timedelta(hours=1))
    page = team.client_for(team.alice).get(reverse("notifications:list", kwargs={"ws": "acme"}))
    assert "Withdrawn: Reply overdue: Logo (Pixel Forge)" in page.content.decode()
    assert page.context["unread"] == 1
