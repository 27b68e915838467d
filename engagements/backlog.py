"""The queue of providers whose reliability figures must be recomputed.

Kept apart from the figures themselves (``engagements.reliability``): every
write path queues here, and none of them should load the numerical code that
computes the figures just to add a row.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from engagements.models import Engagement, MetricsBacklog


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


def backlog_add_for_engagement(engagement: Engagement) -> None:
    backlog_add(workspace_id=engagement.workspace_id, provider_ids=[engagement.provider_id])


def backlog_add_for_engagements(engagements: Iterable[Engagement]) -> None:
    """Queue the providers of several engagements, one statement per workspace."""
    by_workspace: dict[int, set[int]] = {}
    for engagement in engagements:
        by_workspace.setdefault(engagement.workspace_id, set()).add(engagement.provider_id)
    for workspace_id, provider_ids in by_workspace.items():
        backlog_add(workspace_id=workspace_id, provider_ids=provider_ids)
