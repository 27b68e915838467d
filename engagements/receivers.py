"""Listeners for other apps' signals: due times follow calendar and policy changes.

The recomputes run in Celery tasks, queued once the change is committed (so
the task reads it); a policy used by hundreds of engagements must not hold up
the request that edited it.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from engagements import jobs
from engagements.services import policy_engagement_ids
from providers.signals import calendar_changed, policy_changed

# Engagement ids per task when a deleted policy's users are queued.
CHUNK = 500


@receiver(calendar_changed)
def recompute_provider_later(sender: Any, provider: Any, **kwargs: Any) -> None:
    jobs.later("engagements.tasks.recompute_provider", provider.pk)


@receiver(policy_changed)
def recompute_policy_later(sender: Any, policy: Any, deleted: bool = False, **kwargs: Any) -> None:
    if not deleted:
        jobs.later("engagements.tasks.recompute_policy", policy.pk)
        return
    # Sent before the delete: once it is gone, nothing tells who used it.
    ids = policy_engagement_ids(policy)
    for start in range(0, len(ids), CHUNK):
        jobs.later("engagements.tasks.recompute_engagements", ids[start : start + CHUNK])
