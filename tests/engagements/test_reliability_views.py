"""The reliability pages: who may see them, what they show, exports, and their query counts."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
import time_machine
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from engagements import services
from engagements.models import Engagement, Flag, Message, MetricSnapshot
from engagements.reliability import snapshots
from providers.models import Provider
from tests.factories import EngagementFactory, ProviderFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def url(name: str, ws: str = "acme", **kwargs) -> str:
    return reverse(f"reliability:{name}", kwargs={"ws": ws, **kwargs})


def exchange(
    engagement: Engagement, *, days_ago: float, answered_after_hours: float | None, now: datetime = NOW
) -> None:
    """A request ``days_ago`` before ``now``, answered after so many hours, or not at all."""
    asked = now - timedelta(days=days_ago)
    with time_machine.travel(now, tick=False):
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
    by_rate = names(client.get(url("leaderboard"), {"sort": "-response_rate"}))
    assert by_rate[-1] == "Slow Sam"
    assert names(client.get(url("leaderboard"), {"sort": "response_rate"}))[0] == "Slow Sam"
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


def _attention_classes(html: str) -> dict[str, str]:
    """Each count of the dashboard's "Needs attention now" row: its button's colour."""
    return {
        testid: classes
        for classes, testid in re.findall(r'class="btn ([^"]+)"[^>]*data-testid="([a-z-]+-count)"', html)
    }


@pytest.mark.django_db
def test_an_empty_workspace_shows_its_zero_counts_in_neutral_grey_not_alarm_red(team):
    html = team.client_for(team.alice).get(url("dashboard")).content.decode()
    colours = _attention_classes(html)
    assert set(colours) >= {"reply-overdue-count", "ghosted-count", "delivery-overdue-count"}
    assert all(classes == "btn-outline-secondary" for classes in colours.values()), colours


@pytest.mark.django_db
def test_only_a_count_above_zero_is_drawn_in_its_alarm_colour(team):
    engagement = EngagementFactory(workspace=team.workspace, owner=team.alice)
    now = timezone.now()
    Flag.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        kind=Flag.Kind.DELIVERY_OVERDUE,
        due_at=now - timedelta(hours=2),
        raised_at=now - timedelta(hours=1),
    )
    html = team.client_for(team.alice).get(url("dashboard")).content.decode()
    colours = _attention_classes(html)
    assert colours["delivery-overdue-count"] == "btn-outline-warning"
    assert colours["reply-overdue-count"] == colours["ghosted-count"] == "btn-outline-secondary"


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


# --- Links, exports and the order of the leaderboard ----------------------------------------------


def _log(engagement: Engagement, kind: str, when: datetime, direction: str = Message.Direction.OUTBOUND):
    with time_machine.travel(NOW, tick=False):
        services.message_log(engagement=engagement, direction=direction, kind=kind, occurred_at=when)


@pytest.fixture
def history(team, board):
    """The board, plus an old provider seen only in the last 365 days and older requests of Quinn's."""
    olga = provider_with_history(
        team, "Old Olga", answered=0, unanswered=0, kind=Provider.Kind.VIRTUAL_ASSISTANT
    )
    for i in range(5):
        engagement = EngagementFactory(
            workspace=team.workspace, provider=olga, owner=team.alice, category="seo"
        )
        exchange(engagement, days_ago=200 + i, answered_after_hours=2)
    for i in range(3):
        engagement = EngagementFactory(
            workspace=team.workspace, provider=board["quick"], owner=team.alice, category="seo"
        )
        exchange(engagement, days_ago=120 + i, answered_after_hours=None)
    with time_machine.travel(NOW, tick=False):
        snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    return {**board, "olga": olga}


def _shown(response) -> list[tuple[str, int]]:
    return [(row.provider.name, row.m.requests) for row in response.context["page_obj"]]


def _follow(client, response, test_id: str = "", text: str = ""):
    """GET a link of the page (by data-testid, or by its text) as a browser would, from the page's URL."""
    html = response.content.decode()
    if test_id:
        match = re.search(rf'<a [^>]*href="([^"]*)"[^>]*data-testid="{test_id}"', html)
    else:
        match = re.search(rf'<a [^>]*href="([^"]*)"[^>]*>\s*{re.escape(text)}\s*</a>', html)
    assert match, f"no link {test_id or text}"
    target = urlsplit(urljoin(response.wsgi_request.get_full_path(), unescape(match.group(1))))
    return client.get(target.path, QueryDict(target.query))


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


