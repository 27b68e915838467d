"""The owner's side of a proposed due date: accept (the due date moves) or decline."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from engagements.answers import services
from engagements.models import DueDateProposal
from outsourcing.access import WorkspaceRequest, workspace_view


def _decide(request: HttpRequest, pk: int, action: Callable[..., DueDateProposal], done: str) -> HttpResponse:
    req = cast(WorkspaceRequest, request)
    proposal = get_object_or_404(
        DueDateProposal.objects.select_related("engagement__workspace", "engagement__owner"),
        workspace=req.workspace,
        pk=pk,
    )
    try:
        action(proposal=proposal, by=req.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done % {"date": formats.date_format(proposal.proposed_on)})
    url = reverse("engagements:detail", kwargs={"ws": req.workspace.slug, "pk": proposal.engagement_id})
    return redirect(f"{url}#proposals")


@workspace_view()
@require_POST
def proposal_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, services.proposal_accept, _("Accepted: the due date is now %(date)s."))


@workspace_view()
@require_POST
def proposal_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, services.proposal_decline, _("Declined the proposed date %(date)s."))
