"""The queue of providers whose reliability figures must be recomputed.

Kept apart from the figures themselves (``engagements.reliability``): every
write path queues here, and none of them should load the numerical code that
computes the figures just to add a row.
"""

from __future__ import annotations

from collections.abc import Iterable

from engagements.models import Engagement, MetricsBacklog


def backlog_add(*, workspace_id: int, provider_ids: Iterable[int]) -> None:
    """Queue providers whose figures changed (idempotent: one row per provider)."""
    MetricsBacklog.objects.bulk_create(
        [MetricsBacklog(workspace_id=workspace_id, provider_id=pk) for pk in set(provider_ids)],
        ignore_conflicts=True,
    )


def backlog_add_for_engagement(engagement: Engagement) -> None:
    backlog_add(workspace_id=engagement.workspace_id, provider_ids=[engagement.provider_id])


def backlog_add_for_engagements(engagements: Iterable[Engagement]) -> None:
    """Queue the providers of several engagements, one statement per workspace."""
    by_workspace: dict[int, set[int]] = {}
    for engagement in engagements:
        by_workspace.setdefault(engagement.workspace_id, set()).add(engagement.provider_id)
    for workspace_id, provider_ids in by_workspace.items():
        backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)
