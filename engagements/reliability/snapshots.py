"""Snapshots of the reliability figures: computed in the background, read by the big pages.

Reading every exchange of a workspace takes seconds at agency scale, so the
leaderboard and the dashboard read one precomputed row per provider, category
and standard period instead. Two tasks keep them true:

- every minute, the providers queued in ``MetricsBacklog`` (their log, status,
  review or flags changed) are recomputed: work proportional to what changed;
- regularly, a whole workspace is recomputed, because time alone moves some
  figures (an unanswered request keeps waiting, a rolling period moves on).

Custom periods, a member's or a category's own page and a provider's
scorecard are computed live: their scope is small.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from engagements.models import MetricsBacklog, MetricSnapshot
from engagements.reliability import metrics
from engagements.reliability.metrics import ALL, PERIODS, WORKSPACE, Grouping, Metrics, Period, Sample, Scope
from outsourcing.models import Workspace

BATCH = 1000


def leading_currency(whole: Metrics) -> str:
    """The workspace's most used currency: the one the leaderboard sorts spend by."""
    if not whole.spend:
        return ""
    return max(whole.spend, key=lambda s: (s.completed, s.total)).currency


def _charts(scope: Scope, period: Period, sample: Sample) -> dict[str, Any]:
    """The dashboard's chart data (months and weeks in the site's display zone)."""
    zone = zoneinfo.ZoneInfo(settings.DISPLAY_TIME_ZONE)
    return {
        "zone": settings.DISPLAY_TIME_ZONE,
        "distribution": metrics.reply_time_distribution(sample),
        "within_policy": [
            [month.isoformat(), i.point, i.low, i.high, i.n]
            for month, i in metrics.within_policy_by_month(sample, zone)
        ],
        "overdue_weeks": [[week.isoformat(), n] for week, n in metrics.overdue_per_week(scope, period, zone)],
        "trend": metrics.trend_to_payload(metrics.monthly_trend(scope, period, sample, zone)),
    }


def workspace_figures(workspace_id: int, period: str) -> Metrics | None:
    """The whole workspace's figures over a standard period, from its snapshot (None if not computed)."""
    payload = (
        MetricSnapshot.objects.filter(workspace_id=workspace_id, provider=None, category=ALL, period=period)
        .values_list("payload", flat=True)
        .first()
    )
    return None if payload is None else metrics.from_payload(payload)


def _priors(workspace_id: int) -> dict[str, dict[str, float]] | None:
    """The workspace's shares per period, from its own snapshots (None if any is missing)."""
    rows = MetricSnapshot.objects.filter(workspace_id=workspace_id, provider=None, category=ALL).values_list(
        "period", "payload"
    )
    priors = {period: metrics.workspace_priors(metrics.from_payload(payload)) for period, payload in rows}
    return priors if all(key in priors for key in PERIODS) else None


def _row(
    workspace_id: int, key: metrics.Key, period: str, m: Metrics, now: datetime, currency: str
) -> MetricSnapshot:
    provider_id, category = key
    spend = next((s.total for s in m.spend if s.currency == currency), None)
    payload = metrics.to_payload(m)
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
        payload=payload,
    )


