"""The one-click follow-up: the log form prefilled with a polite text in the provider's language."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.utils import timezone

from engagements import services
from engagements.forms import followup_language
from engagements.models import Exchange, Message
from tests.engagements.conftest import url
from tests.factories import EngagementFactory

# Sun 2027-01-31 23:30 UTC is already Monday 1 February in Berlin, the provider's zone.
REQUESTED = datetime(2027, 1, 31, 23, 30, tzinfo=UTC)
LATER = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def request_message(team, engagement) -> Message:
    with time_machine.travel(REQUESTED, tick=False):
        return services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            channel="chat",
            occurred_at=REQUESTED,
            subject="Please write the copy",
            author=team.alice,
        )


def prefilled(team, engagement, user=None, **headers) -> dict:
    with time_machine.travel(LATER, tick=False):
        response = team.client_for(user or team.alice).get(
            url("message_create", pk=engagement.pk), {"followup": "1"}, **headers
        )
    assert response.status_code == 200
    return response.context["log_form"].initial


@pytest.mark.parametrize(
    ("languages", "current", "expected"),
    [
        (["de"], "en", "de"),
        (["de-ch"], "en", "de"),
        (["fr", "de"], "en", "de"),
        (["en"], "de", "en"),
        (["de", "en"], "en", "en"),
        (["de", "en"], "de", "de"),
        ([], "de", "de"),
        ([], "en", "en"),
        (["fr"], "en", "en"),
        (["fr"], "pt-br", "en"),
    ],
)
def test_the_follow_up_language_is_the_users_if_the_provider_speaks_it_else_the_providers(
    languages, current, expected
):
    assert followup_language(languages, current) == expected


@pytest.mark.parametrize(
    ("languages", "greeting", "sentence", "closing"),
    [
        (
            ["de"],
            "Guten Tag Vanessa VA,",
            "Anfrage vom 1. Februar 2027 zu „Landing page copy“",
            "Vielen Dank und freundliche Grüße",
        ),
        (
            ["fr"],
            "Hello Vanessa VA,",
            "my request of Feb. 1, 2027 about “Landing page copy”",
            "Thank you, and kind regards,",
        ),
        ([], "Hello Vanessa VA,", "my request of Feb. 1, 2027", "Thank you, and kind regards,"),
    ],
    ids=["german-speaking", "french-speaking", "languages-unknown"],
)
def test_the_text_is_german_for_a_german_speaking_provider_and_english_otherwise(
    team, engagement, request_message, languages, greeting, sentence, closing
):
    engagement.provider.languages = languages
    engagement.provider.save(update_fields=["languages"])
    body = prefilled(team, engagement)["body"]
    assert body.startswith(greeting)
    assert sentence in body
    assert f"{closing}\n{team.alice.display_name}" in body


def test_a_bilingual_provider_is_written_to_in_the_users_language(team, engagement, request_message):
    engagement.provider.languages = ["de", "en"]
    engagement.provider.save(update_fields=["languages"])
    assert prefilled(team, engagement)["body"].startswith("Hello")
    assert prefilled(team, engagement, HTTP_ACCEPT_LANGUAGE="de")["body"].startswith("Guten Tag")


def test_the_form_is_prefilled_as_an_outbound_follow_up_on_the_requests_channel(
    team, engagement, request_message
):
    initial = prefilled(team, engagement)
    assert initial["direction"] == Message.Direction.OUTBOUND
    assert initial["kind"] == Message.Kind.FOLLOW_UP
    assert initial["channel"] == Message.Channel.CHAT
    assert initial["subject"] == "Re: Please write the copy"
    assert initial["occurred_at"] == LATER


def test_the_page_shows_the_prefilled_text_and_saves_nothing(team, engagement, request_message):
    with time_machine.travel(LATER, tick=False):
        response = team.client_for(team.bob).get(url("message_create", pk=engagement.pk), {"followup": "1"})
    page = response.content.decode()
    assert "Hello Vanessa VA," in page
    assert 'value="Re: Please write the copy"' in page
    assert Message.objects.filter(engagement=engagement).count() == 1


def test_a_title_with_markup_characters_is_prefilled_as_typed(team, provider):
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, title="R&D <draft>")
    services.message_log(engagement=engagement, direction="out", kind="request")
    initial = prefilled(team, engagement)
    assert "“R&D <draft>”" in initial["body"]
    assert initial["subject"] == "Re: R&D <draft>"


def test_without_a_request_the_text_chases_the_due_date(team, provider):
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, title="E-book cover", due_on=date(2027, 2, 5)
    )
    initial = prefilled(team, engagement)
    assert initial["subject"] == "Re: E-book cover"
    assert "“E-book cover”, which was due on Feb. 5, 2027" in initial["body"]
    assert initial["channel"] == Message.Channel.EMAIL


def test_submitting_the_prefilled_form_logs_a_follow_up_that_counts(team, engagement, request_message):
    initial = prefilled(team, engagement)
    data = {
        **initial,
        # As the datetime-local input sends it: in the user's display zone.
        "occurred_at": timezone.localtime(initial["occurred_at"], BERLIN).strftime("%Y-%m-%dT%H:%M"),
    }
    with time_machine.travel(LATER, tick=False):
        response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data)
    assert response.status_code == 302
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.followups == 1
    assert exchange.replied_at is None
    assert exchange.last_followup_at == LATER
    follow_up = Message.objects.get(engagement=engagement, kind=Message.Kind.FOLLOW_UP)
    assert follow_up.body == initial["body"]


def test_without_followup_the_log_form_has_its_usual_defaults(team, engagement, request_message):
    response = team.client_for(team.alice).get(url("message_create", pk=engagement.pk))
    assert response.status_code == 200
    assert response.context["log_form"].initial.get("body") is None


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_only_members_and_above_open_the_follow_up_form(team, engagement, request_message, who, code):
    response = team.client_for(getattr(team, who)).get(
        url("message_create", pk=engagement.pk), {"followup": "1"}
    )
    assert response.status_code == code


def test_another_workspaces_engagement_is_a_404(team):
    foreign = EngagementFactory(workspace=team.other_workspace)
    response = team.client_for(team.alice).get(url("message_create", pk=foreign.pk), {"followup": "1"})
    assert response.status_code == 404