START_250, END_100 = (
    (NOW - timedelta(days=250)).date().isoformat(),
    (NOW - timedelta(days=100)).date().isoformat(),
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "names_shown", "period_in_name"),
    [
        ({}, ["Quick Quinn", "Slow Sam", "New Nora"], "90"),
        ({"period": "365"}, ["Old Olga", "Quick Quinn", "Slow Sam", "New Nora"], "365"),
        ({"period": "custom", "start": START_250, "end": END_100}, ["Old Olga", "Quick Quinn"], START_250),
        ({"category": "web_design"}, ["Slow Sam"], "90"),
        ({"kind": Provider.Kind.AGENCY}, ["Slow Sam"], "90"),
        ({"sort": "name"}, ["New Nora", "Quick Quinn", "Slow Sam"], "90"),
        # Slow Sam answered too few for a median: last, whichever way.
        ({"sort": "-median"}, ["Quick Quinn", "New Nora", "Slow Sam"], "90"),
        (
            {"period": "365", "kind": Provider.Kind.FREELANCER, "category": "seo", "sort": "name"},
            ["New Nora", "Quick Quinn"],
            "365",
        ),
    ],
)
def test_the_export_links_download_exactly_the_rows_and_period_the_page_shows(
    team, history, params, names_shown, period_in_name
):
    client = team.client_for(team.bob)
    page = client.get(url("leaderboard"), params)
    assert [name for name, _requests in _shown(page)] == names_shown
    csv_file = _follow(client, page, "export-csv")
    assert csv_file["Content-Type"].startswith("text/csv")
    assert period_in_name in csv_file["Content-Disposition"]
    rows = _csv_rows(csv_file)
    requests = rows[0].index("Requests")
    assert [(r[1], int(r[requests])) for r in rows[1:]] == _shown(page)
    xlsx_file = _follow(client, page, "export-xlsx")
    assert period_in_name in xlsx_file["Content-Disposition"]
    sheet = list(load_workbook(io.BytesIO(xlsx_file.content)).active.iter_rows(values_only=True))
    assert [(r[1], r[requests]) for r in sheet[1:]] == _shown(page)


@pytest.mark.django_db
def test_the_export_states_shares_in_percent_and_keeps_the_spend_of_every_currency(team, board):
    def completed(provider, amount: str, currency: str) -> None:
        EngagementFactory(
            workspace=team.workspace,
            provider=provider,
            category="seo",
            status=Engagement.Status.COMPLETED,
            completed_at=NOW - timedelta(days=3),
            fee_amount=Decimal(amount),
            fee_currency=currency,
        )

    completed(board["quick"], "500.00", "EUR")
    completed(board["quick"], "120.00", "EUR")
    completed(board["slow"], "300.00", "USD")
    completed(board["slow"], "100.00", "EUR")
    completed(board["new"], "5000.00", "JPY")
    with time_machine.travel(NOW, tick=False):
        snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    client = team.client_for(team.alice)
    rows = _csv_rows(client.get(url("leaderboard"), {"format": "csv"}))
    header = rows[0]
    assert "Spend (EUR)" in header and "Spend (USD)" in header
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_name["Slow Sam"]["Spend (USD)"] == "300.00"
    assert by_name["Slow Sam"]["Spend (EUR)"] == "100.00"
    assert by_name["Quick Quinn"]["Spend (EUR)"] == "620.00"
    assert by_name["Quick Quinn"]["Spend (USD)"] == ""
    assert by_name["New Nora"]["Spend (JPY)"] == "5000"  # yen have no minor unit, as on the page
    assert by_name["Slow Sam"]["Response rate (%)"] == "33.3"  # 2 of 6, as "33 %" on the page
    assert by_name["Quick Quinn"]["Response rate (%)"] == "100.0"

    sheet = list(
        load_workbook(io.BytesIO(client.get(url("leaderboard"), {"format": "xlsx"}).content)).active.values
    )
    xlsx = {r[1]: dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]}
    assert xlsx["Slow Sam"]["Spend (USD)"] == 300
    assert xlsx["Slow Sam"]["Response rate (%)"] == 33.3