def snapshots_refresh(
    *, workspace_id: int, provider_ids: Sequence[int] | None = None, now: datetime | None = None
) -> int:
    """Recompute the snapshots of these providers, or of the whole workspace when None.

    A partial refresh shrinks scores toward the workspace's last computed
    shares; without them it refreshes the whole workspace instead.
    """
    now = now or timezone.now()
    priors = None if provider_ids is None else _priors(workspace_id)
    full = priors is None
    scope = Scope(workspace_id=workspace_id, provider_ids=None if full else tuple(provider_ids or ()))
    # One read of every request; the shorter periods are parts of it.
    everything = Sample.load(scope, Period.standard("all", now), now)
    currency = ""
    if not full:
        whole = workspace_figures(workspace_id, "all")
        currency = leading_currency(whole) if whole else ""
    rows: list[MetricSnapshot] = []
    for key in PERIODS:
        period = Period.standard(key, now)
        sample = everything if key == "all" else everything.within_period(period)
        groups = metrics.compute_groups(
            scope,
            period,
            now=now,
            grouping=Grouping(by_provider=True, by_category=True),
            # A provider's scores in every category shrink toward the workspace's overall shares.
            priors=None if priors is None else {ALL: priors[key]},
            sample=sample,
        )
        if full and key == "all":
            currency = leading_currency(groups[(WORKSPACE, ALL)])
        for group, m in groups.items():
            if group[0] is WORKSPACE and not full:
                continue  # the sum of a few providers is not the workspace
            row = _row(workspace_id, group, key, m, now, currency)
            if full and group == (WORKSPACE, ALL):
                row.payload["charts"] = _charts(scope, period, sample)
            rows.append(row)
    with transaction.atomic():
        stale = MetricSnapshot.objects.filter(workspace_id=workspace_id)
        if not full:
            stale = stale.filter(provider_id__in=scope.provider_ids or ())
        stale.delete()
        MetricSnapshot.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def backlog_refresh(*, now: datetime | None = None) -> int:
    """Recompute the providers queued since the last run, workspace by workspace.

    Each claim deletes the queued rows it takes, so concurrent runs share the
    work; a provider queued again meanwhile is simply taken next time.
    """
    done = 0
    while True:
        with transaction.atomic():
            claimed = list(
                MetricsBacklog.objects.select_for_update(skip_locked=True)
                .order_by("since")
                .values_list("pk", "workspace_id", "provider_id")[:BATCH]
            )
            if not claimed:
                return done
            MetricsBacklog.objects.filter(pk__in=[pk for pk, _ws, _p in claimed]).delete()
        by_workspace: dict[int, list[int]] = {}
        for _pk, workspace_id, provider_id in claimed:
            by_workspace.setdefault(workspace_id, []).append(provider_id)
        for workspace_id, provider_ids in by_workspace.items():
            snapshots_refresh(workspace_id=workspace_id, provider_ids=provider_ids, now=now)
            done += len(provider_ids)


def refresh_all(*, now: datetime | None = None) -> int:
    """Recompute every workspace that has engagements (the regular catch-up with time)."""
    done = 0
    for workspace_id in (
        Workspace.objects.filter(engagements__isnull=False).distinct().values_list("pk", flat=True)
    ):
        done += snapshots_refresh(workspace_id=workspace_id, now=now)
    return done


@dataclass(frozen=True)
class Board:
    """What a page reads: the figures per provider and for the workspace, and when they were computed."""

    computed_at: datetime | None
    providers: dict[int, MetricSnapshot]
    workspace: MetricSnapshot | None
    pending: bool  # changes are queued that these figures do not show yet


def snapshots_read(*, workspace_id: int, period: str, category: str = ALL, providers: bool = True) -> Board:
    """The snapshots of a standard period (computed now if the workspace has none yet).

    ``providers=False`` reads only the workspace's own row (the dashboard).
    """
    if period not in PERIODS:
        raise ValueError(f"snapshots hold the standard periods, not {period!r}")
    wanted = MetricSnapshot.objects.filter(workspace_id=workspace_id, period=period, category=category)
    if not providers:
        wanted = wanted.filter(provider=None)
    found = list(wanted)
    if not found and not MetricSnapshot.objects.filter(workspace_id=workspace_id).exists():
        snapshots_refresh(workspace_id=workspace_id)
        found = list(wanted.all())
    by_provider = {s.provider_id: s for s in found if s.provider_id is not None}
    whole = next((s for s in found if s.provider_id is None), None)
    stamps = [s.computed_at for s in found]
    return Board(
        computed_at=min(stamps) if stamps else None,
        providers=by_provider,
        workspace=whole,
        pending=MetricsBacklog.objects.filter(workspace_id=workspace_id).exists(),
    )
