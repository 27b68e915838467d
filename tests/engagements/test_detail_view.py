"""The engagement page and its status buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import queries, services
from engagements.models import Engagement, Exchange
from outsourcing.queries import user_membership_list
from tests.engagements.conftest import url
from tests.factories import EngagementFactory


def test_an_anonymous_visitor_is_sent_to_log_in(team, engagement):
    assert team.client_for(None).get(url("detail", pk=engagement.pk)).status_code == 302


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_members_of_every_role_see_the_engagement(team, engagement, message, who):
    page = team.client_for(getattr(team, who)).get(url("detail", pk=engagement.pk)).content.decode()
    assert "Landing page copy" in page
    assert "Please write the copy" in page


def test_an_outsider_gets_a_404(team, engagement):
    assert team.client_for(team.charlie).get(url("detail", pk=engagement.pk)).status_code == 404


def test_another_workspaces_engagement_is_a_404(team):
    foreign = EngagementFactory(workspace=team.other_workspace)
    assert team.client_for(team.alice).get(url("detail", pk=foreign.pk)).status_code == 404


@pytest.mark.parametrize("pk", [0, 2**63, 10**30])
def test_an_id_no_engagement_can_have_is_a_404(team, engagement, pk):
    # Wider than the database's ids: answered without asking it, as the ORM would.
    assert team.client_for(team.alice).get(url("detail", pk=pk)).status_code == 404


def test_a_viewer_sees_no_edit_controls(team, engagement, message):
    page = team.client_for(team.vera).get(url("detail", pk=engagement.pk)).content.decode()
    assert url("message_create", pk=engagement.pk) not in page
    assert url("edit", pk=engagement.pk) not in page
    assert url("status", pk=engagement.pk) not in page
    assert url("message_delete", pk=message.pk) not in page


def test_only_the_allowed_status_moves_are_offered(team, engagement):
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert 'value="in_progress"' in page
    assert 'value="on_hold"' in page
    assert 'name="status" value="completed"' not in page


def test_the_body_is_escaped_and_keeps_its_line_breaks(team, engagement):
    services.message_log(
        engagement=engagement, direction="in", kind="reply", body="<script>x</script>\nsecond line"
    )
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert '<div class="message-body mt-1">&lt;script&gt;x&lt;/script&gt;\nsecond line</div>' in page


def test_whose_turn_says_how_long_the_provider_has_been_silent(team, engagement):
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=timezone.now() - timedelta(days=3, hours=2),
    )
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert "Provider owes a reply" in page
    assert "silent for 3 days 2 hours" in page


def test_whose_turn_says_it_is_ours_after_their_reply(team, engagement, message):
    services.message_log(engagement=engagement, direction="in", kind="reply")
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert "Your answer · waiting under a minute" in page
    answered = Exchange.objects.get(engagement=engagement)
    assert f'data-state="{"within" if answered.within_policy else "late"}"' in page


def test_a_member_moves_the_status(team, engagement):
    response = team.client_for(team.bob).post(url("status", pk=engagement.pk), {"status": "in_progress"})
    assert response.status_code == 302
    assert Engagement.objects.get(pk=engagement.pk).status == "in_progress"


@pytest.mark.parametrize("status", ["completed", "nonsense", ""])
def test_a_forbidden_status_move_is_an_error_message(team, engagement, status):
    client = team.client_for(team.alice)
    response = client.post(url("status", pk=engagement.pk), {"status": status}, follow=True)
    assert response.status_code == 200
    assert "cannot go from" in response.content.decode()
    assert Engagement.objects.get(pk=engagement.pk).status == "requested"


@pytest.mark.parametrize(("who", "code"), [("vera", 403), ("charlie", 404)])
def test_viewers_and_outsiders_cannot_move_the_status(team, engagement, who, code):
    response = team.client_for(getattr(team, who)).post(
        url("status", pk=engagement.pk), {"status": "on_hold"}
    )
    assert response.status_code == code
    assert Engagement.objects.get(pk=engagement.pk).status == "requested"


def _detail_queries(client, engagement) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("detail", pk=engagement.pk)).status_code == 200
    return len(ctx)


def test_the_query_count_does_not_grow_with_the_messages(team, engagement):
    client = team.client_for(team.alice)
    _detail_queries(client, engagement)
    start = timezone.now() - timedelta(days=30)

    def log(i: int) -> None:
        message = services.message_log(
            engagement=engagement,
            direction="out" if i % 2 == 0 else "in",
            kind="request" if i % 2 == 0 else "reply",
            occurred_at=start + timedelta(hours=i),
            author=team.bob if i % 3 else team.alice,
        )
        if i % 4 == 0:
            services.message_edit(message=message, by=team.alice, subject=f"edited {i}")
        if i % 5 == 0:
            services.message_delete(message=message, by=team.bob)

    for i in range(2):
        log(i)
    two = _detail_queries(client, engagement)
    for i in range(2, 20):
        log(i)
    assert _detail_queries(client, engagement) == two


def test_the_pages_own_queries_are_compiled_once_per_process(team, engagement, message, request):
    other = EngagementFactory(workspace=team.workspace, provider=engagement.provider)

    def read(pk: int) -> list:
        found = queries.engagement_for(team.workspace, pk)
        rows = [queries.timeline_rows(found), queries.engagement_flags(found), queries.exchanges(found)]
        return [found, *rows, queries.due_date_proposals(found), user_membership_list(team.alice)]

    first = read(engagement.pk)  # compiled here, if no test did before
    compiled = request.getfixturevalue("compiles")
    again, others = read(engagement.pk), read(other.pk)
    # Only the attachments' prefetch, whose SQL lists the messages (the other log is empty).
    assert compiled == ["engagements.Attachment"]
    assert again[0] == engagement and others[0] == other
    assert [m.pk for m in again[1]] == [m.pk for m in first[1]] == [message.pk]
    assert others[1] == [] and again[5] == first[5] and again[5]


def test_the_logs_rows_know_their_engagement_without_a_query(team, engagement, message):
    services.message_log(
        engagement=engagement, direction="in", kind="reply", occurred_at=timezone.now(), author=team.alice
    )
    found = queries.engagement_for(team.workspace, engagement.pk)
    exchanges, timeline = queries.exchanges(found), queries.timeline_rows(found)
    assert exchanges and len(timeline) == 2
    with CaptureQueriesContext(connection) as ctx:
        assert all(x.engagement is found for x in exchanges)
        assert all(m.engagement is found for m in timeline)
        assert [list(m.attachments.all()) for m in timeline] == [[], []]  # prefetched
    assert not ctx.captured_queries


def test_the_engagement_page_does_not_read_its_workspace_again(team, engagement):
    client = team.client_for(team.alice)
    client.get(url("detail", pk=engagement.pk))  # the first visit also stores the workspace in the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("detail", pk=engagement.pk)).status_code == 200
    # The membership's query brings the workspace; nothing after it asks for the workspace alone.
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "outsourcing_workspace"')]
