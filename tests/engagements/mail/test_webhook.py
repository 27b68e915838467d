"""The inbound mail webhook: Postmark (basic auth) and Mailgun (HMAC signature) posts go through the
one importer into the workspace their address names; whatever is not authenticated imports nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engagements.mail import importer, webhook
from engagements.models import Engagement, InboundMail, Message
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

SECRET = "postmark:5ecret-pa55"
SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TOKEN = "k7x2m9q4w8e1r5t3"  # an engagement's routing token


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    settings.MAIL_ROUTING_DOMAIN = "tracker.example"


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Landing page copy"
    )
    engagement.routing_token = TOKEN
    engagement.save(update_fields=["routing_token"])
    # A second open engagement: the sender alone no longer says where a reply belongs.
    EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Logo")
    return engagement


@pytest.fixture
def token(team) -> str:
    return webhook.mail_token_ensure(team.workspace)


def postmark_url(token: str) -> str:
    return reverse("mail_webhook_postmark", kwargs={"token": token})


def mailgun_url(token: str, *, mime: bool = False) -> str:
    return reverse("mail_webhook_mailgun_mime" if mime else "mail_webhook_mailgun", kwargs={"token": token})


def basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def postmark_payload(
    *,
    to: str = f"reply+{TOKEN}@tracker.example",
    subject: str = "Re: Landing page copy",
    message_id: str = "CAF=1234@mail.va-agency.example",
    sender: str = "vanessa@va-agency.example",
    raw: str | None = None,
) -> dict:
    """Postmark's inbound JSON as it posts it (without the raw message unless one is given)."""
    date = format_datetime(timezone.now() - timedelta(minutes=5))
    payload = {
        "FromName": "Vanessa",
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Vanessa", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": TOKEN}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "",
        "MailboxHash": TOKEN,
        "Date": date,
        "TextBody": "Here is the draft of the landing page.\n\nVanessa",
        "HtmlBody": "<p>Here is the draft of the landing page.</p><p>Vanessa</p>",
        "StrippedTextReply": "Here is the draft of the landing page.",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{sender}>"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": f"<{message_id}>"},
        ],
        "Attachments": [
            {
                "Name": "notes.txt",
                "Content": base64.b64encode(b"Headline ideas").decode(),
                "ContentType": "text/plain",
                "ContentLength": 14,
                "ContentID": "",
            }
        ],
    }
    if raw is not None:
        payload["RawEmail"] = raw
    return payload


def raw_mail(*, to: str, message_id: str, subject: str = "Re: Landing page copy") -> str:
    m = EmailMessage()
    m["From"] = "Vanessa <vanessa@va-agency.example>"
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(timezone.now() - timedelta(minutes=5))
    m["Message-ID"] = f"<{message_id}>"
    m.set_content("Done, see the draft.\n")
    return m.as_string()


def post_postmark(token: str, payload: object, credentials: str | None = SECRET, **extra) -> Any:
    headers = basic(credentials) if credentials is not None else {}
    body = payload if isinstance(payload, bytes) else json.dumps(payload)
    return Client().post(postmark_url(token), body, content_type="application/json", **headers, **extra)


def mailgun_signature(key: str = SIGNING_KEY, *, age: int = 0) -> dict[str, str]:
    """Signed as Mailgun signs each post: its time and a fresh random token, ``age`` seconds ago."""
    timestamp, nonce = str(int(time.time()) - age), secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{nonce}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": nonce, "signature": signature}


# --- Postmark ------------------------------------------------------------------


def test_a_postmark_post_with_the_right_password_logs_the_reply_on_its_engagement(team, engagement, token):
    response = post_postmark(token, postmark_payload())

    assert response.status_code == 200
    message = Message.objects.get(engagement=engagement)
    assert (message.direction, message.kind, message.source) == ("in", "reply", Message.Source.WEBHOOK)
    assert message.message_id == "CAF=1234@mail.va-agency.example"
    assert "Here is the draft" in message.body
    assert [a.original_name for a in message.attachments.all()] == ["notes.txt"]
    inbound = InboundMail.objects.get()
    assert (inbound.workspace, inbound.status, inbound.source) == (
        team.workspace,
        InboundMail.Status.THREADED,
        InboundMail.Source.WEBHOOK,
    )


