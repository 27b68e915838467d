"""Snapshots of the reliability figures: computed in the background, read by the big pages.

Reading every exchange of a workspace takes seconds at agency scale, so the
leaderboard and the dashboard read one precomputed row per provider, category
and standard period instead. Two tasks keep them true:

- as soon as a change commits (and every minute, as a safety net), the
  providers queued in ``MetricsBacklog`` (their log, status, review or flags
  changed) are recomputed, and with them the workspace's own figures: work
  proportional to what changed. A workspace's refresh waits after its
  previous one up to three times as long as that one took (at most a minute;
  ``engagements.backlog``), so continuous changes do not keep a worker busy;
- regularly, a whole workspace is recomputed, because time alone moves some
  figures (an unanswered request keeps waiting, a rolling period moves on).

The workspace's figures need every one of its requests, and reading them
takes seconds at agency scale (most of it working out how long each
unanswered one has waited). So a refresh keeps the workspace's requests in
the shared cache, and the next partial refresh reads afresh only the changed
providers' requests. What the kept ones have waited is as of the last full
refresh: at most ``METRICS_FULL_REFRESH_MINUTES`` old.

Each workspace is refreshed on its own: one whose figures cannot be computed
is logged and tried again on the next run, and never holds up the others. A
queued provider leaves the queue only in the transaction that writes its new
figures, so neither a failure nor a change made during a refresh is lost.

Custom periods, a member's or a category's own page and a provider's
scorecard are computed live: their scope is small.
"""

from __future__ import annotations

import json
import logging
import secrets
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from engagements import backlog
from engagements.models import MetricsBacklog, MetricSnapshot
from engagements.reliability import metrics, payload
from engagements.reliability.metrics import ALL, PERIODS, WORKSPACE, Grouping, Metrics, Period, Sample, Scope
from outsourcing.models import Workspace
from outsourcing.statements import Statement

BATCH = 1000

logger = logging.getLogger(__name__)


def _backlog_done(queued: dict[int, datetime]) -> None:
    """Remove the queued rows (id → ``since`` as read) a refresh computed, unless queued again since."""
    current = (
        MetricsBacklog.objects.select_for_update()
        .filter(pk__in=queued)
        .order_by("pk")
        .values_list("pk", "since")
    )
    MetricsBacklog.objects.filter(pk__in=[pk for pk, since in current if since == queued[pk]]).delete()


def leading_currency(whole: Metrics) -> str:
    """The workspace's most used currency: the one the leaderboard sorts spend by."""
    if not whole.spend:
        return ""
    return max(whole.spend, key=lambda s: (s.completed, s.total)).currency


def _charts(
    scope: Scope, periods: Sequence[Period], samples: Mapping[str, Sample]
) -> dict[str, dict[str, Any]]:
    """The dashboard's chart data of each period (by key), as payload: months and weeks in the site's display zone.

    The periods end together, each inside the next: each figure is one query for all of them.
    """
    zone = zoneinfo.ZoneInfo(settings.DISPLAY_TIME_ZONE)
    overdue = metrics.overdue_per_week_periods(scope, periods, zone)
    trends = metrics.monthly_trends_periods(scope, periods, samples, zone)
    return {
        period.key: payload.charts_to_payload(
            payload.Charts(
                zone=settings.DISPLAY_TIME_ZONE,
                distribution=metrics.reply_time_distribution(samples[period.key]),
                within_by_month=metrics.within_policy_by_month(samples[period.key], zone),
                overdue_weeks=overdue[period.key],
                trend=trends[period.key][WORKSPACE],
            )
        )
        for period in periods
    }


def workspace_figures(workspace_id: int, period: str) -> Metrics | None:
    """The whole workspace's figures over a standard period, from its snapshot (None if not computed)."""
    data = (
        MetricSnapshot.objects.filter(workspace_id=workspace_id, provider=None, category=ALL, period=period)
        .values_list("payload", flat=True)
        .first()
    )
    return None if data is None else payload.figures_from_payload(data)


def _sample_key(workspace_id: int) -> str:
    return f"reliability-sample-{workspace_id}"


