"""Access helpers: every view reaches workspace data only through these.

Anything outside the user's workspaces is a 404, never a 403 that would
confirm it exists. Inside a workspace, a role too low for a write is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from outsourcing import two_factor
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.queries import user_membership_list

V = TypeVar("V", bound=Callable[..., HttpResponseBase])

SESSION_KEY = "workspace"


class WorkspaceRequest(HttpRequest):
    """An HttpRequest that passed ``workspace_view``: typed for the views."""

    workspace: Workspace
    membership: Membership
    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


def get_membership(request: HttpRequest, slug: str) -> Membership:
    """The user's membership of the workspace ``slug``, or 404.

    All of the user's memberships come in the one query (a person belongs to a few
    workspaces): every page's workspace switcher lists them (``request.user_memberships``).
    """
    if not request.user.is_authenticated:
        raise Http404
    memberships = user_membership_list(request.user)  # type: ignore[arg-type]
    membership = next((m for m in memberships if m.workspace.slug == slug), None)
    if membership is None:
        raise Http404
    membership.user = request.user  # type: ignore[assignment]
    request.user_memberships = memberships  # type: ignore[attr-defined]
    return membership


def workspace_view(*, write_role: str = Role.MEMBER, read_role: str = Role.VIEWER) -> Callable[[V], V]:
    """Decorate a view taking ``ws`` (the workspace slug) from the URL.

    Sets ``request.workspace`` and ``request.membership``. Safe methods need
    ``read_role``; anything else needs ``write_role``. A workspace that requires
    two-factor login sends members without it to set it up first, whatever their role.
    """

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, ws: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = get_membership(request, ws)
            if two_factor.blocks(membership.workspace, membership.user):
                return _two_factor_first(request, ws)
            needed = read_role if request.method in ("GET", "HEAD", "OPTIONS") else write_role
            if not membership.has_role(needed):
                raise PermissionDenied
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            if request.session.get(SESSION_KEY) != ws:
                request.session[SESSION_KEY] = ws
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _two_factor_first(request: HttpRequest, ws: str) -> HttpResponseBase:
    """Send a member without a second factor to the page that asks for one (htmx: the whole page)."""
    target = reverse("two_factor_required", kwargs={"ws": ws})
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return HttpResponseRedirect(target)


def require_role(request: WorkspaceRequest, role: str) -> None:
    """403 unless the current member has ``role`` or higher (for GET pages that edit)."""
    if not request.membership.has_role(role):
        raise PermissionDenied


def safe_target(request: HttpRequest, target: str, fallback: str) -> str:
    """``target`` when it stays on this site (a form's "next", a stored link), else ``fallback``.

    Only a path ("/w/…") or a full URL of this host: ``redirect()`` takes any other word
    for the name of a view, and a posted "next=Ada" would fail to reverse (a 500).
    """
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    is_url = target.startswith("/") or urlsplit(target).scheme in ("http", "https")
    return target if target and allowed and is_url else fallback