def test_a_mail_no_engagement_claims_waits_in_unsorted_in_the_workspace_the_address_names(team, token):
    webhook.mail_token_ensure(team.other_workspace)

    response = post_postmark(
        token, postmark_payload(to="hello@tracker.example", sender="someone@elsewhere.example")
    )

    assert response.status_code == 200
    inbound = InboundMail.objects.get()
    assert (inbound.workspace, inbound.status) == (team.workspace, InboundMail.Status.UNSORTED)
    assert inbound.raw  # kept, to be logged when a person sorts it
    assert not Message.objects.exists()


def test_the_raw_message_is_imported_and_the_envelope_recipient_finds_its_engagement(engagement, token):
    # Blind-copied to the routing address: only the envelope names it, not the To header.
    raw = raw_mail(to="alice@example.com", message_id="raw-1@mail.va-agency.example")
    payload = postmark_payload(raw=raw, to=f"reply+{TOKEN}@tracker.example")
    payload["Subject"] = "this parsed copy is not what gets imported"

    response = post_postmark(token, payload)

    assert response.status_code == 200
    message = Message.objects.get(engagement=engagement)
    assert (message.message_id, message.subject) == ("raw-1@mail.va-agency.example", "Re: Landing page copy")


@pytest.mark.parametrize("credentials", [None, "postmark:wrong", "intruder:5ecret-pa55", ""])
def test_posts_without_or_with_wrong_credentials_are_refused_and_store_nothing(
    engagement, token, credentials
):
    response = post_postmark(token, postmark_payload(), credentials=credentials)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not InboundMail.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize("secret", ["", []])
def test_without_a_password_on_the_server_every_postmark_post_is_refused(settings, engagement, token, secret):
    settings.ANYMAIL = {"WEBHOOK_SECRET": secret, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}

    for credentials in (None, SECRET, ""):
        assert post_postmark(token, postmark_payload(), credentials=credentials).status_code == 403
    assert not InboundMail.objects.exists()


def test_an_unknown_or_malformed_token_is_a_plain_404(team, token, engagement):
    for unknown in ("A" * 32, "short", "x" * 40, token + "x"):
        response = post_postmark(unknown, postmark_payload())
        assert response.status_code == 404
        assert response.content == b""
    assert not InboundMail.objects.exists()


def test_a_workspace_without_a_token_cannot_be_reached(team):
    assert team.workspace.mail_token == ""
    response = Client().post("/mail/in//postmark/", "{}", content_type="application/json", **basic(SECRET))
    assert response.status_code == 404


def test_the_same_mail_posted_twice_is_logged_once(engagement, token):
    assert post_postmark(token, postmark_payload()).status_code == 200
    assert post_postmark(token, postmark_payload()).status_code == 200

    assert Message.objects.filter(engagement=engagement).count() == 1
    assert InboundMail.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"Headers": "not a list"}',
        b'{"Headers": [{"Nom": "x"}]}',
        b'{"RecordType": "Bounce", "Email": "x@example.com"}',
        b'{"Attachments": [{"ContentType": "text/plain", "Content": "%%%not base64"}]}',
    ],
)
def test_a_body_that_is_not_postmarks_json_is_a_400(engagement, token, body):
    response = post_postmark(token, body)

    assert response.status_code == 400
    assert not InboundMail.objects.exists()


@pytest.mark.parametrize("raw", ["\x00\x01 not a mail at all", "too large"])
def test_a_mail_the_importer_rejects_still_gets_200_and_is_kept(settings, team, token, raw):
    if raw == "too large":
        settings.MAIL_MAX_BYTES = 2000
        raw = raw_mail(to="alice@example.com", message_id="big@example.net") + "x" * 3000
    response = post_postmark(token, postmark_payload(raw=raw))

    assert response.status_code == 200
    inbound = InboundMail.objects.get()
    assert (inbound.workspace, inbound.status) == (team.workspace, InboundMail.Status.REJECTED)
    assert inbound.raw


