"""The reliability numbers: what the log says about each provider, with sample sizes.

Reads the stored exchanges, deliveries, flags and reviews of a scope (a
workspace, optionally narrowed to providers, a category or an owner) over a
period, and turns them into the figures the reliability pages show. The
formulas live in ``engagements.statistics`` and are explained in
``docs/metrics.md``; this module decides which rows count.

A fixed number of queries per call, whatever the number of providers: every
aggregate is grouped by provider in the database, and the reply times (a
Kaplan–Meier estimate needs each one) are read as narrow tuples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from engagements import clock, deadlines
from engagements.clock import BusinessCalendar
from engagements.models import Engagement, Exchange, Flag, Review
from engagements.policies import engagement_calendars
from engagements.reliability.statistics import (
    Interval,
    Score,
    SurvivalCurve,
    kaplan_meier,
    naive_mean,
    reliability_score,
    wilson_interval,
)

G = TypeVar("G", bound=Hashable)

# The standard periods (days back from now; "all" has no start).
PERIODS: dict[str, Any] = {
    "30": _("Last 30 days"),
    "90": _("Last 90 days"),
    "365": _("Last 365 days"),
    "all": _("All time"),
}
DEFAULT_PERIOD = "90"
CUSTOM = "custom"

# The whole workspace, in grouped results.
WORKSPACE = None


@dataclass(frozen=True)
class Period:
    """Requests made, deliveries made, engagements completed in [start, end)."""

    key: str
    start: datetime | None
    end: datetime

    @classmethod
    def standard(cls, key: str, now: datetime | None = None) -> Period:
        now = now or timezone.now()
        if key not in PERIODS:
            raise ValueError(f"unknown period {key!r}")
        start = None if key == "all" else now - timedelta(days=int(key))
        return cls(key=key, start=start, end=now)

    @classmethod
    def custom(cls, first: date, last: date, zone: tzinfo) -> Period:
        """Whole days from ``first`` to ``last`` (both included), in the reader's zone."""
        if last < first:
            raise ValueError("the period ends before it starts")
        start = datetime.combine(first, time.min, tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
        return cls(key=CUSTOM, start=start, end=end)

    @property
    def label(self) -> str:
        if self.key in PERIODS:
            return str(PERIODS[self.key])
        assert self.start is not None
        first = self.start.date()
        last = (self.end - timedelta(days=1)).date()
        return f"{date_format(first, 'SHORT_DATE_FORMAT')} – {date_format(last, 'SHORT_DATE_FORMAT')}"

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and (self.start is None or moment >= self.start) and moment < self.end

    def range_filter(self, field_name: str) -> Q:
        q = Q(**{f"{field_name}__lt": self.end})
        if self.start is not None:
            q &= Q(**{f"{field_name}__gte": self.start})
        return q


@dataclass(frozen=True)
class Bands:
    """Periods that end together, each inside the next (the standard ones at one moment), read by one query.

    Each row falls in its band: the narrowest of the periods that holds it. A period's totals are
    its own band's and every narrower one's. A refresh asks for the four standard periods: one
    scan of a workspace's engagements, reviews or flags per figure, not four (at a million
    messages, 28 scans of some 55 ms each had been half of a refresh's time).
    """

    periods: tuple[Period, ...]  # the narrowest first; the last may have no start ("all")

    @classmethod
    def of(cls, periods: Iterable[Period]) -> Bands:
        ordered = tuple(
            sorted(
                periods, key=lambda p: (p.start is None, -p.start.timestamp() if p.start is not None else 0)
            )
        )
        if not ordered:
            raise ValueError("no period")
        if len({p.end for p in ordered}) != 1 or len({p.key for p in ordered}) != len(ordered):
            raise ValueError("the periods must end together and differ in their keys")
        return cls(ordered)

    def range_filter(self, field_name: str) -> Q:
        """The rows of the widest period."""
        return self.periods[-1].range_filter(field_name)

    def band(self, field_name: str) -> Case | Value:
        """Which band a row of the widest period is in (0: the narrowest)."""
        last = len(self.periods) - 1
        if not last:
            return Value(0, output_field=IntegerField())
        return Case(
            *(
                When(**{f"{field_name}__gte": p.start}, then=Value(i))
                for i, p in enumerate(self.periods[:last])
            ),
            default=Value(last),
            output_field=IntegerField(),
        )

    def totals(
        self,
        rows: Iterable[Any],
        group: Callable[[Any], G],
        names: Sequence[str],
    ) -> list[dict[G, dict[str, Any]]]:
        """Per period (in ``periods``' order), each group's sums of ``names`` over its rows.

        ``rows`` carry their band as ``band``; a missing sum counts 0. A group with no row in a
        period is not in that period's totals, as a query over that period alone would not give it.
        """
        count = len(self.periods)
        by_band: dict[G, list[dict[str, Any] | None]] = {}
        for row in rows:
            by_band.setdefault(group(row), [None] * count)[row["band"]] = row
        result: list[dict[G, dict[str, Any]]] = [{} for _ in range(count)]
        for key, own in by_band.items():
            running: dict[str, Any] | None = None
            for i, found in enumerate(own):
                if found is not None:
                    values: dict[str, Any] = {
                        name: 0 if found[name] is None else found[name] for name in names
                    }
                    running = (
                        values if running is None else {name: running[name] + values[name] for name in names}
                    )
                if running is not None:
                    result[i][key] = running
        return result


@dataclass(frozen=True)
class Scope:
    """Whose numbers: a workspace, optionally some providers, one category, one owner, one client."""

    workspace_id: int
    provider_ids: tuple[int, ...] | None = None
    category: str = ""
    owner_id: int | None = None
    client_name: str = ""

    def engagement_filter(self, prefix: str = "") -> Q:
        q = Q(**{f"{prefix}workspace_id": self.workspace_id})
        if self.provider_ids is not None:
            q &= Q(**{f"{prefix}provider_id__in": self.provider_ids})
        if self.category:
            q &= Q(**{f"{prefix}category": self.category})
        if self.owner_id is not None:
            q &= Q(**{f"{prefix}owner_id": self.owner_id})
        if self.client_name:
            q &= Q(**{f"{prefix}client_name": self.client_name})
        return q


@dataclass(frozen=True)
class ReplyTimes:
    """Time to reply in one clock: Kaplan–Meier with unanswered requests censored."""

    median: float | None
    p90: float | None
    naive_mean: float | None  # over answered requests only: shown once, to show why it misleads
    n: int
    answered: int
    curve: SurvivalCurve | None = None  # not kept in snapshots

    @classmethod
    def estimate(cls, durations: Sequence[float], observed: Sequence[bool]) -> ReplyTimes:
        curve = kaplan_meier(durations, observed)
        return cls(
            median=curve.quantile_time(0.5),
            p90=curve.quantile_time(0.9),
            naive_mean=naive_mean(durations, observed),
            n=curve.n,
            answered=curve.n_events,
            curve=curve,
        )


@dataclass(frozen=True)
class Mean:
    value: float | None
    n: int


@dataclass(frozen=True)
class Spend:
    """Completed engagements in one currency: what they cost against what was agreed."""

    currency: str
    total: Decimal
    completed: int
    agreed: Decimal  # the agreed fees of the engagements with both figures
    paid_of_agreed: Decimal  # what those same engagements finally cost

    @property
    def per_completed(self) -> Decimal | None:
        return (self.total / self.completed).quantize(Decimal("0.01")) if self.completed else None

    @property
    def vs_agreed(self) -> float | None:
        """Paid ÷ agreed (1.0 = as agreed), over engagements with both figures."""
        return float(self.paid_of_agreed / self.agreed) if self.agreed else None


@dataclass
class Metrics:
    """Every reliability figure of one group (a provider, or the whole scope)."""

    requests: int = 0
    replies: int = 0
    response_rate: Interval = field(default_factory=lambda: wilson_interval(0, 0))
    within_policy: Interval = field(default_factory=lambda: wilson_interval(0, 0))
    followups: int = 0
    ghosted: int = 0
    business: ReplyTimes | None = None
    calendar: ReplyTimes | None = None
    on_time: Interval = field(default_factory=lambda: wilson_interval(0, 0))
    quality: Mean = field(default_factory=lambda: Mean(None, 0))
    communication: Mean = field(default_factory=lambda: Mean(None, 0))
    would_hire_again: Interval = field(default_factory=lambda: wilson_interval(0, 0))
    spend: list[Spend] = field(default_factory=list)
    score: Score | None = None

    @property
    def unanswered(self) -> int:
        return self.requests - self.replies

    @property
    def followups_per_request(self) -> float | None:
        return self.followups / self.requests if self.requests else None


# --- Reading the rows -----------------------------------------------------------


@dataclass(frozen=True)
class _ExchangeRow:
    provider_id: int
    category: str
    engagement_id: int
    requested_at: datetime
    replied_at: datetime | None
    reply_due_at: datetime | None
    reply_seconds: int | None
    reply_business_seconds: int | None
    within_policy: bool | None
    followups: int
    closed_at: datetime | None
    exchange_id: int = 0

    def waited_until(self, now: datetime) -> datetime:
        """Where an unanswered request is censored: now, or when its engagement closed."""
        if self.closed_at is not None and self.closed_at < now:
            return max(self.closed_at, self.requested_at)
        return now


class Sample:
    """The requests of a scope and period as columns, one entry per request.

    Answered requests carry their reply times; unanswered ones the time they
    have waited so far (censored: until now, or until their engagement
    closed), and count as decidedly outside the policy once past their due
    time. Columns, not objects: the snapshots group hundreds of thousands.
    """

    def __init__(
        self,
        *,
        now: datetime,
        provider: np.ndarray,
        category: np.ndarray,
        requested: np.ndarray,
        calendar_t: np.ndarray,
        business_t: np.ndarray,
        answered: np.ndarray,
        decided: np.ndarray,
        within: np.ndarray,
        followups: np.ndarray,
    ) -> None:
        self.now = now
        self.provider = provider  # provider ids
        self.category = category  # category values (str objects)
        self.requested = requested  # UTC epoch seconds
        self.calendar_t = calendar_t
        self.business_t = business_t
        self.answered = answered
        self.decided = decided
        self.within = within  # within the policy (only meaningful where decided)
        self.followups = followups

    def __len__(self) -> int:
        return int(self.requested.size)

    @classmethod
    def load(cls, scope: Scope, period: Period, now: datetime) -> Sample:
        return cls.from_rows(exchange_rows(scope, period), now)

    @classmethod
    def from_rows(
        cls, rows: Sequence[_ExchangeRow], now: datetime, calendars: dict[int, BusinessCalendar] | None = None
    ) -> Sample:
        """The sample of these rows, in their order; ``calendars`` as for ``waited_business_seconds``."""
        waited = waited_business_seconds(rows, now, calendars)
        calendar_t, business_t, decided, within = [], [], [], []
        for row, waited_business in zip(rows, waited, strict=True):
            if row.replied_at is not None:
                calendar = row.reply_seconds or 0
                calendar_t.append(calendar)
                business_t.append(
                    calendar if row.reply_business_seconds is None else row.reply_business_seconds
                )
                decided.append(row.within_policy is not None)
                within.append(bool(row.within_policy))
            else:
                end = row.waited_until(now)
                calendar_t.append(clock.calendar_seconds(row.requested_at, end))
                business_t.append(waited_business or 0)
                # Missed once past its due time (deadlines.is_past): a reply at that instant was in time.
                decided.append(row.reply_due_at is not None and deadlines.is_past(row.reply_due_at, end))
                within.append(False)
        return cls(
            now=now,
            provider=np.array([r.provider_id for r in rows], dtype=np.int64),
            category=np.array([r.category for r in rows], dtype=object),
            requested=np.array([r.requested_at.timestamp() for r in rows], dtype=np.float64),
            calendar_t=np.array(calendar_t, dtype=np.float64),
            business_t=np.array(business_t, dtype=np.float64),
            answered=np.array([r.replied_at is not None for r in rows], dtype=bool),
            decided=np.array(decided, dtype=bool),
            within=np.array(within, dtype=bool),
            followups=np.array([r.followups for r in rows], dtype=np.int64),
        )

    COLUMNS = (
        "provider",
        "category",
        "requested",
        "calendar_t",
        "business_t",
        "answered",
        "decided",
        "within",
        "followups",
    )

    def columns(self) -> dict[str, np.ndarray]:
        """The sample as plain arrays (what the snapshot refresh keeps between runs)."""
        return {name: getattr(self, name) for name in self.COLUMNS}

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray], now: datetime) -> Sample:
        return cls(now=now, **{name: columns[name] for name in cls.COLUMNS})

    def without_providers(self, provider_ids: Sequence[int]) -> Sample:
        """The requests of every provider but these."""
        return self.take(~np.isin(self.provider, np.asarray(list(provider_ids), dtype=np.int64)))

    def plus(self, other: Sample) -> Sample:
        """Both samples' requests together (``other``'s moment wins)."""
        return Sample.from_columns(
            {name: np.concatenate([getattr(self, name), getattr(other, name)]) for name in self.COLUMNS},
            other.now,
        )

    def by_provider(self) -> dict[int, Sample]:
        """The requests of each provider, in the order they came in."""
        if not len(self):
            return {}
        order = np.argsort(self.provider, kind="stable")
        ids, starts = np.unique(self.provider[order], return_index=True)
        return {int(pk): self.take(part) for pk, part in zip(ids, np.split(order, starts[1:]), strict=True)}

    def take(self, which: np.ndarray) -> Sample:
        """The requests picked by a boolean mask or an index array."""
        return Sample(
            now=self.now,
            provider=self.provider[which],
            category=self.category[which],
            requested=self.requested[which],
            calendar_t=self.calendar_t[which],
            business_t=self.business_t[which],
            answered=self.answered[which],
            decided=self.decided[which],
            within=self.within[which],
            followups=self.followups[which],
        )

    def within_period(self, period: Period) -> Sample:
        """The part of this sample requested in ``period`` (a shorter one)."""
        mask = self.requested < period.end.timestamp()
        if period.start is not None:
            mask &= self.requested >= period.start.timestamp()
        return self.take(mask)

    def months(self, zone: tzinfo) -> tuple[list[date], np.ndarray]:
        """The months (first days, in ``zone``) the requests were made in, and each request's index into them."""
        if not len(self):
            return [], np.zeros(0, dtype=np.int64)
        first = _month(datetime.fromtimestamp(float(self.requested.min()), tz=zone), zone)
        last = _month(datetime.fromtimestamp(float(self.requested.max()), tz=zone), zone)
        months = _months(first, last)
        # Where each month starts, as an instant: daylight saving makes months uneven in UTC.
        starts = np.array([datetime.combine(m, time.min, tzinfo=zone).timestamp() for m in months])
        return months, np.searchsorted(starts, self.requested, side="right") - 1


