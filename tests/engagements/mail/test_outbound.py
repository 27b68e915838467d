"""Mail out: compose a request or follow-up, deliver it to a real SMTP server on
loopback, log it with its Message-ID, and thread the provider's reply back."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from email.utils import format_datetime, getaddresses

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.mail import importer, outbound
from engagements.models import Engagement, Flag, InboundMail, Message
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

TOKEN = re.compile(r"^reply\+([a-z0-9]{8,24})@reply\.example\.com$")


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.MAIL_ROUTING_DOMAIN = "reply.example.com"
    settings.MAIL_ROUTING_LOCAL = "reply"
    settings.DEFAULT_FROM_EMAIL = "Outsourcing Tracker <tracker@example.com>"


@pytest.fixture
def addressed(provider):
    ProviderEmailFactory(provider=provider, email="vanessa@example.net", position=0)
    ProviderEmailFactory(provider=provider, email="office@example.net", position=1)
    return provider


@pytest.fixture
def draft(team, addressed) -> Engagement:
    team.alice.first_name, team.alice.last_name = "Jörg", "Müller"
    team.alice.save(update_fields=["first_name", "last_name"])
    return EngagementFactory(
        workspace=team.workspace,
        provider=addressed,
        owner=team.alice,
        title="Landing page copy",
        status=Engagement.Status.DRAFT,
    )


def compose_url(engagement: Engagement, **query: str) -> str:
    path = reverse("mail:compose", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def send(engagement: Engagement, by, **fields) -> Message:
    values = {
        "kind": "request",
        "to": ["vanessa@example.net"],
        "cc": [],
        "subject": "Landing page copy",
        "body": "Please write it.",
        **fields,
    }
    return outbound.mail_send(engagement=engagement, by=by, **values)


def reply_bytes(*, to: str, in_reply_to: str = "", subject: str = "Re: Landing page copy") -> bytes:
    """The provider's answer, as their mail client would write it."""
    lines = [
        "From: Vanessa <vanessa@example.net>",
        f"To: {to}",
        f"Subject: {subject}",
        "Message-ID: <answer-1@example.net>",
        f"Date: {format_datetime(timezone.now())}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(lines) + "\r\n\r\nHappy to help, it will be ready on Friday.\r\n").encode()


# --- Sending through the page ---------------------------------------------------------


def test_a_request_arrives_with_its_headers_and_is_logged_as_sent_from_the_app(team, draft, smtp_server):
    response = team.client_for(team.alice).post(
        compose_url(draft),
        {
            "kind": "request",
            "to": ["vanessa@example.net", "office@example.net"],
            "cc": "bob@example.com; vera@example.com",
            "subject": "Texte für die Landingpage – Größe prüfen",
            "body": "Grüß Gott,\r\nbitte schreiben Sie die Texte. Äußerst wichtig!\r\n",
        },
    )

    message = Message.objects.get(engagement=draft)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/engagements/{draft.pk}/#message-{message.pk}")
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "tracker@example.com"
    assert sorted(envelope.rcpt_tos) == sorted(
        ["vanessa@example.net", "office@example.net", "bob@example.com", "vera@example.com"]
    )
    [mail] = smtp_server.mails()
    assert getaddresses([str(mail["From"])]) == [
        ("Jörg Müller via Outsourcing Tracker", "tracker@example.com")
    ]
    assert [a for _n, a in getaddresses([str(mail["To"])])] == ["vanessa@example.net", "office@example.net"]
    assert [a for _n, a in getaddresses([str(mail["Cc"])])] == ["bob@example.com", "vera@example.com"]
    assert mail["Subject"] == "Texte für die Landingpage – Größe prüfen"
    assert "Äußerst wichtig!" in mail.get_content()
    assert TOKEN.match(str(mail["Reply-To"]))
    assert mail["Auto-Submitted"] is None
    assert mail["In-Reply-To"] is None
    assert str(mail["Message-ID"]) == f"<{message.message_id}>"
    assert message.message_id.endswith("@reply.example.com")

    assert message.direction == Message.Direction.OUTBOUND
    assert message.kind == Message.Kind.REQUEST
    assert message.channel == Message.Channel.EMAIL
    assert message.source == Message.Source.APP
    assert message.author == team.alice
    assert message.sender == "tracker@example.com"
    assert message.subject == "Texte für die Landingpage – Größe prüfen"
    assert message.body == "Grüß Gott,\nbitte schreiben Sie die Texte. Äußerst wichtig!\n"
    assert message.in_reply_to == ""


def test_the_success_message_names_the_recipients(team, draft, smtp_server):
    response = team.client_for(team.bob).post(
        compose_url(draft),
        {"kind": "request", "to": ["office@example.net"], "subject": "Copy", "body": "Please."},
        follow=True,
    )

    assert "Mail sent to office@example.net." in response.content.decode()
    assert Message.objects.get(engagement=draft).author == team.bob


def test_sending_the_first_request_moves_a_draft_to_requested(team, draft, smtp_server):
    send(draft, team.alice)

    draft.refresh_from_db()
    assert draft.status == Engagement.Status.REQUESTED
    assert draft.awaiting_reply


def test_the_routing_token_is_made_once_and_stays_across_sends(team, draft, smtp_server):
    send(draft, team.alice)
    send(draft, team.alice, kind="follow_up", subject="Re: Landing page copy")

    first, second = smtp_server.mails()
    assert first["Reply-To"] == second["Reply-To"]
    token = TOKEN.match(str(first["Reply-To"])).group(1)  # type: ignore[union-attr]
    draft.refresh_from_db()
    assert draft.routing_token == token


def test_two_sends_racing_for_the_first_token_agree_on_one(team, draft):
    stale = Engagement.objects.get(pk=draft.pk)
    winner = outbound.routing_address(draft)

    # ``stale`` was read before the token was written: its update changes nothing.
    assert stale.routing_token == ""
    assert outbound.routing_address(stale) == winner
    assert Engagement.objects.get(pk=draft.pk).routing_token == stale.routing_token


def test_without_a_routing_domain_the_reply_address_uses_the_senders_domain(team, draft, settings):
    settings.MAIL_ROUTING_DOMAIN = ""

    address = outbound.routing_address(draft)

    assert re.fullmatch(r"reply\+[a-z0-9]{8,24}@example\.com", address)


def test_a_follow_up_continues_the_thread_of_the_request_it_chases(team, draft, smtp_server):
    request = send(draft, team.alice)
    draft.refresh_from_db()

    follow_up = send(draft, team.alice, kind="follow_up", subject="Re: Landing page copy", body="Any news?")

    mail = smtp_server.mails()[1]
    assert mail["In-Reply-To"] == f"<{request.message_id}>"
    assert mail["References"] == f"<{request.message_id}>"
    assert follow_up.kind == Message.Kind.FOLLOW_UP
    assert follow_up.in_reply_to == request.message_id
    assert follow_up.references == request.message_id
    assert str(mail["Message-ID"]) == f"<{follow_up.message_id}>"


def test_thread_headers_given_by_the_caller_are_used_with_or_without_brackets(team, draft, smtp_server):
    message = send(draft, team.alice, kind="follow_up", in_reply_to="<their-1@example.net>")

    [mail] = smtp_server.mails()
    assert mail["In-Reply-To"] == "<their-1@example.net>"
    assert mail["References"] == "<their-1@example.net>"
    assert (message.in_reply_to, message.references) == ("their-1@example.net", "their-1@example.net")


def test_a_follow_up_of_a_request_logged_by_hand_has_no_thread_headers(team, draft, smtp_server):
    services.message_log(
        engagement=draft,
        direction="out",
        kind="request",
        channel="phone",
        occurred_at=timezone.now() - timedelta(days=3),
        author=team.alice,
    )
    draft.refresh_from_db()

    follow_up = send(draft, team.alice, kind="follow_up", subject="Re: Landing page copy")

    [mail] = smtp_server.mails()
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert follow_up.in_reply_to == ""


# --- The reply comes back ------------------------------------------------------------


def test_the_providers_reply_threads_back_to_the_engagement_by_its_references(team, draft, smtp_server):
    request = send(draft, team.alice)
    [mail] = smtp_server.mails()

    # An hour later: a Date header counts whole seconds, and a reply must come after the request.
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        result = importer.mail_import(
            workspace=team.workspace,
            raw=reply_bytes(to=str(mail["Reply-To"]), in_reply_to=str(mail["Message-ID"])),
            source=InboundMail.Source.IMPORT,
        )

    assert (result.outcome, result.how) == (importer.THREADED, "references")
    assert result.message is not None
    assert result.message.engagement_id == draft.pk
    assert result.message.direction == Message.Direction.INBOUND
    assert result.message.kind == Message.Kind.REPLY
    assert result.message.in_reply_to == request.message_id
    draft.refresh_from_db()
    assert not draft.awaiting_reply


def test_a_reply_without_thread_headers_finds_the_engagement_by_its_token(team, draft, smtp_server):
    # Another engagement of the same provider: the sender alone could not tell them apart.
    EngagementFactory(workspace=team.workspace, provider=draft.provider, title="Banner ads")
    send(draft, team.alice)
    [mail] = smtp_server.mails()

    result = importer.mail_import(
        workspace=team.workspace,
        raw=reply_bytes(to=str(mail["Reply-To"]), subject="Question"),
        source=InboundMail.Source.IMPORT,
    )

    assert (result.outcome, result.how) == (importer.THREADED, "token")
    assert result.message is not None and result.message.engagement_id == draft.pk


# --- When the mail does not go out -----------------------------------------------------


def test_when_the_mail_server_is_down_the_form_comes_back_with_the_text_and_nothing_is_logged(
    team, draft, smtp_down
):
    typed = "Hallo Vanessa,\r\nbitte die Texte bis Freitag.\r\n"
    response = team.client_for(team.alice).post(
        compose_url(draft),
        {"kind": "request", "to": ["vanessa@example.net"], "subject": "Texte", "body": typed},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.data["body"] == typed and form.data["subject"] == "Texte"
    assert "The mail server could not be reached." in " ".join(form.non_field_errors())
    assert "Nothing was sent or logged" in response.content.decode()
    assert not Message.objects.filter(engagement=draft).exists()
    draft.refresh_from_db()
    assert draft.status == Engagement.Status.DRAFT


def test_a_refused_recipient_is_named_and_nothing_is_logged(team, draft, smtp_server):
    smtp_server.refuse = {"vanessa@example.net"}

    with pytest.raises(outbound.MailNotSent) as refused:
        send(draft, team.alice)

    assert "vanessa@example.net" in refused.value.messages[0]
    assert not Message.objects.filter(engagement=draft).exists()


def test_an_address_that_is_not_the_providers_is_refused_before_anything_is_sent(team, draft, smtp_server):
    with pytest.raises(ValidationError) as refused:
        send(draft, team.alice, to=["stranger@example.org"])

    assert "to" in refused.value.message_dict
    assert smtp_server.envelopes == []
    assert not Message.objects.filter(engagement=draft).exists()


def test_the_form_refuses_a_bad_copy_address_and_a_foreign_recipient(team, draft, smtp_server):
    response = team.client_for(team.alice).post(
        compose_url(draft),
        {"kind": "request", "to": ["stranger@example.org"], "cc": "boss@, ok@example.org", "body": "Hi"},
    )

    form = response.context["form"]
    assert response.status_code == 200
    assert set(form.errors) == {"to", "cc", "subject"}
    assert "boss@" in form.errors["cc"][0]
    assert smtp_server.envelopes == []


def test_a_copy_to_a_stranger_is_refused_and_nothing_is_sent(team, draft, smtp_server):
    response = team.client_for(team.bob).post(
        compose_url(draft),
        {
            "kind": "request",
            "to": ["vanessa@example.net"],
            "cc": "office@example.net, alice@example.com, anyone@example.org",
            "subject": "Copy",
            "body": "Hello",
        },
    )

    form = response.context["form"]
    assert response.status_code == 200
    assert list(form.errors) == ["cc"]
    assert "anyone@example.org" in form.errors["cc"][0]
    assert "alice@example.com" not in form.errors["cc"][0]
    assert smtp_server.envelopes == []
    assert not Message.objects.filter(engagement=draft).exists()
    with pytest.raises(ValidationError) as refused:
        send(draft, team.alice, cc=["charlie@example.com"])  # a member of another workspace only
    assert "cc" in refused.value.message_dict


def test_copies_go_to_any_address_once_an_owner_allows_it(team, draft, smtp_server):
    with pytest.raises(ValidationError):
        send(draft, team.bob, cc=["anyone@example.org"])
    team.client_for(team.alice).post(
        reverse("workspace_settings", kwargs={"ws": "acme"}),
        {"action": "security", "security-mail_any_recipient": "on"},
    )
    draft.workspace.refresh_from_db()

    send(draft, team.bob, cc=["anyone@example.org"])

    [envelope] = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["anyone@example.org", "vanessa@example.net"]


def test_the_cc_field_says_whom_copies_may_reach(team, draft):
    html = team.client_for(team.alice).get(compose_url(draft)).content.decode()
    assert "members of this workspace" in html


def test_sending_too_often_keeps_the_text_and_sends_nothing(team, draft, smtp_server, settings):
    settings.RATE_LIMITS = {"mail_send_user": "2/h"}
    client = team.client_for(team.alice)
    fields = {"kind": "request", "to": ["vanessa@example.net"], "subject": "Copy", "body": "Hello"}
    for _n in range(2):
        assert client.post(compose_url(draft), fields).status_code == 302

    response = client.post(compose_url(draft), {**fields, "body": "Third time, in my own words"})

    assert response.status_code == 200
    assert "A lot of mail was sent from here in a short time" in response.content.decode()
    assert "Third time, in my own words" in response.content.decode()
    assert len(smtp_server.envelopes) == 2
    assert Message.objects.filter(engagement=draft).count() == 2
    # The limit is the person's: a colleague still sends.
    assert team.client_for(team.bob).post(compose_url(draft), fields).status_code == 302


def test_the_workspace_has_a_sending_limit_of_its_own(team, draft, smtp_server, settings):
    settings.RATE_LIMITS = {"mail_send_workspace": "2/d"}
    fields = {"kind": "request", "to": ["vanessa@example.net"], "subject": "Copy", "body": "Hello"}
    assert team.client_for(team.alice).post(compose_url(draft), fields).status_code == 302
    assert team.client_for(team.bob).post(compose_url(draft), fields).status_code == 302

    response = team.client_for(team.bob).post(compose_url(draft), fields)

    assert response.status_code == 200
    assert len(smtp_server.envelopes) == 2


def test_a_subject_with_line_breaks_is_sent_on_one_line(team, draft, smtp_server):
    message = send(draft, team.alice, subject="Copy\r\nBcc: victim@example.org")

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["vanessa@example.net"]
    assert message.subject == "Copy Bcc: victim@example.org"


# --- Who may send ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_can_open_the_page_and_send(team, draft, smtp_server, who):
    client = team.client_for(getattr(team, who))

    assert client.get(compose_url(draft)).status_code == 200
    response = client.post(
        compose_url(draft), {"kind": "request", "to": ["vanessa@example.net"], "subject": "S", "body": "B"}
    )

    assert response.status_code == 302
    assert len(smtp_server.envelopes) == 1


@pytest.mark.parametrize(("who", "code"), [("vera", 403), ("charlie", 404)])
def test_viewers_cannot_send_and_outsiders_do_not_see_the_engagement(team, draft, smtp_server, who, code):
    client = team.client_for(getattr(team, who))

    assert client.get(compose_url(draft)).status_code == code
    response = client.post(
        compose_url(draft), {"kind": "request", "to": ["vanessa@example.net"], "subject": "S", "body": "B"}
    )

    assert response.status_code == code
    assert smtp_server.envelopes == []
    assert not Message.objects.filter(engagement=draft).exists()


def test_an_engagement_of_another_workspace_is_not_found(team, smtp_server):
    theirs = EngagementFactory(workspace=team.other_workspace)
    ProviderEmailFactory(provider=theirs.provider, email="theirs@example.net")
    path = reverse("mail:compose", kwargs={"ws": "acme", "pk": theirs.pk})

    client = team.client_for(team.alice)

    assert client.get(path).status_code == 404
    data = {"kind": "request", "to": ["theirs@example.net"], "subject": "S", "body": "B"}
    assert client.post(path, data).status_code == 404
    assert smtp_server.envelopes == []


def test_a_provider_without_an_address_gets_a_link_to_their_edit_page_instead_of_a_form(team, engagement):
    response = team.client_for(team.alice).get(compose_url(engagement))

    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"] is None
    assert 'data-testid="no-address"' in content
    assert reverse("providers:edit", kwargs={"ws": "acme", "pk": engagement.provider.pk}) in content


def test_the_engagement_page_offers_mail_and_while_waiting_a_follow_up_by_mail(team, draft, smtp_server):
    client = team.client_for(team.alice)
    page = client.get(url("detail", pk=draft.pk)).content.decode()
    assert compose_url(draft, kind="request") in page
    assert 'data-testid="mail-follow-up"' not in page

    send(draft, team.alice)

    page = client.get(url("detail", pk=draft.pk)).content.decode()
    assert compose_url(draft, kind="follow_up") in page
    viewer_page = team.client_for(team.vera).get(url("detail", pk=draft.pk)).content.decode()
    assert compose_url(draft) not in viewer_page


# --- Prefilled texts ------------------------------------------------------------------


def _prefilled(team, engagement, **query: str) -> dict:
    response = team.client_for(team.alice).get(compose_url(engagement, **query))
    assert response.status_code == 200
    return response.context["form"].initial


def test_a_german_provider_gets_the_german_request_with_the_engagements_details(team, draft):
    draft.provider.languages = ["de"]
    draft.provider.save(update_fields=["languages"])
    Engagement.objects.filter(pk=draft.pk).update(
        brief="Drei Abschnitte, freundlicher Ton.",
        due_on=date(2027, 3, 5),
        fee_amount=Decimal("1234.50"),
        fee_currency="EUR",
    )

    initial = _prefilled(team, draft)

    body = initial["body"]
    assert initial["kind"] == "request"
    assert initial["subject"] == "Landing page copy"
    assert initial["to"] == ["vanessa@example.net"]
    assert body.startswith("Guten Tag ")
    assert "„Landing page copy“" in body
    assert "Drei Abschnitte, freundlicher Ton." in body
    assert "bis zum 5. März 2027" in body
    assert re.search(r"1\.234,50\s€", body)
    assert body.endswith("Vielen Dank und freundliche Grüße\nJörg Müller")
    assert "\n\n\n" not in body


def test_the_language_choice_renders_the_template_in_that_language(team, draft):
    draft.provider.languages = ["de"]
    draft.provider.save(update_fields=["languages"])

    body = _prefilled(team, draft, lang="en")["body"]

    assert body.startswith("Hello ")
    assert "“Landing page copy”" in body
    # No due date, no fee, no brief: no empty paragraphs left behind.
    assert "\n\n\n" not in body and "budget" not in body


def test_an_unknown_language_falls_back_to_the_providers(team, draft):
    assert _prefilled(team, draft, lang="xx")["body"].startswith("Hello ")


def test_a_follow_up_is_prefilled_in_the_providers_language_with_the_request_date(team, draft):
    draft.provider.languages = ["de"]
    draft.provider.save(update_fields=["languages"])
    services.message_log(
        engagement=draft,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=3),
        subject="Texte für die Landingpage",
        author=team.alice,
    )

    initial = _prefilled(team, draft)

    assert initial["kind"] == "follow_up"
    assert initial["subject"] == "Re: Texte für die Landingpage"
    assert "Ich komme auf meine Anfrage vom" in initial["body"]
    english = _prefilled(team, draft, kind="follow_up", lang="en")
    assert "I am following up on my request of" in english["body"]


# --- Follow-ups that fit a flag -----------------------------------------------------------


def postfix_bounce(sent: Message, failed: str) -> bytes:
    """A delivery report for ``sent``, as Postfix writes it: the failed address and the returned headers."""
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nTo: tracker@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(timezone.now())}\r\nMessage-ID: <bounce-{sent.pk}@mx.example.net>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered: mailbox unknown.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: tracker@example.com\r\nTo: {failed}\r\nMessage-ID: <{sent.message_id}>\r\n"
        "--b--\r\n"
    ).encode()


