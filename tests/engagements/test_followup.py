"""The one-click follow-up: the log form prefilled with the text that fits its flag, in the provider's language."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.utils import timezone

from engagements import deadlines, services
from engagements.forms import followup_language
from engagements.mail import importer
from engagements.models import Engagement, Exchange, Flag, InboundMail, Message
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

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


def followup_page(team, engagement, flag: Flag | None = None, user=None, **headers):
    query = {"followup": "1"} if flag is None else {"followup": "1", "flag": str(flag.pk)}
    with time_machine.travel(LATER, tick=False):
        return team.client_for(user or team.alice).get(
            url("message_create", pk=engagement.pk), query, **headers
        )


def prefilled(team, engagement, user=None, flag: Flag | None = None, **headers) -> dict:
    response = followup_page(team, engagement, flag, user, **headers)
    assert response.status_code == 200
    return response.context["log_form"].initial


def speaking(engagement: Engagement, language: str) -> None:
    engagement.provider.languages = [language]
    engagement.provider.save(update_fields=["languages"])


def flag_of(engagement: Engagement, kind: str, *, due_at: datetime = REQUESTED) -> Flag:
    """An open flag of ``kind`` on the engagement (on its unanswered request, for reply flags)."""
    exchange = engagement.exchanges.filter(replied_at=None).first()
    if exchange is not None and kind in (Flag.Kind.REPLY_OVERDUE, Flag.Kind.GHOSTED):
        # As the flagging pass leaves it: the request has climbed the ladder that far.
        step = deadlines.OVERDUE if kind == Flag.Kind.REPLY_OVERDUE else deadlines.GHOSTED
        Exchange.objects.filter(pk=exchange.pk).update(escalation=step)
    return Flag.objects.create(
        workspace=engagement.workspace,
        engagement=engagement,
        exchange=exchange if kind in (Flag.Kind.REPLY_OVERDUE, Flag.Kind.GHOSTED) else None,
        kind=kind,
        due_at=due_at,
    )


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
        # As the date and time inputs send it: in the user's display zone.
        "occurred_at_0": timezone.localtime(initial["occurred_at"], BERLIN).strftime("%Y-%m-%d"),
        "occurred_at_1": timezone.localtime(initial["occurred_at"], BERLIN).strftime("%H:%M"),
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


# --- A text for each flag ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected", "never"),
    [
        (
            "en",
            "I am following up on my request of Feb. 1, 2027 about “Landing page copy”, sent 9 days ago, "
            "to which I have not had a reply yet.",
            ("delivery", "follow-ups", "did not reach"),
        ),
        (
            "de",
            "Ich komme auf meine Anfrage vom 1. Februar 2027 zu „Landing page copy“ zurück (vor 9 Tagen), "
            "auf die ich noch keine Antwort erhalten habe.",
            ("Lieferung", "Nachfragen", "nicht erreicht"),
        ),
    ],
)
def test_a_reply_overdue_follow_up_nudges_about_the_request_with_its_date_and_the_days_waiting(
    team, engagement, request_message, language, expected, never
):
    speaking(engagement, language)
    flag = flag_of(engagement, Flag.Kind.REPLY_OVERDUE)

    initial = prefilled(team, engagement, flag=flag)

    assert expected in initial["body"]
    assert not any(claim in initial["body"] for claim in never)
    assert initial["subject"] == "Re: Please write the copy"
    # An unflagged request still unanswered (a row of "Awaiting reply") gets the same nudge.
    assert prefilled(team, engagement)["body"] == initial["body"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            (
                "I have still not heard from you about my request of Feb. 1, 2027 about “Landing page copy”, "
                "sent 9 days ago. My 2 follow-ups since then have gone unanswered too.",
                "a short sign of life",
                "by which date I can expect your answer",
            ),
        ),
        (
            "de",
            (
                "auf meine Anfrage vom 1. Februar 2027 zu „Landing page copy“ (vor 9 Tagen) habe ich noch immer "
                "keine Antwort von Ihnen erhalten. Auch meine 2 Nachfragen seither blieben unbeantwortet.",
                "ein kurzes Lebenszeichen",
                "nennen Sie mir ein Datum",
            ),
        ),
    ],
)
def test_a_ghosted_follow_up_is_firmer_counts_the_unanswered_follow_ups_and_asks_for_a_date(
    team, engagement, request_message, language, expected
):
    speaking(engagement, language)
    with time_machine.travel(LATER, tick=False):
        for days in (3, 6):
            services.message_log(
                engagement=engagement,
                direction="out",
                kind="follow_up",
                occurred_at=REQUESTED + timedelta(days=days),
            )
    flag = flag_of(engagement, Flag.Kind.GHOSTED)

    body = prefilled(team, engagement, flag=flag)["body"]

    assert all(sentence in body for sentence in expected)
    assert "I hope you are well" not in body and "ich hoffe, es geht Ihnen gut" not in body


@pytest.fixture
def answered_but_late(team, engagement, request_message) -> Flag:
    """The provider replied to the request, but the work due on 5 February has not come."""
    Engagement.objects.filter(pk=engagement.pk).update(due_on=date(2027, 2, 5))
    engagement.refresh_from_db()
    with time_machine.travel(LATER, tick=False):
        services.message_log(
            engagement=engagement, direction="in", kind="reply", occurred_at=REQUESTED + timedelta(hours=20)
        )
    due_at = deadlines.due_end(engagement.due_on, engagement.provider.time_zone)
    assert due_at is not None
    return flag_of(engagement, Flag.Kind.DELIVERY_OVERDUE, due_at=due_at)


@pytest.mark.parametrize(
    ("language", "expected", "never"),
    [
        (
            "en",
            "I am writing about the delivery of “Landing page copy”, which was due on Feb. 5, 2027, 5 days ago. "
            "I have not received the work yet.",
            ("reply", "request", "heard"),
        ),
        (
            "de",
            "Ich schreibe Ihnen wegen der Lieferung zu „Landing page copy“, die am 5. Februar 2027 fällig war "
            "(vor 5 Tagen). Bisher habe ich die Arbeit noch nicht erhalten.",
            ("Antwort", "Anfrage"),
        ),
    ],
)
def test_a_delivery_overdue_follow_up_is_about_the_delivery_and_never_says_the_provider_did_not_reply(
    team, engagement, answered_but_late, language, expected, never
):
    speaking(engagement, language)

    body = prefilled(team, engagement, flag=answered_but_late)["body"]

    assert expected in body
    assert not any(claim in body for claim in never)
    # Without the flag's id (an old link) the log decides, and it says the same.
    assert prefilled(team, engagement)["body"] == body


def exim_bounce(failed: str) -> bytes:
    """A bounce that names the failed address only in its X-Failed-Recipients header."""
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\nTo: alice@example.com\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        f"Date: {format_datetime(REQUESTED + timedelta(minutes=5))}\r\n"
        f"Message-ID: <bounce-{failed}>\r\nX-Failed-Recipients: {failed}\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its recipients.\r\n"
    ).encode()


@pytest.fixture
def bounced(team, engagement) -> Flag:
    """The request went by mail to the provider's first address, and bounced."""
    ProviderEmailFactory(provider=engagement.provider, email="vanessa@example.net", position=0)
    ProviderEmailFactory(provider=engagement.provider, email="office@example.net", position=1)
    with time_machine.travel(REQUESTED, tick=False):
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            occurred_at=REQUESTED,
            subject="Please write the copy",
            body="Three sections, in a friendly tone.",
            author=team.alice,
        )
    with time_machine.travel(LATER, tick=False):
        importer.mail_import(
            workspace=team.workspace, raw=exim_bounce("vanessa@example.net"), source=InboundMail.Source.IMPORT
        )
    return Flag.objects.get(engagement=engagement, kind=Flag.Kind.BOUNCED)


