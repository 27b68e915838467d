"""Whose turn: who owes what on an engagement (a reply, the delivery, our answer), on every page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone

from engagements import deadlines, queries, services
from engagements.models import Engagement, Exchange, Message
from engagements.provider_panels import engagements_panel
from outsourcing.services import user_set_profile
from providers import services as provider_services
from tests.engagements.conftest import url
from tests.engagements.test_provider_panel import panel_request
from tests.factories import EngagementFactory, ProviderFactory

BERLIN = ZoneInfo("Europe/Berlin")
MANILA = ZoneInfo("Asia/Manila")
NEW_YORK = ZoneInfo("America/New_York")


def delegate(team, provider, *, status=Engagement.Status.IN_PROGRESS, owner=None, **fields) -> Engagement:
    return services.engagement_create(
        workspace=team.workspace,
        provider=provider,
        owner=owner or team.alice,
        title=fields.pop("title", "Webinar slides"),
        created_by=team.alice,
        status=status,
        **fields,
    )


def log(engagement, direction, kind, at, **fields) -> Message:
    return services.message_log(
        engagement=engagement, direction=direction, kind=kind, occurred_at=at, **fields
    )


def owed(turn: deadlines.Turn) -> list[tuple[str, str, str]]:
    return [(o.debtor, o.what, o.state) for o in turn.obligations]


def turn_of(engagement: Engagement, now: datetime) -> deadlines.Turn:
    """What every page is told: the engagement as a page loads it (its open request's due times too)."""
    row = queries.with_open_request_deadlines(Engagement.objects.select_related("provider")).get(
        pk=engagement.pk
    )
    deadlines.mark_whose_turn([row], now)
    return row.turn  # type: ignore[attr-defined]


def card(team, engagement) -> str:
    """The engagement page's "Whose turn" card."""
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    start = page.index('data-testid="whose-turn"')
    return page[start : page.index("</section>", start)]


def list_cell(team, engagement) -> str:
    """The engagement list's "Whose turn" cell of one row."""
    response = team.client_for(team.alice).get(url("list"))
    page = response.content.decode()
    link = f'href="{url("detail", pk=engagement.pk)}"'
    row = page[page.index(link) :]
    return row[: row.index("</tr>")]


# --- The rule ---------------------------------------------------------------------------------


def test_a_delivery_53_days_overdue_is_the_providers_turn_not_yours(team, provider):
    # The provider answered the request long ago and then went quiet; the work never came.
    with time_machine.travel(datetime(2026, 8, 3, 12, 0, tzinfo=UTC), tick=False):
        engagement = delegate(team, provider, due_on=date(2026, 9, 30))
        log(engagement, "out", "request", timezone.now() - timedelta(hours=3))
        log(engagement, "in", "reply", timezone.now() - timedelta(hours=1))
    # Midnight after the due date in Berlin, plus 53 days and a bit.
    now = datetime(2026, 9, 30, 22, 0, tzinfo=UTC) + timedelta(days=53, minutes=30)

    with time_machine.travel(now, tick=False):
        assert owed(turn_of(engagement, now)) == [("provider", "delivery", "overdue")]
        shown = card(team, engagement)
        cell = list_cell(team, engagement)

    assert "Provider owes the delivery · 53 days overdue" in shown
    assert "Your answer" not in shown
    assert "Your turn" not in shown
    assert "provider owes the delivery · 53 days overdue" in cell
    assert "your answer" not in cell


def test_a_cancelled_engagement_shows_nobody_owes_anything(team, provider):
    engagement = delegate(team, provider, due_on=timezone.localdate() - timedelta(days=3))
    log(engagement, "out", "request", timezone.now() - timedelta(days=9))
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.CANCELLED, by=team.alice)

    turn = turn_of(engagement, timezone.now())
    assert (turn.situation, turn.obligations) == ("closed", ())
    shown = card(team, engagement)
    assert "Closed: nobody owes anything." in shown
    assert "owes" not in shown.replace("nobody owes anything", "")
    assert "closed · nobody owes anything" in list_cell(team, engagement)


def test_a_message_marked_not_an_answer_does_not_make_it_our_turn(team, provider):
    engagement = delegate(team, provider)
    log(engagement, "out", "request", timezone.now() - timedelta(days=12))
    off_topic = log(engagement, "in", "other", timezone.now() - timedelta(days=11), subject="Invoice?")
    engagement.refresh_from_db()
    assert engagement.our_turn_since == off_topic.occurred_at

    services.message_set_not_an_answer(message=off_topic, not_an_answer=True, by=team.alice)

    stored = Engagement.objects.values_list("our_turn_since", "our_answer_due_at").get(pk=engagement.pk)
    assert stored == (None, None)
    assert owed(turn_of(engagement, timezone.now())) == [("provider", "reply", "overdue")]
    assert "Your answer" not in card(team, engagement)


