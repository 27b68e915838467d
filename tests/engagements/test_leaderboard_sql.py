"""The leaderboard read from the snapshots: ordered, ranked and paginated in SQL as Python did it."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import MetricSnapshot
from engagements.reliability import pages, snapshots
from engagements.reliability.metrics import ALL, WORKSPACE, Mean, Metrics, Period, ReplyTimes, Spend
from engagements.reliability.statistics import Interval, Score
from providers.models import Provider
from tests.factories import ProviderFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# Names that tie once case-folded, German letters, and names that sort apart by case alone.
NAMES = ["Acme", "acme", "ACME", "Ärger", "ärger", "Straße", "Strasse", "Zeta", "zeta", "Öl", "Ode", "b"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL orders the snapshots; other back-ends sort in Python",
)


def _interval(rng: random.Random) -> Interval:
    point = rng.choice([None, 0.0, 0.5, 0.5, 0.75, 1.0])
    return Interval(point, None if point is None else point / 2, point, 0 if point is None else 4)


def random_figures(rng: random.Random) -> Metrics:
    """Figures from a few values each, so that ties and missing figures are common."""
    value = rng.choice([None, 40.0, 55.5, 55.5, 70.0, 90.25])
    median = rng.choice([None, 3600.0, 7200.0, 7200.0, 86400.0])
    currencies = rng.sample(["EUR", "USD"], rng.randint(0, 2))
    return Metrics(
        requests=rng.randint(0, 9),
        response_rate=_interval(rng),
        within_policy=_interval(rng),
        on_time=_interval(rng),
        business=None if median is None else ReplyTimes(median, median, median, 3, 2),
        quality=Mean(None, 0),
        spend=[
            Spend(c, Decimal(rng.choice(["10.00", "99.50", "99.50", "1200.00"])), 1, Decimal(0), Decimal(0))
            for c in currencies
        ],
        score=rng.choice([None, Score(value, 5, value is not None)]),
    )


def seed(team, rng: random.Random, n: int) -> dict[int, Metrics]:
    """``n`` providers' snapshots for the 90 days, and the workspace's own (EUR leading)."""
    whole = Metrics(spend=[Spend("EUR", Decimal(5000), 9, Decimal(0), Decimal(0))])
    rows = [snapshots._row(team.workspace.pk, (WORKSPACE, ALL), "90", whole, NOW, "EUR")]
    figures = {}
    for _ in range(n):
        provider = ProviderFactory(
            workspace=team.workspace,
            name=rng.choice(NAMES),
            kind=rng.choice([Provider.Kind.FREELANCER, Provider.Kind.AGENCY]),
        )
        figures[provider.pk] = random_figures(rng)
        # The spend column may hold another currency than the page's: the page reads the payload.
        rows.append(
            snapshots._row(team.workspace.pk, (provider.pk, ALL), "90", figures[provider.pk], NOW, "USD")
        )
    MetricSnapshot.objects.bulk_create(rows)
    return figures


def python_order(team, figures: dict[int, Metrics], sort: str, kind: str) -> list[tuple[int, int | None]]:
    """What the leaderboard showed before it read the snapshots in SQL: ``_ordered`` and ``_ranks``."""
    providers = Provider.objects.filter(workspace=team.workspace, pk__in=list(figures)).order_by("name", "id")
    if kind:
        providers = providers.filter(kind=kind)
    pairs = pages._ordered([(p, figures[p.pk]) for p in providers], sort, "EUR")
    ranks = pages._ranks(pairs)
    return [(p.pk, ranks.get(p.pk)) for p, _m in pairs]


@pytest.mark.django_db
@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_the_sql_order_and_ranks_are_the_python_ones_on_random_figures(team, seed_value):
    rng = random.Random(seed_value)
    figures = seed(team, rng, 60)
    period = Period.standard("90", NOW)
    for sort in [*pages.SORTS, *(f"-{name}" for name in pages.SORTS), "nonsense"]:
        for kind in ("", Provider.Kind.AGENCY):
            board = pages.leaderboard(team.workspace, period, sort=sort, kind=kind, now=NOW)
            assert isinstance(board.rows, pages.SnapshotRows)
            assert board.currency == "EUR"
            shown = [(row.provider.pk, row.rank) for row in board.rows]
            assert shown == python_order(team, figures, sort, kind), (sort, kind)
            # A page read on its own is the same slice of the whole.
            again = pages.leaderboard(team.workspace, period, sort=sort, kind=kind, now=NOW)
            assert [(row.provider.pk, row.rank) for row in again.rows[25:50]] == shown[25:50]
            assert len(again.rows) == len(shown)
            assert all(row.m == figures[row.provider.pk] for row in board.rows)


@pytest.mark.django_db
def test_a_page_of_the_leaderboard_takes_the_same_queries_for_ten_providers_as_for_eighty(team):
    rng = random.Random(7)
    period = Period.standard("90", NOW)

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            board = pages.leaderboard(team.workspace, period, sort="-score", now=NOW)
            assert len(board.rows) and len(board.rows[:25]) <= 25
        return len(captured)

    seed(team, rng, 10)
    few = queries_for_a_page()
    MetricSnapshot.objects.all().delete()
    seed(team, rng, 70)
    assert queries_for_a_page() == few
