"""The navigation's badges from the statement compiled once (engagements.nav_badges) count what
``queries.nav_counts`` counts, on PostgreSQL and on SQLite, in the same one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import nav_badges, queries
from engagements.notifications import outbox
from tests.engagements.test_attention import flagged, our_answer_owed
from tests.engagements.test_notification_views import note
from tests.factories import ProviderFactory


@pytest.fixture
def busy(team, provider):
    """Flags (one snoozed), our overdue answers and unread notifications, here and elsewhere."""
    flagged(team.workspace, provider, "Late", overdue_by=timedelta(days=1))
    flagged(team.workspace, provider, "Later", overdue_by=timedelta(hours=1))
    flagged(
        team.workspace,
        provider,
        "Snoozed",
        overdue_by=timedelta(days=2),
        snoozed_until=timezone.now() + timedelta(days=1),
    )
    our_answer_owed(team.workspace, provider, "Ours")
    our_answer_owed(team.workspace, provider, "Not yet", days_ago=0)
    foreign = ProviderFactory(workspace=team.other_workspace)
    flagged(team.other_workspace, foreign, "Theirs", overdue_by=timedelta(days=1))
    for _ in range(3):
        note(team.workspace, team.alice)
    note(team.workspace, team.bob)
    note(team.other_workspace, team.charlie)
    return team


def test_the_badges_are_compiled_once_per_process(busy, request):
    nav_badges.badge_counts(busy.workspace, busy.alice)  # compiled here, if no test did before
    compiled = request.getfixturevalue("compiles")
    for user in (busy.alice, busy.bob, busy.vera):
        nav_badges.badge_counts(busy.workspace, user, now=timezone.now() + timedelta(days=1))
    assert not compiled


@pytest.mark.parametrize("days", [-3, 0, 2, 30])
def test_the_badges_count_what_nav_counts_counts(busy, days):
    now = timezone.now() + timedelta(days=days)
    for user, workspace in (
        (busy.alice, busy.workspace),
        (busy.bob, busy.workspace),
        (busy.vera, busy.workspace),
        (busy.charlie, busy.other_workspace),
    ):
        expected = queries.nav_counts(workspace, outbox.unread_notifications(user, workspace), now=now)
        with CaptureQueriesContext(connection) as run:
            assert nav_badges.badge_counts(workspace, user, now=now) == expected
        assert len(run) == 1
    assert nav_badges.badge_counts(busy.workspace, busy.alice)[1] == 3


def test_the_badges_stop_counting_past_the_cap(team):
    for _ in range(queries.NAV_COUNT_CAP + 2):
        note(team.workspace, team.alice)
    assert nav_badges.badge_counts(team.workspace, team.alice) == (0, queries.NAV_COUNT_CAP + 1)
