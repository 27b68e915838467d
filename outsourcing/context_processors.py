"""Template context shared by every page: the current workspace and the switcher."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from outsourcing.models import Membership
from outsourcing.queries import user_membership_list


def workspace(request: HttpRequest) -> dict[str, Any]:
    def memberships() -> list[Membership]:
        if not request.user.is_authenticated:
            return []
        # A workspace page read them all already, to find the current one (access.get_membership).
        known: list[Membership] | None = getattr(request, "user_memberships", None)
        return known if known is not None else user_membership_list(request.user)  # type: ignore[arg-type]

    return {
        "workspace": getattr(request, "workspace", None),
        "membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(memberships),
    }