def bounced_request(team, engagement: Engagement, failed: str = "vanessa@example.net") -> Flag:
    """Send the request to ``failed`` from the app, and import the bounce that comes back."""
    sent = send(engagement, team.alice, to=[failed], body="Three sections, in a friendly tone.")
    importer.mail_import(
        workspace=team.workspace, raw=postfix_bounce(sent, failed), source=InboundMail.Source.IMPORT
    )
    return Flag.objects.get(engagement=engagement, kind=Flag.Kind.BOUNCED, resolved_at=None)


def test_a_bounced_flags_follow_up_goes_to_another_address_with_the_request_again(team, draft, smtp_server):
    flag = bounced_request(team, draft)
    client = team.client_for(team.alice)

    response = client.get(compose_url(draft, flag=str(flag.pk)))

    initial = response.context["form"].initial
    assert initial["to"] == ["office@example.net"]
    assert initial["kind"] == "follow_up"
    assert initial["subject"] == "Landing page copy"
    assert "did not reach you: it came back undelivered from vanessa@example.net" in initial["body"]
    assert "Three sections, in a friendly tone." in initial["body"]
    page = response.content.decode()
    assert 'data-testid="bounced-notice"' in page
    assert "This mail goes to office@example.net instead." in page
    assert "vanessa@example.net (mail bounced)" in page
    # The language picker keeps the flag, so the text still fits it in the other language.
    assert f'name="flag" value="{flag.pk}"' in page
    assert (
        "unzustellbar"
        in client.get(compose_url(draft, flag=str(flag.pk), lang="de")).context["form"].initial["body"]
    )

    sent = client.post(
        compose_url(draft, flag=str(flag.pk)),
        {"kind": "follow_up", "to": initial["to"], "subject": initial["subject"], "body": initial["body"]},
    )

    assert sent.status_code == 302
    assert smtp_server.envelopes[-1].rcpt_tos == ["office@example.net"]


