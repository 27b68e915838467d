"""The owner's side of a proposed due date: accept (the due date moves) or decline; the provider is told."""

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

from engagements.models import DueDateProposal
from engagements.proposals import services
from engagements.proposals.forms import DeclineForm
from outsourcing.access import WorkspaceRequest, workspace_view


def _proposal(request: HttpRequest, pk: int) -> DueDateProposal:
    """The workspace's proposal (a 404 for any other), with what deciding and the mail read."""
    return get_object_or_404(
        DueDateProposal.objects.select_related(
            "engagement__workspace", "engagement__owner", "engagement__provider"
        ),
        workspace=cast(WorkspaceRequest, request).workspace,
        pk=pk,
    )


def _decided(
    request: HttpRequest, proposal: DueDateProposal, decide: Callable[[], services.Decision], done: str
) -> HttpResponse:
    """Decide, say what happened (and whether the provider was told), go back to the proposals."""
    try:
        decision = decide()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        told = (
            _("The provider was told by e-mail.")
            if decision.told is not None
            else _("The provider has no e-mail address to tell them at: please let them know yourself.")
        )
        messages.success(request, f"{done % {'date': formats.date_format(proposal.proposed_on)}} {told}")
    return _back(request, proposal)


def _back(request: HttpRequest, proposal: DueDateProposal) -> HttpResponse:
    slug = cast(WorkspaceRequest, request).workspace.slug
    url = reverse("engagements:detail", kwargs={"ws": slug, "pk": proposal.engagement_id})
    return redirect(f"{url}#proposals")


@workspace_view()
@require_POST
def proposal_accept(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(request, pk)
    by = cast(WorkspaceRequest, request).user
    return _decided(
        request,
        proposal,
        lambda: services.proposal_accept(proposal=proposal, by=by),
        _("Accepted: the due date is now %(date)s."),
    )


@workspace_view()
@require_POST
def proposal_decline(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(request, pk)
    by = cast(WorkspaceRequest, request).user
    form = DeclineForm(request.POST, prefix=DeclineForm.prefix_for(proposal.pk))
    if not form.is_valid():
        # An over-long reason (or one with a NUL character): say so, decide nothing.
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return _back(request, proposal)
    return _decided(
        request,
        proposal,
        lambda: services.proposal_decline(proposal=proposal, by=by, reason=form.cleaned_data["reason"]),
        _("Declined the proposed date %(date)s."),
    )
