"""The reliability pages: who may see them, what they show, exports, and their query counts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from engagements import services
from engagements.models import Engagement, Message
from engagements.reliability import snapshots
from providers.models import Provider
from tests.factories import EngagementFactory, ProviderFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def url(name: str, ws: str = "acme", **kwargs) -> str:
    return reverse(f"reliability:{name}", kwargs={"ws": ws, **kwargs})


def exchange(engagement: Engagement, *, days_ago: float, answered_after_hours: float | None) -> None:
    """A request, answered after so many hours, or not at all."""
    asked = NOW - timedelta(days=days_ago)
    with time_machine.travel(NOW, tick=False):
        services.message_log(
            engagement=engagement,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.REQUEST,
            occurred_at=asked,
        )
        if answered_after_hours is not None:
            services.message_log(
                engagement=engagement,
                direction=Message.Direction.INBOUND,
                kind=Message.Kind.REPLY,
                occurred_at=asked + timedelta(hours=answered_after_hours),
            )


def provider_with_history(
    team,
    name: str,
    *,
    answered: int,
    unanswered: int,
    kind: str = Provider.Kind.FREELANCER,
    category: str = "seo",
) -> Provider:
    provider = ProviderFactory(workspace=team.workspace, name=name, kind=kind)
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, category=category
    )
    for i in range(answered):
        exchange(engagement, days_ago=20 - i, answered_after_hours=1 + i)
    # Each in its own engagement: a second request while one waits would be a follow-up.
    for i in range(unanswered):
        waiting = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice, category=category
        )
        exchange(waiting, days_ago=5 - i * 0.1, answered_after_hours=None)
    return provider


@pytest.fixture
def board(team):
    """Three providers with different habits, their snapshots computed."""
    quick = provider_with_history(team, "Quick Quinn", answered=6, unanswered=0)
    slow = provider_with_history(
        team, "Slow Sam", answered=2, unanswered=4, kind=Provider.Kind.AGENCY, category="web_design"
    )
    new = provider_with_history(team, "New Nora", answered=1, unanswered=0)
    with time_machine.travel(NOW, tick=False):
        snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    return {"quick": quick, "slow": slow, "new": new}


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        yield


# --- Access -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dashboard", "leaderboard", "compare"])
def test_every_member_may_read_the_pages_and_outsiders_get_a_404(team, board, name):
    for user in (team.alice, team.bob, team.vera):
        assert team.client_for(user).get(url(name)).status_code == 200
    assert team.client_for(team.charlie).get(url(name)).status_code == 404
    assert team.client_for(None).get(url(name)).status_code == 302


@pytest.mark.django_db
def test_a_scorecard_is_there_for_members_and_a_404_for_anyone_else(team, board):
    page = url("scorecard", pk=board["quick"].pk)
    for user in (team.alice, team.bob, team.vera):
        assert team.client_for(user).get(page).status_code == 200
    assert team.client_for(team.charlie).get(page).status_code == 404
    foreign = ProviderFactory(workspace=team.other_workspace)
    assert team.client_for(team.alice).get(url("scorecard", pk=foreign.pk)).status_code == 404


# --- Leaderboard ----------------------------------------------------------------------------


def names(response) -> list[str]:
    return [row.provider.name for row in response.context["page_obj"]]


@pytest.mark.django_db
def test_the_leaderboard_ranks_by_score_and_says_when_data_is_too_thin(team, board):
    response = team.client_for(team.bob).get(url("leaderboard"))
    assert names(response) == ["Quick Quinn", "Slow Sam", "New Nora"]
    html = response.content.decode()
    assert "not enough data" in html  # New Nora: one data point
    rows = {row.provider.name: row.m for row in response.context["page_obj"]}
    assert rows["Quick Quinn"].score.value > rows["Slow Sam"].score.value
    assert rows["New Nora"].score.value is None


@pytest.mark.django_db
def test_the_leaderboard_sorts_by_any_column_and_filters_by_kind_and_category(team, board):
    client = team.client_for(team.alice)
    assert names(client.get(url("leaderboard"), {"sort": "name"})) == ["New Nora", "Quick Quinn", "Slow Sam"]
    assert names(client.get(url("leaderboard"), {"sort": "-name"})) == ["Slow Sam", "Quick Quinn", "New Nora"]
    by_rate = names(client.get(url("leaderboard"), {"sort": "response_rate"}))
    assert by_rate[-1] == "Slow Sam"
    assert names(client.get(url("leaderboard"), {"kind": Provider.Kind.AGENCY})) == ["Slow Sam"]
    assert names(client.get(url("leaderboard"), {"category": "web_design"})) == ["Slow Sam"]


@pytest.mark.django_db
def test_custom_dates_are_computed_live_with_the_same_figures(team, board):
    client = team.client_for(team.alice)
    snapshot = client.get(url("leaderboard"), {"period": "all"})
    start = (NOW - timedelta(days=60)).date().isoformat()
    live = client.get(url("leaderboard"), {"period": "custom", "start": start, "end": NOW.date().isoformat()})
    assert live.context["board"].computed_at is None
    assert [(r.provider.name, r.m.requests, r.m.replies) for r in live.context["page_obj"]] == [
        (r.provider.name, r.m.requests, r.m.replies) for r in snapshot.context["page_obj"]
    ]


@pytest.mark.django_db
def test_bad_dates_say_what_is_wrong_and_show_the_default_period(team, board):
    response = team.client_for(team.alice).get(
        url("leaderboard"), {"period": "custom", "start": "2026-11-20", "end": "2026-11-01"}
    )
    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert response.context["period"].key == "90"
    assert (
        team.client_for(team.alice)
        .get(url("leaderboard"), {"period": "custom", "start": "nonsense"})
        .status_code
        == 200
    )


@pytest.mark.django_db
def test_the_csv_export_holds_exactly_the_rows_shown(team, board):
    response = team.client_for(team.bob).get(
        url("leaderboard"), {"format": "csv", "kind": Provider.Kind.FREELANCER}
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "Provider", "Kind"]
    assert [r[1] for r in rows[1:]] == ["Quick Quinn", "New Nora"]


@pytest.mark.django_db
def test_the_xlsx_export_holds_the_same_table(team, board):
    response = team.client_for(team.bob).get(url("leaderboard"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][1] == "Provider"
    assert [v[1] for v in values[1:]] == ["Quick Quinn", "Slow Sam", "New Nora"]
    assert values[1][5] == 6  # Quick Quinn's requests, a number, not text


@pytest.mark.django_db
def test_the_leaderboard_says_when_recent_changes_are_not_counted_yet(team, board):
    exchange(Engagement.objects.filter(provider=board["new"]).get(), days_ago=1, answered_after_hours=None)
    assert snapshots.snapshots_read(workspace_id=team.workspace.pk, period="90").pending
    response = team.client_for(team.alice).get(url("leaderboard"))
    assert 'data-testid="pending"' in response.content.decode()


@pytest.mark.django_db
def test_the_leaderboards_query_count_does_not_grow_with_providers(
    team, board, django_assert_max_num_queries
):
    client = team.client_for(team.alice)
    client.get(url("leaderboard"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url("leaderboard"))
    for i in range(5):
        provider_with_history(team, f"Extra {i}", answered=2, unanswered=1)
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url("leaderboard"))
    assert len(response.context["page_obj"]) == 8


# --- Dashboard, scorecard, compare ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_shows_the_workspace_figures_charts_and_the_naive_mean_once(team, board):
    response = team.client_for(team.bob).get(url("dashboard"))
    m = response.context["m"]
    assert (m.requests, m.replies) == (13, 9)
    html = response.content.decode()
    assert html.count("<figure") == 3
    assert html.count('data-testid="naive-mean"') == 1
    assert 'data-testid="attention-summary"' in html
    # Month by month, and the providers to watch: the lowest scores with enough data first.
    assert sum(month.requests for month in response.context["data"].trend) == 13
    assert 'data-testid="trend"' in html
    watch = [provider.name for provider, _score in response.context["data"].watch]
    assert watch == ["Slow Sam", "Quick Quinn"]
    assert html.index("Slow Sam") < html.index("Quick Quinn")


@pytest.mark.django_db
def test_a_new_workspace_gets_an_empty_dashboard_that_says_so(team):
    response = team.client_for(team.alice).get(url("dashboard"))
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in response.content.decode()


@pytest.mark.django_db
def test_the_dashboards_query_count_does_not_grow_with_providers(team, board, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = team.client_for(team.alice)
    client.get(url("dashboard"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("dashboard"))
    for i in range(4):
        provider_with_history(team, f"Extra {i}", answered=1, unanswered=2)
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    with django_assert_max_num_queries(len(few)):
        client.get(url("dashboard"))


@pytest.mark.django_db
def test_the_scorecard_shows_the_survival_curves_and_the_requests_behind_them(team, board):
    slow = board["slow"]
    client = team.client_for(team.alice)
    response = client.get(url("scorecard", pk=slow.pk))
    m = response.context["m"]
    assert (m.requests, m.replies) == (6, 2)
    assert m.business.curve is not None
    html = response.content.decode()
    assert html.count("<figure") == 4
    assert len(response.context["page_obj"]) == 6
    unanswered = client.get(url("scorecard", pk=slow.pk), {"show": "unanswered"})
    assert len(unanswered.context["page_obj"]) == 4
    assert all(x.replied_at is None for x in unanswered.context["page_obj"])
    engagement = Engagement.objects.filter(provider=slow).first()
    assert reverse("engagements:detail", kwargs={"ws": "acme", "pk": engagement.pk}) in html


@pytest.mark.django_db
def test_the_scorecards_query_count_does_not_grow_with_its_requests(
    team, board, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = team.client_for(team.alice)
    page = url("scorecard", pk=board["slow"].pk)
    client.get(page)
    with CaptureQueriesContext(connection) as few:
        client.get(page)
    engagement = EngagementFactory(workspace=team.workspace, provider=board["slow"], category="seo")
    for i in range(5):
        exchange(engagement, days_ago=30 + i, answered_after_hours=None if i % 2 else 3)
    with django_assert_max_num_queries(len(few)):
        client.get(page)


@pytest.mark.django_db
def test_compare_puts_two_to_four_providers_side_by_side(team, board):
    client = team.client_for(team.bob)
    response = client.get(url("compare"), {"providers": [board["quick"].pk, board["slow"].pk]})
    columns = response.context["columns"]
    assert [p.name for p, _m in columns] == ["Quick Quinn", "Slow Sam"]
    assert [m.requests for _p, m in columns] == [6, 6]
    assert response.content.decode().count("<figure") == 2
    one = client.get(url("compare"), {"providers": [board["quick"].pk]})
    assert "Choose between two and four providers." in one.content.decode()
    foreign = ProviderFactory(workspace=team.other_workspace)
    sneaky = client.get(url("compare"), {"providers": [board["quick"].pk, foreign.pk]})
    assert sneaky.context["columns"] == []


@pytest.mark.django_db
def test_comparing_four_providers_costs_no_more_queries_than_two(team, board, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    extra = provider_with_history(team, "Extra Emma", answered=3, unanswered=1)
    client = team.client_for(team.alice)
    two = {"providers": [board["quick"].pk, board["slow"].pk]}
    client.get(url("compare"), two)
    with CaptureQueriesContext(connection) as few:
        client.get(url("compare"), two)
    four = {"providers": [board["quick"].pk, board["slow"].pk, board["new"].pk, extra.pk]}
    with django_assert_max_num_queries(len(few)):
        response = client.get(url("compare"), four)
    assert len(response.context["columns"]) == 4


@pytest.mark.django_db
def test_each_compared_provider_gets_its_own_monthly_trend(team, board):
    from engagements.reliability import pages as reliability
    from engagements.reliability.metrics import Period

    figures, trends = reliability.comparison(
        team.workspace, [board["quick"], board["slow"]], Period.standard("90", NOW), now=NOW, zone=UTC
    )
    assert sum(m.requests for m in trends[board["quick"].pk]) == figures[board["quick"].pk].requests == 6
    assert sum(m.requests for m in trends[board["slow"].pk]) == 6


@pytest.mark.django_db
def test_the_dashboard_narrows_to_a_category_or_an_owner(team, board):
    client = team.client_for(team.alice)
    web = client.get(url("dashboard"), {"category": "web_design"})
    assert web.context["m"].requests == 6  # Slow Sam's
    assert web.context["data"].computed_at is None  # computed live
    bobs = client.get(url("dashboard"), {"owner": team.bob.pk})
    assert bobs.context["m"].requests == 0
    alices = client.get(url("dashboard"), {"owner": team.alice.pk})
    assert alices.context["m"].requests == 13
    # Somebody of another workspace is no choice here: the form says so, the page stays.
    foreign = client.get(url("dashboard"), {"owner": team.charlie.pk})
    assert foreign.status_code == 200
    assert foreign.context["m"].requests == 13
    assert "owner" in foreign.context["form"].errors