def test_when_the_only_address_bounced_the_page_says_so_and_chooses_no_recipient(team, draft, smtp_server):
    draft.provider.emails.filter(email="office@example.net").delete()
    flag = bounced_request(team, draft)

    response = team.client_for(team.alice).get(compose_url(draft, flag=str(flag.pk)))

    assert response.context["form"].initial["to"] == []
    page = response.content.decode()
    assert "Vanessa VA has no other e-mail address, so no recipient is chosen." in page
    assert reverse("providers:edit", kwargs={"ws": "acme", "pk": draft.provider.pk}) in page
    # Without the flag too: the first address is never the one that bounced.
    assert _prefilled(team, draft)["to"] == []


def test_a_bounce_logged_before_failed_addresses_were_kept_is_read_for_the_address_it_names(team, draft):
    services.message_log(engagement=draft, direction="out", kind="request", author=team.alice)
    services.message_log(
        engagement=draft,
        direction="in",
        kind="bounce",
        is_auto_reply=True,
        subject="Delivery Status Notification (Failure)",
        body="Delivery to the following recipient failed permanently:\n\n     Vanessa@Example.net",
    )

    assert _prefilled(team, draft)["to"] == ["office@example.net"]


def test_a_bounce_that_names_no_address_leaves_the_choice_to_the_person(team, draft, smtp_server):
    sent = send(draft, team.alice)
    raw = postfix_bounce(sent, "vanessa@example.net").replace(
        b"Final-Recipient: rfc822; vanessa@example.net\r\n", b""
    )
    raw = raw.replace(b"To: vanessa@example.net\r\n", b"")
    importer.mail_import(workspace=team.workspace, raw=raw, source=InboundMail.Source.IMPORT)
    flag = Flag.objects.get(engagement=draft, kind=Flag.Kind.BOUNCED)

    response = team.client_for(team.alice).get(compose_url(draft, flag=str(flag.pk)))

    assert response.context["form"].initial["to"] == []
    assert "The bounce did not say which address failed" in response.content.decode()


