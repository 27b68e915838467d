"""Notification pieces other apps' pages show: the failed deliveries on the workspace settings page."""

from __future__ import annotations

from typing import Any

from django import template

from engagements.notifications.outbox import failed_deliveries
from outsourcing.models import Workspace

register = template.Library()

FAILED_PREVIEW = 5


@register.inclusion_tag("engagements/notifications/_failed_preview.html")
def failed_deliveries_preview(workspace: Workspace, next_url: str) -> dict[str, Any]:
    """The newest failed deliveries with their Retry buttons (returning to ``next_url``), and a link to all."""
    # One row more than shown tells whether to link to the full list, without a COUNT.
    failed = list(failed_deliveries(workspace)[: FAILED_PREVIEW + 1])
    return {
        "workspace": workspace,
        "failed": failed[:FAILED_PREVIEW],
        "failed_more": len(failed) > FAILED_PREVIEW,
        "next": next_url,
    }