@pytest.mark.django_db
def test_providers_without_enough_data_get_no_rank_and_follow_every_scored_provider(team, board):
    client = team.client_for(team.alice)

    def ranks(response) -> list[tuple[str, int | None]]:
        return [(row.provider.name, row.rank) for row in response.context["page_obj"]]

    by_name = client.get(url("leaderboard"), {"sort": "name"})
    assert ranks(by_name) == [("New Nora", None), ("Quick Quinn", 1), ("Slow Sam", 2)]
    first_rank_cell = re.search(r'data-testid="rank">(.*?)</td>', by_name.content.decode()).group(1)
    assert "—" in first_rank_cell
    worst_first = client.get(url("leaderboard"), {"sort": "score"})
    assert ranks(worst_first) == [("Slow Sam", 2), ("Quick Quinn", 1), ("New Nora", None)]


@pytest.mark.django_db
def test_the_leaderboard_arrows_point_up_for_ascending_and_down_for_descending(team, board):
    client = team.client_for(team.alice)

    def header(response, key: str) -> str:
        return re.search(
            rf'<th [^>]*>\s*<a [^>]*data-sort="{key}".*?</th>', response.content.decode(), re.S
        ).group(0)

    best_first = client.get(url("leaderboard"))
    score = header(best_first, "score")
    assert 'aria-sort="descending"' in score and "▼" in score and "▲" not in score
    assert response_columns(best_first)["score"].next == "score"  # a click turns it around
    assert response_columns(best_first)["response_rate"].next == "-response_rate"  # best first
    assert response_columns(best_first)["median"].next == "median"  # quickest first
    quickest = client.get(url("leaderboard"), {"sort": "median"})
    median = header(quickest, "median")
    assert 'aria-sort="ascending"' in median and "▲" in median
    assert "aria-sort" not in header(quickest, "score")


def response_columns(response):
    return response.context["columns"]


# --- The scorecard's requests ----------------------------------------------------------------------


@pytest.fixture
def ladder(team):
    """One request of a provider in each state, as of NOW (Friday noon; the default policy:
    reply within 2 business days, ghosted 2 business days after the second unanswered follow-up)."""
    provider = ProviderFactory(workspace=team.workspace, name="Lena Ladder")

    def engagement() -> Engagement:
        return EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)

    within, late, overdue, ghosted, not_due = (engagement() for _ in range(5))
    _log(within, Message.Kind.REQUEST, NOW - timedelta(days=10))
    _log(within, Message.Kind.REPLY, NOW - timedelta(days=10, hours=-1), Message.Direction.INBOUND)
    _log(late, Message.Kind.REQUEST, NOW - timedelta(days=25))
    _log(late, Message.Kind.REPLY, NOW - timedelta(days=15), Message.Direction.INBOUND)
    _log(overdue, Message.Kind.REQUEST, NOW - timedelta(days=14))
    _log(overdue, Message.Kind.FOLLOW_UP, NOW - timedelta(days=7))
    _log(ghosted, Message.Kind.REQUEST, NOW - timedelta(days=40))
    for days in (33, 26, 19):
        _log(ghosted, Message.Kind.FOLLOW_UP, NOW - timedelta(days=days))
    _log(not_due, Message.Kind.REQUEST, NOW - timedelta(hours=2))
    return provider


@pytest.mark.django_db
def test_each_scorecard_request_says_where_it_stands_with_its_follow_ups(team, ladder):
    response = team.client_for(team.alice).get(url("scorecard", pk=ladder.pk))
    html = response.content.decode()
    assert html.count("not due yet") == 1
    assert html.count(">overdue</span>") == 1
    assert html.count(">ghosted</span>") == 1
    assert "3 follow-ups unanswered" in html
    assert "1 follow-up unanswered" in html

    states = {x.engagement.title: state for x, state in response.context["exchange_rows"]}
    titles = [e.title for e in Engagement.objects.filter(provider=ladder).order_by("pk")]
    assert [states[t] for t in titles] == ["within", "late", "overdue", "ghosted", "not_due"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tab", "show", "states"),
    [
        ("Outside the policy", "late", {"late", "overdue", "ghosted"}),
        ("Within the policy", "within", {"within"}),
        ("Not answered", "unanswered", {"overdue", "ghosted", "not_due"}),
        ("Answered", "answered", {"within", "late"}),
    ],
)
def test_the_scorecard_tabs_follow_the_same_rule_as_the_states(team, ladder, tab, show, states):
    client = team.client_for(team.alice)
    everything = client.get(url("scorecard", pk=ladder.pk))
    tab = _follow(client, everything, text=tab)
    assert tab.context["show"] == show
    shown = {str(state) for _x, state in tab.context["exchange_rows"]}
    assert shown == states
    expected = sum(1 for _x, state in everything.context["exchange_rows"] if state in states)
    assert len(tab.context["exchange_rows"]) == expected


