"""Listeners for other apps' signals: due times follow calendar and policy changes.

The recomputes run in Celery tasks, queued once the change is committed (so
the task reads it); a policy used by hundreds of engagements must not hold up
the request that edited it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from providers.signals import calendar_changed, policy_changed

# Engagement ids per task when a deleted policy's users are queued.
CHUNK = 500


@receiver(calendar_changed)
def recompute_provider_later(sender: Any, provider: Any, **kwargs: Any) -> None:
    from engagements.tasks import recompute_provider

    transaction.on_commit(partial(recompute_provider.delay, provider.pk))


@receiver(policy_changed)
def recompute_policy_later(sender: Any, policy: Any, deleted: bool = False, **kwargs: Any) -> None:
    from engagements.services import policy_engagement_ids
    from engagements.tasks import recompute_engagements, recompute_policy

    if not deleted:
        transaction.on_commit(partial(recompute_policy.delay, policy.pk))
        return
    # Sent before the delete: once it is gone, nothing tells who used it.
    ids = policy_engagement_ids(policy)
    for start in range(0, len(ids), CHUNK):
        transaction.on_commit(partial(recompute_engagements.delay, ids[start : start + CHUNK]))