def test_a_post_larger_than_any_mail_is_refused_with_413(settings, token):
    settings.MAIL_MAX_BYTES = 1000
    payload = postmark_payload()
    payload["TextBody"] = "x" * 5000

    assert post_postmark(token, payload).status_code == 413
    assert not InboundMail.objects.exists()


def test_a_mail_larger_than_djangos_form_limit_still_arrives(settings, engagement, token):
    # DATA_UPLOAD_MAX_MEMORY_SIZE is for forms; a mail with attachments is larger.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    payload = postmark_payload()
    payload["TextBody"] = "Here is the draft. " + "More text. " * 500

    assert post_postmark(token, payload).status_code == 200
    assert Message.objects.filter(engagement=engagement).count() == 1


def test_the_webhook_needs_no_csrf_token_and_takes_only_posts(engagement, token):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        postmark_url(token), json.dumps(postmark_payload()), content_type="application/json", **basic(SECRET)
    )
    assert response.status_code == 200
    assert client.get(postmark_url(token)).status_code == 405
    # Some services check the address with a HEAD request when it is entered.
    assert client.head(postmark_url(token)).status_code == 200


# --- Mailgun -------------------------------------------------------------------


@pytest.fixture
def mailgun_only(settings):
    """A server that takes mail from Mailgun only: the signature is the whole proof."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def test_a_signed_mailgun_post_of_the_raw_message_is_imported(mailgun_only, engagement, token):
    raw = raw_mail(to="alice@example.com", message_id="mg-raw@mail.va-agency.example")
    response = Client().post(
        mailgun_url(token, mime=True),
        {
            **mailgun_signature(),
            "recipient": f"reply+{TOKEN}@tracker.example",
            "sender": "vanessa@va-agency.example",
            "body-mime": raw,
        },
    )

    assert response.status_code == 200
    message = Message.objects.get(engagement=engagement)
    assert (message.message_id, message.source) == ("mg-raw@mail.va-agency.example", Message.Source.WEBHOOK)


def test_a_signed_mailgun_post_of_the_parsed_message_is_imported(mailgun_only, engagement, token):
    headers = [
        ["From", "Vanessa <vanessa@va-agency.example>"],
        ["To", f"reply+{TOKEN}@tracker.example"],
        ["Subject", "Re: Landing page copy"],
        ["Date", format_datetime(timezone.now() - timedelta(minutes=3))],
        ["Message-Id", "<mg-parsed@mail.va-agency.example>"],
        ["Mime-Version", "1.0"],
    ]
    response = Client().post(
        mailgun_url(token),
        {
            **mailgun_signature(),
            "recipient": f"reply+{TOKEN}@tracker.example",
            "sender": "vanessa@va-agency.example",
            "message-headers": json.dumps(headers),
            "body-plain": "The copy is attached.",
            "stripped-text": "The copy is attached.",
        },
    )

    assert response.status_code == 200
    assert Message.objects.get(engagement=engagement).message_id == "mg-parsed@mail.va-agency.example"


def test_a_parsed_mailgun_post_brings_attachments_larger_than_djangos_form_limit(
    mailgun_only, settings, engagement, token
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    headers = [
        ["From", "vanessa@va-agency.example"],
        ["To", f"reply+{TOKEN}@tracker.example"],
        ["Subject", "Re: Landing page copy"],
        ["Message-Id", "<mg-big@mail.va-agency.example>"],
    ]
    notes = SimpleUploadedFile("notes.txt", b"A line of notes.\n" * 400, content_type="text/plain")

    response = Client().post(
        mailgun_url(token),
        {
            **mailgun_signature(),
            "message-headers": json.dumps(headers),
            "body-plain": "The notes are attached.",
            "attachment-count": "1",
            "attachment-1": notes,
        },
    )

    assert response.status_code == 200
    message = Message.objects.get(engagement=engagement)
    assert [a.original_name for a in message.attachments.all()] == ["notes.txt"]


def test_a_raw_mailgun_post_over_djangos_form_limit_is_a_400_not_a_500(mailgun_only, settings, token):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="mg-huge@example.net") + "x" * 5000

    response = Client().post(mailgun_url(token, mime=True), {**mailgun_signature(), "body-mime": raw})

    assert response.status_code == 400
    assert not InboundMail.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        {},
        {"signature": "0" * 64},
        {"timestamp": "1"},
        "wrong key",
    ],
)
def test_a_mailgun_post_without_a_valid_signature_is_refused(mailgun_only, engagement, token, signature):
    if signature == "wrong key":
        fields = mailgun_signature("key-not-ours")
    elif signature:
        fields = {**mailgun_signature(), **signature}
    else:
        fields = {}
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="forged@example.net")

    response = Client().post(mailgun_url(token, mime=True), {**fields, "body-mime": raw})

    assert response.status_code == 403
    assert not InboundMail.objects.exists()


@pytest.mark.parametrize("age", [16 * 60, -16 * 60])
def test_a_mailgun_signature_from_too_long_ago_or_from_the_future_is_refused(
    mailgun_only, engagement, token, age
):
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="stale@example.net")

    response = Client().post(mailgun_url(token, mime=True), {**mailgun_signature(age=age), "body-mime": raw})

    assert response.status_code == 403
    assert not InboundMail.objects.exists()


def test_a_mailgun_signature_a_few_minutes_old_is_accepted(mailgun_only, engagement, token):
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="delayed@example.net")

    response = Client().post(
        mailgun_url(token, mime=True), {**mailgun_signature(age=10 * 60), "body-mime": raw}
    )

    assert response.status_code == 200
    assert Message.objects.filter(engagement=engagement, message_id="delayed@example.net").exists()


def test_a_replayed_mailgun_post_is_refused_even_for_new_mail(mailgun_only, engagement, token):
    signed = mailgun_signature()
    first = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="first@example.net")
    forged = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="forged-later@example.net")

    assert Client().post(mailgun_url(token, mime=True), {**signed, "body-mime": first}).status_code == 200
    replay = Client().post(mailgun_url(token, mime=True), {**signed, "body-mime": forged})

    assert replay.status_code == 403
    assert list(InboundMail.objects.values_list("message_id", flat=True)) == ["first@example.net"]


def test_a_mailgun_retry_after_a_failed_import_gets_through(mailgun_only, engagement, token, monkeypatch):
    signed = mailgun_signature()
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="retried@example.net")
    real = importer.mail_import

    def database_away(**kwargs):
        raise OperationalError("the database is away")

    monkeypatch.setattr(importer, "mail_import", database_away)
    with pytest.raises(OperationalError):
        Client().post(mailgun_url(token, mime=True), {**signed, "body-mime": raw})
    monkeypatch.setattr(importer, "mail_import", real)

    assert Client().post(mailgun_url(token, mime=True), {**signed, "body-mime": raw}).status_code == 200
    assert InboundMail.objects.filter(message_id="retried@example.net").exists()


@pytest.mark.parametrize("anymail", [{"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": ""}, {}])
def test_without_a_signing_key_on_the_server_every_mailgun_post_is_refused(settings, token, anymail):
    settings.ANYMAIL = anymail
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="unsigned@example.net")

    # Signed with the empty key, which anyone could do.
    response = Client().post(
        mailgun_url(token, mime=True), {**mailgun_signature(""), "body-mime": raw}, **basic(SECRET)
    )

    assert response.status_code == 403
    assert not InboundMail.objects.exists()


def test_with_a_webhook_password_set_mailgun_must_send_it_too(engagement, token):
    raw = raw_mail(to=f"reply+{TOKEN}@tracker.example", message_id="mg-auth@mail.va-agency.example")
    fields = {**mailgun_signature(), "body-mime": raw}

    assert Client().post(mailgun_url(token, mime=True), fields).status_code == 403
    assert Client().post(mailgun_url(token, mime=True), fields, **basic(SECRET)).status_code == 200
    assert Message.objects.filter(engagement=engagement).count() == 1


def test_a_mailgun_tracking_event_sent_to_the_inbound_address_is_a_400(mailgun_only, token):
    body = {"signature": mailgun_signature(), "event-data": {"event": "delivered"}}

    response = Client().post(mailgun_url(token), json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert not InboundMail.objects.exists()


# --- The address and the settings page ----------------------------------------


def test_the_token_is_made_once_and_fits_the_column(team):
    token = webhook.mail_token_ensure(team.workspace)
    assert 16 <= len(token) <= 32
    assert webhook.mail_token_ensure(team.workspace) == token
    team.workspace.refresh_from_db()
    assert team.workspace.mail_token == token


def test_rotating_is_conditional_on_the_token_seen(team, token):
    stale = type(team.workspace).objects.get(pk=team.workspace.pk)
    new = webhook.mail_token_rotate(team.workspace)
    assert new != token
    # Someone else rotated in the meantime: this click does not rotate again.
    assert webhook.mail_token_rotate(stale) == new


def settings_url() -> str:
    return reverse("mail:webhook_settings", kwargs={"ws": "acme"})


def test_managers_see_both_addresses_absolute_and_whether_the_server_is_configured(team, settings):
    settings.SITE_URL = "https://tracker.example.com"
    response = team.client_for(team.alice).get(settings_url())

    assert response.status_code == 200
    team.workspace.refresh_from_db()
    token = team.workspace.mail_token
    assert token
    html = response.content.decode()
    assert f"https://tracker.example.com/mail/in/{token}/postmark/" in html
    assert f"https://tracker.example.com/mail/in/{token}/mailgun/" in html
    assert "Password set on the server" in html
    assert "Signing key set on the server" in html
    assert SECRET.split(":")[1] not in html and SIGNING_KEY not in html


def test_the_page_says_when_the_server_lacks_the_secrets(team, settings):
    settings.ANYMAIL = {}
    html = team.client_for(team.alice).get(settings_url()).content.decode()
    assert "No password set on the server: posts are refused" in html
    assert "No signing key set on the server: posts are refused" in html


def test_a_new_address_replaces_the_old_one(team, token, engagement):
    response = team.client_for(team.alice).post(settings_url())

    assert response.status_code == 302
    team.workspace.refresh_from_db()
    assert team.workspace.mail_token not in ("", token)
    assert post_postmark(token, postmark_payload()).status_code == 404
    assert post_postmark(team.workspace.mail_token, postmark_payload()).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_managers_reach_the_webhook_page(team, token, method):
    assert getattr(team.client_for(team.bob), method)(settings_url()).status_code == 403
    assert getattr(team.client_for(team.vera), method)(settings_url()).status_code == 403
    assert getattr(team.client_for(team.charlie), method)(settings_url()).status_code == 404
    team.workspace.refresh_from_db()
    assert team.workspace.mail_token == token


# --- Rate limits ----------------------------------------------------------------------


def test_a_flood_of_posts_to_one_workspace_address_is_answered_429_and_imports_nothing_more(
    team, engagement, token, settings
):
    settings.RATE_LIMITS = {"mail_webhook_workspace": "2/h"}
    for n in range(2):
        assert post_postmark(token, postmark_payload(message_id=f"m{n}@va-agency.example")).status_code == 200

    flooded = post_postmark(token, postmark_payload(message_id="m3@va-agency.example"))

    assert flooded.status_code == 429
    assert InboundMail.objects.count() == 2
    # Another workspace's address is counted on its own.
    other = webhook.mail_token_ensure(team.other_workspace)
    assert post_postmark(other, postmark_payload(message_id="m4@va-agency.example")).status_code == 200


def test_one_sender_posting_to_many_addresses_is_limited_too(team, engagement, token, settings):
    settings.RATE_LIMITS = {"mail_webhook_ip": "2/h"}
    other = webhook.mail_token_ensure(team.other_workspace)
    assert post_postmark(token, postmark_payload(message_id="a@x.example")).status_code == 200
    assert post_postmark(other, postmark_payload(message_id="b@x.example")).status_code == 200
    # Guessing addresses costs the guesser's allowance as well.
    assert post_postmark("a-made-up-token-1234", postmark_payload()).status_code == 429
    assert post_postmark(token, postmark_payload(message_id="c@x.example")).status_code == 429
    assert post_postmark(token, postmark_payload(), REMOTE_ADDR="198.51.100.7").status_code == 200
