"""Listeners for other apps' signals: due times follow calendar, policy and time zone changes;
a member who leaves takes their private saved views along.

The recomputes run in Celery tasks, queued once the change is committed (so
the task reads it); a policy used by hundreds of engagements must not hold up
the request that edited it.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from engagements import jobs
from engagements.models import SavedView
from engagements.services import policy_engagement_ids, policy_our_turn_ids
from outsourcing.models import Membership, User
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
    ours = policy_our_turn_ids(policy)
    for start in range(0, len(ours), CHUNK):
        jobs.later("engagements.tasks.refresh_our_answers", ours[start : start + CHUNK])


@receiver(post_save, sender=User)
def refresh_owner_answers_later(
    sender: Any, instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    # Our answers are due on their owner's clock (docs/design.md, "Whose turn"); a login only
    # touches last_login, and a new person owns nothing yet.
    if created or (update_fields is not None and "time_zone" not in update_fields):
        return
    jobs.later("engagements.tasks.refresh_owner_answers", instance.pk)


@receiver(post_delete, sender=Membership)
def forget_private_views(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """Someone who leaves a workspace takes their private views with them; shared ones stay."""
    SavedView.objects.filter(
        workspace_id=instance.workspace_id, creator_id=instance.user_id, shared=False
    ).delete()