def exchange_rows(scope: Scope, period: Period, pks: Collection[int] | None = None) -> list[_ExchangeRow]:
    """The requests made in the period (only these when ``pks`` is given), one narrow tuple each (one query)."""
    exchanges = Exchange.objects.filter(
        scope.engagement_filter("engagement__"), period.range_filter("requested_at")
    )
    if pks is not None:
        exchanges = exchanges.filter(pk__in=pks)
    rows = exchanges.order_by().values_list(
        "engagement__provider_id",
        "engagement__category",
        "engagement_id",
        "requested_at",
        "replied_at",
        "reply_due_at",
        "reply_seconds",
        "reply_business_seconds",
        "within_policy",
        "followups",
        "engagement__closed_at",
        "pk",
    )
    return [_ExchangeRow(*row) for row in rows]


def waited_business_seconds(
    rows: Sequence[_ExchangeRow], now: datetime, calendars: dict[int, BusinessCalendar] | None = None
) -> list[int | None]:
    """Business time each unanswered request has waited so far (None for answered ones).

    Read from each engagement's calendar (four queries for any number, or
    none when the caller passes ``unanswered_calendars(rows)``): the
    censoring times of the business-time estimate.
    """
    if calendars is None:
        calendars = unanswered_calendars(rows)
    waited: list[int | None] = []
    for row in rows:
        if row.replied_at is not None:
            waited.append(None)
            continue
        end = row.waited_until(now)
        try:
            waited.append(clock.business_seconds(row.requested_at, end, calendars[row.engagement_id]))
        except ValueError:
            # Beyond the clock's horizon (a decade): count the calendar time, which is larger.
            waited.append(clock.calendar_seconds(row.requested_at, end))
    return waited