def test_an_auto_reply_never_makes_it_our_turn(team, provider):
    engagement = delegate(team, provider)
    log(engagement, "out", "other", timezone.now() - timedelta(days=3))
    log(engagement, "in", "other", timezone.now() - timedelta(days=2), is_auto_reply=True)
    engagement.refresh_from_db()
    assert engagement.our_turn_since is None
    assert owed(turn_of(engagement, timezone.now())) == []


def test_our_answer_is_owed_from_the_providers_first_word_after_ours_and_overdue_past_our_allowance(
    team, provider
):
    # Provider in Manila, we (alice) in Berlin: Friday 16:00 in Manila is 09:00 in Berlin.
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    manila = ProviderFactory(workspace=team.workspace, time_zone="Asia/Manila", country="PH")
    engagement = delegate(team, manila)
    with time_machine.travel(datetime(2026, 12, 18, 9, 0, tzinfo=MANILA), tick=False):
        log(engagement, "out", "other", timezone.now())
    question = datetime(2026, 12, 18, 16, 0, tzinfo=MANILA)
    with time_machine.travel(question + timedelta(hours=2), tick=False):
        log(engagement, "in", "other", question)
        log(engagement, "in", "other", question + timedelta(hours=1))  # a second word: still since the first
    engagement.refresh_from_db()

    # Two business days of Mon–Fri 09:00–17:00 on our clock: 8 h on Friday, 8 h on Monday.
    due = datetime(2026, 12, 21, 17, 0, tzinfo=BERLIN)
    assert engagement.our_turn_since == question
    assert engagement.our_answer_due_at == due
    assert owed(turn_of(engagement, due)) == [("us", "answer", "not_due")]
    late = turn_of(engagement, due + timedelta(seconds=1))
    assert owed(late) == [("us", "answer", "overdue")]
    assert late.ours is not None and late.ours.waited == due + timedelta(seconds=1) - question


def test_our_allowance_follows_the_owner_and_their_time_zone(
    team, provider, django_capture_on_commit_callbacks
):
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    engagement = delegate(team, provider)
    word = datetime(2026, 12, 23, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(word + timedelta(minutes=5), tick=False):
        log(engagement, "in", "other", word)
    engagement.refresh_from_db()
    # Berlin: 7 h Wed, 8 h Thu 24th, 25th/26th are German holidays, the weekend, 1 h Mon.
    assert engagement.our_answer_due_at == datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)

    # Bob in New York takes it over: 04:00 there, so 8 h Wed and 8 h Thu.
    team.bob.time_zone = "America/New_York"
    team.bob.save(update_fields=["time_zone"])
    services.engagement_update(engagement=engagement, by=team.alice, owner=team.bob)
    assert engagement.our_answer_due_at == datetime(2026, 12, 24, 17, 0, tzinfo=NEW_YORK)

    # Bob moves to Berlin: his answers are due on his new clock.
    with django_capture_on_commit_callbacks(execute=True):
        user_set_profile(user=team.bob, first_name="Bob", last_name="", time_zone="Europe/Berlin")
    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)


def test_without_an_owner_our_allowance_runs_in_the_display_zone(team, provider, settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=None)
    word = datetime(2026, 12, 23, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(word + timedelta(minutes=5), tick=False):
        log(engagement, "in", "other", word)
    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 24, 17, 0, tzinfo=NEW_YORK)


def test_a_new_policy_moves_our_answers_due_time_too(team, provider, django_capture_on_commit_callbacks):
    engagement = delegate(team, provider)
    word = datetime(2026, 12, 21, 9, 0, tzinfo=BERLIN)  # a Monday
    with time_machine.travel(word + timedelta(minutes=5), tick=False):
        log(engagement, "in", "other", word)
    policy = provider_services.policy_create(
        workspace=team.workspace, name="Same day", reply_within=4, reply_within_unit="hours"
    )
    services.engagement_update(engagement=engagement, by=team.alice, owner=team.alice, response_policy=policy)
    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 21, 13, 0, tzinfo=BERLIN)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_update(policy=policy, reply_within=1)
    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 21, 10, 0, tzinfo=BERLIN)


