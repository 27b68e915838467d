"""The calendar feed: a secret address per person and workspace, its events, and how they move."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from engagements import flags, services
from engagements.ical import feed as feeds
from engagements.models import CalendarFeed, Exchange, Flag
from outsourcing.models import Membership
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def page_url(ws="acme", name="feed"):
    return reverse(f"calendar:{name}", kwargs={"ws": ws})


def token_of(response) -> str:
    match = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", response.content.decode())
    assert match, "the page shows the address once"
    return match.group(1)


def read(client, token, status=200):
    response = client.get(reverse("calendar_ics", kwargs={"token": token}))
    assert response.status_code == status
    return Calendar.from_ical(response.content) if status == 200 else None


def events(calendar):
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


@pytest.fixture
def engagement(team):
    provider = ProviderFactory(workspace=team.workspace, name="Ana", time_zone="Europe/Berlin", country="DE")
    return EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        owner=team.alice,
        title="Landing page",
        status="in_progress",
        due_on=date(2027, 3, 10),
    )


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_everyone_in_the_workspace_can_make_their_own_address(team, who):
    user = getattr(team, who)
    response = team.client_for(user).post(page_url(name="create"))

    assert response.status_code == 200
    token = token_of(response)
    feed = CalendarFeed.objects.get(user=user, workspace=team.workspace)
    # Only a digest is kept: the address itself is nowhere in the database.
    assert token not in feed.token_hash and len(feed.token_hash) == 64
    assert "no-store" in response["Cache-Control"]


def test_an_outsider_gets_a_404_for_the_page_and_cannot_make_an_address(team):
    client = team.client_for(team.charlie)

    assert client.get(page_url()).status_code == 404
    assert client.post(page_url(name="create")).status_code == 404
    assert not CalendarFeed.objects.filter(workspace=team.workspace).exists()


def test_the_address_is_shown_only_when_made(team):
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))

    page = client.get(page_url()).content.decode()

    assert token not in page and 'data-testid="feed-revoke"' in page


def test_the_feed_has_due_dates_reply_due_times_and_snoozed_flags_in_the_readers_zone(team, engagement):
    team.alice.time_zone = "America/New_York"
    team.alice.save()
    request = services.message_log(
        engagement=engagement, direction="out", kind="request", occurred_at=NOW - timedelta(days=5)
    )
    exchange = Exchange.objects.get(request_message=request)
    flag = Flag.objects.create(
        workspace=team.workspace, engagement=engagement, exchange=exchange, kind="reply_overdue", due_at=NOW
    )
    flags.flag_snooze(flag=flag, until=NOW + timedelta(days=2), by=team.alice)
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))

    found = events(read(client, token))

    due = found[f"engagement-{engagement.pk}-due@outsourcing-tracker"]
    assert due.decoded("DTSTART") == date(2027, 3, 10)
    assert "Landing page (Ana)" in str(due["SUMMARY"])
    reply = found[f"request-{request.pk}-reply-due@outsourcing-tracker"]
    start = reply.decoded("DTSTART")
    assert start == exchange.reply_due_at
    assert str(start.tzinfo) == "America/New_York"
    assert reply["DTSTART"].params["TZID"] == "America/New_York"
    wake = found[f"flag-{flag.pk}-wakes@outsourcing-tracker"]
    assert wake.decoded("DTSTART") == NOW + timedelta(days=2)
    assert all(int(e["SEQUENCE"]) == 0 for e in found.values())
    raw = client.get(reverse("calendar_ics", kwargs={"token": token})).content
    assert b"BEGIN:VTIMEZONE" in raw and b"TZID:America/New_York" in raw


def test_a_moved_due_date_shows_moved_under_the_same_uid_with_a_higher_sequence(team, engagement):
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))
    uid = f"engagement-{engagement.pk}-due@outsourcing-tracker"
    first = events(read(client, token))[uid]

    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        services.engagement_update(engagement=engagement, by=team.alice, due_on=date(2027, 3, 17))
        moved = events(read(client, token))[uid]
        unchanged = events(read(client, token))[uid]

    assert first.decoded("DTSTART") == date(2027, 3, 10)
    assert moved.decoded("DTSTART") == date(2027, 3, 17)
    assert (int(first["SEQUENCE"]), int(moved["SEQUENCE"]), int(unchanged["SEQUENCE"])) == (0, 1, 1)
    assert moved.decoded("DTSTAMP") == moved.decoded("LAST-MODIFIED") == NOW + timedelta(hours=3)
    assert first.decoded("DTSTAMP") == NOW
    assert unchanged.decoded("DTSTAMP") == moved.decoded("DTSTAMP")


def test_a_closed_engagement_leaves_the_feed(team, engagement):
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))
    services.engagement_set_status(engagement=engagement, status="cancelled", by=team.alice)

    assert not events(read(client, token))


def test_a_revoked_address_is_a_404(team, engagement):
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))
    read(client, token)

    response = client.post(page_url(name="revoke"))

    assert response.status_code == 302
    read(client, token, status=404)
    assert not CalendarFeed.objects.exists()


def test_a_new_address_replaces_the_old_one(team, engagement):
    client = team.client_for(team.alice)
    old = token_of(client.post(page_url(name="create")))

    new = token_of(client.post(page_url(name="create")))

    assert new != old
    read(client, old, status=404)
    read(client, new)


def test_the_address_stops_working_when_its_owner_leaves_the_workspace(team, engagement):
    client = team.client_for(team.bob)
    token = token_of(client.post(page_url(name="create")))

    Membership.objects.filter(workspace=team.workspace, user=team.bob).delete()

    read(client, token, status=404)


def test_an_unknown_token_is_a_404():
    read(Client(), "x" * 43, status=404)
    read(Client(), "y" * 150, status=404)


def test_only_mine_shows_only_the_engagements_the_reader_owns(team, engagement):
    EngagementFactory(
        workspace=team.workspace,
        provider=engagement.provider,
        owner=team.bob,
        title="Bob's",
        due_on=date(2027, 3, 12),
    )
    client = team.client_for(team.bob)
    token = token_of(client.post(page_url(name="create"), {"only_mine": "on"}))

    summaries = [str(e["SUMMARY"]) for e in read(client, token).walk("VEVENT")]

    assert summaries == ["Due: Bob's (Ana)"]


def test_another_workspaces_engagements_never_appear(team, engagement):
    other = ProviderFactory(workspace=team.other_workspace)
    EngagementFactory(workspace=team.other_workspace, provider=other, title="Secret", due_on=date(2027, 3, 9))
    client = team.client_for(team.alice)
    token = token_of(client.post(page_url(name="create")))

    assert b"Secret" not in client.get(reverse("calendar_ics", kwargs={"token": token})).content


def test_the_feed_reads_a_fixed_number_of_queries(team, engagement, django_assert_max_num_queries):
    for n in range(10):
        e = EngagementFactory(
            workspace=team.workspace,
            provider=engagement.provider,
            status="requested",
            due_on=date(2027, 4, n + 1),
        )
        services.message_log(
            engagement=e, direction="out", kind="request", occurred_at=NOW - timedelta(hours=n)
        )
    _feed, token = feeds.calendar_feed_create(workspace=team.workspace, user=team.alice)
    client = Client()
    read(client, token)

    with django_assert_max_num_queries(8):
        calendar = read(client, token)

    assert len(calendar.walk("VEVENT")) == 11 + 10  # due dates, reply due times