def unanswered_calendars(rows: Sequence[_ExchangeRow]) -> dict[int, BusinessCalendar]:
    """The business calendars of the engagements with an unanswered request among ``rows``."""
    return engagement_calendars(row.engagement_id for row in rows if row.replied_at is None)


# --- Putting the figures together ---------------------------------------------------

# A group: (provider id or WORKSPACE, category or "" for all of them).
Key = tuple[int | None, str]
ALL = ""


@dataclass(frozen=True)
class Grouping:
    """Which groups a computation fills: always the whole scope, per provider and per category if asked."""

    by_provider: bool = True
    # Per provider and category; the whole scope stays one group (its split by
    # category is nobody's page, and the biggest groups cost the most).
    by_category: bool = False

    def keys(self, provider_id: int, category: str) -> list[Key]:
        if not self.by_provider:
            return [(WORKSPACE, ALL)]
        if self.by_category and category:
            return [(WORKSPACE, ALL), (provider_id, ALL), (provider_id, category)]
        return [(WORKSPACE, ALL), (provider_id, ALL)]


def _group_rows(sample: Sample, grouping: Grouping) -> dict[Key, np.ndarray]:
    """Each group's requests, as index arrays into the sample."""
    groups: dict[Key, np.ndarray] = {(WORKSPACE, ALL): np.arange(len(sample))}
    if not grouping.by_provider or not len(sample):
        return groups
    order = np.argsort(sample.provider, kind="stable")
    providers, starts = np.unique(sample.provider[order], return_index=True)
    for provider_id, rows in zip(providers.tolist(), np.split(order, starts[1:]), strict=True):
        groups[(provider_id, ALL)] = rows
        if grouping.by_category:
            categories = sample.category[rows]
            for category in set(categories.tolist()) - {ALL}:
                groups[(provider_id, category)] = rows[categories == category]
    return groups


