"""Lists on a phone, as the server renders them: every cell of a card-table names its column,
the filters sit behind a button that counts what is set, and the filters cost no extra query."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.engagements.conftest import url
from tests.factories import EngagementFactory

TOGGLE = re.compile(r'<button[^>]*data-testid="filters-toggle"[^>]*>([^<]*)</button>')


def _toggle(page: str) -> tuple[str, str]:
    """The filters button's text and its whole tag."""
    found = TOGGLE.search(page)
    assert found is not None
    return found.group(1), found.group(0)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ({}, "Filters"),
        ({"sort": "-created"}, "Filters"),  # the order is no filter
        ({"awaiting": "yes"}, "Filters (1 active)"),
        ({"q": "copy", "status": ["requested", "in_progress"], "owner": "me"}, "Filters (3 active)"),
    ],
)
def test_the_engagement_filters_button_counts_the_filters_that_apply(team, engagement, query, text):
    page = team.client_for(team.alice).get(url("list"), query).content.decode()
    shown, tag = _toggle(page)
    assert shown == text
    assert 'aria-controls="engagement-filters"' in tag and 'aria-expanded="false"' in tag
    assert 'class="collapse filters-collapse" id="engagement-filters"' in page


def test_dropped_filter_values_count_for_nothing_and_leave_the_filters_open_to_say_why(team, engagement):
    page = team.client_for(team.alice).get(url("list"), {"status": "nonsense", "awaiting": "maybe"})
    shown, tag = _toggle(page.content.decode())
    assert shown == "Filters"
    assert 'aria-expanded="true"' in tag
    assert 'class="collapse filters-collapse show" id="engagement-filters"' in page.content.decode()


def test_the_engagement_list_labels_each_cell_for_its_card(team, engagement):
    page = team.client_for(team.alice).get(url("list")).content.decode()
    table = page[page.index('data-testid="engagement-list"') :]
    row = table[
        table.index('data-testid="engagement-row"') : table.index("</tr>", table.index("engagement-row"))
    ]
    labels = re.findall(r'<td[^>]*data-label="([^"]*)"', row)
    assert labels == ["Provider", "Owner", "Status", "Priority", "Due", "Whose turn", "Fee", "Created"]
    assert 'class="table table-hover align-middle table-cards" data-testid="engagement-list"' in page


def test_in_german_the_labels_and_the_button_are_german(team, engagement):
    client = team.client_for(team.alice)
    client.cookies["django_language"] = "de"
    page = client.get(url("list"), {"q": "Landing"}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert _toggle(page)[0] == "Filter (1 aktiv)"
    assert 'data-label="Status"' in page and 'data-label="Honorar"' in page


def test_the_filters_button_adds_no_query(team, provider):
    client = team.client_for(team.alice)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider)
    client.get(url("list"))  # the first visit stores the workspace in the session
    with CaptureQueriesContext(connection) as plain:
        client.get(url("list"))
    with CaptureQueriesContext(connection) as filtered:
        shown = client.get(url("list"), {"status": engagement.status, "sort": "title"})
    assert "Filters (1 active)" in shown.content.decode(), "the same row, now with an active filter"
    assert len(filtered) == len(plain)


def test_the_providers_and_the_leaderboard_fold_their_filters_too(team, provider):
    client = team.client_for(team.alice)
    providers = client.get(
        reverse("providers:list", kwargs={"ws": "acme"}), {"kind": "freelancer"}
    ).content.decode()
    assert _toggle(providers)[0] == "Filters (1 active)"
    assert 'id="provider-filters"' in providers and "table-cards" in providers
    board = client.get(reverse("reliability:leaderboard", kwargs={"ws": "acme"})).content.decode()
    assert _toggle(board)[0] == "Filters"  # the default period is no filter
    assert 'id="leaderboard-filters"' in board


def test_a_leaderboard_filter_with_an_error_stays_open_on_a_phone(team):
    client = team.client_for(team.alice)
    board = client.get(
        reverse("reliability:leaderboard", kwargs={"ws": "acme"}), {"period": "custom"}
    ).content.decode()
    assert 'class="collapse filters-collapse show" id="leaderboard-filters"' in board
    assert 'aria-expanded="true"' in _toggle(board)[1]
