"""Snoozing, waking and dismissing flags: the services, their views, and the engagement page."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import flags
from engagements.models import Exchange, Flag
from tests.engagements.conftest import url
from tests.engagements.test_attention import flagged
from tests.factories import ProviderFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def flag(team, provider) -> Flag:
    return flagged(team.workspace, provider, "Late logo", overdue_by=timedelta(days=2), owner=team.alice)


def fresh(flag: Flag) -> Flag:
    return Flag.objects.get(pk=flag.pk)


def local_midnight(days_ahead: int, zone: str = "Europe/Berlin") -> datetime:
    """The start of a day in the display time zone the tests' users have."""
    tz = zoneinfo.ZoneInfo(zone)
    today = timezone.localtime(timezone.now(), tz).date()
    return datetime.combine(today + timedelta(days=days_ahead), time.min, tzinfo=tz)


# --- Services ---------------------------------------------------------------------------------


def test_snoozing_sets_the_date_and_leaves_the_exchanges_next_check_alone(team, flag):
    next_check = Exchange.objects.get(pk=flag.exchange_id).next_check_at
    until = timezone.now() + timedelta(days=3)
    flags.flag_snooze(flag=flag, until=until, by=team.bob)
    assert fresh(flag).snoozed_until == until
    assert fresh(flag).resolved_at is None
    assert Exchange.objects.get(pk=flag.exchange_id).next_check_at == next_check


@pytest.mark.parametrize(
    "until",
    [timedelta(0), -timedelta(hours=1), timedelta(days=365, minutes=1)],
    ids=["now", "in-the-past", "over-a-year-ahead"],
)
def test_a_snooze_must_end_in_the_future_and_within_a_year(team, flag, until):
    with pytest.raises(ValidationError):
        flags.flag_snooze(flag=flag, until=timezone.now() + until, by=team.bob)
    assert fresh(flag).snoozed_until is None


def test_a_snooze_may_last_a_year(team, flag):
    flags.flag_snooze(flag=flag, until=timezone.now() + timedelta(days=364), by=team.bob)
    assert fresh(flag).snoozed_until is not None


def test_a_resolved_flag_cannot_be_snoozed(team, flag):
    flags.flag_dismiss(flag=flag, reason="Handled by phone", by=team.alice)
    with pytest.raises(ValidationError, match="already resolved"):
        flags.flag_snooze(flag=fresh(flag), until=timezone.now() + timedelta(days=1), by=team.bob)


def test_unsnoozing_puts_the_flag_back_now(team, flag):
    flags.flag_snooze(flag=flag, until=timezone.now() + timedelta(days=3), by=team.bob)
    flags.flag_unsnooze(flag=flag, by=team.bob)
    assert fresh(flag).snoozed_until is None


def test_dismissing_resolves_the_flag_and_keeps_it_as_history(team, flag):
    flags.flag_dismiss(flag=flag, reason="  They called: it is in hand  ", by=team.bob)
    row = fresh(flag)
    assert row.resolved_at is not None
    assert row.resolution == Flag.Resolution.DISMISSED
    assert row.resolved_by == team.bob
    assert row.reason == "They called: it is in hand"
    assert Flag.objects.filter(pk=flag.pk).exists()


def test_an_already_resolved_flag_cannot_be_dismissed(team, flag):
    flags.flag_dismiss(flag=flag, reason="First", by=team.bob)
    # A page that still shows it open: the second dismissal must not overwrite the first.
    stale = Flag.objects.get(pk=flag.pk)
    stale.resolved_at = None
    with pytest.raises(ValidationError, match="already resolved"):
        flags.flag_dismiss(flag=stale, reason="Second", by=team.alice)
    assert (fresh(flag).reason, fresh(flag).resolved_by) == ("First", team.bob)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_a_dismissal_needs_a_reason_of_sensible_length(team, flag, reason):
    with pytest.raises(ValidationError):
        flags.flag_dismiss(flag=flag, reason=reason, by=team.bob)
    assert fresh(flag).resolved_at is None