def _exchange_figures(sample: Sample, grouping: Grouping) -> dict[Key, dict[str, Any]]:
    figures = {}
    for key, rows in _group_rows(sample, grouping).items():
        if not rows.size:
            continue
        answered = sample.answered[rows]
        decided = sample.decided[rows]
        figures[key] = {
            "requests": int(rows.size),
            "replies": int(answered.sum()),
            "decided": int(decided.sum()),
            "within": int((decided & sample.within[rows]).sum()),
            "followups": int(sample.followups[rows].sum()),
            "business": (sample.business_t[rows], answered),
            "calendar": (sample.calendar_t[rows], answered),
        }
    return figures


def _grouped(
    qs: QuerySet, prefix: str, field_name: str, bands: Bands, grouping: Grouping, **aggregates: Any
) -> list[dict[Key, dict[str, Any]]]:
    """Per period of ``bands`` (by ``field_name``), one query's counts and sums rolled up into every group.

    Counts and sums add up, so the workspace's and the categories' totals come from the same
    rows, and a period's from its bands.
    """
    qs = qs.filter(bands.range_filter(field_name)).annotate(band=bands.band(field_name))
    names = list(aggregates)
    if not grouping.by_provider:
        # The whole scope only (a refresh's workspace row): a row of totals per band from the
        # database, not one per provider and category to be added up here.
        rows = qs.values("band").annotate(**aggregates).order_by()
        zeros = dict.fromkeys(names, 0)
        return [
            {(WORKSPACE, ALL): totals.get(None, zeros)}
            for totals in bands.totals(rows, lambda row: None, names)
        ]
    provider_field, category_field = f"{prefix}provider_id", f"{prefix}category"
    per_period = bands.totals(
        qs.values("band", provider_field, category_field).annotate(**aggregates).order_by(),
        lambda row: (row[provider_field], row[category_field]),
        names,
    )
    result: list[dict[Key, dict[str, Any]]] = []
    for groups in per_period:
        rolled: dict[Key, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(names, 0))
        for (provider_id, category), figures in groups.items():
            for key in grouping.keys(provider_id, category):
                total = rolled[key]
                for name in names:
                    total[name] += figures[name]
        result.append(rolled)
    return result