@pytest.mark.parametrize(
    ("kind", "says", "never"),
    [
        (Flag.Kind.REPLY_OVERDUE, "sent 3 days ago, to which I have not had a reply yet", "delivery"),
        (Flag.Kind.GHOSTED, "sent 3 days ago. My follow-up since then", "delivery"),
        (Flag.Kind.DELIVERY_OVERDUE, "I am writing about the delivery of “Landing page copy”", "reply"),
    ],
)
def test_the_mail_follow_up_of_a_flag_fits_the_flag(team, draft, smtp_server, kind, says, never):
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        send(draft, team.alice)
    if kind == Flag.Kind.GHOSTED:
        services.message_log(engagement=draft, direction="out", kind="follow_up", author=team.alice)
    Engagement.objects.filter(pk=draft.pk).update(due_on=timezone.localdate() - timedelta(days=2))
    if kind == Flag.Kind.DELIVERY_OVERDUE:
        services.message_log(engagement=draft, direction="in", kind="reply")
    flag = Flag.objects.create(
        workspace=team.workspace,
        engagement=draft,
        exchange=draft.exchanges.filter(replied_at=None).first(),
        kind=kind,
        due_at=timezone.now() - timedelta(days=1),
    )

    body = _prefilled(team, draft, flag=str(flag.pk))["body"]

    assert says in body
    assert never not in body


