"""The Needs attention page: its sections, the "only mine" filter, access and constant queries."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from engagements import deadlines, flags, queries, services
from engagements.flagging import flag_pass
from engagements.models import Engagement, Exchange, Flag
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderFactory


def waiting(workspace, provider, title, *, due_in: timedelta, owner=None) -> Exchange:
    """An engagement whose request is unanswered, its reply due ``due_in`` from now."""
    engagement = EngagementFactory(workspace=workspace, provider=provider, owner=owner, title=title)
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        subject=f"About {title}",
        occurred_at=timezone.now() - timedelta(days=1),
    )
    exchange = Exchange.objects.get(engagement=engagement)
    exchange.reply_due_at = timezone.now() + due_in
    exchange.save(update_fields=["reply_due_at"])
    return exchange


def flagged(workspace, provider, title, *, overdue_by: timedelta, owner=None, **fields) -> Flag:
    """An open reply-overdue flag on a fresh engagement, its deadline ``overdue_by`` ago."""
    exchange = waiting(workspace, provider, title, due_in=-overdue_by, owner=owner)
    return Flag.objects.create(
        workspace=workspace,
        engagement=exchange.engagement,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=exchange.reply_due_at,
        **fields,
    )


def delivery_flagged(workspace, provider, title, *, late_by_days: int, owner=None) -> Flag:
    """An open delivery-overdue flag, ``late_by_days`` after the due date; the request was answered before it."""
    due_on = timezone.localdate() - timedelta(days=late_by_days)
    engagement = EngagementFactory(
        workspace=workspace, provider=provider, owner=owner, title=title, due_on=due_on
    )
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=late_by_days + 5),
    )
    services.message_log(
        engagement=engagement,
        direction="in",
        kind="reply",
        occurred_at=timezone.now() - timedelta(days=late_by_days + 4),
    )
    due_at = deadlines.due_end(due_on, provider.time_zone)
    assert due_at is not None
    return Flag.objects.create(
        workspace=workspace, engagement=engagement, kind=Flag.Kind.DELIVERY_OVERDUE, due_at=due_at
    )


def our_answer_owed(workspace, provider, title, *, days_ago: int = 10, owner=None) -> Engagement:
    """An engagement whose provider wrote ``days_ago`` days ago and owes nothing: our answer is overdue."""
    engagement = EngagementFactory(workspace=workspace, provider=provider, owner=owner, title=title)
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=days_ago, hours=1),
    )
    services.message_log(
        engagement=engagement,
        direction="in",
        kind="reply",
        subject="Which colours?",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
    return engagement


def shown(at: datetime, format_name: str = "SHORT_DATETIME_FORMAT") -> str:
    """A moment as the rows print it, in the display zone."""
    return formats.date_format(
        timezone.localtime(at, zoneinfo.ZoneInfo(settings.DISPLAY_TIME_ZONE)), format_name
    )


def row(page: str, title: str) -> str:
    """The one attention row naming an engagement title."""
    rows = [r for r in page.split('<li class="list-group-item"')[1:] if f">{title}</a>" in r]
    assert len(rows) == 1, title
    return rows[0]


def section(response, name: str) -> list[str]:
    """The engagement titles of one section, in the order shown."""
    if name == "our_answers":
        return [engagement.title for engagement in response.context["our_answers"]]
    rows = {
        "overdue": response.context["overdue"],
        "due_soon": response.context["due_soon"],
        "awaiting": response.context["page_obj"],
        "snoozed": response.context["snoozed"],
    }[name]
    return [row.engagement.title for row in rows]


def test_an_anonymous_visitor_is_sent_to_log_in(team):
    response = team.client_for(None).get(url("attention"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_members_of_every_role_see_the_page(team, provider, who):
    flagged(team.workspace, provider, "Late logo", overdue_by=timedelta(days=1))
    response = team.client_for(getattr(team, who)).get(url("attention"))
    assert response.status_code == 200
    assert "Late logo" in response.content.decode()


def test_an_outsider_gets_a_404(team):
    assert team.client_for(team.charlie).get(url("attention")).status_code == 404


def test_the_page_shows_only_this_workspaces_flags_and_requests(team, provider):
    foreign_provider = ProviderFactory(workspace=team.other_workspace)
    flagged(team.other_workspace, foreign_provider, "Their flag", overdue_by=timedelta(days=1))
    waiting(team.other_workspace, foreign_provider, "Their request", due_in=timedelta(hours=2))
    flagged(team.workspace, provider, "Our flag", overdue_by=timedelta(days=1))
    response = team.client_for(team.alice).get(url("attention"))
    page = response.content.decode()
    assert "Our flag" in page
    assert "Their flag" not in page
    assert "Their request" not in page


def test_each_section_lists_the_most_urgent_first(team, provider):
    flagged(team.workspace, provider, "Two days late", overdue_by=timedelta(days=2))
    flagged(team.workspace, provider, "Five days late", overdue_by=timedelta(days=5))
    waiting(team.workspace, provider, "Due in ten hours", due_in=timedelta(hours=10))
    waiting(team.workspace, provider, "Due in three hours", due_in=timedelta(hours=3))
    waiting(team.workspace, provider, "Due in three days", due_in=timedelta(days=3))
    waiting(team.workspace, provider, "Due in two days", due_in=timedelta(days=2))
    response = team.client_for(team.alice).get(url("attention"))
    assert section(response, "overdue") == ["Five days late", "Two days late"]
    assert section(response, "due_soon") == ["Due in three hours", "Due in ten hours"]
    assert section(response, "awaiting") == ["Due in two days", "Due in three days"]
    page = response.content.decode()
    assert page.index("overdue-heading") < page.index("due-soon-heading") < page.index("awaiting-heading")
    assert "overdue by 5 days" in page
    assert "reply due in 2 hours" in page


def test_a_flag_raised_by_the_flagging_pass_is_overdue_with_its_follow_up_button(team, engagement):
    services.message_log(
        engagement=engagement, direction="out", kind="request", occurred_at=timezone.now() - timedelta(days=9)
    )
    # Entered after its reply was due: looked at once the grace for typing in history is over.
    assert flag_pass().raised_overdue == 0
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 1
    response = team.client_for(team.bob).get(url("attention"))
    assert section(response, "overdue") == ["Landing page copy"]
    assert section(response, "awaiting") == []
    page = response.content.decode()
    assert "Reply overdue" in page
    assert "Vanessa VA" in page
    assert url("message_create", pk=engagement.pk) + "?followup=1" in page


def test_a_snoozed_flag_waits_in_the_snoozed_section_until_its_date(team, provider):
    flag = flagged(
        team.workspace,
        provider,
        "Snoozed one",
        overdue_by=timedelta(days=1),
        snoozed_until=timezone.now() + timedelta(days=2),
    )
    client = team.client_for(team.alice)
    response = client.get(url("attention"))
    assert section(response, "overdue") == []
    assert section(response, "snoozed") == ["Snoozed one"]
    # Its request is covered by the flag: it is not listed again as awaiting a reply.
    assert section(response, "awaiting") == []
    assert 'data-testid="snoozed"' in response.content.decode()

    Flag.objects.filter(pk=flag.pk).update(snoozed_until=timezone.now() - timedelta(minutes=1))
    response = client.get(url("attention"))
    assert section(response, "overdue") == ["Snoozed one"]
    assert section(response, "snoozed") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's query plan")
def test_the_snoozed_section_reads_an_index_of_snoozed_flags_not_every_open_flag(team, provider):
    flagged(team.workspace, provider, "Awake", overdue_by=timedelta(days=1))
    flagged(
        team.workspace,
        provider,
        "Asleep",
        overdue_by=timedelta(days=1),
        snoozed_until=timezone.now() + timedelta(days=2),
    )
    snoozed = queries.attention_snoozed(team.workspace, now=timezone.now())
    with connection.cursor() as cursor:
        # A test's tables are tiny, so PostgreSQL would scan them whatever the indexes:
        # forbidding the scan shows whether an index answers the query at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = snoozed.explain()
    assert "flag_ws_snoozed" in plan, plan
    assert [f.engagement.title for f in snoozed] == ["Asleep"]


def test_answered_requests_and_closed_engagements_are_not_listed(team, provider):
    answered = waiting(team.workspace, provider, "Answered", due_in=timedelta(hours=5))
    services.message_log(engagement=answered.engagement, direction="in", kind="reply")
    closed = waiting(team.workspace, provider, "Cancelled", due_in=timedelta(hours=5))
    services.engagement_set_status(engagement=closed.engagement, status=Engagement.Status.CANCELLED, by=None)
    response = team.client_for(team.alice).get(url("attention"))
    assert response.context["nothing"] is True


def test_a_request_whose_flag_was_dismissed_still_awaits_a_reply(team, provider):
    flag = flagged(team.workspace, provider, "Dismissed", overdue_by=timedelta(days=1))
    flags.flag_dismiss(flag=flag, reason="They called, it is in hand", by=team.alice)
    response = team.client_for(team.alice).get(url("attention"))
    assert section(response, "overdue") == []
    assert section(response, "due_soon") == []
    assert section(response, "awaiting") == ["Dismissed"]
    assert "reply was due" in response.content.decode()


# --- What the page says is owed ----------------------------------------------------


def _overdue_only(team, provider) -> None:
    flagged(team.workspace, provider, "Late", overdue_by=timedelta(days=1))


def _snoozed_only(team, provider) -> None:
    flagged(
        team.workspace,
        provider,
        "Snoozed",
        overdue_by=timedelta(days=1),
        snoozed_until=timezone.now() + timedelta(days=2),
    )


def _dismissed(team, provider) -> None:
    flag = flagged(team.workspace, provider, "Dismissed", overdue_by=timedelta(days=1))
    flags.flag_dismiss(flag=flag, reason="They called, it is in hand", by=team.alice)


def _due_soon(team, provider) -> None:
    waiting(team.workspace, provider, "Soon", due_in=timedelta(hours=3))


def _awaiting(team, provider) -> None:
    waiting(team.workspace, provider, "Later", due_in=timedelta(days=3))


def _our_answer(team, provider) -> None:
    our_answer_owed(team.workspace, provider, "Ours", owner=team.alice)


def _nothing(team, provider) -> None:
    answered = waiting(team.workspace, provider, "Answered", due_in=timedelta(hours=5))
    services.message_log(engagement=answered.engagement, direction="in", kind="reply")


# Each case: what is set up, the titles in each section, and which headline the page shows.
COMBINATIONS = {
    "overdue only": (_overdue_only, {"overdue": ["Late"]}, None),
    "snoozed only": (_snoozed_only, {"snoozed": ["Snoozed"]}, "nothing-now"),
    "dismissed": (_dismissed, {"awaiting": ["Dismissed"]}, None),
    "due soon": (_due_soon, {"due_soon": ["Soon"]}, None),
    "awaiting": (_awaiting, {"awaiting": ["Later"]}, None),
    "our answer": (_our_answer, {"our_answers": ["Ours"]}, None),
    "nothing": (_nothing, {}, "empty-state"),
}


@pytest.mark.parametrize("case", list(COMBINATIONS))
def test_the_page_says_nothing_is_owed_only_when_nothing_is(team, provider, case):
    setup, expected, headline = COMBINATIONS[case]
    setup(team, provider)

    response = team.client_for(team.alice).get(url("attention"))

    page = response.content.decode()
    for name in ("overdue", "our_answers", "due_soon", "awaiting", "snoozed"):
        assert section(response, name) == expected.get(name, []), name
    assert ('data-testid="empty-state"' in page) == (headline == "empty-state")
    assert ("nobody owes you one" in page) == (headline == "empty-state")
    assert ('data-testid="nothing-now"' in page) == (headline == "nothing-now")
    assert response.context["nothing"] is (headline == "empty-state")


def test_with_only_snoozed_flags_left_nothing_needs_attention_now_and_each_says_when_it_comes_back(
    team, provider
):
    back = timezone.now() + timedelta(days=2)
    flagged(
        team.workspace,
        provider,
        "Snoozed reply",
        overdue_by=timedelta(days=1),
        snoozed_until=back,
        owner=team.alice,
    )
    Flag.objects.create(
        workspace=team.workspace,
        engagement=EngagementFactory(workspace=team.workspace, provider=provider, title="Bounced mail"),
        kind=Flag.Kind.BOUNCED,
        due_at=timezone.now() - timedelta(hours=2),
        snoozed_until=back + timedelta(days=1),
    )
    client = team.client_for(team.alice)

    page = client.get(url("attention")).content.decode()

    assert "Nothing needs attention now." in page
    assert "2 snoozed flags are still open" in page
    assert "Nothing needs attention." not in page
    # Shown open, not folded away: they are all that is owed.
    assert 'data-testid="snoozed" open' in page
    for title, day in (("Snoozed reply", back), ("Bounced mail", back + timedelta(days=1))):
        assert f"Snoozed: back on {shown(day, 'DATE_FORMAT')}" in row(page, title)
    mine = client.get(url("attention"), {"mine": "1"})
    assert "Nothing of yours needs attention now." in mine.content.decode()
    assert section(mine, "snoozed") == ["Snoozed reply"]


# --- Follow-ups ---------------------------------------------------------------------


def test_every_row_says_when_it_was_last_followed_up(team, provider):
    chased_at = timezone.now() - timedelta(hours=5)
    chased = flagged(team.workspace, provider, "Chased reply", overdue_by=timedelta(days=1))
    services.message_log(
        engagement=chased.engagement, direction="out", kind="follow_up", occurred_at=chased_at
    )
    flagged(team.workspace, provider, "Silent reply", overdue_by=timedelta(days=1))
    # The request went out before the deadline: that is no follow-up about the late delivery.
    delivery_flagged(team.workspace, provider, "Late delivery", late_by_days=3)
    nudged = delivery_flagged(team.workspace, provider, "Nudged delivery", late_by_days=3)
    nudged_at = timezone.now() - timedelta(days=1)
    services.message_log(engagement=nudged.engagement, direction="out", kind="other", occurred_at=nudged_at)
    asked = waiting(team.workspace, provider, "Asked again", due_in=timedelta(days=2))
    asked_at = timezone.now() - timedelta(hours=3)
    services.message_log(engagement=asked.engagement, direction="out", kind="follow_up", occurred_at=asked_at)
    waiting(team.workspace, provider, "Asked once", due_in=timedelta(hours=4))

    page = team.client_for(team.alice).get(url("attention")).content.decode()

    for title, at in (
        ("Chased reply", chased_at),
        ("Silent reply", None),
        ("Late delivery", None),
        ("Nudged delivery", nudged_at),
        ("Asked again", asked_at),
        ("Asked once", None),
    ):
        text = f"Last followed up {shown(at)}" if at else "Not followed up yet"
        assert text in row(page, title), title


def test_each_flag_row_offers_the_follow_up_that_fits_it_in_the_log_and_by_mail(team, provider):
    flag = flagged(team.workspace, provider, "Late logo", overdue_by=timedelta(days=1))
    exchange = waiting(team.workspace, provider, "Soon", due_in=timedelta(hours=3))
    compose = reverse("mail:compose", kwargs={"ws": "acme", "pk": flag.engagement_id})

    page = team.client_for(team.bob).get(url("attention")).content.decode()

    flag_row = row(page, "Late logo")
    assert f"{url('message_create', pk=flag.engagement_id)}?followup=1&amp;flag={flag.pk}" in flag_row
    assert f"{compose}?kind=follow_up&amp;flag={flag.pk}" in flag_row
    assert f"{url('message_create', pk=exchange.engagement_id)}?followup=1#" in row(page, "Soon")
    detail = team.client_for(team.bob).get(url("detail", pk=flag.engagement_id)).content.decode()
    assert f"?followup=1&amp;flag={flag.pk}" in detail
    assert f"{compose}?kind=follow_up&amp;flag={flag.pk}" in detail


def test_the_empty_state_says_nothing_needs_attention(team):
    response = team.client_for(team.alice).get(url("attention"))
    page = response.content.decode()
    assert 'data-testid="empty-state"' in page
    assert "Nothing needs attention." in page
    assert 'data-testid="overdue"' not in page


def test_only_mine_shows_the_engagements_the_user_owns(team, provider):
    flagged(team.workspace, provider, "Alices flag", overdue_by=timedelta(days=1), owner=team.alice)
    flagged(team.workspace, provider, "Bobs flag", overdue_by=timedelta(days=1), owner=team.bob)
    waiting(team.workspace, provider, "Alices request", due_in=timedelta(days=3), owner=team.alice)
    waiting(team.workspace, provider, "Bobs request", due_in=timedelta(hours=3), owner=team.bob)
    client = team.client_for(team.alice)
    everyone = client.get(url("attention"))
    assert section(everyone, "overdue") == ["Alices flag", "Bobs flag"]
    mine = client.get(url("attention"), {"mine": "1"})
    assert section(mine, "overdue") == ["Alices flag"]
    assert section(mine, "due_soon") == []
    assert section(mine, "awaiting") == ["Alices request"]
    bobs = team.client_for(team.bob).get(url("attention"), {"mine": "1"})
    assert section(bobs, "due_soon") == ["Bobs request"]


def test_only_mine_has_its_own_empty_state(team, provider):
    flagged(team.workspace, provider, "Bobs flag", overdue_by=timedelta(days=1), owner=team.bob)
    page = team.client_for(team.alice).get(url("attention"), {"mine": "1"}).content.decode()
    assert "Nothing of yours needs attention." in page


def test_members_get_the_buttons_and_viewers_do_not(team, provider):
    flag = flagged(team.workspace, provider, "Late logo", overdue_by=timedelta(days=1))
    exchange = waiting(team.workspace, provider, "Soon", due_in=timedelta(hours=3))
    buttons = [
        url("flag_snooze", pk=flag.pk),
        url("flag_dismiss", pk=flag.pk),
        url("message_create", pk=flag.engagement_id) + "?followup=1",
        url("message_create", pk=exchange.engagement_id) + "?followup=1",
    ]
    for who in ("alice", "bob"):
        page = team.client_for(getattr(team, who)).get(url("attention")).content.decode()
        assert all(b in page for b in buttons), who
    viewer_page = team.client_for(team.vera).get(url("attention")).content.decode()
    assert not any(b in viewer_page for b in buttons)


def test_awaiting_reply_is_paginated(team, provider):
    for i in range(27):
        waiting(team.workspace, provider, f"Request {i:02}", due_in=timedelta(days=2, minutes=i))
    client = team.client_for(team.alice)
    first = client.get(url("attention"))
    assert len(section(first, "awaiting")) == 25
    second = client.get(url("attention"), {"page": 2})
    assert section(second, "awaiting") == ["Request 25", "Request 26"]


def test_the_short_sections_are_capped(team, provider, monkeypatch):
    monkeypatch.setattr(queries, "ATTENTION_CAP", 2)
    for days in (1, 2, 3):
        flagged(team.workspace, provider, f"{days} days late", overdue_by=timedelta(days=days))
    response = team.client_for(team.alice).get(url("attention"))
    assert section(response, "overdue") == ["3 days late", "2 days late"]
    assert "Only the 2 most overdue are shown" in response.content.decode()


def _attention_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("attention")).status_code == 200
    return len(ctx)


def _one_of_each(workspace, provider, owner, n: int) -> None:
    flagged(workspace, provider, f"Flag {n}", overdue_by=timedelta(days=1 + n), owner=owner)
    flagged(
        workspace,
        provider,
        f"Snoozed {n}",
        overdue_by=timedelta(days=1),
        owner=owner,
        snoozed_until=timezone.now() + timedelta(days=1),
    )
    soon = waiting(workspace, provider, f"Soon {n}", due_in=timedelta(hours=1 + n), owner=owner)
    # Followed up: the row says when, from what the page has already read.
    services.message_log(engagement=soon.engagement, direction="out", kind="follow_up")
    waiting(workspace, provider, f"Later {n}", due_in=timedelta(days=2 + n), owner=owner)
    delivery_flagged(workspace, provider, f"Delivery {n}", late_by_days=1 + n, owner=owner)
    our_answer_owed(workspace, provider, f"Ours {n}", days_ago=5 + n, owner=owner)


def test_the_query_count_does_not_grow_with_the_rows(team, provider, django_assert_max_num_queries):
    client = team.client_for(team.bob)
    _attention_queries(client)  # the first visit also stores the workspace in the session
    _one_of_each(team.workspace, provider, team.alice, 0)
    one = _attention_queries(client)
    for n in range(1, 8):
        _one_of_each(team.workspace, provider, team.alice if n % 2 else team.bob, n)
    for i in range(30):  # a second page of awaiting requests
        waiting(team.workspace, provider, f"Much later {i}", due_in=timedelta(days=20 + i))
    assert _attention_queries(client) == one
    # The session, the user, the membership, the two navigation counts, then: overdue, our
    # answers, due soon, snoozed, awaiting count and page; the saved views menu; the
    # providers' requests and their engagements' calendars (five) for "is a reply still coming?".
    with django_assert_max_num_queries(19):
        client.get(url("attention"))


@pytest.mark.parametrize("query", [{"order": "never"}, {"mine": "1"}])
def test_no_row_reads_what_its_section_left_out(team, provider, query):
    """The sections read only the columns their rows show: any other read would be a query per row."""
    client = team.client_for(team.bob)

    def queries_run() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("attention"), query).status_code == 200
        return len(ctx)

    queries_run()
    _one_of_each(team.workspace, provider, team.bob, 0)
    one = queries_run()
    for n in range(1, 5):
        _one_of_each(team.workspace, provider, team.bob, n)
        Flag.objects.create(
            workspace=team.workspace,
            engagement=EngagementFactory(
                workspace=team.workspace, provider=provider, owner=team.bob, title=f"Bounced {n}"
            ),
            kind=Flag.Kind.BOUNCED,
            due_at=timezone.now() - timedelta(hours=2 + n),
        )
    assert queries_run() == one


def test_attention_count_counts_open_unsnoozed_flags_in_one_query(team, provider, django_assert_num_queries):
    flagged(team.workspace, provider, "Open", overdue_by=timedelta(days=1))
    flagged(team.workspace, provider, "Open too", overdue_by=timedelta(hours=1))
    flagged(
        team.workspace,
        provider,
        "Snoozed",
        overdue_by=timedelta(days=1),
        snoozed_until=timezone.now() + timedelta(days=1),
    )
    flagged(
        team.workspace,
        provider,
        "Woke up",
        overdue_by=timedelta(days=1),
        snoozed_until=timezone.now() - timedelta(hours=1),
    )
    dismissed = flagged(team.workspace, provider, "Dismissed", overdue_by=timedelta(days=1))
    flags.flag_dismiss(flag=dismissed, reason="Not needed", by=team.alice)
    foreign_provider = ProviderFactory(workspace=team.other_workspace)
    flagged(team.other_workspace, foreign_provider, "Theirs", overdue_by=timedelta(days=1))
    with django_assert_num_queries(1):
        assert queries.attention_count(team.workspace) == 3
    later = timezone.now() + timedelta(days=2)
    assert queries.attention_count(team.workspace, now=later) == 4


def test_the_navigation_counts_open_flags_and_the_persons_unread_notifications(team, provider):
    flagged(team.workspace, provider, "Counted", overdue_by=timedelta(days=2), owner=team.alice)
    flagged(
        team.workspace,
        provider,
        "Snoozed",
        overdue_by=timedelta(days=2),
        snoozed_until=timezone.now() + timedelta(days=1),
    )
    due = waiting(
        team.workspace, provider, "Raised by the pass", due_in=-timedelta(hours=1), owner=team.alice
    )
    Exchange.objects.filter(pk=due.pk).update(next_check_at=due.reply_due_at)
    assert flag_pass().raised_overdue == 1

    def nav(user) -> tuple[str, ...]:
        page = team.client_for(user).get(url("list")).content.decode()
        links = (
            re.search(rf'data-testid="{name}">(.*?)</a>', page, re.DOTALL)
            for name in ("nav-attention", "nav-notifications")
        )
        return tuple(" ".join(re.sub(r"<[^>]+>", " ", link.group(1)).split()) for link in links if link)

    # Two open flags (the snoozed one waits); alice owns the one the pass raised, so she has one unread.
    assert nav(team.alice) == ("Needs attention 2 overdue", "Notifications 1 unread")
    assert nav(team.bob) == ("Needs attention 2 overdue", "Notifications")
    assert nav(team.vera)[0] == "Needs attention 2 overdue"
    assert team.client_for(team.charlie).get(url("list")).status_code == 404


# --- Your turn: our own overdue answers ------------------------------------------------


def test_our_overdue_answer_is_on_the_page_for_its_owner_and_under_only_mine(team, provider):
    engagement = our_answer_owed(team.workspace, provider, "Colour question", owner=team.alice)
    our_answer_owed(team.workspace, provider, "Bobs question", owner=team.bob, days_ago=20)
    client = team.client_for(team.alice)

    everyone = client.get(url("attention"))
    mine = client.get(url("attention"), {"mine": "1"})
    bobs = team.client_for(team.bob).get(url("attention"), {"mine": "1"})

    # The longest overdue first.
    assert section(everyone, "our_answers") == ["Bobs question", "Colour question"]
    assert section(mine, "our_answers") == ["Colour question"]
    assert section(bobs, "our_answers") == ["Bobs question"]
    assert everyone.context["nothing"] is False
    page = mine.content.decode()
    found = row(page, "Colour question")
    assert "Your answer · waiting 10 days (overdue)" in found
    assert url("message_create", pk=engagement.pk) + "?direction=out" in found  # the log form, focused
    assert page.index("overdue-heading") < page.index("our-answers-heading") < page.index("due-soon-heading")


def test_our_overdue_answer_leaves_the_page_once_we_log_a_message_to_the_provider(team, provider):
    engagement = our_answer_owed(team.workspace, provider, "Colour question", owner=team.alice)
    client = team.client_for(team.alice)
    assert section(client.get(url("attention"), {"mine": "1"}), "our_answers") == ["Colour question"]

    logged = client.post(
        url("message_create", pk=engagement.pk),
        {
            "direction": "out",
            "kind": "reply",
            "channel": "email",
            "occurred_at_0": timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%d"),
            "occurred_at_1": timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%H:%M"),
            "body": "Blue and white, please.",
        },
    )
    assert logged.status_code == 302

    response = client.get(url("attention"), {"mine": "1"})
    assert section(response, "our_answers") == []
    assert response.context["nothing"] is True


def test_an_answer_not_yet_due_and_a_closed_engagements_are_not_listed(team, provider):
    our_answer_owed(team.workspace, provider, "Just now", days_ago=0)
    closed = our_answer_owed(team.workspace, provider, "Completed")
    Engagement.objects.filter(pk=closed.pk).update(status=Engagement.Status.COMPLETED)
    response = team.client_for(team.alice).get(url("attention"))
    assert section(response, "our_answers") == []
    assert response.context["nothing"] is True


def test_viewers_see_our_overdue_answers_without_the_button_to_log_one(team, provider):
    engagement = our_answer_owed(team.workspace, provider, "Colour question", owner=team.alice)
    page = team.client_for(team.vera).get(url("attention")).content.decode()
    assert "Colour question" in row(page, "Colour question")
    assert url("message_create", pk=engagement.pk) not in page


def test_the_your_turn_section_is_capped(team, provider, monkeypatch):
    monkeypatch.setattr(queries, "ATTENTION_CAP", 2)
    for days in (10, 11, 12):
        our_answer_owed(team.workspace, provider, f"{days} days", days_ago=days)
    response = team.client_for(team.alice).get(url("attention"))
    assert section(response, "our_answers") == ["12 days", "11 days"]
    assert "Only the 2 longest overdue are shown" in response.content.decode()


def test_the_navigation_counts_our_overdue_answers_beside_the_flags_in_one_query(
    team, provider, django_assert_num_queries
):
    flagged(team.workspace, provider, "Late", overdue_by=timedelta(days=1))
    our_answer_owed(team.workspace, provider, "Ours")
    our_answer_owed(team.workspace, provider, "Not yet", days_ago=0)
    foreign = ProviderFactory(workspace=team.other_workspace)
    our_answer_owed(team.other_workspace, foreign, "Theirs")
    with django_assert_num_queries(1):
        assert queries.attention_count(team.workspace) == 2
    page = team.client_for(team.alice).get(url("list")).content.decode()
    assert re.search(r"Needs attention\s*<span[^>]*>\s*2\s*<", page)


def test_only_a_section_with_something_in_it_counts_in_its_alarm_colour(team, provider):
    flagged(team.workspace, provider, "Logo", overdue_by=timedelta(hours=5))
    page = team.client_for(team.alice).get(url("attention")).content.decode()
    colours = {
        testid: classes
        for classes, testid in re.findall(r'class="badge ([^"]+)" data-testid="([a-z-]+-count)"', page)
    }
    assert colours == {
        "overdue-count": "text-bg-danger",
        "provider-count": "text-bg-danger",  # the provider's group: one overdue item
        "our-answers-count": "text-bg-secondary",
        "due-soon-count": "text-bg-secondary",
    }


@pytest.mark.parametrize(
    "name",
    [
        "engagements:detail",
        "engagements:message_create",
        "engagements:flag_snooze",
        "engagements:flag_unsnooze",
        "engagements:flag_dismiss",
        "mail:compose",
        "providers:detail",
    ],
)
def test_the_rows_quick_links_are_the_urls_django_reverses(name):
    from engagements.templatetags.engagement_tags import pk_url

    for ws, pk in (("acme", 7), ("other-co", 123456), ("acme", 1)):
        assert pk_url(name, ws, pk) == reverse(name, kwargs={"ws": ws, "pk": pk})
