"""The provider's answer page: the signed link in every mail sent from the app, what each
answer logs, once-only and rate-limited answers, and the owner's decision on a proposed date."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engagements import bulk
from engagements.answers import links
from engagements.mail import outbound
from engagements.models import (
    AnswerLink,
    DueDateProposal,
    Engagement,
    Exchange,
    Message,
    Notification,
)
from tests.engagements.conftest import url
from tests.engagements.test_bulk import late, pks
from tests.factories import EngagementFactory, ProviderEmailFactory, request_logged

LINK = re.compile(r"http://testserver/a/([^/\s]+)/")


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.MAIL_ROUTING_DOMAIN = "reply.example.com"
    settings.MAIL_ROUTING_LOCAL = "reply"
    settings.DEFAULT_FROM_EMAIL = "Outsourcing Tracker <tracker@example.com>"
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def addressed(provider):
    ProviderEmailFactory(provider=provider, email="vanessa@example.net", position=0)
    return provider


def today() -> date:
    return timezone.now().date()


def send(engagement: Engagement, by, kind: str = "request") -> Message:
    return outbound.mail_send(
        engagement=engagement,
        by=by,
        kind=kind,
        to=["vanessa@example.net"],
        subject="Landing page copy",
        body="Please write it.",
    )


def sent_token(smtp_server, index: int = -1) -> str:
    match = LINK.search(smtp_server.mails()[index].get_content())
    assert match, "the mail carries no answer link"
    return match.group(1)


@pytest.fixture
def token(team, engagement, addressed, smtp_server) -> str:
    send(engagement, team.alice)
    return sent_token(smtp_server)


def page(token: str) -> str:
    return reverse("answer", kwargs={"token": token})


def answer(token: str, action: str, client: Client | None = None, **data):
    return (client or Client()).post(page(token), {"action": action, **data})


def from_the_page(engagement: Engagement):
    return Message.objects.filter(engagement=engagement, source=Message.Source.LINK)


# --- The link in the mail ------------------------------------------------------------------


def test_a_request_sent_from_the_app_carries_a_link_only_its_hash_is_stored(
    team, engagement, addressed, smtp_server
):
    message = send(engagement, team.alice)

    [mail] = smtp_server.mails()
    text = mail.get_content()
    token = sent_token(smtp_server)
    assert "Answer in one click, no account needed" in text
    link = AnswerLink.objects.get()
    assert link.message == message
    assert link.token_hash == links.token_hash(token) != token
    assert token not in message.body
    assert link.expires_at == pytest.approx(timezone.now() + timedelta(days=30), abs=timedelta(minutes=1))
    assert Client().get(page(token)).status_code == 200


def test_a_follow_up_carries_a_fresh_link_of_its_own(team, engagement, addressed, smtp_server):
    send(engagement, team.alice)
    send(engagement, team.alice, kind="follow_up")

    first, second = sent_token(smtp_server, 0), sent_token(smtp_server, 1)
    assert first != second
    assert AnswerLink.objects.count() == 2


def test_a_mail_in_german_introduces_its_link_in_german(team, engagement, addressed, smtp_server):
    addressed.languages = ["de"]
    addressed.save(update_fields=["languages"])

    send(engagement, team.alice)

    assert "Antworten Sie mit einem Klick" in smtp_server.mails()[0].get_content()


def test_a_combined_follow_up_carries_one_link_for_each_request(team, provider, addressed, smtp_server):
    flags = late(team, addressed, 2, prefix="Combined")

    bulk.flags_follow_up(workspace=team.workspace, flag_ids=pks(flags), by=team.alice)

    [mail] = smtp_server.mails()
    text = mail.get_content()
    tokens = LINK.findall(text)
    assert len(tokens) == 2
    titles = []
    for token in tokens:
        opened = links.link_open(token)
        titles.append(opened.request.engagement.title)
        assert f"{opened.request.engagement.title}: http://testserver/a/{token}/" in text
    assert sorted(titles) == ["Combined 0", "Combined 1"]


def test_a_refused_mail_leaves_no_link_behind(team, engagement, addressed, smtp_down):
    with pytest.raises(outbound.MailNotSent):
        send(engagement, team.alice)

    assert not AnswerLink.objects.exists()


# --- Links that do not work ---------------------------------------------------------------


def test_a_tampered_link_is_a_404_that_names_nothing(token, engagement):
    value, stamp, signature = token.split(".")
    workspace, message, nonce = value.split("-")
    forged = f"{workspace}-{int(message) + 1}-{nonce}.{stamp}.{signature}"

    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), "nonsense", token + "x"):
        response = Client().get(page(bad))
        assert response.status_code == 404
        assert 'data-testid="answer-invalid"' in response.content.decode()
        assert engagement.title not in response.content.decode()
    assert not from_the_page(engagement).exists()


def test_a_link_past_its_age_is_gone_and_answers_nothing(token, engagement, settings):
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        shown = Client().get(page(token))
        posted = answer(token, "acknowledge")

    assert shown.status_code == posted.status_code == 410
    assert 'data-testid="answer-expired"' in shown.content.decode()
    assert engagement.title not in shown.content.decode()
    assert not from_the_page(engagement).exists()


def test_a_link_whose_stored_expiry_passed_is_gone(token):
    AnswerLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert Client().get(page(token)).status_code == 410


def test_a_revoked_link_is_a_404(token):
    AnswerLink.objects.all().delete()

    assert Client().get(page(token)).status_code == 404


def test_a_link_to_a_deleted_request_is_a_404(token, team):
    from engagements import services

    services.message_delete(message=Message.objects.get(source=Message.Source.APP), by=team.alice)

    assert Client().get(page(token)).status_code == 404


def test_each_link_reaches_only_its_own_request(team, engagement, addressed, smtp_server):
    other = EngagementFactory(
        workspace=team.workspace, provider=addressed, owner=team.alice, title="Logo redesign"
    )
    send(engagement, team.alice)
    send(other, team.alice)
    mine, theirs = sent_token(smtp_server, 0), sent_token(smtp_server, 1)

    shown = Client().get(page(theirs)).content.decode()
    answer(theirs, "ask", question="Which colours?")

    assert "Logo redesign" in shown and "Landing page copy" not in shown
    assert not from_the_page(engagement).exists()
    assert from_the_page(other).get().body == "Which colours?"
    assert "Landing page copy" in Client().get(page(mine)).content.decode()


def test_another_workspaces_link_opens_only_its_own_request(team, token, engagement):
    # A valid link of another workspace, signed the same way, names only its own engagement.
    from tests.factories import ProviderFactory

    provider = ProviderFactory(workspace=team.other_workspace, name="Elsewhere")
    theirs = EngagementFactory(
        workspace=team.other_workspace, provider=provider, title="Their secret project"
    )
    request = request_logged(theirs, by=team.charlie)
    other_token = links.link_issue(message=request)

    assert "Their secret project" not in Client().get(page(token)).content.decode()
    assert "Landing page copy" not in Client().get(page(other_token)).content.decode()


# --- What each answer logs ----------------------------------------------------------------


def test_acknowledging_without_an_account_logs_a_reply_that_answers_the_request(token, engagement):
    response = answer(token, "acknowledge")

    assert response.status_code == 302
    assert response["Location"].endswith("?done=acknowledged")
    reply = from_the_page(engagement).get()
    assert reply.direction == Message.Direction.INBOUND
    assert reply.kind == Message.Kind.REPLY
    assert reply.body == "Got it, I am on it."
    assert reply.subject == "Re: Landing page copy"
    assert Exchange.objects.get(engagement=engagement).replied_at == reply.occurred_at
    done = Client().get(response["Location"]).content.decode()
    assert 'data-done="acknowledged"' in done
    assert 'data-testid="answer-acknowledged"' in done


def test_a_reused_link_acknowledges_once(token, engagement):
    answer(token, "acknowledge")
    again = answer(token, "acknowledge")

    assert again["Location"].endswith("?done=already")
    assert from_the_page(engagement).count() == 1
    assert "recorded already" in Client().get(again["Location"]).content.decode()


def test_a_proposed_date_is_logged_as_a_reply_with_a_pending_proposal(token, engagement):
    engagement.due_on = today() + timedelta(days=3)
    engagement.save(update_fields=["due_on"])
    new = today() + timedelta(days=10)

    response = answer(token, "propose", proposed_on=new.isoformat(), reason="The images came late.")

    assert response.status_code == 302
    reply = from_the_page(engagement).get()
    assert reply.kind == Message.Kind.REPLY
    assert "The images came late." in reply.body
    proposal = DueDateProposal.objects.get()
    assert (proposal.proposed_on, proposal.previous_due_on, proposal.state) == (
        new,
        engagement.due_on,
        DueDateProposal.State.PENDING,
    )
    assert proposal.message == reply


def test_a_past_date_is_refused_and_the_reason_kept(token, engagement):
    response = answer(
        token, "propose", proposed_on=(today() - timedelta(days=2)).isoformat(), reason="Kept text"
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert "Choose today or a later date." in content
    assert "Kept text" in content
    assert not from_the_page(engagement).exists()


def test_a_proposal_without_a_date_or_reason_is_refused(token, engagement):
    response = answer(token, "propose", proposed_on="not a date", reason="")

    assert response.status_code == 400
    assert response.content.decode().count("invalid-feedback") >= 2
    assert not DueDateProposal.objects.exists()


def test_a_question_is_logged_as_an_inbound_message_of_another_kind(token, engagement):
    answer(token, "ask", question="Which tone should the copy have?")
    answer(token, "ask", question="And how long?")

    asked = list(from_the_page(engagement).order_by("id"))
    assert [m.kind for m in asked] == [Message.Kind.OTHER, Message.Kind.OTHER]
    assert asked[0].body == "Which tone should the copy have?"
    # A real inbound message: it answers the request, as DESIGN.md's clock rules say.
    assert Exchange.objects.get(engagement=engagement).replied_at == asked[0].occurred_at


def test_an_empty_question_is_refused(token, engagement):
    response = answer(token, "ask", question="   ")

    assert response.status_code == 400
    assert not from_the_page(engagement).exists()


def test_an_unknown_action_changes_nothing(token, engagement):
    response = answer(token, "delete-everything")

    assert response.status_code == 400
    assert not from_the_page(engagement).exists()


PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def test_a_delivery_with_a_file_is_logged_with_its_attachment(token, engagement):
    response = answer(
        token,
        "deliver",
        note="Final version attached.",
        file=SimpleUploadedFile("copy.pdf", PDF, content_type="application/pdf"),
    )

    assert response.status_code == 302
    delivery = from_the_page(engagement).get()
    assert delivery.kind == Message.Kind.DELIVERY
    assert delivery.body == "The work is delivered.\n\nFinal version attached."
    [attachment] = delivery.attachments.all()
    assert (attachment.original_name, attachment.content_type) == ("copy.pdf", "application/pdf")
    # As a delivery logged by hand: the status is the owner's to move.
    engagement.refresh_from_db()
    assert engagement.status != Engagement.Status.DELIVERED


def test_a_delivery_without_a_file_is_logged_too(token, engagement):
    answer(token, "deliver", note="")

    assert from_the_page(engagement).get().body == "The work is delivered."


def test_a_file_too_large_is_refused_and_nothing_is_logged(token, engagement, settings):
    settings.MAX_UPLOAD_SIZE = 10

    response = answer(
        token,
        "deliver",
        note="Keep me",
        file=SimpleUploadedFile("copy.pdf", PDF, content_type="application/pdf"),
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert "The file is too large" in content
    assert "Keep me" in content
    assert not from_the_page(engagement).exists()
    assert AnswerLink.objects.get().delivered_at is None


def test_a_file_of_a_forbidden_type_is_refused(token, engagement):
    response = answer(token, "deliver", file=SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="x/y"))

    assert response.status_code == 400
    assert "cannot be uploaded" in response.content.decode()
    assert not from_the_page(engagement).exists()


def test_a_reused_link_reports_the_delivery_once(token, engagement):
    answer(token, "deliver")
    again = answer(token, "deliver")

    assert again["Location"].endswith("?done=already")
    assert from_the_page(engagement).count() == 1


def test_a_closed_task_takes_no_answers(token, engagement, team):
    Engagement.objects.filter(pk=engagement.pk).update(status=Engagement.Status.CANCELLED)

    shown = Client().get(page(token)).content.decode()
    response = answer(token, "acknowledge")

    assert 'data-testid="answer-closed"' in shown
    assert response.status_code == 400
    assert not from_the_page(engagement).exists()


def test_the_owner_is_notified_in_the_app(token, engagement, team):
    answer(token, "ask", question="Which tone?")

    notification = Notification.objects.get(recipient=team.alice)
    assert notification.channel == Notification.Channel.IN_APP
    assert notification.subject == "Vanessa VA asks a question about “Landing page copy”"
    assert notification.link == url("detail", pk=engagement.pk)


def test_the_answer_shows_on_the_engagement_page_at_once(token, engagement, team):
    answer(token, "acknowledge")

    content = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert "Got it, I am on it." in content
    assert "Provider&#x27;s answer page" in content or "Provider's answer page" in content


# --- Language, limits, cost ----------------------------------------------------------------


def test_the_page_speaks_the_providers_language(token, engagement, addressed):
    addressed.languages = ["de"]
    addressed.save(update_fields=["languages"])

    content = Client().get(page(token)).content.decode()
    answer(token, "acknowledge")

    assert '<html lang="de">' in content
    assert "Neuen Liefertermin vorschlagen" in content
    assert from_the_page(engagement).get().body == "Verstanden, ich kümmere mich darum."


def test_answers_through_one_link_are_rate_limited(token, engagement, settings):
    settings.RATE_LIMITS = {"answer_link": "2/h"}
    answer(token, "ask", question="One?")
    answer(token, "ask", question="Two?")

    refused = answer(token, "ask", question="Three?")

    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()
    assert from_the_page(engagement).count() == 2
    # Reading the page is never counted.
    assert Client().get(page(token)).status_code == 200


def test_answers_from_one_address_are_rate_limited_across_links(
    team, engagement, addressed, smtp_server, settings
):
    settings.RATE_LIMITS = {"answer_ip": "1/h"}
    send(engagement, team.alice)
    send(engagement, team.alice, kind="follow_up")
    first, second = sent_token(smtp_server, 0), sent_token(smtp_server, 1)

    assert answer(first, "ask", question="One?").status_code == 302
    assert answer(second, "ask", question="Two?").status_code == 429
    assert (
        answer(second, "ask", question="Two?", client=Client(REMOTE_ADDR="198.51.100.7")).status_code == 302
    )


def test_the_answer_page_reads_its_link_and_the_proposed_dates(token, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert Client().get(page(token)).status_code == 200


def test_the_answer_page_is_never_cached_nor_indexed(token):
    response = Client().get(page(token))

    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    assert "<script" not in response.content.decode()
    assert "style=" not in response.content.decode()


# --- The owner's decision --------------------------------------------------------------------


@pytest.fixture
def proposal(token, engagement) -> DueDateProposal:
    engagement.due_on = today() + timedelta(days=3)
    engagement.save(update_fields=["due_on"])
    answer(token, "propose", proposed_on=(today() + timedelta(days=12)).isoformat(), reason="Images late.")
    return DueDateProposal.objects.get()


def decide(team, user, proposal, verdict: str):
    return team.client_for(user).post(url(f"proposal_{verdict}", pk=proposal.pk))


def test_the_owner_sees_a_pending_proposal_with_its_buttons(team, proposal, engagement):
    content = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()

    assert 'data-testid="proposal" data-state="pending"' in content
    assert 'data-testid="proposal-accept"' in content
    assert "Images late." in content


def test_accepting_moves_the_due_date_and_notes_it(team, proposal, engagement):
    response = decide(team, team.alice, proposal, "accept")

    assert response.status_code == 302
    engagement.refresh_from_db()
    proposal.refresh_from_db()
    assert engagement.due_on == proposal.proposed_on
    assert proposal.state == DueDateProposal.State.ACCEPTED
    assert proposal.decided_by == team.alice
    note = Message.objects.filter(engagement=engagement, direction=Message.Direction.NOTE).get()
    assert note.body.startswith("Accepted the proposed due date")
    # The provider's page shows the new date.
    token_page = team.client_for(team.alice).get(response["Location"])
    assert token_page.status_code == 200


def test_declining_keeps_the_due_date_and_notes_it(team, proposal, engagement):
    before = engagement.due_on

    decide(team, team.bob, proposal, "decline")

    engagement.refresh_from_db()
    proposal.refresh_from_db()
    assert engagement.due_on == before
    assert proposal.state == DueDateProposal.State.DECLINED
    assert (
        Message.objects.filter(engagement=engagement, direction=Message.Direction.NOTE)
        .get()
        .body.startswith("Declined")
    )


def test_a_proposal_is_decided_once(team, proposal, engagement):
    decide(team, team.alice, proposal, "decline")
    response = decide(team, team.bob, proposal, "accept")

    engagement.refresh_from_db()
    assert engagement.due_on != proposal.proposed_on
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["This proposal was decided already."]


def test_a_viewer_cannot_decide(team, proposal):
    assert decide(team, team.vera, proposal, "accept").status_code == 403
    proposal.refresh_from_db()
    assert proposal.state == DueDateProposal.State.PENDING


def test_another_workspace_gets_a_404(team, proposal):
    assert decide(team, team.charlie, proposal, "accept").status_code == 404
    assert decide(team, team.charlie, proposal, "decline").status_code == 404
    proposal.refresh_from_db()
    assert proposal.state == DueDateProposal.State.PENDING


def test_deciding_needs_a_post(team, proposal):
    assert team.client_for(team.alice).get(url("proposal_accept", pk=proposal.pk)).status_code == 405


@pytest.mark.parametrize(
    "nasty",
    [
        "",
        "\x00",
        "Acme\x00Ltd",
        "9999-12-31",
        "0001-01-01",
        "2026-02-30",
        "<script>alert(1)</script>",
        "A" * 100_000,
    ],
)
def test_hostile_input_gives_no_server_error(token, engagement, nasty):
    fields = {
        "propose": {"proposed_on": nasty, "reason": nasty},
        "ask": {"question": nasty},
        "deliver": {"note": nasty},
    }
    for action, data in fields.items():
        response = answer(token, action, **data)
        assert response.status_code in (302, 400), (action, response.status_code)
    assert all("\x00" not in m.body for m in from_the_page(engagement))
    if nasty.startswith("<script"):
        assert "<script>alert" not in Client().get(page(token)).content.decode()