def compute_groups(
    scope: Scope,
    period: Period,
    *,
    now: datetime,
    grouping: Grouping = Grouping(),
    priors: dict[str, dict[str, float]] | None = None,
    sample: Sample | None = None,
) -> dict[Key, Metrics]:
    """Every figure for each group of the scope over one period (see ``compute_periods``)."""
    return compute_periods(
        scope,
        [period],
        now=now,
        grouping=grouping,
        priors=None if priors is None else {period.key: priors},
        samples=None if sample is None else {period.key: sample},
    )[period.key]


def compute_periods(
    scope: Scope,
    periods: Sequence[Period],
    *,
    now: datetime,
    grouping: Grouping = Grouping(),
    priors: Mapping[str, dict[str, dict[str, float]]] | None = None,
    samples: Mapping[str, Sample] | None = None,
) -> dict[str, dict[Key, Metrics]]:
    """Every figure for each group of the scope, per period (by key): a fixed number of queries.

    The periods end together, each inside the next (``Bands``). Scores shrink toward the whole
    scope's shares in the same category, or toward ``priors[period key][category]`` when given
    (the workspace's, for a narrower scope). ``samples`` are the periods' requests, when read already.
    """
    bands = Bands.of(periods)
    engagements = Engagement.objects.filter(scope.engagement_filter())
    ghosted = _grouped(
        Flag.objects.filter(scope.engagement_filter("engagement__"), kind=Flag.Kind.GHOSTED).exclude(
            resolution=Flag.Resolution.WITHDRAWN
        ),
        "engagement__",
        "raised_at",
        bands,
        grouping,
        n=Count("id"),
    )
    deliveries = _grouped(
        engagements.filter(delivered_on_time__isnull=False),
        "",
        "delivered_at",
        bands,
        grouping,
        n=Count("id"),
        on_time=Count("id", filter=Q(delivered_on_time=True)),
    )
    reviews = _grouped(
        Review.objects.filter(scope.engagement_filter("engagement__")),
        "engagement__",
        "engagement__completed_at",
        bands,
        grouping,
        n=Count("id"),
        quality=Sum("quality"),
        communication=Sum("communication"),
        hire=Count("id", filter=Q(would_hire_again=True)),
    )
    spend = _spend(engagements, bands, grouping)

    by_period: dict[str, dict[Key, Metrics]] = {}
    for i, period in enumerate(bands.periods):
        sample = samples[period.key] if samples is not None and period.key in samples else None
        exchange_groups = _exchange_figures(
            sample if sample is not None else Sample.load(scope, period, now), grouping
        )
        keys = (
            {(WORKSPACE, ALL)}
            | set(exchange_groups)
            | set(ghosted[i])
            | set(deliveries[i])
            | set(reviews[i])
            | set(spend[i])
        )
        result = {
            key: _metrics(key, exchange_groups, ghosted[i], deliveries[i], reviews[i], spend[i])
            for key in keys
        }
        shrink = priors.get(period.key) if priors is not None else None
        for (_provider, category), metrics in result.items():
            shrink_to = shrink.get(category, shrink.get(ALL)) if shrink is not None else None
            if shrink_to is None:
                shrink_to = workspace_priors(result[(WORKSPACE, ALL)])
            metrics.score = score_of(metrics, shrink_to)
        by_period[period.key] = result
    return by_period


def compute(
    scope: Scope,
    period: Period,
    *,
    now: datetime | None = None,
    group_by_provider: bool = True,
    priors: dict[str, float] | None = None,
    sample: Sample | None = None,
) -> dict[int | None, Metrics]:
    """Every figure for the scope (key ``WORKSPACE``) and, if asked, for each of its providers."""
    groups = compute_groups(
        scope,
        period,
        now=now or timezone.now(),
        grouping=Grouping(by_provider=group_by_provider),
        priors=None if priors is None else {ALL: priors},
        sample=sample,
    )
    return {provider_id: metrics for (provider_id, _category), metrics in groups.items()}


