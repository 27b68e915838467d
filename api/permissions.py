"""Who may do what through the API: the token's holder, with their role, as on the web pages.

The workspace is the token's. Safe methods need the view's ``read_role``
(viewer), anything else a read-write token and the view's ``write_role``
(member, as ``outsourcing.access.workspace_view``). Objects of other
workspaces are never in a view's queryset, so they are 404.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions
from rest_framework.request import Request

from api.models import ApiToken
from outsourcing import two_factor
from outsourcing.models import Membership, Role

SAFE_METHODS = permissions.SAFE_METHODS


class WorkspaceRole(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated(_("Send a personal API token: Authorization: Bearer <token>."))
        membership = (
            Membership.objects.select_related("workspace", "user")
            .filter(workspace_id=token.workspace_id, user_id=token.user_id)
            .first()
        )
        if membership is None:
            raise exceptions.AuthenticationFailed(
                _("The token's owner is no longer a member of its workspace.")
            )
        if two_factor.blocks(membership.workspace, membership.user):
            raise exceptions.PermissionDenied(
                _("This workspace requires two-factor login: set it up in the browser first.")
            )
        request.membership = membership  # type: ignore[attr-defined]
        request.workspace = membership.workspace  # type: ignore[attr-defined]
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_role", Role.VIEWER)
        else:
            if not token.can_write:
                raise exceptions.PermissionDenied(_("This token can only read."))
            needed = getattr(view, "write_role", Role.MEMBER)
        if not membership.has_role(needed):
            raise exceptions.PermissionDenied(_("Your role in this workspace does not allow this."))
        return True