@pytest.mark.django_db
def test_a_scorecard_tab_keeps_the_period_chosen(team, ladder):
    client = team.client_for(team.alice)
    page = client.get(url("scorecard", pk=ladder.pk), {"period": "30"})
    tab = _follow(client, page, text="Outside the policy")
    assert tab.context["period"].key == "30"
    assert tab.context["show"] == "late"
    assert len(tab.context["exchange_rows"]) == 2  # the 40-day-old ghosted request is out of the period


@pytest.mark.django_db
def test_comparing_with_a_provider_silent_in_the_period_shows_dashes_not_an_error(team, board):
    quiet = ProviderFactory(workspace=team.workspace, name="Quiet Quentin")
    response = team.client_for(team.alice).get(url("compare"), {"providers": [board["quick"].pk, quiet.pk]})
    assert response.status_code == 200
    assert [p.name for p, _m in response.context["columns"]] == ["Quick Quinn", "Quiet Quentin"]


@pytest.mark.django_db
def test_a_provider_with_spend_but_no_requests_in_the_period_is_listed_without_an_error(team, board):
    paid = ProviderFactory(workspace=team.workspace, name="Paid Petra")
    EngagementFactory(
        workspace=team.workspace,
        provider=paid,
        status=Engagement.Status.COMPLETED,
        completed_at=NOW - timedelta(days=2),
        fee_amount=Decimal("80.00"),
        fee_currency="EUR",
    )
    with time_machine.travel(NOW, tick=False):
        snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    response = team.client_for(team.alice).get(url("leaderboard"))
    assert response.status_code == 200
    assert "Paid Petra" in names(response)
    rows = _csv_rows(team.client_for(team.alice).get(url("leaderboard"), {"format": "csv"}))
    petra = next(r for r in rows if r[1] == "Paid Petra")
    assert petra[rows[0].index("Spend (EUR)")] == "80.00"


@pytest.mark.django_db
def test_a_score_is_the_same_before_and_after_the_background_refresh(team):
    # Two providers whose own shares differ widely from the workspace's.
    slow = provider_with_history(team, "Slow Sam", answered=1, unanswered=5)
    provider_with_history(team, "Quick Quinn", answered=12, unanswered=0)
    client = team.client_for(team.alice)
    assert not MetricSnapshot.objects.exists()
    before = client.get(url("scorecard", pk=slow.pk)).context["m"].score

    MetricSnapshot.objects.all().delete()
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    after = client.get(url("scorecard", pk=slow.pk)).context["m"].score
    stored = MetricSnapshot.objects.get(provider=slow, period="90", category="")
    assert before is not None and after is not None
    assert before.value == after.value == stored.score


def test_compare_with_others_from_a_scorecard_starts_with_that_provider_chosen_and_no_error(team, board):
    client = team.client_for(team.alice)
    scorecard = client.get(reverse("reliability:scorecard", kwargs={"ws": "acme", "pk": board["quick"].pk}))
    link = f"{url('compare')}?start={board['quick'].pk}"
    assert link in scorecard.content.decode()
    page = client.get(link)
    assert page.context["form"].initial == {"providers": [board["quick"].pk]}
    assert not page.context["form"].is_bound and page.context["columns"] == []
    assert "Choose between two and four providers." not in page.content.decode()
    assert f'<option value="{board["quick"].pk}" selected>' in page.content.decode()


