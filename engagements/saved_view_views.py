"""Saved views' pages: save the filters on screen, list one's views, rename, share, delete.

Thin: ``SaveViewForm`` and ``SavedViewForm`` read the input, ``engagements.saved_views`` decides
who may do what and writes. A viewer saves private views too, so writes need only the viewer role
here; the service refuses what the role does not allow.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from engagements import queries, saved_views
from engagements.forms import add_service_errors
from engagements.models import SavedView
from engagements.saved_view_forms import SavedViewForm, SaveViewForm
from engagements.views import SORT_COLUMNS
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role, Workspace
from providers.models import Provider

any_member_view = workspace_view(write_role=Role.VIEWER)


def _manage_url(request: WorkspaceRequest) -> str:
    return reverse("engagements:saved_views", kwargs={"ws": request.workspace.slug})


def _changeable(request: WorkspaceRequest, pk: int) -> SavedView:
    """A view the user sees (else 404) and may change (else 403)."""
    view = saved_views.get_visible(workspace=request.workspace, user=request.user, pk=pk)
    if not saved_views.can_change(request.membership, view):
        raise PermissionDenied
    return view


def _describe(workspace: Workspace, views: list[SavedView]) -> None:
    """Set each view's ``summary``: its filters and sort in words (two queries at most, for all)."""
    params = {view.pk: QueryDict(view.query) for view in views}
    wanted = {p for q in params.values() for p in q.getlist("provider") if p.isdigit()}
    providers = (
        {
            str(pk): name
            for pk, name in Provider.objects.filter(workspace=workspace, pk__in=wanted).values_list(
                "pk", "name"
            )
        }
        if wanted
        else {}
    )
    owners = {q.get("owner", "") for q in params.values()} - {"", "me"}
    members = {str(u.pk): u.display_name for u in queries.workspace_members(workspace)} if owners else {}
    sorts = dict(SORT_COLUMNS)
    for view in views:
        form = saved_views.FILTER_FORMS[view.page]
        summary: list[str] = []
        for key in saved_views.filter_keys(view.page):
            values = params[view.pk].getlist(key)
            if not values:
                continue
            field: Any = form.base_fields[key]
            if key == "sort":
                column = values[-1].removeprefix("-")
                arrow = "▼" if values[-1].startswith("-") else "▲"
                summary.append(
                    _("Sorted by %(column)s %(arrow)s")
                    % {"column": sorts.get(column, column), "arrow": arrow}
                )
                continue
            if key == "provider":
                shown = [providers.get(v, _("(deleted)")) for v in values]
            elif key == "owner":
                shown = [
                    str(_("Me")) if v == "me" else members.get(v, _("(no longer a member)")) for v in values
                ]
            elif isinstance(field, forms.ChoiceField):
                choices = {str(k): str(label) for k, label in getattr(field, "choices", [])}
                shown = [choices.get(v, v) for v in values]
            else:
                shown = [f"“{v}”" for v in values]
            if view.page == SavedView.Page.ATTENTION:
                summary += shown
            else:
                summary.append(f"{field.label}: {', '.join(shown)}")
        view.summary = summary  # type: ignore[attr-defined]


@any_member_view
@require_safe
def saved_view_list(request: WorkspaceRequest) -> HttpResponse:
    """The views one sees: shared ones and one's own, per page, with what one may do to each."""
    rows = saved_views.manage_list(workspace=request.workspace, membership=request.membership)
    _describe(request.workspace, [view for _label, views in rows for view in views])
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
