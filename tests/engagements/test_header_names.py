"""Line breaks in provider and engagement names never break the mail they appear in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail

from engagements.flagging import flag_pass
from engagements.mail import outbound
from engagements.models import Message, Notification
from engagements.notifications import outbox
from engagements.notifications.digest import send_daily_digests
from outsourcing.models import Membership
from tests.engagements.test_outbox import _overdue
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
TITLE = "Logo\r\nBcc: everyone@example.com\u2028redesign"
PROVIDER = "Pixel\nForge\x1b"


def _one_line(message) -> str:
    subject = message.message()["Subject"]
    assert "\n" not in subject and "\r" not in subject and "\x00" not in subject
    return str(subject)


@pytest.mark.django_db
def test_a_flag_email_about_names_with_line_breaks_is_sent_on_the_first_attempt(team):
    _overdue(team, title=TITLE, provider_name=PROVIDER)
    flag_pass(now=NOW)
    row = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert outbox.deliver(row.pk) == "sent"
    assert _one_line(mail.outbox[0]) == (
        "Reply overdue: Logo Bcc: everyone@example.com redesign (Pixel Forge )"
    )
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert row.last_error == ""


@pytest.mark.django_db
def test_one_refused_digest_does_not_hold_back_the_others(team, monkeypatch):
    Membership.objects.filter(workspace=team.workspace).update(email_digest=True)
    _overdue(team, title=TITLE, provider_name=PROVIDER)
    _overdue(team, title="Second", owner=team.bob)
    flag_pass(now=NOW)
    real_send = mail.EmailMessage.send

    def send(message, fail_silently=False):
        if message.to == [team.alice.email]:
            raise ConnectionRefusedError("refused")
        return real_send(message, fail_silently)

    monkeypatch.setattr(mail.EmailMessage, "send", send)
    assert send_daily_digests() == 1
    assert [m.to for m in mail.outbox] == [[team.bob.email]]
    waiting = Notification.objects.filter(status=Notification.Status.DIGEST)
    assert set(waiting.values_list("recipient", flat=True)) == {team.alice.pk}
    monkeypatch.setattr(mail.EmailMessage, "send", real_send)
    assert send_daily_digests() == 1
    _one_line(mail.outbox[-1])


@pytest.mark.django_db
def test_mail_sent_from_the_app_about_a_title_with_line_breaks_has_a_one_line_subject(team):
    provider = ProviderFactory(workspace=team.workspace, name=PROVIDER)
    ProviderEmailFactory(provider=provider, email="pixel@example.net")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, title=TITLE)
    team.alice.first_name = "Alice\r\nBcc: x@example.com"
    team.alice.save(update_fields=["first_name"])
    initial = outbound.compose_initial(engagement, Message.Kind.REQUEST, sender_name="Alice")
    message = outbound.mail_send(
        engagement=engagement,
        by=team.alice,
        kind=Message.Kind.REQUEST,
        to=["pixel@example.net"],
        subject=initial["subject"],
        body="Could you?",
    )
    assert _one_line(mail.outbox[0]) == message.subject == "Logo Bcc: everyone@example.com redesign"
    sender = mail.outbox[0].message()["From"]
    assert "\n" not in sender and "Alice Bcc: x@example.com via" in sender
