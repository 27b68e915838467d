"""Saved views' pages: save the filters on screen, list one's views, rename, share, delete.

Thin: ``SaveViewForm`` and ``SavedViewForm`` read the input, ``engagements.saved_views`` decides
who may do what and writes. A viewer saves private views too, so writes need only the viewer role
here; the service refuses what the role does not allow.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from engagements import saved_views
from engagements.forms import add_service_errors
from engagements.models import SavedView
from engagements.saved_view_forms import SavedViewForm, SaveViewForm
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role

any_member_view = workspace_view(write_role=Role.VIEWER)


def _manage_url(request: WorkspaceRequest) -> str:
    return reverse("engagements:saved_views", kwargs={"ws": request.workspace.slug})


def _changeable(request: WorkspaceRequest, pk: int) -> SavedView:
    """A view the user sees (else 404) and may change (else 403)."""
    view = saved_views.get_visible(workspace=request.workspace, user=request.user, pk=pk)
    if not saved_views.can_change(request.membership, view):
        raise PermissionDenied
    return view


@any_member_view
@require_safe
def saved_view_list(request: WorkspaceRequest) -> HttpResponse:
    """The views one sees: shared ones and one's own, per page, with what one may do to each."""
    rows = saved_views.manage_list(workspace=request.workspace, membership=request.membership)
    return render(
        request,
        "engagements/saved_views/list.html",
        {"groups": rows, "can_share": saved_views.can_share(request.membership)},
    )


@any_member_view
@require_POST
def saved_view_save(request: WorkspaceRequest) -> HttpResponse:
    """Save the filters of the page the form was posted from; errors on a page of their own."""
    can_share = saved_views.can_share(request.membership)
    form = SaveViewForm(request.POST, can_share=can_share)
    if form.is_valid():
        try:
            view = saved_views.saved_view_create(membership=request.membership, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            text = (
                _("The view “%(name)s” was saved and shared with the workspace.")
                if view.shared
                else _("The view “%(name)s” was saved. Only you see it.")
            )
            messages.success(request, text % {"name": view.name})
            return redirect(view.get_absolute_url())
    page = form.data.get("page", "")
    page = page if page in saved_views.FILTER_FORMS else SavedView.Page.LIST
    back = SavedView(workspace=request.workspace, page=page, query=form.data.get("query", "")[:2000])
    return render(
        request,
        "engagements/saved_views/save.html",
        {"form": form, "back": back.get_absolute_url(), "page_label": SavedView.Page(page).label},
    )


@any_member_view
@require_http_methods(["GET", "POST"])
def saved_view_edit(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Rename a view, or share or unshare it."""
    view = _changeable(request, pk)
    can_share = saved_views.can_share(request.membership) or view.shared
    form = SavedViewForm(
        request.POST or None, initial={"name": view.name, "shared": view.shared}, can_share=can_share
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved_views.saved_view_update(membership=request.membership, view=view, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The view “%(name)s” was saved.") % {"name": view.name})
            return redirect(_manage_url(request))
    return render(request, "engagements/saved_views/edit.html", {"form": form, "view": view})


@any_member_view
@require_POST
def saved_view_share(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Share a view with the workspace, or make it private again (a button on the manage page)."""
    view = _changeable(request, pk)
    try:
        saved_views.saved_view_update(
            membership=request.membership, view=view, name=view.name, shared=not view.shared
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if view.shared:
            text = _("“%(name)s” is now shared with the workspace.")
        elif view.creator_id == request.user.pk:
            text = _("“%(name)s” is now private: only you see it.")
        else:
            text = _("“%(name)s” is no longer shared: only its creator sees it.")
        messages.success(request, text % {"name": view.name})
    return redirect(_manage_url(request))


@any_member_view
@require_http_methods(["GET", "POST"])
def saved_view_delete(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """A confirmation page; the POST deletes."""
    view = _changeable(request, pk)
    if request.method == "POST":
        saved_views.saved_view_delete(membership=request.membership, view=view)
        messages.success(request, _("The view “%(name)s” was deleted.") % {"name": view.name})
        return redirect(_manage_url(request))
    return render(request, "engagements/saved_views/confirm_delete.html", {"view": view})
