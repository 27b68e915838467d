"""The engagement list: access, filters, sorting, pagination, constant queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from engagements import services
from providers.models import Provider
from tests.engagements.conftest import url
from tests.factories import EngagementFactory, ProviderFactory


def titles(response) -> list[str]:
    return [e.title for e in response.context["page_obj"]]


def test_an_anonymous_visitor_is_sent_to_log_in(team):
    response = team.client_for(None).get(url("list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_members_of_every_role_see_the_list(team, engagement, who):
    response = team.client_for(getattr(team, who)).get(url("list"))
    assert response.status_code == 200
    assert "Landing page copy" in response.content.decode()


def test_an_outsider_gets_a_404(team, engagement):
    assert team.client_for(team.charlie).get(url("list")).status_code == 404


def test_the_list_shows_only_this_workspaces_engagements(team, engagement):
    EngagementFactory(workspace=team.other_workspace, title="Secret of Other Co")
    response = team.client_for(team.alice).get(url("list"))
    assert titles(response) == ["Landing page copy"]


def test_the_empty_state_offers_to_delegate_to_members_only(team):
    member_page = team.client_for(team.bob).get(url("list")).content.decode()
    viewer_page = team.client_for(team.vera).get(url("list")).content.decode()
    assert 'data-testid="empty-state"' in member_page
    assert url("create") in member_page
    assert url("create") not in viewer_page


def test_it_filters_by_status(team, provider):
    EngagementFactory(workspace=team.workspace, provider=provider, title="A", status="draft")
    EngagementFactory(workspace=team.workspace, provider=provider, title="B", status="completed")
    EngagementFactory(workspace=team.workspace, provider=provider, title="C", status="requested")
    client = team.client_for(team.alice)
    assert titles(client.get(url("list"), {"status": "draft", "sort": "title"})) == ["A"]
    both = client.get(url("list") + "?status=draft&status=completed&sort=title")
    assert titles(both) == ["A", "B"]


def test_it_filters_by_provider_owner_category_and_search(team, provider):
    other = ProviderFactory(workspace=team.workspace, name="Zed Agency")
    EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Mine", category="seo"
    )
    EngagementFactory(
        workspace=team.workspace, provider=other, owner=team.bob, title="Bobs", client_name="Globex"
    )
    client = team.client_for(team.alice)
    assert titles(client.get(url("list"), {"provider": other.pk})) == ["Bobs"]
    assert titles(client.get(url("list"), {"owner": "me"})) == ["Mine"]
    assert titles(client.get(url("list"), {"owner": team.bob.pk})) == ["Bobs"]
    assert titles(client.get(url("list"), {"category": "seo"})) == ["Mine"]
    assert titles(client.get(url("list"), {"q": "globex"})) == ["Bobs"]


def test_it_filters_by_awaiting_reply(team, provider):
    waiting = EngagementFactory(workspace=team.workspace, provider=provider, title="Waiting")
    EngagementFactory(workspace=team.workspace, provider=provider, title="Quiet")
    services.message_log(engagement=waiting, direction="out", kind="request")
    client = team.client_for(team.alice)
    assert titles(client.get(url("list"), {"awaiting": "yes"})) == ["Waiting"]
    assert titles(client.get(url("list"), {"awaiting": "no"})) == ["Quiet"]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "bogus"},
        {"provider": "999999"},
        {"provider": "abc"},
        {"owner": "nobody"},
        {"awaiting": "maybe"},
        {"category": "x"},
        {"sort": "password"},
        {"page": "zzz"},
    ],
)
def test_bad_filter_values_are_ignored(team, engagement, query):
    response = team.client_for(team.alice).get(url("list"), query)
    assert response.status_code == 200
    assert titles(response) == ["Landing page copy"]


def test_a_foreign_provider_filter_shows_nothing_of_theirs(team, engagement):
    foreign = EngagementFactory(workspace=team.other_workspace)
    response = team.client_for(team.alice).get(url("list"), {"provider": foreign.provider_id})
    assert titles(response) == ["Landing page copy"]


def test_it_sorts_by_title_due_date_and_silence(team, provider):
    today = timezone.localdate()
    b = EngagementFactory(workspace=team.workspace, provider=provider, title="B", due_on=today)
    a = EngagementFactory(workspace=team.workspace, provider=provider, title="A")
    c = EngagementFactory(
        workspace=team.workspace, provider=provider, title="C", due_on=today - timedelta(days=1)
    )
    now = timezone.now()
    services.message_log(engagement=b, direction="out", kind="request", occurred_at=now - timedelta(days=1))
    services.message_log(engagement=c, direction="out", kind="request", occurred_at=now - timedelta(days=9))
    client = team.client_for(team.alice)
    assert titles(client.get(url("list"), {"sort": "title"})) == ["A", "B", "C"]
    assert titles(client.get(url("list"), {"sort": "-title"})) == ["C", "B", "A"]
    # Empty due dates go last either way.
    assert titles(client.get(url("list"), {"sort": "due"})) == ["C", "B", "A"]
    assert titles(client.get(url("list"), {"sort": "-due"})) == ["B", "C", "A"]
    assert titles(client.get(url("list"), {"sort": "silent"})) == ["C", "B", "A"]
    assert a.pk


def test_sort_links_keep_the_filters(team, engagement):
    page = team.client_for(team.alice).get(url("list"), {"q": "copy", "sort": "title"}).content.decode()
    assert 'href="?q=copy&amp;sort=-title"' in page


def test_the_newest_first_default_says_descending_and_a_click_sorts_oldest_first(team, engagement):
    response = team.client_for(team.alice).get(url("list"))
    created = response.context["columns"]["created"]
    assert (created.direction, created.next) == ("descending", "created")
    html = response.content.decode()
    header = html[html.index('aria-sort="descending"') :].split("</th>", 1)[0]
    assert 'data-sort="created"' in header and "▼" in header
    assert response.context["columns"]["title"].next == "title"  # A to Z first
    assert response.context["columns"]["priority"].next == "-priority"  # urgent first


def test_it_paginates_by_25(team, provider):
    EngagementFactory.create_batch(30, workspace=team.workspace, provider=provider)
    client = team.client_for(team.alice)
    assert len(client.get(url("list")).context["page_obj"]) == 25
    assert len(client.get(url("list"), {"page": 2}).context["page_obj"]) == 5


def test_rows_show_whose_turn_fee_and_an_overdue_due_date(team, provider):
    engagement = EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        title="Late",
        fee_amount="150.00",
        fee_currency="EUR",
        due_on=timezone.localdate() - timedelta(days=2),
    )
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=3, hours=1),
    )
    page = team.client_for(team.alice).get(url("list")).content.decode()
    assert "provider owes a reply · silent for 3 days 1 hour" in page
    assert "€150.00" in page
    assert "text-danger" in page


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("list")).status_code == 200
    return len(ctx)


def _sorted_by_turn_queries(client) -> list:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("list"), {"sort": "silent"}).status_code == 200
    return ctx.captured_queries


def test_the_query_count_does_not_grow_with_the_rows(team, provider):
    client = team.client_for(team.alice)
    _list_queries(client)  # the first visit also stores the workspace in the session
    for _ in range(2):
        EngagementFactory(workspace=team.workspace, provider=provider, owner=team.bob)
    two = _list_queries(client)
    for i in range(18):
        engagement = EngagementFactory(
            workspace=team.workspace,
            provider=ProviderFactory(workspace=team.workspace),
            owner=team.alice,
            due_on=timezone.localdate() - timedelta(days=i % 3) if i % 2 else None,
        )
        # Whose turn on each row: the provider's reply, their delivery, our answer, or nobody's.
        if i % 3:
            services.message_log(
                engagement=engagement,
                direction="out" if i % 3 == 1 else "in",
                kind="request" if i % 3 == 1 else "reply",
                occurred_at=timezone.now() - timedelta(days=i),
            )
    assert _list_queries(client) == two
    assert _list_queries(client) == len(_sorted_by_turn_queries(client))


def test_the_query_count_does_not_grow_with_the_providers_in_the_filter(team, provider):
    client = team.client_for(team.alice)
    _list_queries(client)  # the first visit also stores the workspace in the session
    one = _list_queries(client)
    for i in range(30):
        ProviderFactory(workspace=team.workspace, name=f"Extra provider {i:02}")
    assert _list_queries(client) == one


def test_the_provider_filter_offers_every_provider_of_the_workspace_by_name_with_the_chosen_one_selected(
    team, provider
):
    ProviderFactory(workspace=team.workspace, name="Ada & <Co>")
    ProviderFactory(workspace=team.other_workspace, name="Someone else's")
    page = team.client_for(team.alice).get(url("list"), {"provider": provider.pk}).content.decode()
    select = re.search(r'<select name="provider"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1))
    ours = Provider.objects.filter(workspace=team.workspace).order_by("name", "id")
    assert [(value, label) for value, _selected, label in options] == [
        ("", "Any"),
        *((str(p.pk), escape(p.name)) for p in ours),
    ]
    assert [value for value, selected, _label in options if selected] == [str(provider.pk)]
    assert "Ada &amp; &lt;Co&gt;" in select.group(1)
