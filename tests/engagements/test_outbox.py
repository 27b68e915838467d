"""The outbox rows a raised flag writes: who gets what, on which channel, saying what."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag, Message, Notification
from engagements.notifications import outbox as notifications
from engagements.notifications.digest import send_daily_digests
from engagements.notifications.outbox import RENDER_RELATED
from outsourcing.models import Membership, Role
from tests.factories import EngagementFactory, ProviderFactory, UserFactory

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _overdue(team, *, title="Logo redesign", provider_name="Pixel Forge", owner=None) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name=provider_name, time_zone="UTC", country="")
    engagement = EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        owner=owner or team.alice,
        title=title,
        awaiting_reply=True,
    )
    message = Message.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=NOW - timedelta(days=5),
    )
    Exchange.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        request_message=message,
        requested_at=message.occurred_at,
        reply_due_at=NOW - timedelta(hours=1),
        next_check_at=NOW - timedelta(hours=1),
    )
    return engagement


def _rows(**filters):
    return {
        (n.channel, n.recipient_id): n for n in Notification.objects.filter(**filters).select_related("flag")
    }


@pytest.mark.django_db
def test_the_owner_gets_an_in_app_row_marked_sent_and_an_email_waiting_to_go(team):
    engagement = _overdue(team)
    report = flag_pass(now=NOW)
    rows = _rows()
    assert set(rows) == {("in_app", team.alice.pk), ("email", team.alice.pk)}
    email, in_app = rows[("email", team.alice.pk)], rows[("in_app", team.alice.pk)]
    assert email.status == Notification.Status.PENDING
    assert in_app.status == Notification.Status.SENT
    assert in_app.sent_at == NOW
    assert report.notification_ids == [email.pk]
    assert email.headline == "Reply overdue: Logo redesign (Pixel Forge)"
    assert email.message == "Pixel Forge has not answered your request on “Logo redesign” in time."
    assert email.link == reverse(
        "engagements:detail", kwargs={"ws": team.workspace.slug, "pk": engagement.pk}
    )
    assert email.idempotency_key == f"flag-{email.flag_id}-email-{team.alice.pk}"
    assert email.flag.kind == Flag.Kind.REPLY_OVERDUE


@pytest.mark.django_db
def test_a_title_with_placeholders_quotes_and_percent_signs_is_written_as_typed(team):
    title = "50% off: it's “%(provider)s” -- DROP TABLE"
    _overdue(team, title=title, provider_name="O'Brien %(title)s Ltd")
    flag_pass(now=NOW)
    email = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert email.headline == f"Reply overdue: {title} (O'Brien %(title)s Ltd)"


@pytest.mark.django_db
def test_a_long_title_is_cut_to_the_subject_length(team):
    _overdue(team, title="x" * 200, provider_name="y" * 200)
    flag_pass(now=NOW)
    assert len(Notification.objects.get(channel=Notification.Channel.EMAIL).headline) == 300


@pytest.mark.django_db
def test_members_who_do_not_own_the_engagement_get_nothing(team):
    _overdue(team)
    flag_pass(now=NOW)
    assert not Notification.objects.filter(recipient__in=[team.bob, team.vera]).exists()


@pytest.mark.django_db
def test_managers_are_told_only_when_the_workspace_asks_for_it(team):
    manager = UserFactory()
    Membership.objects.create(workspace=team.workspace, user=manager, role=Role.MANAGER)
    _overdue(team, owner=team.bob)
    flag_pass(now=NOW)
    assert {n.recipient_id for n in Notification.objects.all()} == {team.bob.pk}

    team.workspace.notify_managers = True
    team.workspace.save(update_fields=["notify_managers"])
    _overdue(team, owner=team.bob, title="Second")
    flag_pass(now=NOW)
    second = Notification.objects.filter(flag__engagement__title="Second")
    # Owner alice and manager as managers, bob as the engagement's owner; each once per channel.
    assert sorted(second.values_list("recipient_id", "channel")) == sorted(
        (user.pk, channel) for user in (team.alice, team.bob, manager) for channel in ("email", "in_app")
    )


@pytest.mark.django_db
def test_each_members_preferences_choose_the_channels_and_the_digest(team):
    membership = Membership.objects.get(workspace=team.workspace, user=team.alice)
    membership.notify_in_app = False
    membership.email_digest = True
    membership.save(update_fields=["notify_in_app", "email_digest"])
    _overdue(team)
    report = flag_pass(now=NOW)
    rows = _rows()
    assert set(rows) == {("email", team.alice.pk)}
    assert rows[("email", team.alice.pk)].status == Notification.Status.DIGEST
    assert report.notification_ids == []

    membership.notify_email = False
    membership.save(update_fields=["notify_email"])
    _overdue(team, title="Quiet")
    flag_pass(now=NOW)
    assert not Notification.objects.filter(flag__engagement__title="Quiet").exists()


@pytest.mark.django_db
def test_a_workspace_webhook_gets_one_row_per_flag_without_a_recipient(team):
    team.workspace.webhook_url = "https://hooks.example.com/x"
    team.workspace.save(update_fields=["webhook_url"])
    _overdue(team)
    _overdue(team, title="Other")
    flag_pass(now=NOW)
    hooks = Notification.objects.filter(channel=Notification.Channel.WEBHOOK)
    assert hooks.count() == 2
    assert set(hooks.values_list("recipient_id", flat=True)) == {None}
    assert set(hooks.values_list("status", flat=True)) == {Notification.Status.PENDING}


@pytest.mark.django_db
def test_another_workspaces_members_are_never_recipients(team):
    Membership.objects.create(workspace=team.other_workspace, user=team.bob, role=Role.OWNER)
    team.workspace.notify_managers = True
    team.workspace.save(update_fields=["notify_managers"])
    _overdue(team)
    flag_pass(now=NOW)
    assert set(Notification.objects.values_list("workspace_id", flat=True)) == {team.workspace.pk}
    assert team.charlie.pk not in set(Notification.objects.values_list("recipient_id", flat=True))


@pytest.mark.django_db
def test_a_pass_writes_flags_and_outbox_in_the_same_number_of_queries_for_3_or_30(team):
    counts = []
    for n, later in ((3, 0), (30, 1)):
        for i in range(n):
            _overdue(team, title=f"Task {n}-{i}")
        with CaptureQueriesContext(connection) as queries:
            report = flag_pass(now=NOW + timedelta(minutes=later))
        assert report.raised_overdue == n
        assert report.notifications == 2 * n
        counts.append(len(queries))
    # One UPDATE per distinct (escalation, next check, raised) group of exchanges: not per row.
    assert counts[0] == counts[1] <= 13


@pytest.mark.django_db
def test_each_recipient_reads_in_their_own_language_and_the_webhook_in_the_sites(team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    team.alice.language = "de"
    team.alice.save(update_fields=["language"])
    team.workspace.webhook_url = "http://127.0.0.1:9/hook"
    team.workspace.notify_managers = True
    team.workspace.save(update_fields=["webhook_url", "notify_managers"])
    _overdue(team, owner=team.bob)
    report = flag_pass(now=NOW)
    for pk in report.notification_ids:
        notifications.deliver(pk)
    assert {m.to[0]: m.subject for m in mail.outbox} == {
        team.alice.email: "Antwort überfällig: Logo redesign (Pixel Forge)",
        team.bob.email: "Reply overdue: Logo redesign (Pixel Forge)",
    }
    hook = Notification.objects.select_related(*RENDER_RELATED).get(channel=Notification.Channel.WEBHOOK)
    assert json.loads(notifications.webhook_payload(hook))["text"].startswith(
        "Reply overdue: Logo redesign (Pixel Forge)\n"
    )


def test_the_in_app_list_shows_the_text_in_the_readers_language(team):
    _overdue(team)
    flag_pass(now=NOW)
    client = team.client_for(team.alice)
    page = client.get(reverse("notifications:list", kwargs={"ws": team.workspace.slug})).content.decode()
    assert "Reply overdue: Logo redesign (Pixel Forge)" in page
    client.cookies["django_language"] = "de"
    page = client.get(reverse("notifications:list", kwargs={"ws": team.workspace.slug})).content.decode()
    assert "Antwort überfällig: Logo redesign (Pixel Forge)" in page


@pytest.mark.django_db
def test_the_daily_digest_is_framed_in_the_recipients_language(team):
    team.alice.language = "de"
    team.alice.save(update_fields=["language"])
    Membership.objects.filter(user=team.alice).update(email_digest=True)
    _overdue(team)
    flag_pass(now=NOW)
    assert send_daily_digests() == 1
    assert mail.outbox[0].subject.startswith("Outsourcing Tracker: 1 Markierung")
    assert "Antwort überfällig: Logo redesign" in mail.outbox[0].body