def test_when_the_policy_goes_our_answer_falls_back_to_the_default(
    team, provider, django_capture_on_commit_callbacks
):
    policy = provider_services.policy_create(
        workspace=team.workspace, name="Same day", reply_within=4, reply_within_unit="hours"
    )
    engagement = delegate(team, provider, response_policy=policy)
    word = datetime(2026, 12, 21, 9, 0, tzinfo=BERLIN)  # a Monday
    with time_machine.travel(word + timedelta(minutes=5), tick=False):
        log(engagement, "in", "other", word)
    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 21, 13, 0, tzinfo=BERLIN)

    with django_capture_on_commit_callbacks(execute=True):
        provider_services.policy_delete(policy=policy)

    engagement.refresh_from_db()
    assert engagement.our_answer_due_at == datetime(2026, 12, 22, 17, 0, tzinfo=BERLIN)


def test_a_delivery_owed_with_a_due_date_keeps_the_turn_with_the_provider(team, provider):
    engagement = delegate(team, provider, due_on=timezone.localdate() + timedelta(days=10))
    log(engagement, "in", "other", timezone.now() - timedelta(days=9))
    assert owed(turn_of(engagement, timezone.now())) == [("provider", "delivery", "not_due")]
    assert "Provider owes the delivery" in card(team, engagement)

    # Delivered: now the provider owes nothing, and their last word has waited for ours all along.
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.DELIVERED, by=team.alice)
    assert owed(turn_of(engagement, timezone.now())) == [("us", "answer", "overdue")]
    assert "Your answer · waiting 9 days (overdue)" in card(team, engagement)


def test_an_open_request_is_the_providers_reply_on_the_ladder(team, provider):
    engagement = delegate(team, provider)
    log(engagement, "out", "request", timezone.now() - timedelta(hours=1))
    assert owed(turn_of(engagement, timezone.now())) == [("provider", "reply", "not_due")]
    due = Exchange.objects.get(engagement=engagement).reply_due_at
    assert due is not None
    assert owed(turn_of(engagement, due + timedelta(seconds=1))) == [("provider", "reply", "overdue")]
    shown = card(team, engagement)
    assert "Provider owes a reply" in shown
    assert "silent for 1 hour" in shown


def test_on_hold_every_obligation_is_paused_and_says_so(team, provider):
    engagement = delegate(team, provider, due_on=timezone.localdate() - timedelta(days=20))
    log(engagement, "out", "request", timezone.now() - timedelta(days=30))
    services.engagement_set_status(engagement=engagement, status=Engagement.Status.ON_HOLD, by=team.alice)

    turn = turn_of(engagement, timezone.now())
    assert turn.situation == "on_hold"
    assert owed(turn) == [("provider", "reply", "paused"), ("provider", "delivery", "paused")]
    shown = card(team, engagement)
    assert "On hold: the clock is paused for the provider and for you." in shown
    assert "Provider owes a reply · paused while on hold" in shown
    assert "Provider owes the delivery · paused while on hold" in shown


def test_a_draft_owes_nothing_yet(team, provider):
    engagement = delegate(team, provider, status=Engagement.Status.DRAFT)
    log(engagement, "in", "other", timezone.now() - timedelta(days=9))
    turn = turn_of(engagement, timezone.now())
    assert (turn.situation, turn.obligations) == ("draft", ())
    assert "Draft: nothing is owed until the task is requested." in card(team, engagement)
    assert "draft · nothing owed yet" in list_cell(team, engagement)


def test_the_provider_panel_shows_who_owes_what(team, provider):
    engagement = delegate(team, provider, due_on=timezone.localdate() + timedelta(days=10))
    log(engagement, "out", "request", timezone.now() - timedelta(days=1, hours=2))
    html = engagements_panel(panel_request(team, team.alice), provider)
    assert "provider owes a reply · silent for 1 day 2 hours" in html
    assert "provider owes the delivery · due" in html


# --- The list's sort ---------------------------------------------------------------------------


def test_sorting_by_whose_turn_puts_the_longest_wait_first_ours_or_theirs(team, provider):
    now = timezone.now()
    theirs = delegate(team, provider, title="Their silence, 5 days")
    log(theirs, "out", "request", now - timedelta(days=5))
    ours = delegate(team, provider, title="Our answer, 8 days")
    log(ours, "in", "other", now - timedelta(days=8))
    recent = delegate(team, provider, title="Their silence, 1 day")
    log(recent, "out", "request", now - timedelta(days=1))
    delegate(team, provider, title="Nothing said")

    response = team.client_for(team.alice).get(url("list"), {"sort": "silent"})

    assert [e.title for e in response.context["page_obj"]] == [
        "Our answer, 8 days",
        "Their silence, 5 days",
        "Their silence, 1 day",
        "Nothing said",
    ]


