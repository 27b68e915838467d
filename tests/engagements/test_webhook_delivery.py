"""Flag webhooks go only where the workspace's URL says, to a real HTTP server on loopback: no
redirect is followed, and a connection that reached a private address sends nothing."""

from __future__ import annotations

import json

import pytest

from engagements.flagging import flag_pass
from engagements.models import Notification
from engagements.notifications import outbox as notifications
from outsourcing import webhooks
from tests.engagements.test_outbox import NOW, _overdue

pytestmark = pytest.mark.django_db


def webhook_row(team, url: str) -> Notification:
    team.workspace.webhook_url = url
    team.workspace.webhook_secret = "s3cret"
    team.workspace.save(update_fields=["webhook_url", "webhook_secret"])
    _overdue(team)
    flag_pass(now=NOW)
    return Notification.objects.get(channel=Notification.Channel.WEBHOOK)


def test_the_webhook_is_posted_to_the_workspaces_url(team, settings, http_receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    row = webhook_row(team, f"{http_receiver.url}/hook")

    assert notifications.deliver(row.pk) == "sent"

    assert http_receiver.paths == ["/hook"]
    assert json.loads(http_receiver.received[0][2])["text"].startswith("Reply overdue: Logo redesign")


def test_a_redirect_is_not_followed_and_fails_the_delivery_for_good(team, settings, http_receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    row = webhook_row(team, f"{http_receiver.url}/moved")

    assert notifications.deliver(row.pk) == "failed"

    assert http_receiver.paths == ["/moved"]  # never /elsewhere
    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        Notification.Status.FAILED,
        "HTTP 302: redirects are not followed",
    )


def test_a_name_that_reaches_a_private_address_after_the_check_gets_nothing(
    team, settings, http_receiver, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # to save the URL, as a name would pass
    row = webhook_row(team, f"{http_receiver.url}/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    # The check's lookup saw a public address; the connection then reached loopback (DNS rebinding).
    monkeypatch.setattr(webhooks, "resolves_to_private", lambda host, port: False)

    assert notifications.deliver(row.pk) == "failed"

    assert http_receiver.received == []
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED
    assert "reached the private address 127.0.0.1" in row.last_error
