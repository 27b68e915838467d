"""The queue of providers whose reliability figures must be recomputed.

Kept apart from the figures themselves (``engagements.reliability``): every
write path queues here, and none of them should load the numerical code that
computes the figures just to add a row.

Queuing also asks a worker to recompute the workspace's queued figures once
the change commits; one such task per workspace is on its way at a time, and
the minute's beat task is the safety net (it too keeps each workspace's pace).
The task is paced: it starts no sooner after the workspace's previous refresh
ended than ``REFRESH_PACE`` times that refresh's duration (at most
``REFRESH_PACE_MAX_SECONDS``). A refresh of a few milliseconds waits for
nothing, so the pages show a change within seconds; one of seconds (a million
messages) under continuous changes runs about a sixth of the time, and each one
takes in the changes of its wait. Such a paced refresh (and the beat's) also
runs throttled (``engagements.throttle``): at most a third of a core while it
runs, so pages beside it keep their speed; a lone change's runs at full speed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from engagements import jobs
from engagements.models import Engagement, MetricsBacklog

logger = logging.getLogger(__name__)

# How long a queued refresh task keeps others from being queued, should it never start (a lost
# message). Longer than its pace's wait (below) and then what it may wait behind bulk work (a
# refresh takes ~40 s at a million messages, an import longer): were it shorter, a busy bulk queue
# would gain another refresh of the same workspace every time it ran out. A lost message costs
# little: the minute's beat task refreshes.
REFRESH_QUEUED_SECONDS = 15 * 60

# A workspace's refresh waits this many times the previous one's duration after it ended: the
# refreshing then runs at most a sixth of the time (and throttled, a third of a core meanwhile),
# which leaves the CPU to the pages.
REFRESH_PACE = 5
# The longest such wait: a change's refresh starts within a minute however slow the last one was.
REFRESH_PACE_MAX_SECONDS = 60


def backlog_add(*, workspace_id: int, provider_ids: Iterable[int]) -> None:
    """Queue providers whose figures changed: one row per provider, its ``since`` moved to now.

    Moving ``since`` is how a refresh running meanwhile learns the provider
    changed again: it removes only the rows whose ``since`` it read.
    """
    now = timezone.now()
    MetricsBacklog.objects.bulk_create(
        # In provider order: two transactions queueing the same providers lock them in the same order.
        [
            MetricsBacklog(workspace_id=workspace_id, provider_id=pk, since=now)
            for pk in sorted(set(provider_ids))
        ],
        update_conflicts=True,
        unique_fields=["provider"],
        update_fields=["since"],
    )
    transaction.on_commit(partial(_refresh_soon, workspace_id))


def _queued_key(workspace_id: int) -> str:
    return f"reliability-refresh-queued-{workspace_id}"


def _last_key(workspace_id: int) -> str:
    return f"reliability-refresh-last-{workspace_id}"


def _refresh_soon(workspace_id: int) -> None:
    # Runs after the commit: the change is saved whatever happens here. With Redis (cache and
    # broker) away, the person must not get an error page for it (and log the message twice):
    # the backlog row stays, and the minute's beat task takes it (make cluster-test cuts Redis off).
    # The default cache forgives an unreachable Redis: its add() then says "held", so nothing is queued.
    if not cache.add(_queued_key(workspace_id), 1, timeout=REFRESH_QUEUED_SECONDS):
        return
    try:
        wait = refresh_wait(workspace_id)
        # Paced (a refresh ran moments ago: changes keep coming), it will also run throttled.
        jobs.send_now(
            "engagements.tasks.refresh_metrics_workspace", workspace_id, wait is not None, countdown=wait
        )
    except Exception:  # the broker is away: the change is queued, the minute's beat task takes it
        logger.warning("Could not queue the reliability refresh of workspace %s", workspace_id, exc_info=True)
        with contextlib.suppress(Exception):
            cache.delete(_queued_key(workspace_id))


def refresh_started(workspace_id: int) -> None:
    """A refresh of the workspace began: a change committed from now on queues the next one."""
    cache.delete(_queued_key(workspace_id))


def refresh_ended(workspace_id: int, *, started: datetime) -> None:
    """A refresh of the workspace that began at ``started`` ended, done or failed: the next one waits."""
    ended = timezone.now()
    took = max((ended - started).total_seconds(), 0.0)
    # Kept only as long as it can ask for a wait; a miss (Redis away too) means no wait.
    cache.set(_last_key(workspace_id), (took, ended.timestamp()), timeout=REFRESH_PACE_MAX_SECONDS)


def refresh_wait(workspace_id: int) -> float | None:
    """Seconds the workspace's next refresh should wait to keep the pace, or None for none."""
    last = cache.get(_last_key(workspace_id))
    if last is None:
        return None
    took, ended = last
    wait = min(REFRESH_PACE * took, REFRESH_PACE_MAX_SECONDS) - (timezone.now().timestamp() - ended)
    return round(wait, 3) if wait > 0 else None


def backlog_add_for_engagement(engagement: Engagement) -> None:
    backlog_add(workspace_id=engagement.workspace_id, provider_ids=[engagement.provider_id])


def backlog_add_for_engagements(engagements: Iterable[Engagement]) -> None:
    """Queue the providers of several engagements, one statement per workspace."""
    by_workspace: dict[int, set[int]] = {}
    for engagement in engagements:
        by_workspace.setdefault(engagement.workspace_id, set()).add(engagement.provider_id)
    for workspace_id, provider_ids in by_workspace.items():
        backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)