def _kept_sample_lock(workspace_id: int) -> str:
    return f"reliability-sample-lock-{workspace_id}"


def _generation_key(workspace_id: int) -> str:
    return f"reliability-sample-generation-{workspace_id}"


def _provider_key(workspace_id: int, generation: str, provider_id: int) -> str:
    return f"reliability-sample-{workspace_id}-{generation}-{provider_id}"


# How long a kept sample lasts without a refresh: longer than two full-refresh intervals.
KEEP_SECONDS = 3 * 60 * 60


def _keep(workspace_id: int, sample: Sample) -> None:
    """Keep the whole sample for the next refresh, and each provider's part for the pages.

    A page asks about a few providers (Needs attention's outlooks): it reads
    their parts, not the whole workspace's. The parts are written under a new
    generation, named last, so a reader sees one refresh's parts and a
    provider left with no request has no part (rather than an old one).
    """
    if not settings.METRICS_KEEP_SAMPLE:
        return
    cache.set(_sample_key(workspace_id), sample.columns(), timeout=KEEP_SECONDS)
    previous = cache.get(_generation_key(workspace_id))
    generation = secrets.token_hex(4)
    by_provider = sample.by_provider()
    parts = {
        _provider_key(workspace_id, generation, provider_id): part.columns()
        for provider_id, part in by_provider.items()
    }
    cache.set_many(parts, timeout=KEEP_SECONDS)
    cache.set(_generation_key(workspace_id), generation, timeout=KEEP_SECONDS)
    if previous:
        # The parts the last refresh kept go now, not in KEEP_SECONDS: under steady changes a
        # refresh every few seconds kept a whole workspace's parts each time (14 MB at a million
        # messages). A page between reading the old name and its parts reads those providers afresh.
        cache.delete_many([_provider_key(workspace_id, previous, pk) for pk in by_provider])


def _workspace_sample(workspace_id: int, changed: Sequence[int], now: datetime) -> Sample:
    """Every request of the workspace, with the changed providers' requests read afresh.

    Only the holder of the workspace's lock reads and replaces the kept
    sample: a refresh running beside it reads everything instead.
    """
    period = Period.standard("all", now)
    whole = Scope(workspace_id=workspace_id)
    if not settings.METRICS_KEEP_SAMPLE:
        return Sample.load(whole, period, now)
    lock = _kept_sample_lock(workspace_id)
    if not cache.add(lock, 1, timeout=300):
        return Sample.load(whole, period, now)
    try:
        kept = cache.get(_sample_key(workspace_id))
        if kept is None:
            sample = Sample.load(whole, period, now)
        else:
            fresh = Sample.load(Scope(workspace_id=workspace_id, provider_ids=tuple(changed)), period, now)
            sample = Sample.from_columns(kept, now).without_providers(changed).plus(fresh)
        _keep(workspace_id, sample)
    finally:
        cache.delete(lock)
    return sample


def kept_records(
    workspace_id: int, provider_ids: Sequence[int], now: datetime
) -> tuple[Sample | None, list[int]]:
    """These providers' requests as the last refresh kept them, and the providers it kept none of.

    The pages read the parts through ``kept_generation`` and ``kept_parts`` (Needs attention
    keeps curves made from them, ``outlook.kept_curves``); this puts them back together as one
    sample, as the tests inspect what a refresh kept. The second are to be read afresh: nothing
    kept (no refresh yet, the cache down or emptied), or a provider without requests. What
    unanswered ones had waited is as of that refresh: at most ``METRICS_FULL_REFRESH_MINUTES``
    old, and a changed provider's are kept afresh within a minute.
    """
    generation = kept_generation(workspace_id) if provider_ids else None
    found = kept_parts(workspace_id, generation, provider_ids) if generation else {}
    missing = [pk for pk in provider_ids if pk not in found]
    if not found:
        return None, missing
    parts = list(found.values())
    return Sample.from_columns(
        {name: np.concatenate([p[name] for p in parts]) for name in Sample.COLUMNS}, now
    ), missing


