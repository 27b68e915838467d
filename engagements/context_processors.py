"""Template context for every page: the counts the navigation shows beside Needs attention and the bell."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from engagements import nav_badges, queries
from outsourcing.models import User, Workspace


def nav_counts(request: HttpRequest) -> dict[str, Any]:
    current: Workspace | None = getattr(request, "workspace", None)
    user = request.user
    if current is None or not isinstance(user, User):
        return {"nav_counts": {}}

    def counts() -> dict[str, int | str]:
        attention, unread = nav_badges.badge_counts(current, user)
        return {"attention": _badge(attention), "unread": _badge(unread)}

    # One query of capped COUNTs on partial indexes, run only when a page draws the navigation.
    return {"nav_counts": SimpleLazyObject(counts)}


def _badge(n: int) -> int | str:
    """A badge's text: the count, or "99+" beyond the cap the counts stop at."""
    return f"{queries.NAV_COUNT_CAP}+" if n > queries.NAV_COUNT_CAP else n
