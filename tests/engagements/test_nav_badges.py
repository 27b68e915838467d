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


def test_the_statement_is_compiled_once_with_its_three_values_found_on_this_database(db):
    statement = nav_badges._statement(connection.alias)
    assert statement is not None
    assert {name for _, name in statement.slots} == {"workspace", "user", "now"}
    assert nav_badges._statement(connection.alias) is statement


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


def test_without_a_statement_the_query_is_built_as_before(busy, monkeypatch):
    compiled = nav_badges.badge_counts(busy.workspace, busy.alice)
    monkeypatch.setattr(nav_badges, "_statement", lambda alias: None)
    with CaptureQueriesContext(connection) as run:
        assert nav_badges.badge_counts(busy.workspace, busy.alice) == compiled
    assert len(run) == 1


def test_a_statement_whose_values_cannot_be_told_apart_is_not_kept(db, monkeypatch):
    """Were ``now`` moved before it reached the SQL (a deadline computed in Python), the stand-ins
    would not be found where the parameters differ: no statement, the ORM every time."""
    real = nav_badges._compiled

    def shifted(alias, stand_ins):
        return real(alias, {**stand_ins, "now": stand_ins["now"] - timedelta(hours=1)})

    monkeypatch.setattr(nav_badges, "_compiled", shifted)
    assert nav_badges._statement.__wrapped__(connection.alias) is None