# --- Views ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_snooze_a_flag_until_tomorrow(team, flag, who):
    response = team.client_for(getattr(team, who)).post(
        url("flag_snooze", pk=flag.pk), {"preset": "tomorrow"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("attention")
    assert fresh(flag).snoozed_until == local_midnight(1)
    assert "Flag snoozed until" in response.content.decode()


def test_next_week_means_its_monday(team, flag):
    team.client_for(team.bob).post(url("flag_snooze", pk=flag.pk), {"preset": "next_week"})
    until = timezone.localtime(fresh(flag).snoozed_until, zoneinfo.ZoneInfo("Europe/Berlin"))
    assert until.weekday() == 0
    assert until.time() == time.min
    assert timedelta(days=1) <= until - local_midnight(0) <= timedelta(days=7)


def test_a_member_snoozes_until_a_chosen_date_in_their_time_zone(team, flag):
    team.bob.time_zone = "America/New_York"
    team.bob.save(update_fields=["time_zone"])
    day = local_midnight(10, "America/New_York")
    team.client_for(team.bob).post(url("flag_snooze", pk=flag.pk), {"until": day.date().isoformat()})
    assert fresh(flag).snoozed_until == day


@pytest.mark.parametrize(
    "data",
    [{}, {"until": "not a date"}, {"preset": "forever"}, {"until": "2001-01-01"}, {"until": "2999-01-01"}],
    ids=["nothing", "garbage", "unknown-preset", "past", "too-far"],
)
def test_a_bad_snooze_is_an_error_message(team, flag, data):
    response = team.client_for(team.bob).post(url("flag_snooze", pk=flag.pk), data, follow=True)
    assert response.status_code == 200
    assert 'class="alert alert-danger' in response.content.decode()
    assert fresh(flag).snoozed_until is None


def test_a_member_wakes_a_snoozed_flag(team, flag):
    flags.flag_snooze(flag=flag, until=timezone.now() + timedelta(days=3), by=team.bob)
    response = team.client_for(team.bob).post(url("flag_unsnooze", pk=flag.pk), follow=True)
    assert fresh(flag).snoozed_until is None
    assert "The flag is back on the list." in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_dismiss_a_flag_with_a_reason(team, flag, who):
    user = getattr(team, who)
    response = team.client_for(user).post(
        url("flag_dismiss", pk=flag.pk), {"reason": "Agreed a new date by phone"}, follow=True
    )
    assert "Flag dismissed." in response.content.decode()
    row = fresh(flag)
    assert (row.resolution, row.resolved_by, row.reason) == ("dismissed", user, "Agreed a new date by phone")


def test_a_dismissal_without_a_reason_is_refused(team, flag):
    response = team.client_for(team.bob).post(url("flag_dismiss", pk=flag.pk), {"reason": " "}, follow=True)
    assert "Say why the flag is dismissed." in response.content.decode()
    assert fresh(flag).resolved_at is None


def test_dismissing_a_resolved_flag_says_so(team, flag):
    flags.flag_dismiss(flag=flag, reason="First", by=team.alice)
    response = team.client_for(team.bob).post(
        url("flag_dismiss", pk=flag.pk), {"reason": "Again"}, follow=True
    )
    assert "This flag is already resolved." in response.content.decode()
    assert fresh(flag).reason == "First"


ACTIONS = [
    ("flag_snooze", {"preset": "tomorrow"}),
    ("flag_unsnooze", {}),
    ("flag_dismiss", {"reason": "Not needed"}),
]


@pytest.mark.parametrize(("action", "data"), ACTIONS)
@pytest.mark.parametrize(("who", "code"), [("vera", 403), ("charlie", 404)])
def test_viewers_and_outsiders_cannot_act_on_a_flag(team, flag, action, data, who, code):
    flags.flag_snooze(flag=flag, until=timezone.now() + timedelta(days=2), by=team.alice)
    before = fresh(flag)
    response = team.client_for(getattr(team, who)).post(url(action, pk=flag.pk), data)
    assert response.status_code == code
    after = fresh(flag)
    assert (after.snoozed_until, after.resolved_at) == (before.snoozed_until, before.resolved_at)


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_another_workspaces_flag_is_a_404(team, action, data):
    foreign = flagged(
        team.other_workspace,
        ProviderFactory(workspace=team.other_workspace),
        "Theirs",
        overdue_by=timedelta(days=1),
    )
    response = team.client_for(team.alice).post(url(action, pk=foreign.pk), data)
    assert response.status_code == 404
    assert fresh(foreign).resolved_at is None


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_flag_actions_are_post_only(team, flag, action, data):
    assert team.client_for(team.alice).get(url(action, pk=flag.pk), data).status_code == 405


def test_htmx_swaps_the_row_with_its_new_state_and_the_message(team, flag):
    response = team.client_for(team.bob).post(
        url("flag_snooze", pk=flag.pk), {"preset": "3days", "next": url("attention")}, **HTMX
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="flag-{flag.pk}"' in page
    assert "Snoozed: back on" in page
    assert url("flag_unsnooze", pk=flag.pk) in page
    assert 'hx-swap-oob="beforeend:#messages"' in page
    assert "Flag snoozed until" in page
    assert "Late logo" in page  # the attention page's rows name their engagement

    response = team.client_for(team.bob).post(url("flag_dismiss", pk=flag.pk), {"reason": "Done"}, **HTMX)
    page = response.content.decode()
    assert "Dismissed on" in page
    assert url("flag_dismiss", pk=flag.pk) not in page


def test_an_action_returns_to_the_page_it_came_from_on_this_site_only(team, flag):
    client = team.client_for(team.bob)
    detail = url("detail", pk=flag.engagement_id) + "#flags"
    response = client.post(url("flag_snooze", pk=flag.pk), {"preset": "tomorrow", "next": detail})
    assert response["Location"] == detail
    response = client.post(url("flag_unsnooze", pk=flag.pk), {"next": "https://evil.example/"})
    assert response["Location"] == url("attention")


@pytest.mark.parametrize(
    "target", ["Ada", "home", "engagements:list", "javascript:alert(1)", "mailto:x@example.com"]
)
def test_a_next_that_is_not_a_path_goes_back_to_attention_not_to_a_500(team, flag, target):
    # redirect() reads a bare word as the name of a view: "Ada" failed to reverse.
    response = team.client_for(team.bob).post(
        url("flag_snooze", pk=flag.pk), {"preset": "tomorrow", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == url("attention")


# --- The engagement page ----------------------------------------------------------------------


def test_the_engagement_page_shows_open_flags_with_buttons_and_the_resolved_history(team, flag):
    engagement = flag.engagement
    old = Flag.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        kind=Flag.Kind.DELIVERY_OVERDUE,
        due_at=timezone.now() - timedelta(days=9),
    )
    flags.flag_dismiss(flag=old, reason="The due date was a typo", by=team.bob)
    response = team.client_for(team.alice).get(url("detail", pk=engagement.pk))
    assert [f.pk for f in response.context["open_flags"]] == [flag.pk]
    assert [f.pk for f in response.context["flag_history"]] == [old.pk]
    page = response.content.decode()
    assert 'data-testid="open-flags"' in page
    assert url("flag_snooze", pk=flag.pk) in page
    assert url("flag_dismiss", pk=flag.pk) in page
    assert 'data-testid="flag-history"' in page
    assert "Delivery overdue" in page
    assert "The due date was a typo" in page
    assert "Dismissed" in page
    assert team.bob.display_name in page


def test_a_viewer_sees_the_flags_without_buttons(team, flag):
    page = team.client_for(team.vera).get(url("detail", pk=flag.engagement_id)).content.decode()
    assert 'data-testid="open-flags"' in page
    assert url("flag_snooze", pk=flag.pk) not in page
    assert url("flag_dismiss", pk=flag.pk) not in page


def _detail_queries(client, engagement_id: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("detail", pk=engagement_id)).status_code == 200
    return len(ctx)


def test_the_engagement_pages_query_count_does_not_grow_with_the_flags(team, flag):
    client = team.client_for(team.alice)
    _detail_queries(client, flag.engagement_id)
    one = _detail_queries(client, flag.engagement_id)
    for i in range(6):
        history = Flag.objects.create(
            workspace=team.workspace,
            engagement=flag.engagement,
            kind=Flag.Kind.DELIVERY_OVERDUE,
            due_at=timezone.now() - timedelta(days=i + 1),
        )
        flags.flag_dismiss(flag=history, reason=f"Reason {i}", by=team.bob if i % 2 else team.alice)
    assert _detail_queries(client, flag.engagement_id) == one
