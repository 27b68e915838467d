"""What the reliability pages read, put together: one function per page.

Standard periods of the whole workspace come from the snapshots
(``engagements.snapshots``); custom dates, one provider's scorecard and a
comparison of a few providers are computed live (their scope is small, or
the dates are nobody else's). Either way a page gets the same shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, overload

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Expression,
    F,
    Min,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Collate, Lower, Rank, Replace

from engagements.models import Exchange, MetricSnapshot
from engagements.reliability import metrics, payload, snapshots
from engagements.reliability.metrics import ALL, WORKSPACE, Metrics, Period, Sample, Scope
from engagements.reliability.statistics import Interval
from outsourcing.models import Workspace
from providers.models import Provider

# How many providers the dashboard names as "to watch" (lowest scores with enough data).
WATCH = 5


def _priors(workspace: Workspace, period: Period) -> dict[str, float]:
    """The workspace's shares to shrink a provider's score toward, as the snapshots do.

    A standard period's own; custom dates take the all-time shares. A
    workspace whose figures were never computed gets them now (what the
    dashboard would do too), so a score never depends on whether the
    background refresh has run.
    """
    key = period.key if period.key in metrics.PERIODS else "all"
    whole = snapshots.workspace_figures(workspace.pk, key)
    if whole is None:
        snapshots.snapshots_refresh(workspace_id=workspace.pk)
        whole = snapshots.workspace_figures(workspace.pk, key) or Metrics()
    return metrics.workspace_priors(whole)


# --- Dashboard ---------------------------------------------------------------------------


@dataclass
class Overview:
    m: Metrics
    distribution: list[int]
    within_by_month: list[tuple[date, Interval]]
    overdue_weeks: list[tuple[date, int]]
    trend: list[metrics.MonthFigures] = field(default_factory=list)
    watch: list[tuple[Provider, float]] = field(default_factory=list)
    computed_at: datetime | None = None  # None: computed just now
    pending: bool = False


def overview(
    workspace: Workspace,
    period: Period,
    *,
    now: datetime,
    zone: tzinfo,
    category: str = ALL,
    owner_id: int | None = None,
    client_name: str = "",
) -> Overview:
    """The workspace's figures and chart data for the dashboard, or one category's, owner's or client's.

    The whole workspace over a standard period reads its snapshot; anything
    narrower or custom dates are computed live.
    """
    if period.key not in metrics.PERIODS or category or owner_id is not None or client_name:
        scope = Scope(
            workspace_id=workspace.pk, category=category, owner_id=owner_id, client_name=client_name
        )
        sample = Sample.load(scope, period, now)
        return Overview(
            m=metrics.compute(scope, period, now=now, group_by_provider=False, sample=sample)[WORKSPACE],
            distribution=metrics.reply_time_distribution(sample),
            within_by_month=metrics.within_policy_by_month(sample, zone),
            overdue_weeks=metrics.overdue_per_week(scope, period, zone),
            trend=metrics.monthly_trend(scope, period, sample, zone),
        )
    board = snapshots.snapshots_read(workspace_id=workspace.pk, period=period.key, providers=False)
    data = board.workspace.payload if board.workspace else {}
    charts = payload.charts_from_payload(data.get("charts", {}))
    watch = [
        (s.provider, s.score)
        for s in MetricSnapshot.objects.filter(
            workspace=workspace, period=period.key, category=ALL, provider__isnull=False, score__isnull=False
        )
        .select_related("provider")
        .defer("payload")
        .order_by("score", "provider__name")[:WATCH]
    ]
    return Overview(
        m=payload.figures_from_payload(data) if data else Metrics(),
        distribution=charts.distribution,
        within_by_month=charts.within_by_month,
        overdue_weeks=charts.overdue_weeks,
        trend=charts.trend,
        watch=watch,  # type: ignore[arg-type]
        computed_at=board.computed_at,
        pending=board.pending,
    )


# --- Leaderboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rank: int | None  # place by score; None while the provider has too little data for one
    provider: Provider
    m: Metrics


def spend_in(m: Metrics, currency: str) -> Decimal | None:
    return next((s.total for s in m.spend if s.currency == currency), None)


def _sort_key(name: str, currency: str) -> Callable[[tuple[Provider, Metrics]], tuple]:
    """The figure a column sorts by; None for a missing one."""

    def figure(pm: tuple[Provider, Metrics]) -> float | str | None:
        provider, m = pm
        if name == "name":
            return provider.name.casefold()
        if name == "score":
            return None if m.score is None else m.score.value
        if name == "response_rate":
            return m.response_rate.point
        if name == "median":
            return None if m.business is None else m.business.median
        if name == "on_time":
            return m.on_time.point
        spend = spend_in(m, currency)
        return None if spend is None else float(spend)

    return figure  # type: ignore[return-value]


# "key" sorts ascending and "-key" descending, as on every list (outsourcing.sorting); the best first by default.
SORTS = ("name", "score", "response_rate", "median", "on_time", "spend")
DEFAULT_SORT = "-score"
# A first click on these sorts them highest first; a name and a time to reply read best from the lowest.
DESCENDING_FIRST = frozenset({"score", "response_rate", "on_time", "spend"})


def _ordered(
    pairs: list[tuple[Provider, Metrics]], sort: str, currency: str
) -> list[tuple[Provider, Metrics]]:
    """In the order ``sort`` asks for; missing figures always last, whatever the direction."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        name, sort = DEFAULT_SORT.removeprefix("-"), DEFAULT_SORT
    figure = _sort_key(name, currency)
    present = [p for p in pairs if figure(p) is not None]
    missing = [p for p in pairs if figure(p) is None]
    present.sort(key=lambda p: (figure(p), p[0].name.casefold()), reverse=sort.startswith("-"))  # type: ignore[arg-type, return-value]
    missing.sort(key=lambda p: p[0].name.casefold())
    return present + missing


