"""The engagements panel on the provider page, and the provider's full timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import queries, services
from engagements.provider_panels import engagements_panel
from providers.panels import render_panels
from tests.engagements.conftest import url
from tests.factories import EngagementFactory


def panel_request(team, user):
    request = RequestFactory().get("/")
    request.user = user
    request.workspace = team.workspace
    request.membership = team.membership(user)
    return request


def log_many(engagement, n: int, start: int = 0) -> None:
    base = timezone.now() - timedelta(days=60)
    for i in range(start, start + n):
        services.message_log(
            engagement=engagement,
            direction="out" if i % 2 == 0 else "in",
            kind="request" if i % 2 == 0 else "reply",
            occurred_at=base + timedelta(hours=i),
            subject=f"Message {i}",
        )


def test_the_panel_is_registered_for_the_provider_page(team, provider, engagement):
    html = "".join(render_panels(panel_request(team, team.alice), provider))
    assert "Landing page copy" in html


def test_the_panel_lists_open_engagements_and_the_newest_messages_first(team, provider, engagement):
    EngagementFactory(workspace=team.workspace, provider=provider, title="Finished", status="completed")
    log_many(engagement, 3)
    html = engagements_panel(panel_request(team, team.alice), provider)
    assert "Landing page copy" in html
    assert "Finished" not in html
    assert html.index("Message 2") < html.index("Message 1") < html.index("Message 0")
    assert f"{url('create')}?provider={provider.pk}" in html


def test_the_panel_offers_delegating_to_members_only(team, provider):
    html = engagements_panel(panel_request(team, team.vera), provider)
    assert url("create") not in html


def test_the_panel_caps_the_timeline_and_links_to_the_rest(team, provider, engagement):
    log_many(engagement, queries.PROVIDER_TIMELINE_CAP + 1)
    html = engagements_panel(panel_request(team, team.alice), provider)
    assert html.count('data-testid="message"') == queries.PROVIDER_TIMELINE_CAP
    assert url("provider_timeline", provider_pk=provider.pk) + "?page=2" in html


def _panel_queries(team, provider) -> int:
    with CaptureQueriesContext(connection) as ctx:
        engagements_panel(panel_request(team, team.alice), provider)
    return len(ctx)


def test_the_panel_query_count_does_not_grow(team, provider):
    first = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    log_many(first, 2)
    two = _panel_queries(team, provider)
    for _ in range(5):
        log_many(EngagementFactory(workspace=team.workspace, provider=provider, owner=team.bob), 4)
    assert _panel_queries(team, provider) == two


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("vera", 200), ("charlie", 404)])
def test_the_provider_timeline_page_is_for_members(team, provider, engagement, who, code):
    log_many(engagement, 2)
    response = team.client_for(getattr(team, who)).get(url("provider_timeline", provider_pk=provider.pk))
    assert response.status_code == code


def test_the_provider_timeline_spans_engagements_and_skips_deleted_messages(team, provider, engagement):
    other = EngagementFactory(workspace=team.workspace, provider=provider, title="Second task")
    log_many(engagement, 1)
    log_many(other, 1, start=1)
    gone = services.message_log(engagement=other, direction="note", kind="other", subject="Gone")
    services.message_delete(message=gone, by=team.alice)
    page = team.client_for(team.alice).get(url("provider_timeline", provider_pk=provider.pk)).content.decode()
    assert "Message 0" in page
    assert "Message 1" in page
    assert "Second task" in page
    assert "Gone" not in page


def test_another_workspaces_provider_timeline_is_a_404(team):
    foreign = EngagementFactory(workspace=team.other_workspace)
    response = team.client_for(team.alice).get(url("provider_timeline", provider_pk=foreign.provider_id))
    assert response.status_code == 404
