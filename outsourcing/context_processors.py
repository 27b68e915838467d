"""Template context shared by every page: the current workspace and the switcher."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from outsourcing.models import Membership


def workspace(request: HttpRequest) -> dict[str, Any]:
    def memberships() -> list[Membership]:
        if not request.user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=request.user)
            .select_related("workspace")
            .order_by("workspace__name")
        )

    return {
        "workspace": getattr(request, "workspace", None),
        "membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(memberships),
    }
