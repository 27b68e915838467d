"""The provider list: search, filters, sorting, pagination, empty states, query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers import services
from providers.models import Provider

URL = reverse("providers:list", kwargs={"ws": "acme"})


def names(response) -> list[str]:
    return [p.name for p in response.context["providers"]]


def add(team, name, **fields):
    return services.provider_create(workspace=team.workspace, name=name, **fields)


@pytest.fixture
def registry(team):
    add(team, "Ada", kind="freelancer", country="DE", skills=["seo"], emails=["ada@mail.example"])
    add(team, "Bea", kind="agency", company="Bea Media", country="PH", skills=["Copy editing"])
    add(team, "Cid", kind="virtual_assistant", country="PH", notes="Great with spreadsheets")
    add(team, "Dot", status=Provider.Status.ARCHIVED, country="US")
    add(team, "Eve", status=Provider.Status.PAUSED, skills=["SEO", "web_design"])


def get(team, **params):
    return team.client_for(team.alice).get(URL, params)


def test_the_list_shows_everything_but_archived_by_default(team, registry):
    assert names(get(team)) == ["Ada", "Bea", "Cid", "Eve"]


def test_choosing_archived_shows_the_archived(team, registry):
    assert names(get(team, status="archived")) == ["Dot"]


def test_any_status_shows_all(team, registry):
    assert names(get(team, status="all")) == ["Ada", "Bea", "Cid", "Dot", "Eve"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("ADA", ["Ada"]), ("media", ["Bea"]), ("mail.example", ["Ada"]), ("SPREADSHEET", ["Cid"])],
)
def test_search_looks_at_name_company_email_and_notes(team, registry, q, expected):
    assert names(get(team, q=q)) == expected


def test_the_kind_filter(team, registry):
    assert names(get(team, kind="agency")) == ["Bea"]


def test_the_skill_filter_takes_a_category_code(team, registry):
    assert names(get(team, skill="web_design")) == ["Eve"]


def test_the_skill_filter_takes_a_free_tag(team, registry):
    assert names(get(team, skill="Copy editing")) == ["Bea"]


def test_the_country_filter(team, registry):
    assert names(get(team, country="PH")) == ["Bea", "Cid"]


def test_filters_combine(team, registry):
    assert names(get(team, country="PH", kind="agency")) == ["Bea"]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "robot"},
        {"status": "gone"},
        {"skill": "<script>"},
        {"country": "XX"},
        {"sort": "password"},
        {"sort": "-"},
        {"page": "abc"},
        {"page": "9999"},
        {"q": "x" * 500},
    ],
)
def test_invalid_filter_values_are_ignored(team, registry, params):
    response = get(team, **params)
    assert response.status_code == 200
    if "q" not in params:
        assert names(response) == ["Ada", "Bea", "Cid", "Eve"]


def test_sorting_by_kind(team, registry):
    assert names(get(team, sort="kind")) == ["Bea", "Ada", "Eve", "Cid"]


def test_sorting_descending_by_name_shows_the_arrow(team, registry):
    response = get(team, sort="-name")
    assert names(response) == ["Eve", "Cid", "Bea", "Ada"]
    assert 'aria-sort="descending"' in response.content.decode()
    assert response.context["columns"]["name"].next == "name"


def test_sorting_by_country_and_status(team, registry):
    assert names(get(team, sort="country"))[:2] == ["Eve", "Ada"]  # no country sorts first
    assert names(get(team, sort="-status")) == ["Eve", "Ada", "Bea", "Cid"]


def test_sort_links_keep_the_filters_and_drop_the_page(team, registry):
    content = get(team, kind="agency", page="1").content.decode()
    assert 'href="?kind=agency&amp;sort=country"' in content


def test_the_list_is_paginated_by_25(team):
    for i in range(27):
        add(team, f"P{i:02}")
    response = get(team)
    assert len(response.context["providers"]) == 25
    assert 'href="?page=2"' in response.content.decode()
    assert names(get(team, page=2)) == ["P25", "P26"]


def test_an_empty_workspace_invites_to_add_the_first(team):
    content = get(team).content.decode()
    assert "No providers yet" in content
    assert reverse("providers:create", kwargs={"ws": "acme"}) in content


def test_a_viewer_sees_no_add_button(team):
    content = team.client_for(team.vera).get(URL).content.decode()
    assert "No providers yet" in content
    assert reverse("providers:create", kwargs={"ws": "acme"}) not in content


def test_no_match_says_so_and_offers_to_clear(team, registry):
    content = get(team, q="nobody").content.decode()
    assert "No providers match these filters." in content


def test_a_row_shows_skills_country_rate_and_status(team):
    add(
        team,
        "Ada",
        company="Analytical Ltd",
        country="DE",
        time_zone="Europe/Berlin",
        skills=["seo", "Copy editing"],
        rate_amount="45.50",
        rate_currency="EUR",
        status=Provider.Status.PAUSED,
    )
    content = get(team).content.decode()
    for text in ["Analytical Ltd", "SEO", "Copy editing", "Germany", "Europe/Berlin", "€45.50", "Paused"]:
        assert text in content


def test_providers_of_other_workspaces_never_show(team):
    services.provider_create(workspace=team.other_workspace, name="Charlie's contractor")
    add(team, "Ada")
    assert names(get(team, status="all")) == ["Ada"]


def _count_queries(client) -> int:
    client.get(URL)  # warm-up: the session is written once
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"sort": "country"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_rows(team):
    client = team.client_for(team.alice)
    for i in range(2):
        add(team, f"A{i}", skills=["seo", f"tag{i}"], emails=[f"a{i}@example.net"], country="DE")
    with_two = _count_queries(client)
    for i in range(2, 20):
        add(team, f"A{i}", skills=["seo", f"tag{i}"], emails=[f"a{i}@example.net"], country="FR")
    with_twenty = _count_queries(client)
    assert with_two == with_twenty