def _metrics(
    key: Key,
    exchange_groups: dict[Key, dict[str, Any]],
    ghosted: dict[Key, dict[str, Any]],
    deliveries: dict[Key, dict[str, Any]],
    reviews: dict[Key, dict[str, Any]],
    spend: dict[Key, list[Spend]],
) -> Metrics:
    m = Metrics()
    g = exchange_groups.get(key)
    if g is not None:
        m.requests, m.replies, m.followups = g["requests"], g["replies"], g["followups"]
        m.response_rate = wilson_interval(g["replies"], g["requests"])
        m.within_policy = wilson_interval(g["within"], g["decided"])
        for clock_name in ("business", "calendar"):
            durations, observed = g[clock_name]
            setattr(m, clock_name, ReplyTimes.estimate(durations, observed))
    m.ghosted = ghosted.get(key, {}).get("n", 0)
    d = deliveries.get(key, {})
    m.on_time = wilson_interval(d.get("on_time", 0), d.get("n", 0))
    r = reviews.get(key, {})
    n_reviews = r.get("n", 0)
    if n_reviews:
        m.quality = Mean(r["quality"] / n_reviews, n_reviews)
        m.communication = Mean(r["communication"] / n_reviews, n_reviews)
    m.would_hire_again = wilson_interval(r.get("hire", 0), n_reviews)
    m.spend = spend.get(key, [])
    return m


def _spend(engagements: QuerySet, bands: Bands, grouping: Grouping) -> list[dict[Key, list[Spend]]]:
    """Completed engagements' cost per group and currency, per period of ``bands`` (one query)."""
    paid = Coalesce("review__final_fee_amount", "fee_amount")
    both = Q(fee_amount__isnull=False)
    # Per currency only, when the whole scope is the only group.
    columns = ("provider_id", "category", "fee_currency") if grouping.by_provider else ("fee_currency",)
    rows = (
        engagements.filter(
            bands.range_filter("completed_at"),
            Q(fee_amount__isnull=False) | Q(review__final_fee_amount__isnull=False),
        )
        .annotate(band=bands.band("completed_at"))
        .values("band", *columns)
        .annotate(
            total=Sum(paid),
            completed=Count("id"),
            agreed=Coalesce(Sum("fee_amount", filter=both), Decimal(0)),
            paid_of_agreed=Coalesce(Sum(paid, filter=both), Decimal(0)),
        )
        .order_by()
    )
    names = ("total", "completed", "agreed", "paid_of_agreed")
    result = []
    for groups in bands.totals(rows, lambda row: tuple(row[c] for c in columns), names):
        totals: dict[Key, dict[str, list[Any]]] = defaultdict(dict)
        for group, row in groups.items():
            figures = [row["total"] or Decimal(0), row["completed"], row["agreed"], row["paid_of_agreed"]]
            keys = grouping.keys(group[0], group[1]) if grouping.by_provider else [(WORKSPACE, ALL)]
            for key in keys:
                current = totals[key].setdefault(group[-1] or "", [Decimal(0), 0, Decimal(0), Decimal(0)])
                for i, value in enumerate(figures):
                    current[i] += value
        result.append(
            {
                key: [
                    Spend(currency=c, total=v[0], completed=v[1], agreed=v[2], paid_of_agreed=v[3])
                    for c, v in sorted(by_currency.items())
                ]
                for key, by_currency in totals.items()
            }
        )
    return result


# --- The score ---------------------------------------------------------------------


def _parts(m: Metrics) -> dict[str, tuple[float | None, int]]:
    quality = None if m.quality.value is None else (m.quality.value - 1) / 4
    return {
        "responsiveness": (m.within_policy.point, m.within_policy.n),
        "on_time": (m.on_time.point, m.on_time.n),
        "quality": (quality, m.quality.n),
    }


# Where the scores shrink to when the workspace itself has no data yet.
NEUTRAL_PRIORS = {"responsiveness": 0.5, "on_time": 0.5, "quality": 0.5}


def workspace_priors(whole: Metrics) -> dict[str, float]:
    """The workspace's own shares: a provider with little data is pulled toward these."""
    return {
        name: NEUTRAL_PRIORS[name] if value is None else value for name, (value, _n) in _parts(whole).items()
    }


def score_of(m: Metrics, priors: dict[str, float]) -> Score:
    parts = _parts(m)
    return reliability_score(
        responsiveness=parts["responsiveness"],
        on_time=parts["on_time"],
        quality=parts["quality"],
        priors=priors,
    )


# --- Over time ----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    month: date  # the first of the month, in the reader's zone
    requests: int
    response_rate: Interval
    within_policy: Interval
    median_business: float | None
    median_calendar: float | None
    on_time: Interval
    quality: Mean
    followups_per_request: float | None = None
    ghosted: int = 0
    communication: Mean = field(default_factory=lambda: Mean(None, 0))
    spend: list[tuple[str, Decimal]] = field(default_factory=list)  # (currency, total) of completions


def _month(moment: datetime, zone: tzinfo) -> date:
    local = moment.astimezone(zone)
    return date(local.year, local.month, 1)


def _months(first: date, last: date) -> list[date]:
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


# A trend over "all time" shows at most this many months, the latest.
MAX_TREND_MONTHS = 24