def _ranks(pairs: list[tuple[Provider, Metrics]]) -> dict[int, int]:
    """Each scored provider's place by score (equal scores share one); the unscored have none."""
    scores = sorted(
        (m.score.value for _p, m in pairs if m.score is not None and m.score.value is not None), reverse=True
    )
    first_place: dict[float, int] = {}
    for place, score in enumerate(scores, start=1):
        first_place.setdefault(score, place)
    return {
        p.pk: first_place[m.score.value]
        for p, m in pairs
        if m.score is not None and m.score.value is not None
    }


class SnapshotRows(Sequence[Row]):
    """The leaderboard's rows read from the snapshots, ordered and ranked in SQL, a slice at a time.

    A page of 25 reads its 25 rows (and one count), whatever the number of
    providers; iterating reads them all (the exports and reports). The order is
    ``_ordered``'s and the places ``_ranks``' (``test_leaderboard_sql`` compares them).
    """

    def __init__(self, wanted: QuerySet[MetricSnapshot], sort: str, currency: str, count: int) -> None:
        self._ranked = _in_sql_order(wanted, sort, currency)
        self._count = count  # counted with the other figures of the page's first query
        self._all: list[Row] | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if self._all is not None:
            return self._all[index]
        if isinstance(index, slice) and (index.start or 0) >= 0 and (index.stop or 0) >= 0:
            return [_snapshot_row(s) for s in self._ranked[index]]
        return list(self)[index]

    def __iter__(self) -> Iterator[Row]:
        if self._all is None:
            self._all = [_snapshot_row(s) for s in self._ranked]
        return iter(self._all)


def _snapshot_row(snapshot: MetricSnapshot) -> Row:
    # The window ranks every row; a provider without a score has no place (as ``_ranks``).
    rank = snapshot.place if snapshot.score is not None else None  # type: ignore[attr-defined]
    return Row(rank=rank, provider=snapshot.provider, m=snapshots.figures_of(snapshot))  # type: ignore[arg-type]


def _name_key() -> Expression:
    """``str.casefold`` of the provider's name, as SQL: lowercase, "ß" as "ss", in code point order.

    (Beyond German's ß, a few rare letters that casefold apart from lowercase, such as ligatures
    or the Greek final sigma, would break a tie by name differently from ``_ordered``.)
    """
    return Collate(Replace(Lower("provider__name"), Value("ß"), Value("ss")), "C")


def _figure_sql(name: str, currency: str) -> Expression | F:
    """The column a sort reads (``_sort_key``'s figure), as SQL; NULL for a missing one."""
    if name == "name":
        return _name_key()
    if name == "spend":
        # The payload's spend in ``currency`` (the ``spend`` column holds the currency leading
        # when the row was written, which need not be this period's).
        # The table's name is our model's; the currency goes in as a parameter.
        return RawSQL(  # nosec B611
            "(SELECT (e.value ->> 1)::numeric FROM jsonb_array_elements("  # nosec B608
            f'"{MetricSnapshot._meta.db_table}"."payload" -> \'spend\') AS e '
            "WHERE e.value ->> 0 = %s LIMIT 1)",
            (currency,),
            output_field=DecimalField(),
        )
    column = {
        "score": "score",
        "response_rate": "response_rate",
        "median": "median_reply_seconds",
        "on_time": "on_time_rate",
    }[name]
    return F(column)


