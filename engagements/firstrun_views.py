"""The first-run checklist's "Dismiss", and the sample workspace: explore it, delete it."""

from __future__ import annotations

import logging
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from engagements import firstrun, sample
from outsourcing import limits
from outsourcing.access import SESSION_KEY, WorkspaceRequest, workspace_view
from outsourcing.models import Role, User

logger = logging.getLogger(__name__)


@workspace_view(write_role=Role.VIEWER)
@require_POST
def checklist_dismiss(request: WorkspaceRequest) -> HttpResponse:
    """Hide the first-run checklist for this person in this workspace."""
    firstrun.first_run_finish(membership=request.membership)
    messages.success(request, _("The checklist is hidden. Everything on it stays in the menus."))
    return redirect("reliability:dashboard", ws=request.workspace.slug)


@login_required
@require_POST
@limits.limited(limits.SAMPLE_WORKSPACE)
def sample_open(request: HttpRequest) -> HttpResponse:
    """Make the person's sample workspace (once) and go there."""
    result = sample.sample_workspace_open(user=cast(User, request.user))
    if result.created:
        logger.info("sample workspace %s made in %.2f s", result.workspace.slug, result.seconds)
        messages.success(request, _("This sample workspace is yours to explore; its data is made up."))
    return redirect("reliability:dashboard", ws=result.workspace.slug)


@workspace_view(write_role=Role.OWNER)
@require_http_methods(["GET", "HEAD", "POST"])
def sample_delete(request: WorkspaceRequest) -> HttpResponse:
    """Ask, then delete the sample workspace with all its sample data (its owner only)."""
    workspace, membership = request.workspace, request.membership
    if not workspace.is_sample:
        raise Http404
    if membership.role != Role.OWNER:
        raise PermissionDenied
    if request.method == "POST":
        sample.sample_workspace_delete(workspace=workspace, by=membership)
        request.session.pop(SESSION_KEY, None)
        messages.success(request, _("The sample workspace was deleted."))
        return redirect("home")
    return render(request, "engagements/firstrun/sample_delete.html")
