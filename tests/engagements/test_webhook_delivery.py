"""Flag webhooks go only where the workspace's URL says, to a real HTTP server on loopback: no
redirect is followed, and a connection that reached a private address sends nothing. Each is
signed with the time it was sent, and the README's verifier accepts it only while it is fresh."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

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


def test_a_webhook_goes_out_while_the_mail_server_is_down(team, settings, http_receiver, smtp_down):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    row = webhook_row(team, f"{http_receiver.url}/hook")
    email = Notification.objects.get(channel=Notification.Channel.EMAIL)

    outcomes = notifications.deliver_many([row.pk, email.pk])

    assert outcomes == {"sent": 1, "retry": 1}
    assert http_receiver.paths == ["/hook"]
    assert Notification.objects.get(pk=row.pk).status == Notification.Status.SENT


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


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """The Python function the README shows receivers, run as they would copy it."""
    section = README.read_text().split("## Receiving flag webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "the README's webhook section has no Python example"
    namespace: dict = {}
    exec(code.group(1), namespace)  # nosec B102 - our own README's example, under test
    return namespace["verify_tracker_signature"]


def delivered(team, settings, http_receiver, at) -> tuple[str, bytes]:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    row = webhook_row(team, f"{http_receiver.url}/hook")
    with time_machine.travel(at, tick=False):
        assert notifications.deliver(row.pk) == "sent"
    _path, headers, body = http_receiver.received[0]
    return headers["X-Tracker-Signature"], body


def test_the_signature_signs_the_time_of_sending_with_the_body(team, settings, http_receiver):
    sent_at = NOW + timedelta(hours=2)

    header, body = delivered(team, settings, http_receiver, sent_at)

    timestamp = int(sent_at.timestamp())
    mac = hmac.new(b"s3cret", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={mac}"


def test_the_readmes_verifier_takes_a_fresh_webhook_and_refuses_forgeries_and_replays(
    team, settings, http_receiver
):
    verify = readme_verifier()
    header, body = delivered(team, settings, http_receiver, NOW)
    sent = NOW.timestamp()

    assert verify("s3cret", header, body, now=sent + 60)
    assert verify("s3cret", header, body, now=sent - 60)  # the receiver's clock a little behind
    assert not verify("another secret", header, body, now=sent)
    assert not verify("s3cret", header, body.replace(b"Logo", b"Logs"), now=sent)
    # The same request posted again ten minutes later: a replay.
    assert not verify("s3cret", header, body, now=sent + 600)
    # A fresh time glued onto an old signature does not pass either.
    forged = re.sub(r"t=\d+", f"t={int(sent) + 600}", header)
    assert not verify("s3cret", forged, body, now=sent + 600)
    for broken in ["", "sha256=" + "0" * 64, "t=soon,v1=00", "v1=00", "t=1", f"t={int(sent)},v1=ünïcode"]:
        assert not verify("s3cret", broken, body, now=sent)
