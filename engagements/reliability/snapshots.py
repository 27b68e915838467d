"""Snapshots of the reliability figures: computed in the background, read by the big pages.

Reading every exchange of a workspace takes seconds at agency scale, so the
leaderboard and the dashboard read one precomputed row per provider, category
and standard period instead. Two tasks keep them true:

- every minute, the providers queued in ``MetricsBacklog`` (their log, status,
  review or flags changed) are recomputed: work proportional to what changed;
- regularly, a whole workspace is recomputed, because time alone moves some
  figures (an unanswered request keeps waiting, a rolling period moves on).

Each workspace is refreshed on its own: one whose figures cannot be computed
is logged and tried again on the next run, and never holds up the others. A
queued provider leaves the queue only in the transaction that writes its new
figures, so neither a failure nor a change made during a refresh is lost.

Custom periods, a member's or a category's own page and a provider's
scorecard are computed live: their scope is small.
"""

from __future__ import annotations

import logging
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
        if queued:
            _backlog_done(queued)
    return len(rows)


def backlog_refresh(*, now: datetime | None = None) -> int:
    """Recompute the providers queued before this run started, workspace by workspace.

    A workspace whose figures fail is logged and keeps its queue for the next
    run; a provider queued again during the run stays queued for the next
    one. Concurrent runs may compute the same providers; each removes only
    what is still as it read it.
    """
    started = timezone.now()
    done = 0
    failed: set[int] = set()
    while True:
        claimed = list(
            MetricsBacklog.objects.filter(since__lte=started)
            .exclude(workspace_id__in=failed)
            .order_by("since", "pk")
            .values_list("pk", "workspace_id", "provider_id", "since")[:BATCH]
        )
        if not claimed:
            return done
        by_workspace: dict[int, dict[int, tuple[int, datetime]]] = {}
        for pk, workspace_id, provider_id, since in claimed:
            by_workspace.setdefault(workspace_id, {})[provider_id] = (pk, since)
        for workspace_id, rows in by_workspace.items():
            try:
                snapshots_refresh(
                    workspace_id=workspace_id,
                    provider_ids=sorted(rows),
                    now=now,
                    queued=dict(rows.values()),
                )
            except Exception:
                logger.exception("Reliability figures of workspace %s failed; kept queued", workspace_id)
                failed.add(workspace_id)
            else:
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