def _in_sql_order(wanted: QuerySet[MetricSnapshot], sort: str, currency: str) -> QuerySet[MetricSnapshot]:
    """``wanted`` ranked by score and in ``_ordered``'s order, tie for tie.

    Python sorted the present figures by (figure, name key), both reversed for a
    descending sort, the missing ones last by name key; a full tie kept the
    providers' own order (name, id).
    """
    name = sort.removeprefix("-")
    if name not in SORTS:
        name, sort = DEFAULT_SORT.removeprefix("-"), DEFAULT_SORT
    descending = sort.startswith("-")
    figure, key = _figure_sql(name, currency), _name_key()
    missing_by_key = Case(When(Q(sort_figure__isnull=True), then=key), default=Value(None))
    return (
        wanted.alias(sort_figure=figure)
        .annotate(place=Window(Rank(), order_by=F("score").desc(nulls_last=True)))
        .order_by(
            F("sort_figure").desc(nulls_last=True) if descending else F("sort_figure").asc(nulls_last=True),
            missing_by_key.asc(),
            key.desc() if descending else key.asc(),
            "provider__name",
            "provider__id",
        )
    )


@dataclass
class Leaderboard:
    rows: Sequence[Row]
    currency: str  # the spend column's currency (the workspace's most used)
    computed_at: datetime | None = None
    pending: bool = False


def spend_currencies(board: Leaderboard) -> list[str]:
    """Every currency some row spent in: the leading one first, the rest A→Z."""
    used = {s.currency for row in board.rows for s in row.m.spend}
    return sorted(used, key=lambda currency: (currency != board.currency, currency))


def _from_snapshots(
    workspace: Workspace, period: Period, *, category: str, kind: str, sort: str
) -> Leaderboard:
    """The leaderboard of a standard period, sorted, ranked and paginated by PostgreSQL.

    A fixed number of queries however many providers: the workspace's figures
    (for the spend's currency), when the rows were computed and how many there
    are, whether changes wait; then a page's rows, read when the page is.
    """
    of_period = MetricSnapshot.objects.filter(workspace=workspace, period=period.key, category=category)
    shown = Q(provider__isnull=False) & (Q(provider__kind=kind) if kind else Q())

    def stamps() -> dict[str, Any]:
        return of_period.aggregate(
            computed_at=Min("computed_at"), n=Count("pk"), shown=Count("pk", filter=shown)
        )

    found = stamps()
    if not found["n"] and snapshots.computed_now_if_never(workspace.pk):
        found = stamps()
    whole = snapshots.workspace_figures(workspace.pk, period.key) or Metrics()
    currency = snapshots.leading_currency(whole)
    wanted = (
        of_period.filter(shown)
        .select_related("provider")
        # A row shows the name and the kind: a thousand providers' notes and profiles are not needed.
        .only(
            "score",
            "computed_at",
            "provider_id",
            "provider__id",
            "provider__workspace_id",
            "provider__name",
            "provider__kind",
        )
        .annotate(payload_text=Cast("payload", output_field=TextField()))
    )
    return Leaderboard(
        rows=SnapshotRows(wanted, sort, currency, found["shown"]),
        currency=currency,
        computed_at=found["computed_at"],
        pending=snapshots.changes_pending(workspace.pk),
    )