def test_a_flag_of_another_engagement_or_workspace_is_a_404(team, draft, provider):
    neighbour = EngagementFactory(workspace=team.workspace, provider=provider)
    theirs = EngagementFactory(workspace=team.other_workspace)
    client = team.client_for(team.alice)
    for other in (neighbour, theirs):
        flag = Flag.objects.create(
            workspace=other.workspace, engagement=other, kind=Flag.Kind.BOUNCED, due_at=timezone.now()
        )
        assert client.get(compose_url(draft, flag=str(flag.pk))).status_code == 404
    assert client.get(compose_url(draft, flag="1;drop")).status_code == 404


# --- Queries -----------------------------------------------------------------------------


def _page_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx)


def test_the_compose_page_query_count_does_not_grow_with_addresses_or_messages(team):
    provider = ProviderFactory(workspace=team.workspace)
    ProviderEmailFactory(provider=provider)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, status="draft")

    def log(days: int) -> None:
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            occurred_at=timezone.now() - timedelta(days=days),
            author=team.alice,
        )

    log(6)
    client = team.client_for(team.alice)
    _page_queries(client, compose_url(engagement))  # the session and caches warm up
    few_request = _page_queries(client, compose_url(engagement, kind="request"))
    few_follow_up = _page_queries(client, compose_url(engagement, kind="follow_up"))
    for _i in range(4):
        ProviderEmailFactory(provider=provider)
    for days in (5, 4, 3):
        log(days)

    assert _page_queries(client, compose_url(engagement, kind="request")) == few_request
    assert _page_queries(client, compose_url(engagement, kind="follow_up")) == few_follow_up
    assert few_request <= 10
