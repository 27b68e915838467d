"""The settings page's notification cards: one's own preferences, the workspace's webhook, failed deliveries."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import tasks
from engagements.models import Notification
from outsourcing import services
from outsourcing.models import Membership, Role, Workspace
from tests.factories import MembershipFactory
from tests.outsourcing.conftest import url

_keys = count()


@pytest.fixture
def manager(team):
    return MembershipFactory(
        workspace=team.workspace, role=Role.MANAGER, user__email="maria@example.com"
    ).user


@pytest.fixture
def private_ok(settings):
    """The tests' receiver would be on loopback, which production refuses."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def private_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


def save_webhook(client, webhook_url: str, notify_managers: bool = False):
    data = {"action": "notifications", "webhook-webhook_url": webhook_url}
    if notify_managers:
        data["webhook-notify_managers"] = "on"
    return client.post(url("workspace_settings"), data)


def save_preferences(client, **choices: bool):
    data = {"action": "preferences", **{f"prefs-{k}": "on" for k, v in choices.items() if v}}
    return client.post(url("workspace_settings"), data)


def workspace() -> Workspace:
    return Workspace.objects.get(slug="acme")


def failed_row(team, age: int = 0) -> Notification:
    return Notification.objects.create(
        workspace=team.workspace,
        recipient=team.bob,
        channel=Notification.Channel.EMAIL,
        subject=f"Reply overdue: task {age}",
        idempotency_key=f"settings-test-{next(_keys)}",
        status=Notification.Status.FAILED,
        attempts=8,
        last_error="SMTPRecipientsRefused",
        created_at=timezone.now() - timedelta(minutes=age),
    )


# --- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_every_member_sees_their_own_notification_preferences(team, who):
    html = team.client_for(getattr(team, who)).get(url("workspace_settings")).content.decode()
    assert 'value="preferences"' in html
    assert 'name="prefs-notify_email"' in html
    assert 'name="prefs-email_digest"' in html
    assert 'name="prefs-notify_in_app"' in html


@pytest.mark.parametrize(
    ("who", "sees"), [("alice", True), ("manager", True), ("bob", False), ("vera", False)]
)
def test_only_owners_and_managers_see_the_workspace_notifications_and_failed_deliveries(
    team, manager, who, sees, private_ok
):
    services.workspace_set_notifications(
        workspace=team.workspace,
        webhook_url="http://127.0.0.1:9/hook",
        notify_managers=False,
        by=team.membership(team.alice),
    )
    failed_row(team)
    person = manager if who == "manager" else getattr(team, who)
    html = team.client_for(person).get(url("workspace_settings")).content.decode()
    secret = workspace().webhook_secret
    assert ('name="webhook-webhook_url"' in html) is sees
    assert (secret in html) is sees
    assert ('data-testid="failed-deliveries"' in html) is sees
    assert ("SMTPRecipientsRefused" in html) is sees


def action_url(action: str) -> str:
    """Where the settings page's form for ``action`` posts: "Send a test" has its own view."""
    return url("notifications:webhook_test") if action == "test_webhook" else url("workspace_settings")


def test_an_outsider_gets_a_404_for_every_notification_action(team):
    client = team.client_for(team.charlie)
    for action in ("preferences", "notifications", "rotate_secret", "test_webhook"):
        assert client.post(action_url(action), {"action": action}).status_code == 404


@pytest.mark.parametrize("who", ["bob", "vera"])
@pytest.mark.parametrize("action", ["notifications", "rotate_secret", "test_webhook"])
def test_members_and_viewers_cannot_change_the_workspace_notifications(team, who, action, private_ok):
    data = {
        "action": action,
        "webhook-webhook_url": "http://127.0.0.1:9/hook",
        "webhook-notify_managers": "on",
    }
    assert team.client_for(getattr(team, who)).post(action_url(action), data).status_code == 403
    ws = workspace()
    assert (ws.webhook_url, ws.webhook_secret, ws.notify_managers) == ("", "", False)
    assert not Notification.objects.exists()