@pytest.mark.parametrize(
    ("language", "expected", "never"),
    [
        (
            "en",
            (
                "My mail of Feb. 1, 2027 about “Landing page copy” did not reach you: it came back undelivered "
                "from vanessa@example.net. So I am sending it to you again below.",
                "Subject: Please write the copy\n\nThree sections, in a friendly tone.\n--------",
                "Could you please confirm that it has reached you?",
            ),
            ("reply", "follow"),
        ),
        (
            "de",
            (
                "meine E-Mail vom 1. Februar 2027 zu „Landing page copy“ hat Sie leider nicht erreicht, sondern kam "
                "von vanessa@example.net als unzustellbar zurück. Deshalb sende ich sie Ihnen hier noch einmal.",
                "Betreff: Please write the copy\n\nThree sections, in a friendly tone.\n--------",
            ),
            ("Antwort", "Nachfrage"),
        ),
    ],
)
def test_a_bounced_follow_up_sends_the_requests_content_again_and_names_the_address_that_failed(
    team, engagement, bounced, language, expected, never
):
    speaking(engagement, language)

    initial = prefilled(team, engagement, flag=bounced)

    assert all(part in initial["body"] for part in expected)
    assert not any(claim in initial["body"] for claim in never)
    # The mail again, as it was: its own subject, by e-mail.
    assert initial["subject"] == "Please write the copy"
    assert initial["channel"] == Message.Channel.EMAIL


def test_a_follow_up_with_nothing_owed_asks_where_things_stand_and_claims_nothing(
    team, engagement, request_message
):
    Engagement.objects.filter(pk=engagement.pk).update(due_on=date(2027, 3, 1))
    with time_machine.travel(LATER, tick=False):
        services.message_log(engagement=engagement, direction="in", kind="reply")

    body = prefilled(team, engagement)["body"]

    assert "I am following up on “Landing page copy”, which is due on March 1, 2027." in body
    assert "reply" not in body and "was due" not in body


def test_a_flag_resolved_meanwhile_gives_the_text_the_log_supports_and_says_so(
    team, engagement, request_message
):
    flag = flag_of(engagement, Flag.Kind.REPLY_OVERDUE)
    with time_machine.travel(LATER, tick=False):
        services.message_log(engagement=engagement, direction="in", kind="reply")
    flag.refresh_from_db()
    assert flag.resolved_at is not None

    response = followup_page(team, engagement, flag)

    body = response.context["log_form"].initial["body"]
    assert "I am following up on “Landing page copy”." in body
    assert "not had a reply" not in body
    assert any("resolved already" in str(m) for m in get_messages(response.wsgi_request))


def test_a_flag_of_another_engagement_or_workspace_is_a_404(team, engagement, request_message, provider):
    neighbour = EngagementFactory(workspace=team.workspace, provider=provider, title="Other task")
    theirs = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    client = team.client_for(team.alice)
    for other in (neighbour, theirs):
        flag = flag_of(other, Flag.Kind.DELIVERY_OVERDUE)
        path = url("message_create", pk=engagement.pk)
        assert client.get(path, {"followup": "1", "flag": str(flag.pk)}).status_code == 404
    assert (
        client.get(url("message_create", pk=engagement.pk), {"followup": "1", "flag": "x"}).status_code == 404
    )


def test_the_page_of_a_flags_follow_up_offers_to_send_that_follow_up_by_mail(team, engagement, bounced):
    page = followup_page(team, engagement, bounced).content.decode()
    assert f"/compose/?kind=follow_up&amp;flag={bounced.pk}" in page
