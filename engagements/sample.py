"""The sample workspace: one per person, filled with the demo's sample data, deleted in one step."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagements.demo import fill_workspace
from engagements.reliability.snapshots import snapshots_refresh
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.services import workspace_create, workspace_delete

SAMPLE_NAME = gettext_lazy("Sample workspace")


@dataclass(frozen=True)
class SampleResult:
    workspace: Workspace
    created: bool
    seconds: float = 0.0


def sample_workspace_open(*, user: User) -> SampleResult:
    """The person's own sample workspace, made and filled with sample data on the first call.

    A second call (a double click, a second tab) finds the one made before: the
    user's row is locked while looking, so two requests cannot both make one.
    """
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).get()
        existing = _own_sample(user)
        if existing is not None:
            return SampleResult(existing, created=False)
        workspace = workspace_create(name=str(SAMPLE_NAME), owner=user)
        workspace.is_sample = True
        workspace.save(update_fields=["is_sample"])
        # Everything on the checklist is there already: no first run in a sample.
        Membership.objects.filter(workspace=workspace).update(first_run_done=True)
        fill_workspace(workspace, team=[user], now=now)
    snapshots_refresh(workspace_id=workspace.pk, now=now)
    return SampleResult(workspace, created=True, seconds=time.monotonic() - started)


def _own_sample(user: User) -> Workspace | None:
    return (
        Workspace.objects.filter(is_sample=True, memberships__user=user, memberships__role=Role.OWNER)
        .order_by("created_at", "pk")
        .first()
    )


def sample_workspace_delete(*, workspace: Workspace, by: Membership) -> None:
    """Delete a sample workspace; its owner may, and only a sample can go this way."""
    if not workspace.is_sample:
        raise ValueError("not a sample workspace")
    workspace_delete(workspace=workspace, by=by)