# --- one's own preferences ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_every_member_saves_their_own_preferences_and_nobody_elses(team, who):
    person = getattr(team, who)
    response = save_preferences(team.client_for(person), notify_email=True, email_digest=True)
    assert response.status_code == 302
    mine = team.membership(person)
    assert (mine.notify_email, mine.email_digest, mine.notify_in_app) == (True, True, False)
    others = Membership.objects.exclude(pk=mine.pk)
    assert all(m.notify_in_app and not m.email_digest for m in others)


def test_the_form_shows_the_saved_preferences(team):
    services.membership_set_preferences(
        membership=team.membership(team.bob), notify_email=False, email_digest=False, notify_in_app=True
    )
    form = team.client_for(team.bob).get(url("workspace_settings")).context["prefs_form"]
    assert form.initial == {"notify_email": False, "email_digest": False, "notify_in_app": True}


def test_a_digest_without_email_is_refused(team):
    response = save_preferences(team.client_for(team.bob), email_digest=True, notify_in_app=True)
    assert response.status_code == 200
    assert (
        "needs e-mail notifications switched on" in response.context["prefs_form"].errors["email_digest"][0]
    )
    bob = team.membership(team.bob)
    assert (bob.notify_email, bob.email_digest) == (True, False)


def test_everything_off_is_allowed(team):
    save_preferences(team.client_for(team.bob))
    bob = team.membership(team.bob)
    assert (bob.notify_email, bob.email_digest, bob.notify_in_app) == (False, False, False)


# --- the workspace's webhook --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_a_valid_webhook_url_is_saved_with_a_new_secret(team, manager, who, private_ok):
    client = team.client_for(manager if who == "manager" else team.alice)
    response = save_webhook(client, "http://127.0.0.1:8025/hooks/flags", notify_managers=True)
    assert response.status_code == 302
    ws = workspace()
    assert ws.webhook_url == "http://127.0.0.1:8025/hooks/flags"
    assert ws.notify_managers is True
    assert len(ws.webhook_secret) >= 40
    page = client.get(response["Location"]).content.decode()
    assert "Copy the new signing secret into the receiver." in page
    assert f'value="{ws.webhook_secret}" readonly' in page
    assert 'value="test_webhook"' in page


@pytest.mark.parametrize(
    ("typed", "setting"),
    [("ftp://files.example.com/hook", "private_ok"), ("http://127.0.0.1:9/hook", "private_refused")],
)
def test_a_refused_webhook_url_shows_the_error_and_keeps_what_was_typed(team, typed, setting, request):
    request.getfixturevalue(setting)
    response = save_webhook(team.client_for(team.alice), typed)
    assert response.status_code == 200
    form = response.context["webhook_form"]
    assert form.errors["webhook_url"]
    assert f'value="{typed}"' in response.content.decode()
    ws = workspace()
    assert (ws.webhook_url, ws.webhook_secret) == ("", "")


def test_a_malformed_webhook_url_is_refused(team, private_ok):
    response = save_webhook(team.client_for(team.alice), "http://not a url")
    assert response.context["webhook_form"].errors["webhook_url"]
    assert workspace().webhook_url == ""


def test_saving_again_keeps_the_secret_and_removing_the_url_drops_it(team, private_ok):
    client = team.client_for(team.alice)
    save_webhook(client, "http://127.0.0.1:9/a")
    secret = workspace().webhook_secret
    save_webhook(client, "http://127.0.0.1:9/b")
    assert workspace().webhook_secret == secret
    save_webhook(client, "")
    ws = workspace()
    assert (ws.webhook_url, ws.webhook_secret) == ("", "")
    save_webhook(client, "http://127.0.0.1:9/a")
    assert workspace().webhook_secret not in ("", secret)


def test_generating_a_new_secret_asks_first_and_replaces_it(team, private_ok):
    client = team.client_for(team.alice)
    save_webhook(client, "http://127.0.0.1:9/hook")
    old = workspace().webhook_secret
    html = client.get(url("workspace_settings")).content.decode()
    assert 'data-confirm="Generate a new secret?' in html
    response = client.post(url("workspace_settings"), {"action": "rotate_secret"}, follow=True)
    assert "A new signing secret was generated." in response.content.decode()
    assert workspace().webhook_secret not in ("", old)


def test_a_new_secret_needs_a_url(team):
    response = team.client_for(team.alice).post(
        url("workspace_settings"), {"action": "rotate_secret"}, follow=True
    )
    assert "Save a webhook URL first." in response.content.decode()
    assert workspace().webhook_secret == ""