def leaderboard(
    workspace: Workspace,
    period: Period,
    *,
    category: str = ALL,
    kind: str = "",
    sort: str = DEFAULT_SORT,
    client_name: str = "",
    now: datetime,
) -> Leaderboard:
    """Every provider with figures in the period, in the chosen order.

    A standard period of the whole workspace is read from the snapshots, in
    PostgreSQL a page at a time (``_from_snapshots``). One client's engagements
    (``client_name``) are computed live, their scores shrunk toward the whole
    workspace's shares as custom dates' are.
    """
    standard = period.key in metrics.PERIODS and not client_name
    if standard and connection.vendor == "postgresql":
        return _from_snapshots(workspace, period, category=category, kind=kind, sort=sort)
    computed_at, pending = None, False
    if standard:
        board = snapshots.snapshots_read(
            workspace_id=workspace.pk, period=period.key, category=category, as_text=True
        )
        figures = {pk: snapshots.figures_of(s) for pk, s in board.providers.items()}
        # The workspace's own row is there for all categories together only.
        if board.workspace is not None:
            whole = snapshots.figures_of(board.workspace)
        else:
            whole = snapshots.workspace_figures(workspace.pk, period.key) or Metrics()
        computed_at, pending = board.computed_at, board.pending
    else:
        groups = metrics.compute(
            Scope(workspace_id=workspace.pk, category=category, client_name=client_name),
            period,
            now=now,
            priors=_priors(workspace, period),
        )
        whole = groups.pop(WORKSPACE)
        figures = {pk: m for pk, m in groups.items() if pk is not None}
    # A row shows the name and the kind: a thousand providers' notes and profiles are not needed.
    providers = Provider.objects.filter(workspace=workspace, pk__in=list(figures)).only(
        "id", "workspace_id", "name", "kind"
    )
    if kind:
        providers = providers.filter(kind=kind)
    currency = snapshots.leading_currency(whole)
    pairs = _ordered([(p, figures[p.pk]) for p in providers], sort, currency)
    ranks = _ranks(pairs)
    return Leaderboard(
        rows=[Row(rank=ranks.get(p.pk), provider=p, m=m) for p, m in pairs],
        currency=currency,
        computed_at=computed_at,
        pending=pending,
    )


# --- Scorecard and comparison ---------------------------------------------------------------


@dataclass
class Scorecard:
    m: Metrics
    trend: list[metrics.MonthFigures]
    distribution: list[int]


def scorecard(
    workspace: Workspace,
    provider: Provider,
    period: Period,
    *,
    now: datetime,
    zone: tzinfo,
    client_name: str = "",
) -> Scorecard:
    """One provider's figures, live, with the survival curves and the monthly trend; or one client's part."""
    scope = Scope(workspace_id=workspace.pk, provider_ids=(provider.pk,), client_name=client_name)
    sample = Sample.load(scope, period, now)
    m = metrics.compute(
        scope, period, now=now, group_by_provider=False, priors=_priors(workspace, period), sample=sample
    )[WORKSPACE]
    return Scorecard(
        m=m,
        trend=metrics.monthly_trend(scope, period, sample, zone),
        distribution=metrics.reply_time_distribution(sample),
    )


# What the scorecard's list of exchanges can show.
EXCHANGE_FILTERS = ("all", "answered", "unanswered", "late", "within")


def scorecard_exchanges(
    workspace: Workspace,
    provider: Provider,
    period: Period,
    show: str,
    *,
    now: datetime,
    client_name: str = "",
) -> QuerySet[Exchange]:
    """The requests behind the scorecard's numbers, newest first."""
    rows = (
        Exchange.objects.filter(
            period.range_filter("requested_at"), workspace=workspace, engagement__provider=provider
        )
        .select_related("engagement", "request_message")
        .only(
            "requested_at",
            "replied_at",
            "reply_due_at",
            "reply_seconds",
            "reply_business_seconds",
            "within_policy",
            "ghosted_due_at",
            "followups",
            "engagement__title",
            "engagement__workspace_id",
            "engagement__status",
            "request_message__subject",
        )
        .order_by("-requested_at", "-id")
    )
    if client_name:  # the scorecard's client filter: the same engagements as its figures
        rows = rows.filter(engagement__client_name=client_name)
    if show == "answered":
        rows = rows.filter(replied_at__isnull=False)
    elif show == "unanswered":
        rows = rows.filter(replied_at__isnull=True)
    elif show == "late":
        # Answered late, or unanswered past the due time (deadlines.is_past), in SQL: what the
        # within-the-policy figure counts as missed.
        rows = rows.filter(Q(within_policy=False) | Q(replied_at__isnull=True, reply_due_at__lt=now))
    elif show == "within":
        rows = rows.filter(within_policy=True)
    return rows


def comparison(
    workspace: Workspace, providers: Sequence[Provider], period: Period, *, now: datetime, zone: tzinfo
) -> tuple[dict[int, Metrics], dict[int, list[metrics.MonthFigures]]]:
    """Side by side: each provider's figures and monthly trend, live (a fixed number of queries)."""
    scope = Scope(workspace_id=workspace.pk, provider_ids=tuple(p.pk for p in providers))
    sample = Sample.load(scope, period, now)
    groups = metrics.compute(scope, period, now=now, priors=_priors(workspace, period), sample=sample)
    trends = metrics.monthly_trends(scope, period, sample, zone, by_provider=True)
    return {p.pk: groups.get(p.pk) or Metrics() for p in providers}, {
        p.pk: trends.get(p.pk, []) for p in providers
    }
