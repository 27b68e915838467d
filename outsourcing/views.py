"""Home, health, workspaces, members and invitations."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from outsourcing.access import SESSION_KEY, workspace_view
from outsourcing.celery import app as celery_app
from outsourcing.models import Membership, User


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Go to the last workspace used, or the first one the user belongs to."""
    memberships = Membership.objects.filter(user=cast(User, request.user)).select_related("workspace")
    last = request.session.get(SESSION_KEY)
    chosen = memberships.filter(workspace__slug=last).first() if last else None
    chosen = chosen or memberships.order_by("joined_at").first()
    if chosen is None:
        return redirect("workspace_new")
    return redirect("workspace_home", ws=chosen.workspace.slug)


def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker health, for load balancers and uptime checks."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is "down", reported by type
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


@workspace_view()
def workspace_home(request: HttpRequest) -> HttpResponse:
    return redirect("engagements:list", ws=request.workspace.slug)  # type: ignore[attr-defined]


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404


workspace_new = workspace_settings = members = member_role = member_remove = _todo
invitation_accept = invitation_revoke = _todo