def kept_generation(workspace_id: int) -> str | None:
    """The name of the parts the workspace's last refresh kept (None: none kept, or no shared cache).

    A generation's parts never change: each refresh keeps its parts under a new name.
    """
    if not settings.METRICS_KEEP_SAMPLE:
        return None
    # The default cache forgives an outage: a miss, so a slower page, never no page.
    return cache.get(_generation_key(workspace_id))


def kept_parts(workspace_id: int, generation: str, provider_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The columns (``Sample.COLUMNS``) of these providers' parts in ``generation``, by provider id.

    A provider without a part (no requests, or its part gone from the cache) is left out.
    """
    keys = {_provider_key(workspace_id, generation, pk): pk for pk in provider_ids}
    return {keys[key]: part for key, part in cache.get_many(keys).items()}


# "all" first: its figures name the workspace's leading currency, which every period's spend is in.
PERIODS_ALL_FIRST = ("all", *(key for key in PERIODS if key != "all"))


def _row(
    workspace_id: int, key: metrics.Key, period: str, m: Metrics, now: datetime, currency: str
) -> MetricSnapshot:
    provider_id, category = key
    spend = next((s.total for s in m.spend if s.currency == currency), None)
    return MetricSnapshot(
        workspace_id=workspace_id,
        provider_id=provider_id,
        category=category,
        period=period,
        computed_at=now,
        score=m.score.value if m.score else None,
        data_points=m.score.n if m.score else 0,
        requests=m.requests,
        response_rate=m.response_rate.point,
        median_reply_seconds=m.business.median if m.business else None,
        on_time_rate=m.on_time.point,
        spend=spend,
        payload=payload.figures_to_payload(m),
    )


def snapshots_refresh(
    *,
    workspace_id: int,
    provider_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    queued: dict[int, datetime] | None = None,
) -> int:
    """Recompute the snapshots of these providers, or of the whole workspace when None.

    A partial refresh shrinks scores toward the workspace's last computed
    shares; without them it refreshes the whole workspace instead.
    ``queued`` (backlog row id → ``since``) are removed from the backlog in
    the transaction that writes the figures.
    """
    now = now or timezone.now()
    full = provider_ids is None or not MetricSnapshot.objects.filter(workspace_id=workspace_id).exists()
    if full:
        rows = _full_rows(workspace_id, now)
    else:
        rows = _partial_rows(workspace_id, tuple(provider_ids or ()), now)
    with transaction.atomic():
        stale = MetricSnapshot.objects.filter(workspace_id=workspace_id)
        if not full:
            # The changed providers' rows and the workspace's own.
            stale = stale.filter(Q(provider_id__in=provider_ids or ()) | Q(provider__isnull=True))
        stale.delete()
        MetricSnapshot.objects.bulk_create(rows, batch_size=BATCH)
        if queued:
            _backlog_done(queued)
    return len(rows)


def _standard_periods(everything: Sample, now: datetime) -> tuple[list[Period], dict[str, Sample]]:
    """The standard periods at ``now``, "all" first, and each one's part of ``everything`` (all time)."""
    periods = [Period.standard(key, now) for key in PERIODS_ALL_FIRST]
    samples = {p.key: everything if p.key == "all" else everything.within_period(p) for p in periods}
    return periods, samples


def _full_rows(workspace_id: int, now: datetime) -> list[MetricSnapshot]:
    """Every snapshot row of the workspace: per provider, per provider and category, and its own."""
    scope = Scope(workspace_id=workspace_id)
    # One read of every request; the shorter periods are parts of it.
    everything = Sample.load(scope, Period.standard("all", now), now)
    _keep(workspace_id, everything)
    periods, samples = _standard_periods(everything, now)
    by_period = metrics.compute_periods(
        scope, periods, now=now, grouping=Grouping(by_provider=True, by_category=True), samples=samples
    )
    charts = _charts(scope, periods, samples)
    currency = leading_currency(by_period["all"][(WORKSPACE, ALL)])
    rows: list[MetricSnapshot] = []
    for period in periods:
        for group, m in by_period[period.key].items():
            row = _row(workspace_id, group, period.key, m, now, currency)
            if group == (WORKSPACE, ALL):
                row.payload["charts"] = charts[period.key]
            rows.append(row)
    return rows


def _partial_rows(workspace_id: int, provider_ids: tuple[int, ...], now: datetime) -> list[MetricSnapshot]:
    """The changed providers' rows, and the workspace's own, which every change moves too.

    The workspace's figures come first: the providers' scores shrink toward
    its new shares, as a full refresh would have them.
    """
    whole = Scope(workspace_id=workspace_id)
    everything = _workspace_sample(workspace_id, provider_ids, now)
    periods, samples = _standard_periods(everything, now)
    workspace = metrics.compute_periods(
        whole, periods, now=now, grouping=Grouping(by_provider=False), samples=samples
    )
    charts = _charts(whole, periods, samples)
    currency = leading_currency(workspace["all"][(WORKSPACE, ALL)])
    rows: list[MetricSnapshot] = []
    for period in periods:
        row = _row(
            workspace_id, (WORKSPACE, ALL), period.key, workspace[period.key][(WORKSPACE, ALL)], now, currency
        )
        row.payload["charts"] = charts[period.key]
        rows.append(row)

    wanted = np.asarray(provider_ids, dtype=np.int64)
    mine = {key: sample.take(np.isin(sample.provider, wanted)) for key, sample in samples.items()}
    groups = metrics.compute_periods(
        Scope(workspace_id=workspace_id, provider_ids=provider_ids),
        periods,
        now=now,
        grouping=Grouping(by_provider=True, by_category=True),
        # A provider's scores in every category shrink toward the workspace's overall shares.
        priors={p.key: {ALL: metrics.workspace_priors(workspace[p.key][(WORKSPACE, ALL)])} for p in periods},
        samples=mine,
    )
    for period in periods:
        rows += [
            _row(workspace_id, group, period.key, m, now, currency)
            for group, m in groups[period.key].items()
            if group[0] is not WORKSPACE  # the sum of a few providers is not the workspace
        ]
    return rows


def backlog_refresh(*, now: datetime | None = None, workspace_id: int | None = None) -> int:
    """Recompute the providers queued before this run started, workspace by workspace (or of one).

    A workspace whose figures fail is logged and keeps its queue for the next
    run; a provider queued again during the run stays queued for the next
    one. Concurrent runs may compute the same providers; each removes only
    what is still as it read it. A run for one workspace records, done or
    failed, how long it took: the next one waits in proportion (``engagements.backlog``).
    """
    if workspace_id is None:
        # The minute's safety net, workspace by workspace at each one's pace: a workspace that
        # refreshed moments ago is left to its own paced task (or the next minute). Run
        # regardless, it put a second refresh right behind the first, and its bursts made the
        # pages' slowest twentieth (make load at a million messages).
        done = 0
        for queued_workspace in (
            MetricsBacklog.objects.order_by("workspace_id").values_list("workspace_id", flat=True).distinct()
        ):
            if not backlog.refresh_wait(queued_workspace):
                done += backlog_refresh(now=now, workspace_id=queued_workspace)
        return done
    backlog.refresh_started(workspace_id)
    started = timezone.now()
    try:
        return _backlog_refresh(now=now, workspace_id=workspace_id, started=started)
    finally:
        backlog.refresh_ended(workspace_id, started=started)


def _backlog_refresh(*, now: datetime | None, workspace_id: int, started: datetime) -> int:
    done = 0
    queued = MetricsBacklog.objects.filter(workspace_id=workspace_id, since__lte=started).order_by(
        "since", "pk"
    )
    while True:
        claimed = list(queued.values_list("pk", "provider_id", "since")[:BATCH])
        if not claimed:
            return done
        rows = {provider_id: (pk, since) for pk, provider_id, since in claimed}
        try:
            snapshots_refresh(
                workspace_id=workspace_id, provider_ids=sorted(rows), now=now, queued=dict(rows.values())
            )
        except Exception:
            logger.exception("Reliability figures of workspace %s failed; kept queued", workspace_id)
            return done
        done += len(rows)


def refresh_all(*, now: datetime | None = None) -> int:
    """Recompute every workspace that has engagements (the regular catch-up with time).

    A workspace whose figures fail is logged and tried again on the next
    run; the others are refreshed all the same.
    """
    done = 0
    for workspace_id in (
        Workspace.objects.filter(engagements__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        try:
            done += snapshots_refresh(workspace_id=workspace_id, now=now)
        except Exception:
            logger.exception("Reliability figures of workspace %s failed; tried again next run", workspace_id)
    return done


@dataclass(frozen=True)
class Board:
    """What a page reads: the figures per provider and for the workspace, and when they were computed."""

    computed_at: datetime | None
    providers: dict[int, MetricSnapshot]
    workspace: MetricSnapshot | None
    pending: bool  # changes are queued that these figures do not show yet


def _snapshots(providers: bool, as_text: bool) -> Statement[MetricSnapshot]:
    def build(workspace_id: int, period: str, category: str) -> QuerySet[MetricSnapshot]:
        wanted = MetricSnapshot.objects.filter(workspace_id=workspace_id, period=period, category=category)
        if not providers:
            wanted = wanted.filter(provider=None)
        if as_text:
            wanted = wanted.defer("payload").annotate(payload_text=Cast("payload", output_field=TextField()))
        return wanted

    return Statement(MetricSnapshot, build, workspace_id=int, period=str, category=str)


# Every reliability page reads them: compiled once per process, one per (providers, as_text).
_SNAPSHOTS = {
    (providers, as_text): _snapshots(providers, as_text)
    for providers in (False, True)
    for as_text in (False, True)
}
_PENDING: Statement[int] = Statement(
    MetricsBacklog,
    lambda workspace_id: MetricsBacklog.objects.filter(workspace_id=workspace_id).values_list(
        "pk", flat=True
    )[:1],
    workspace_id=int,
)


def snapshots_read(
    *, workspace_id: int, period: str, category: str = ALL, providers: bool = True, as_text: bool = False
) -> Board:
    """The snapshots of a standard period (computed now if the workspace has none yet).

    ``providers=False`` reads only the workspace's own row (the dashboard). ``as_text=True``
    brings each payload as its JSON text (``payload_text``) for ``figures_of``, not decoded.
    """
    if period not in PERIODS:
        raise ValueError(f"snapshots hold the standard periods, not {period!r}")
    statement = _SNAPSHOTS[(providers, as_text)]
    found = statement(workspace_id=workspace_id, period=period, category=str(category))
    if not found and computed_now_if_never(workspace_id):
        found = statement(workspace_id=workspace_id, period=period, category=str(category))
    by_provider = {s.provider_id: s for s in found if s.provider_id is not None}
    whole = next((s for s in found if s.provider_id is None), None)
    stamps = [s.computed_at for s in found]
    return Board(
        computed_at=min(stamps) if stamps else None,
        providers=by_provider,
        workspace=whole,
        pending=changes_pending(workspace_id),
    )


def computed_now_if_never(workspace_id: int) -> bool:
    """Compute the workspace's figures now if it has none at all (its first look); whether it did."""
    if MetricSnapshot.objects.filter(workspace_id=workspace_id).exists():
        return False
    snapshots_refresh(workspace_id=workspace_id)
    return True


def changes_pending(workspace_id: int) -> bool:
    """Whether changes are queued that the workspace's figures do not show yet."""
    return bool(_PENDING(workspace_id=workspace_id))


# Figures decoded from a payload, by the payload's JSON text: the leaderboard reads a thousand
# snapshots a request, and decoding them was most of its time. Keyed by the content itself, an
# entry can never be out of date; a refresh writes new text, which is simply decoded anew.
_DECODED: dict[str, Metrics] = {}
DECODED_KEPT = 5_000


def figures_of(snapshot: MetricSnapshot) -> Metrics:
    """A snapshot's figures, from a ``snapshots_read(as_text=True)`` row (shared: read them, never change them)."""
    text: str = snapshot.payload_text  # type: ignore[attr-defined]
    found = _DECODED.get(text)
    if found is None:
        found = payload.figures_from_payload(json.loads(text))
        if len(_DECODED) >= DECODED_KEPT:
            _DECODED.clear()
        _DECODED[text] = found
    return found