# --- One rule, in Python and in SQL ----------------------------------------------------------


@pytest.mark.parametrize("status", [s for s, _label in Engagement.Status.choices])
@pytest.mark.parametrize("due_on", [None, "past", "future", date.max])
@pytest.mark.parametrize("word", [None, "theirs", "ours, due", "ours, not due"])
def test_needs_attention_and_the_sort_follow_exactly_what_whose_turn_says(
    team, provider, status, due_on, word
):
    now = timezone.now()
    days = {"past": -3, "future": 3}
    waited = now - timedelta(days=9)
    engagement = EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        owner=team.alice,
        status=status,
        due_on=now.date() + timedelta(days=days[due_on]) if isinstance(due_on, str) else due_on,
        awaiting_reply=word == "theirs",
        waiting_since=waited if word == "theirs" else None,
        our_turn_since=waited if word and word.startswith("ours") else None,
        our_answer_due_at={
            "ours, due": now - timedelta(days=3),
            "ours, not due": now + timedelta(days=3),
        }.get(word or ""),
    )

    turn = turn_of(engagement, now)
    says_overdue = [o for o in turn.obligations if o.debtor == "us" and o.is_overdue]
    listed = list(queries.attention_our_answers(team.workspace, now=now).values_list("pk", flat=True))
    assert listed == ([engagement.pk] if says_overdue else [])
    assert queries.attention_count(team.workspace, now) == len(listed)
    # The list sorts by since when the word shown has been awaited (a delivery is not a word).
    words = [o.since for o in turn.obligations if o.what != "delivery"]
    key = Engagement.objects.filter(pk=engagement.pk).values_list(queries.SORTS["silent"], flat=True).get()
    assert key == (words[0] if words else None)


# --- In German, and for rows stored before ---------------------------------------------------


def test_who_owes_what_reads_as_german_says_it(team, provider):
    late = delegate(team, provider, title="Altes Logo", due_on=timezone.localdate() - timedelta(days=60))
    ours = delegate(team, provider, title="Neue Texte")
    log(ours, "in", "other", timezone.now() - timedelta(days=10, minutes=5))
    client = team.client_for(team.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"

    late_page = client.get(url("detail", pk=late.pk)).content.decode()
    # How many hours past whole days depends on the hour the test runs at.
    assert re.search(
        r"Der Dienstleister schuldet die Lieferung · seit (59|60) Tagen( \d+ Stunden?)? überfällig", late_page
    )
    assert (
        "Ihre Antwort · wartet seit 10 Tagen (überfällig)"
        in client.get(url("detail", pk=ours.pk)).content.decode()
    )
    assert "Ihre Antwort · wartet seit 10 Tagen" in client.get(url("list")).content.decode()


def test_the_migration_gives_engagements_stored_before_their_turn(team, provider):
    migration = import_module("engagements.migrations.0017_our_turn_for_engagements_stored_before")
    ours = delegate(team, provider)
    log(ours, "in", "other", timezone.now() - timedelta(days=10))
    theirs = delegate(team, provider)
    log(theirs, "out", "request", timezone.now() - timedelta(days=10))
    expected = list(Engagement.objects.order_by("pk").values_list("our_turn_since", "our_answer_due_at"))
    assert expected[0][1] is not None
    Engagement.objects.update(our_turn_since=None, our_answer_due_at=None)

    migration.fill(django_apps, None)

    assert (
        list(Engagement.objects.order_by("pk").values_list("our_turn_since", "our_answer_due_at")) == expected
    )


def test_the_dashboard_counts_our_overdue_answers_as_needs_attention_does(team, provider):
    from django.urls import reverse

    ours = delegate(team, provider, title="Colours?")
    log(ours, "in", "other", timezone.now() - timedelta(days=10))
    delegate(team, provider, title="Not ours")  # nothing written: nobody owes an answer
    client = team.client_for(team.alice)
    dashboard = client.get(reverse("reliability:dashboard", kwargs={"ws": team.workspace.slug}))
    listed = client.get(url("attention")).context["our_answers"]
    assert dashboard.context["attention"]["our_answers"] == len(listed) == 1
    assert 'data-testid="our-answers-count"' in dashboard.content.decode()
