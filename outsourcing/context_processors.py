"""Template context shared by every page: the current workspace and the switcher."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from outsourcing.models import Membership, User, Workspace


def workspace(request: HttpRequest) -> dict[str, Any]:
    def memberships() -> list[Membership]:
        if not request.user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=request.user)
            .select_related("workspace")
            .order_by("workspace__name")
        )

    current: Workspace | None = getattr(request, "workspace", None)

    def nav_counts() -> dict[str, int]:
        # Imported here: the engagements app builds on this one.
        from engagements.notifications.outbox import unread_count
        from engagements.queries import attention_count

        assert current is not None and isinstance(request.user, User)
        return {"attention": attention_count(current), "unread": unread_count(request.user, current)}

    return {
        "workspace": current,
        "membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(memberships),
        # Two COUNTs on partial indexes, run only when a page draws the navigation.
        "nav_counts": SimpleLazyObject(nav_counts) if current and request.user.is_authenticated else {},
    }