def _month_key(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def monthly_trends(
    scope: Scope, period: Period, sample: Sample, zone: tzinfo, *, by_provider: bool = False
) -> dict[int | None, list[MonthFigures]]:
    """Each figure month by month (requests by the month they were made), oldest first.

    For the whole scope (key ``WORKSPACE``) or, ``by_provider``, for each of its providers
    (see ``monthly_trends_periods``).
    """
    return monthly_trends_periods(scope, [period], {period.key: sample}, zone, by_provider=by_provider)[
        period.key
    ]


def monthly_trends_periods(
    scope: Scope,
    periods: Sequence[Period],
    samples: Mapping[str, Sample],
    zone: tzinfo,
    *,
    by_provider: bool = False,
) -> dict[str, dict[int | None, list[MonthFigures]]]:
    """``monthly_trends`` of each period (by key; they end together, each inside the next: ``Bands``).

    Either way four grouped queries besides the samples, whatever the number of periods:
    deliveries, reviews, ghostings and spend per month.
    """
    bands = Bands.of(periods)

    def per_month(
        qs: QuerySet, field_name: str, *extra: str, provider: str, **aggregates: Any
    ) -> list[dict[tuple[Any, ...], dict[str, Any]]]:
        rows = (
            qs.filter(bands.range_filter(field_name))
            .annotate(band=bands.band(field_name), month=TruncMonth(field_name, tzinfo=zone))
            .values("band", "month", *extra, *([provider] if by_provider else []))
            .annotate(**aggregates)
            .order_by()
        )
        return bands.totals(
            rows,
            lambda row: (row.get(provider), _month_key(row["month"]), *(row[e] for e in extra)),
            list(aggregates),
        )

    deliveries = per_month(
        Engagement.objects.filter(scope.engagement_filter(), delivered_on_time__isnull=False),
        "delivered_at",
        provider="provider_id",
        n=Count("id"),
        on_time=Count("id", filter=Q(delivered_on_time=True)),
    )
    reviews = per_month(
        Review.objects.filter(scope.engagement_filter("engagement__")),
        "engagement__completed_at",
        provider="engagement__provider_id",
        n=Count("id"),
        quality=Sum("quality"),
        communication=Sum("communication"),
    )
    ghosted = per_month(
        Flag.objects.filter(scope.engagement_filter("engagement__"), kind=Flag.Kind.GHOSTED).exclude(
            resolution=Flag.Resolution.WITHDRAWN
        ),
        "raised_at",
        provider="engagement__provider_id",
        n=Count("id"),
    )
    spent = per_month(
        Engagement.objects.filter(
            scope.engagement_filter(), Q(fee_amount__isnull=False) | Q(review__final_fee_amount__isnull=False)
        ),
        "completed_at",
        "fee_currency",
        provider="provider_id",
        total=Sum(Coalesce("review__final_fee_amount", "fee_amount")),
    )
    result: dict[str, dict[int | None, list[MonthFigures]]] = {}
    for i, period in enumerate(bands.periods):
        sample = samples[period.key]
        spend: dict[tuple[int | None, date], list[tuple[str, Decimal]]] = defaultdict(list)
        for (provider_id, month, currency), row in sorted(spent[i].items(), key=lambda kv: kv[0][2] or ""):
            spend[(provider_id, month)].append((currency, row["total"]))
        parts: dict[int | None, Sample]
        if by_provider:
            provider_ids: set[int] = set(sample.provider.tolist())
            provider_ids |= {
                k[0] for k in [*deliveries[i], *reviews[i], *ghosted[i], *spend] if k[0] is not None
            }
            parts = {key: sample.take(sample.provider == key) for key in sorted(provider_ids)}
        else:
            parts = {WORKSPACE: sample}

        def own(figures: Mapping[Any, Any], key: int | None) -> dict[date, Any]:
            return {k[1]: value for k, value in figures.items() if k[0] == key}

        result[period.key] = {
            key: _trend(
                part,
                period,
                zone,
                own(deliveries[i], key),
                own(reviews[i], key),
                {month: row["n"] for month, row in own(ghosted[i], key).items()},
                own(spend, key),
            )
            for key, part in parts.items()
        }
    return result


def monthly_trend(scope: Scope, period: Period, sample: Sample, zone: tzinfo) -> list[MonthFigures]:
    """The whole scope's figures month by month (see ``monthly_trends``)."""
    return monthly_trends(scope, period, sample, zone)[WORKSPACE]


def _trend(
    sample: Sample,
    period: Period,
    zone: tzinfo,
    deliveries: dict[date, dict[str, Any]],
    reviews: dict[date, dict[str, Any]],
    ghosted: dict[date, int],
    spend: dict[date, list[tuple[str, Decimal]]],
) -> list[MonthFigures]:
    request_months, month_index = sample.months(zone)
    requests = {month: sample.take(month_index == i) for i, month in enumerate(request_months)}
    seen = set(requests) | set(deliveries) | set(reviews) | set(ghosted) | set(spend)
    if not seen:
        return []
    first = _month(period.start, zone) if period.start is not None else min(seen)
    months = _months(first, _month(period.end - timedelta(microseconds=1), zone))[-MAX_TREND_MONTHS:]
    trend = []
    for month in months:
        part = requests[month] if month in requests else sample.take(np.zeros(0, dtype=np.int64))
        d = deliveries.get(month, {})
        r = reviews.get(month, {})
        trend.append(
            MonthFigures(
                month=month,
                requests=len(part),
                response_rate=wilson_interval(int(part.answered.sum()), len(part)),
                within_policy=wilson_interval(
                    int((part.decided & part.within).sum()), int(part.decided.sum())
                ),
                median_business=kaplan_meier(part.business_t, part.answered).quantile_time(0.5),
                median_calendar=kaplan_meier(part.calendar_t, part.answered).quantile_time(0.5),
                on_time=wilson_interval(d.get("on_time", 0), d.get("n", 0)),
                quality=Mean(r["quality"] / r["n"], r["n"]) if r.get("n") else Mean(None, 0),
                followups_per_request=float(part.followups.sum()) / len(part) if len(part) else None,
                ghosted=ghosted.get(month, 0),
                communication=Mean(r["communication"] / r["n"], r["n"]) if r.get("n") else Mean(None, 0),
                spend=spend.get(month, []),
            )
        )
    return trend


def within_policy_by_month(sample: Sample, zone: tzinfo) -> list[tuple[date, Interval]]:
    """The share of requests answered within the policy, by the month they were made (oldest first)."""
    months, month_index = sample.months(zone)
    decided = sample.decided
    totals = np.bincount(month_index[decided], minlength=len(months))
    withins = np.bincount(month_index[decided & sample.within], minlength=len(months))
    return [
        (month, wilson_interval(int(withins[i]), int(totals[i])))
        for i, month in enumerate(months)
        if totals[i]
    ]


# Reply-time distribution buckets (calendar time, upper bounds in seconds).
HOUR = 3600
DAY = 24 * HOUR
DISTRIBUTION_BUCKETS: tuple[tuple[int | None, Any], ...] = (
    (HOUR, _("within an hour")),
    (DAY, _("within a day")),
    (2 * DAY, _("1–2 days")),
    (7 * DAY, _("2–7 days")),
    (14 * DAY, _("1–2 weeks")),
    (None, _("over 2 weeks")),
)
NOT_ANSWERED = _("not answered (yet)")


def distribution_labels() -> list[str]:
    """The reply-time distribution's spans, in the active language, then "not answered (yet)"."""
    return [str(label) for _limit, label in DISTRIBUTION_BUCKETS] + [str(NOT_ANSWERED)]


def reply_time_distribution(sample: Sample) -> list[int]:
    """How many requests were answered within each span, then how many are still unanswered."""
    replied = sample.calendar_t[sample.answered]
    limits = [limit for limit, _label in DISTRIBUTION_BUCKETS if limit is not None]
    # Upper bounds are inclusive: a reply in exactly one hour is "within an hour".
    counts = np.bincount(np.searchsorted(limits, replied, side="left"), minlength=len(DISTRIBUTION_BUCKETS))
    return [*counts.tolist(), len(sample) - int(sample.answered.sum())]


# Weeks shown in the overdue chart at most (the latest).
MAX_WEEKS = 26


def overdue_per_week(scope: Scope, period: Period, zone: tzinfo) -> list[tuple[date, int]]:
    """Overdue flags (reply or delivery) per week their deadline passed in, Monday first, the latest weeks.

    By the deadline, not by when the flag was raised: history typed in later, or
    a pass that caught up, puts each in the week it really went overdue. Withdrawn
    flags were never true and are left out.
    """
    return overdue_per_week_periods(scope, [period], zone)[period.key]


def overdue_per_week_periods(
    scope: Scope, periods: Sequence[Period], zone: tzinfo
) -> dict[str, list[tuple[date, int]]]:
    """``overdue_per_week`` of each period (by key; they end together, each inside the next: ``Bands``), one query."""
    bands = Bands.of(periods)
    per_period = bands.totals(
        Flag.objects.filter(
            scope.engagement_filter("engagement__"),
            bands.range_filter("due_at"),
            kind__in=[Flag.Kind.REPLY_OVERDUE, Flag.Kind.DELIVERY_OVERDUE],
        )
        .exclude(resolution=Flag.Resolution.WITHDRAWN)
        .annotate(band=bands.band("due_at"), week=TruncWeek("due_at", tzinfo=zone))
        .values("band", "week")
        .annotate(n=Count("id"))
        .order_by(),
        lambda row: row["week"].date() if isinstance(row["week"], datetime) else row["week"],
        ["n"],
    )
    result = {}
    for period, counted in zip(bands.periods, per_period, strict=True):
        counts = {week: row["n"] for week, row in counted.items()}
        last = period.end.astimezone(zone).date()
        last -= timedelta(days=last.weekday())
        if period.start is not None:
            first = period.start.astimezone(zone).date()
            first -= timedelta(days=first.weekday())
        else:
            first = min(counts, default=last)
        first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
        weeks = []
        current = first
        while current <= last:
            weeks.append((current, counts.get(current, 0)))
            current += timedelta(weeks=1)
        result[period.key] = weeks
    return result


# --- Kept in snapshots ------------------------------------------------------------
