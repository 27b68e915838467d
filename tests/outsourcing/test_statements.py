"""A statement compiled once gives the rows its queryset gives, and refuses a shape it cannot keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from engagements.models import Engagement
from outsourcing.models import User, Workspace
from outsourcing.statements import Statement, StatementError
from tests.factories import EngagementFactory, ProviderFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _recent(workspace_id: int, since: datetime, owner_id: int | None):
    rows = (
        Engagement.objects.filter(workspace_id=workspace_id, created_at__gte=since)
        .select_related("provider", "owner")
        .order_by("created_at", "id")
    )
    return rows if owner_id is None else rows.filter(owner_id=owner_id)


RECENT: Statement[Engagement] = Statement(
    Engagement, lambda **v: _recent(**v)[:10], workspace_id=int, since=datetime, owner_id=int
)


@pytest.fixture
def engagements(team):
    provider = ProviderFactory(workspace=team.workspace, name="Anna")
    made = []
    for i in range(6):
        engagement = EngagementFactory(
            workspace=team.workspace, provider=provider, owner=team.alice if i % 2 else team.bob
        )
        Engagement.objects.filter(pk=engagement.pk).update(created_at=NOW - timedelta(days=i))
        made.append(engagement)
    # Another workspace's engagement, created last: never among the first's rows.
    other = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    Engagement.objects.filter(pk=other.pk).update(created_at=NOW)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, 2, 10])
@pytest.mark.parametrize("by_owner", [False, True])
def test_a_statement_gives_the_rows_and_relations_its_queryset_gives(
    team, engagements, days, by_owner, django_assert_num_queries
):
    since = NOW - timedelta(days=days, hours=1)
    owner_id = team.bob.pk if by_owner else None
    RECENT(workspace_id=team.workspace.pk, since=since, owner_id=owner_id)  # compiled
    expected = list(_recent(team.workspace.pk, since, owner_id)[:10])

    with django_assert_num_queries(1):
        rows = RECENT(workspace_id=team.workspace.pk, since=since, owner_id=owner_id)
        # The related rows came in the same query.
        names = [(e.provider.name, e.owner.email) for e in rows]

    assert [e.pk for e in rows] == [e.pk for e in expected]
    assert names == [(e.provider.name, e.owner.email) for e in expected]
    assert expected, "not vacuous"
    assert all(isinstance(e, Engagement) and e.workspace_id == team.workspace.pk for e in rows)


@pytest.mark.django_db
def test_a_statement_compiles_once_per_shape(team, engagements, compiles):
    statement: Statement[Any] = Statement(
        Engagement, lambda **v: _recent(**v), workspace_id=int, since=datetime, owner_id=int
    )
    compiled = compiles
    for days in range(4):
        statement(workspace_id=team.workspace.pk, since=NOW - timedelta(days=days), owner_id=None)
    assert len(compiled) == 2  # the two rounds of stand-ins, then never again
    statement(workspace_id=team.workspace.pk, since=NOW, owner_id=team.bob.pk)
    assert len(compiled) == 4  # an owner makes a shape of its own


@pytest.mark.django_db
def test_a_value_computed_from_an_argument_is_refused(team, engagements):
    statement: Statement[Any] = Statement(
        Engagement,
        lambda workspace_id, since: Engagement.objects.filter(
            workspace_id=workspace_id, created_at__gte=since - timedelta(days=1)
        ),
        workspace_id=int,
        since=datetime,
    )
    with pytest.raises(StatementError, match="computed from its values"):
        statement(workspace_id=team.workspace.pk, since=NOW)


@pytest.mark.django_db
def test_a_statement_of_another_model_or_with_other_arguments_is_refused(team):
    statement: Statement[Any] = Statement(
        User, lambda workspace_id: Workspace.objects.filter(pk=workspace_id), workspace_id=int
    )
    with pytest.raises(StatementError):
        statement(workspace_id=team.workspace.pk)
    with pytest.raises(TypeError):
        RECENT(workspace_id=team.workspace.pk)


@pytest.mark.django_db
def test_sql_that_reads_the_active_time_zone_is_kept_per_zone(team, engagements):
    # 23:30 UTC is the next day in Tokyo and the same day in Los Angeles.
    Engagement.objects.filter(pk=engagements[0].pk).update(
        created_at=datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    )

    def days(workspace_id: int):
        return (
            Engagement.objects.filter(workspace_id=workspace_id)
            .annotate(day=TruncDate("created_at"))
            .values_list("day")
            .annotate(n=Count("id"))
            .order_by("day")
        )

    statement: Statement[Any] = Statement(Engagement, days, workspace_id=int)
    for zone in ("Asia/Tokyo", "America/Los_Angeles", "Asia/Tokyo"):
        with timezone.override(ZoneInfo(zone)):
            assert statement(workspace_id=team.workspace.pk) == list(days(team.workspace.pk)), zone


@pytest.mark.django_db
@pytest.mark.parametrize("wide", [2**63, -(2**63) - 1, 10**30])
def test_an_integer_wider_than_64_bits_is_refused_before_the_database(team, wide):
    # The ORM answers such an id with no rows without asking; a statement binds values as given.
    statement: Statement[Any] = Statement(
        Engagement,
        lambda workspace_id: Engagement.objects.filter(workspace_id=workspace_id),
        workspace_id=int,
    )
    assert statement(workspace_id=2**63 - 1) == []
    with pytest.raises(ValueError, match="wider than 64 bits"):
        statement(workspace_id=wide)
