"""The reliability pages in a real Chromium: from the dashboard to the leaderboard, a sort,
a scorecard and a comparison, with charts drawn under the strict CSP and nothing in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagements import services
from engagements.reliability import snapshots
from tests.browser.conftest import pick
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _history(team, name: str, reply_hours: list[float | None]):
    provider = ProviderFactory(workspace=team.workspace, name=name)
    for i, hours in enumerate(reply_hours):
        engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
        asked = timezone.now() - timedelta(days=20 - i)
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=asked)
        if hours is not None:
            services.message_log(
                engagement=engagement,
                direction="in",
                kind="reply",
                occurred_at=asked + timedelta(hours=hours),
            )
    return provider


def test_a_manager_reads_the_reliability_pages_from_dashboard_to_comparison(page, console, team, live_server):
    _history(team, "Prompt Paula", [1, 2, 0.5, 3, 1, 2])
    _history(team, "Silent Simon", [30, None, None, 70, None, None])
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    _log_in(page, live_server, team.alice)

    page.goto(f"/w/{team.workspace.slug}/engagements/")
    page.get_by_test_id("nav-reliability").click()
    page.get_by_test_id("kpis").wait_for()
    assert page.get_by_test_id("kpi-requests").inner_text() == "12"
    figures = page.locator("figure svg[role=img]")
    assert figures.count() == 3
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100

    page.get_by_role("link", name="Providers", exact=True).last.click()
    rows = page.get_by_test_id("leaderboard-row")
    # A click starts the navigation; the counts below are read once it has drawn the new page.
    expect(rows).to_have_count(2)
    assert [rows.nth(i).locator("a").first.inner_text() for i in range(rows.count())] == [
        "Prompt Paula",
        "Silent Simon",
    ]
    page.get_by_role("link", name="Median time to reply").click()
    page.wait_for_url("**sort=median**")
    assert rows.first.locator("a").first.inner_text() == "Prompt Paula"

    rows.filter(has_text="Silent Simon").locator("a").first.click()
    page.get_by_role("heading", name="Scorecard: Silent Simon").wait_for()
    page.get_by_role("link", name="Not answered").click()
    page.wait_for_url("**show=unanswered**")
    expect(page.get_by_test_id("exchange-row")).to_have_count(4)
    page.get_by_text("Show the numbers").first.click()
    assert page.locator("details[open] table").first.is_visible()

    page.get_by_role("link", name="Compare with others").click()
    pick(page, "id_providers", ["Prompt Paula", "Silent Simon"])
    page.get_by_role("button", name="Compare").click()
    comparison = page.get_by_test_id("comparison")
    comparison.wait_for()
    assert "Silent Simon" in comparison.inner_text()
    assert page.locator("figure svg[role=img]").count() == 2
    assert console.errors == []


def _for_client(team, provider, client_name: str, reply_hours: list[float | None], days_back: int):
    """Requests to ``provider`` on engagements for ``client_name``, answered after so many hours or not at all."""
    for i, hours in enumerate(reply_hours):
        engagement = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice, client_name=client_name
        )
        asked = timezone.now() - timedelta(days=days_back - i)
        services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=asked)
        if hours is not None:
            services.message_log(
                engagement=engagement,
                direction="in",
                kind="reply",
                occurred_at=asked + timedelta(hours=hours),
            )


def test_the_leaderboard_filtered_to_a_client_by_clicking_shows_the_engines_figures_for_that_client(
    page, console, team, live_server
):
    from django.utils import translation

    from engagements.reliability import metrics
    from engagements.reliability import pages as reliability
    from engagements.templatetags.reliability_tags import business_hours, interval_range, percent

    # Each provider works for both clients, differently: the filter must change their figures.
    paula = ProviderFactory(workspace=team.workspace, name="Prompt Paula")
    simon = ProviderFactory(workspace=team.workspace, name="Silent Simon")
    _for_client(team, paula, "Globex", [1, 2, 0.5, 3], days_back=30)
    _for_client(team, paula, "Initech", [20, None, 5], days_back=20)
    _for_client(team, simon, "Globex", [None, None, 70], days_back=30)
    _for_client(team, simon, "Initech", [2, 4, 1, None, 3], days_back=20)
    ProviderFactory(workspace=team.workspace, name="Idle Ida")  # no engagement for either client
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)

    _log_in(page, live_server, team.bob)
    page.goto(f"/w/{team.workspace.slug}/reliability/")
    page.get_by_test_id("reliability-nav").get_by_role("link", name="Providers").click()
    page.get_by_label("Client").select_option("Initech")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**client=Initech**")

    board = reliability.leaderboard(
        team.workspace,
        metrics.Period.standard(metrics.DEFAULT_PERIOD),
        client_name="Initech",
        now=timezone.now(),
    )
    whole = reliability.leaderboard(
        team.workspace, metrics.Period.standard(metrics.DEFAULT_PERIOD), now=timezone.now()
    )
    rows = page.get_by_test_id("leaderboard-row")
    assert rows.count() == len(board.rows) == 2
    assert [rows.nth(i).get_attribute("data-provider") for i in range(rows.count())] == [
        str(row.provider.pk) for row in board.rows
    ]
    with translation.override("en"):
        for row in board.rows:
            m = row.m
            shown = page.locator(f'[data-testid="leaderboard-row"][data-provider="{row.provider.pk}"]')
            text = shown.inner_text().replace("\xa0", " ")
            assert row.provider.name in text
            assert (
                f"{percent(m.response_rate.point)} ({interval_range(m.response_rate)}, n = {m.response_rate.n})"
                in text
            )
            assert business_hours(m.business.median if m.business else None) in text
            assert shown.get_by_test_id("rank").inner_text().strip() == (str(row.rank) if row.rank else "—")
            unfiltered = next(w.m for w in whole.rows if w.provider == row.provider)
            assert m.response_rate.n < unfiltered.response_rate.n, "only Initech's requests are counted"
    assert console.errors == []
