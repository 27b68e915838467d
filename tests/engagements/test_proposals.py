"""The owner's decision on a proposed due date tells the provider: one mail in their language,
with a fresh answer link, logged without opening a request; their answer page shows the outcome."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import dateformat, translation

from engagements.models import AnswerLink, DueDateProposal, Exchange, Message
from tests.engagements import test_answers
from tests.engagements.conftest import url
from tests.engagements.test_answers import LINK, page, send, sent_token

# The request, its link and the pending proposal, as test_answers makes them (with its mail settings).
_mail_settings = test_answers._mail_settings
addressed = test_answers.addressed
token = test_answers.token
proposal = test_answers.proposal


def decide(team, user, proposal, verdict: str, reason: str = ""):
    data = {f"decline-{proposal.pk}-reason": reason} if verdict == "decline" else {}
    return team.client_for(user).post(url(f"proposal_{verdict}", pk=proposal.pk), data)


def decision_mails(smtp_server) -> list:
    # The first mail is the request the proposal answered.
    return smtp_server.mails()[1:]


def in_german(day) -> str:
    with translation.override("de"):
        return dateformat.format(day, "j. F Y")


def flashed(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_accepting_mails_the_provider_the_new_date_once_in_english(team, proposal, engagement, smtp_server):
    response = decide(team, team.alice, proposal, "accept")

    [mail] = decision_mails(smtp_server)
    text = mail.get_content()
    assert mail["To"] == "vanessa@example.net"
    assert mail["Subject"] == "New due date accepted: Landing page copy"
    assert text.startswith("Hello Vanessa VA,")
    assert "is accepted" in text
    assert f"{proposal.proposed_on.day}, {proposal.proposed_on.year}" in text
    assert "The provider was told by e-mail." in flashed(response)[0]


def test_declining_mails_the_provider_in_german_with_the_reason(team, proposal, engagement, smtp_server):
    provider = engagement.provider
    provider.languages = ["de"]
    provider.save(update_fields=["languages"])
    due_on = engagement.due_on

    decide(team, team.alice, proposal, "decline", reason="Der Launch steht fest.")

    [mail] = decision_mails(smtp_server)
    text = mail.get_content()
    assert mail["Subject"] == "Vorgeschlagener Liefertermin abgelehnt: Landing page copy"
    assert text.startswith("Guten Tag Vanessa VA,")
    assert in_german(proposal.proposed_on) in text
    assert f"Es bleibt beim Liefertermin {in_german(due_on)}." in text
    assert "Begründung: Der Launch steht fest." in text
    # The link is introduced in the provider's language too.
    assert "Antworten Sie mit einem Klick, ohne Konto" in text
    proposal.refresh_from_db()
    assert proposal.decline_reason == "Der Launch steht fest."


@pytest.mark.parametrize("verdict", ["accept", "decline"])
def test_the_mail_carries_a_fresh_link_that_opens_the_answer_page(
    team, proposal, engagement, smtp_server, verdict
):
    links_before = AnswerLink.objects.count()

    decide(team, team.alice, proposal, verdict)

    [mail] = decision_mails(smtp_server)
    match = LINK.search(mail.get_content())
    assert match, "the decision mail carries no answer link"
    assert AnswerLink.objects.count() == links_before + 1
    opened = Client().get(page(match.group(1)))
    assert opened.status_code == 200
    assert 'data-testid="answer-title"' in opened.content.decode()
    # The link answers the request the provider answered, so the page dates that request.
    link = AnswerLink.objects.latest("pk")
    assert link.message.kind == Message.Kind.REQUEST


@pytest.mark.parametrize(
    "first, second", [("accept", "accept"), ("decline", "accept"), ("accept", "decline")]
)
def test_deciding_twice_sends_one_mail(team, proposal, smtp_server, first, second):
    decide(team, team.alice, proposal, first)
    again = decide(team, team.bob, proposal, second)

    assert len(decision_mails(smtp_server)) == 1
    assert flashed(again) == ["This proposal was decided already."]


def test_the_mail_is_logged_as_sent_without_opening_a_request(team, proposal, engagement, smtp_server):
    exchanges_before = list(Exchange.objects.filter(engagement=engagement).values_list("pk", "replied_at"))

    decide(team, team.alice, proposal, "accept")

    logged = Message.objects.filter(engagement=engagement, direction=Message.Direction.OUTBOUND).latest("pk")
    assert logged.kind == Message.Kind.OTHER
    assert logged.source == Message.Source.APP
    assert logged.subject == "New due date accepted: Landing page copy"
    # The logged copy has no link in it; only the mail carries one.
    assert LINK.search(logged.body) is None
    # The request stays answered and nothing new awaits a reply.
    assert list(Exchange.objects.filter(engagement=engagement).values_list("pk", "replied_at")) == (
        exchanges_before
    )
    engagement.refresh_from_db()
    assert engagement.awaiting_reply is False


def test_the_mail_continues_the_thread_of_the_answered_request(team, proposal, engagement, smtp_server):
    request = Message.objects.get(engagement=engagement, kind=Message.Kind.REQUEST)

    decide(team, team.alice, proposal, "accept")

    [mail] = decision_mails(smtp_server)
    assert mail["In-Reply-To"] == f"<{request.message_id}>"


def test_a_member_decides_and_the_provider_is_told(team, proposal, smtp_server):
    assert decide(team, team.bob, proposal, "decline").status_code == 302

    assert len(decision_mails(smtp_server)) == 1


def test_a_viewer_cannot_decide_and_nothing_is_sent(team, proposal, smtp_server):
    assert decide(team, team.vera, proposal, "decline").status_code == 403

    assert decision_mails(smtp_server) == []


def test_another_workspace_gets_a_404_and_nothing_is_sent(team, proposal, smtp_server):
    assert decide(team, team.charlie, proposal, "accept").status_code == 404
    assert decide(team, team.charlie, proposal, "decline").status_code == 404

    assert decision_mails(smtp_server) == []
    proposal.refresh_from_db()
    assert proposal.state == DueDateProposal.State.PENDING


def test_a_provider_without_an_address_is_not_mailed_but_the_decision_stands(
    team, proposal, engagement, smtp_server
):
    engagement.provider.emails.all().delete()

    response = decide(team, team.alice, proposal, "accept")

    assert decision_mails(smtp_server) == []
    proposal.refresh_from_db()
    assert proposal.state == DueDateProposal.State.ACCEPTED
    assert "please let them know yourself" in flashed(response)[0]


def test_a_refused_mail_leaves_the_proposal_undecided(team, proposal, engagement, settings):
    from tests.realparts import free_port, smtp_settings

    smtp_settings(settings, free_port())
    due_on = engagement.due_on

    response = decide(team, team.alice, proposal, "accept")

    proposal.refresh_from_db()
    engagement.refresh_from_db()
    assert proposal.state == DueDateProposal.State.PENDING
    assert engagement.due_on == due_on
    assert "Nothing was sent or logged" in flashed(response)[0]


def test_an_over_long_reason_is_refused_and_nothing_decided(team, proposal, smtp_server):
    response = decide(team, team.alice, proposal, "decline", reason="x" * 2001)

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == DueDateProposal.State.PENDING
    assert decision_mails(smtp_server) == []


def test_the_engagement_page_offers_a_reason_and_shows_it_once_declined(team, proposal, engagement):
    client = team.client_for(team.alice)
    before = client.get(url("detail", pk=engagement.pk)).content.decode()

    decide(team, team.alice, proposal, "decline", reason="The launch is fixed.")
    after = client.get(url("detail", pk=engagement.pk)).content.decode()

    assert f'name="decline-{proposal.pk}-reason"' in before
    assert "Declined because: The launch is fixed." in after
    assert f'name="decline-{proposal.pk}-reason"' not in after


# --- The provider's old link shows the outcome -----------------------------------------------


def test_the_old_link_shows_a_pending_then_an_accepted_proposal(team, token, proposal):
    pending = Client().get(page(token)).content.decode()

    decide(team, team.alice, proposal, "accept")
    accepted = Client().get(page(token)).content.decode()

    assert 'data-testid="answer-proposal" data-state="pending"' in pending
    assert "is waiting for a decision" in pending
    assert 'data-testid="answer-proposal" data-state="accepted"' in accepted
    assert "was accepted." in accepted


def test_the_old_link_shows_a_decline_and_its_reason_in_german(team, token, proposal, engagement):
    engagement.provider.languages = ["de"]
    engagement.provider.save(update_fields=["languages"])

    decide(team, team.alice, proposal, "decline", reason="Der Launch steht fest.")
    content = Client().get(page(token)).content.decode()

    assert 'data-state="declined"' in content
    assert f"Ihr vorgeschlagener Termin {in_german(proposal.proposed_on)} wurde abgelehnt" in content
    assert "Begründung: Der Launch steht fest." in content


def test_another_engagements_link_shows_none_of_its_proposals(team, proposal, provider, smtp_server):
    from tests.factories import EngagementFactory

    other = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Other")
    send(other, team.alice)
    other_token = sent_token(smtp_server)

    content = Client().get(page(other_token)).content.decode()

    assert 'data-testid="answer-proposals"' not in content