@pytest.mark.django_db
def test_the_leaderboard_shows_a_refreshed_providers_new_figures_not_the_ones_decoded_before(team, board):
    """Decoded figures are kept by the payload's text: a refresh writes new text, so new figures."""
    client = team.client_for(team.alice)
    before = client.get(url("leaderboard")).context["board"]
    quinn = next(row for row in before.rows if row.provider.name == "Quick Quinn")
    assert quinn.m.requests == 6
    exchange(Engagement.objects.filter(provider=quinn.provider).get(), days_ago=3, answered_after_hours=None)
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    after = client.get(url("leaderboard")).context["board"]
    assert next(row for row in after.rows if row.provider.name == "Quick Quinn").m.requests == 7


@pytest.mark.django_db
def test_figures_read_from_the_payloads_text_equal_those_decoded_from_the_payload(team, board):
    from engagements.reliability import payload

    as_text = snapshots.snapshots_read(workspace_id=team.workspace.pk, period="90", as_text=True)
    decoded = snapshots.snapshots_read(workspace_id=team.workspace.pk, period="90")
    assert as_text.providers
    for pk, snapshot in as_text.providers.items():
        assert snapshots.figures_of(snapshot) == payload.figures_from_payload(decoded.providers[pk].payload)


# --- The scorecard's client filter --------------------------------------------------------------


@pytest.fixture
def two_clients(team):
    """One provider working for two clients: quick for Globex, slow and often silent for Initech."""
    provider = ProviderFactory(workspace=team.workspace, name="Split Sue")
    globex = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, client_name="Globex"
    )
    for i in range(4):
        exchange(globex, days_ago=20 - i, answered_after_hours=1 + i)
    for i in range(3):
        initech = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice, client_name="Initech"
        )
        exchange(initech, days_ago=10 - i, answered_after_hours=None if i else 30)
    return provider


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["Globex", "Initech"])
def test_the_scorecard_filtered_to_a_client_shows_the_engines_figures_for_that_clients_engagements(
    team, two_clients, client_name
):
    from engagements.reliability import metrics
    from engagements.reliability import pages as reliability
    from engagements.templatetags.reliability_tags import business_hours, percent

    response = team.client_for(team.bob).get(
        url("scorecard", pk=two_clients.pk), {"period": "90", "client": client_name}
    )
    expected = reliability.scorecard(
        team.workspace,
        two_clients,
        metrics.Period.standard("90"),
        now=timezone.now(),
        zone=timezone.get_current_timezone(),
        client_name=client_name,
    ).m
    whole = reliability.scorecard(
        team.workspace,
        two_clients,
        metrics.Period.standard("90"),
        now=timezone.now(),
        zone=timezone.get_current_timezone(),
    ).m
    m = response.context["m"]
    assert (m.requests, m.replies, m.response_rate, m.within_policy) == (
        expected.requests,
        expected.replies,
        expected.response_rate,
        expected.within_policy,
    )
    assert m.requests < whole.requests, "only that client's requests"
    html = unescape(response.content.decode())
    assert percent(expected.response_rate.point) in html
    assert business_hours(expected.business.median if expected.business else None) in html
    # The requests behind the numbers are that client's too, and the choice is offered and kept.
    shown = list(response.context["page_obj"])
    assert len(shown) == expected.requests
    assert {x.engagement.client_name for x in shown} == {client_name}
    assert f'<option value="{client_name}" selected>' in html
    assert '<option value="Globex"' in html and '<option value="Initech"' in html


@pytest.mark.django_db
def test_a_client_the_workspace_never_had_says_so_and_shows_every_engagement(team, two_clients):
    response = team.client_for(team.alice).get(url("scorecard", pk=two_clients.pk), {"client": "Nobody"})
    assert response.status_code == 200
    assert response.context["form"].errors["client"]
    assert response.context["m"].requests == 7


@pytest.mark.django_db
def test_the_scorecard_filtered_to_a_client_costs_no_more_queries_with_more_requests(
    team, two_clients, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = team.client_for(team.alice)
    page = url("scorecard", pk=two_clients.pk) + "?client=Initech"
    client.get(page)
    with CaptureQueriesContext(connection) as few:
        client.get(page)
    for i in range(5):
        more = EngagementFactory(
            workspace=team.workspace, provider=two_clients, owner=team.alice, client_name="Initech"
        )
        exchange(more, days_ago=30 + i, answered_after_hours=None if i % 2 else 3)
    with django_assert_max_num_queries(len(few)):
        response = client.get(page)
    assert response.context["m"].requests == 8
