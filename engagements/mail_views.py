"""The Unsorted inbox: mail the importer could not place, sorted by a person with one click."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from engagements.forms import InboundAssignForm
from engagements.mail import importer
from engagements.models import InboundMail
from outsourcing.access import WorkspaceRequest, workspace_view

PER_PAGE = 25


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


@workspace_view()
@require_safe
def unsorted_list(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    page = Paginator(importer.unsorted(req.workspace), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "engagements/mail/unsorted.html", {"page_obj": page})


@workspace_view()
@require_http_methods(["GET", "POST"])
def inbound_sort(request: HttpRequest, pk: int) -> HttpResponse:
    """One unsorted mail: its suggested engagements as buttons, or a new engagement."""
    req = _ws(request)
    inbound = get_object_or_404(InboundMail, pk=pk, workspace=req.workspace)
    list_url = reverse("mail:unsorted", kwargs={"ws": req.workspace.slug})
    if inbound.status != InboundMail.Status.UNSORTED:
        messages.info(request, _("This mail was already sorted."))
        return redirect(list_url)
    suggested, provider = importer.suggestions(inbound)
    form = InboundAssignForm(
        request.POST if request.method == "POST" else None, workspace=req.workspace, suggested=provider
    )
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["engagement"] is not None:
                message = importer.inbound_assign(inbound=inbound, engagement=form.cleaned_data["engagement"])
            else:
                message = importer.inbound_assign_new(
                    inbound=inbound, provider=form.cleaned_data["new_for"], by=req.user
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("The mail was logged on “%(title)s”.") % {"title": message.engagement.title}
            )
            return redirect(list_url)
    new_provider = importer.platform_new_provider(inbound) if provider is None else {}
    return render(
        request,
        "engagements/mail/sort.html",
        {
            "inbound": inbound,
            "suggested": suggested,
            "provider": provider,
            "form": form,
            "new_provider_query": urlencode(new_provider) if new_provider else "",
        },
    )