def test_send_a_test_queues_a_webhook_delivery_after_commit(
    team, private_ok, django_capture_on_commit_callbacks
):
    client = team.client_for(team.alice)
    save_webhook(client, "http://127.0.0.1:9/hook")
    with (
        mock.patch.object(tasks.deliver_notifications, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(action_url("test_webhook"), {"action": "test_webhook"}, follow=True)
    assert "A test was queued for the webhook." in response.content.decode()
    row = Notification.objects.get()
    assert (row.channel, row.status, row.recipient, row.flag) == ("webhook", "pending", None, None)
    delay.assert_called_once_with([row.pk])


def test_send_a_test_returns_to_the_settings_page(team, private_ok):
    client = team.client_for(team.alice)
    save_webhook(client, "http://127.0.0.1:9/hook")
    with mock.patch.object(tasks.deliver_notifications, "delay"):
        response = client.post(action_url("test_webhook"))
    assert (response.status_code, response["Location"]) == (302, url("workspace_settings"))


def test_send_a_test_without_a_url_says_to_save_one_first(team):
    response = team.client_for(team.alice).post(action_url("test_webhook"), follow=True)
    assert response.redirect_chain == [(url("workspace_settings"), 302)]
    assert "Save a webhook URL first." in response.content.decode()
    assert not Notification.objects.exists()


def test_send_a_test_too_often_is_refused_with_a_message_per_workspace(team, private_ok, manager, settings):
    settings.RATE_LIMITS = {"webhook_test_workspace": "2/h"}
    save_webhook(team.client_for(team.alice), "http://127.0.0.1:9/hook")
    with mock.patch.object(tasks.deliver_notifications, "delay"):
        team.client_for(team.alice).post(action_url("test_webhook"))
        team.client_for(manager).post(action_url("test_webhook"))
        # A third test from either of them is one too many for the workspace.
        response = team.client_for(team.alice).post(action_url("test_webhook"), follow=True)

    assert response.redirect_chain == [(url("workspace_settings"), 302)]
    assert "The webhook was tested often in a short time." in response.content.decode()
    assert Notification.objects.count() == 2


def test_send_a_test_is_a_post(team, private_ok):
    client = team.client_for(team.alice)
    save_webhook(client, "http://127.0.0.1:9/hook")
    assert client.get(action_url("test_webhook")).status_code == 405
    assert not Notification.objects.exists()


def test_the_workspace_services_refuse_a_member(team, private_ok):
    bob = team.membership(team.bob)
    with pytest.raises(ValidationError):
        services.workspace_set_notifications(
            workspace=team.workspace, webhook_url="http://127.0.0.1:9/", notify_managers=True, by=bob
        )
    with pytest.raises(ValidationError):
        services.workspace_rotate_webhook_secret(workspace=team.workspace, by=bob)
    with pytest.raises(ValidationError):
        services.workspace_set_notifications(
            workspace=team.workspace,
            webhook_url="",
            notify_managers=True,
            by=team.charlie.memberships.get(),
        )


# --- failed deliveries on the settings page --------------------------------------------------------


def test_the_settings_page_shows_five_failed_deliveries_and_links_to_all(team):
    rows = [failed_row(team, age) for age in range(6)]
    response = team.client_for(team.alice).get(url("workspace_settings"))
    assert [n.pk for n in response.context["failed"]] == [n.pk for n in rows[:5]]
    html = response.content.decode()
    assert url("notifications:failed") in html
    assert 'name="next" value="/w/acme/settings/"' in html


def test_without_failed_deliveries_the_card_says_so(team):
    html = team.client_for(team.alice).get(url("workspace_settings")).content.decode()
    assert 'data-testid="no-failed-deliveries"' in html


def _settings_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("workspace_settings")).status_code == 200
    return len(ctx.captured_queries)


def test_the_settings_page_query_count_does_not_grow_with_failed_deliveries(team):
    client = team.client_for(team.alice)
    _settings_queries(client)
    failed_row(team, 0)
    one = _settings_queries(client)
    for age in range(1, 12):
        failed_row(team, age)
    assert _settings_queries(client) == one
