"""Saved views: a named filter of the engagement list or Needs attention, private or shared.

Who may do what (docs/saved-views.md says the same to users):

- anyone with access to the workspace, a viewer too, saves private views and
  renames or deletes their own;
- sharing a view with the workspace needs the member role or higher;
- a shared view is changed or deleted by its creator, or by an owner or
  manager (who look after what everyone sees); unsharing a colleague's view
  gives it back to its creator as a private view;
- a private view is its creator's alone: to anyone else it does not exist (404).

The query string is stored normalised: only the page's known filter and sort
keys, validated through the page's filter form, in one fixed order, without
``page=`` (the pagination) or anything else. ``current_query`` normalises a
request's query string the same way without touching the database, so the bar
can mark the view on screen by comparing strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import queries
from engagements.forms import EngagementFilterForm
from engagements.models import SavedView
from engagements.saved_view_forms import AttentionFilterForm
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.statements import Statement

Page = SavedView.Page


# Each page's filter form: constructed as ``Form(data, workspace=...)``.
FILTER_FORMS: dict[str, Any] = {
    Page.LIST: EngagementFilterForm,
    Page.ATTENTION: AttentionFilterForm,
}


def filter_keys(page: str) -> list[str]:
    """The page's filter and sort keys, in the order its form lists them (and a stored query string)."""
    return list(FILTER_FORMS[page].base_fields)


def _sort(value: str) -> str:
    """A sort the list knows, but not its default (that is no filter); anything else is dropped."""
    if value.removeprefix("-") in queries.SORTS and value != queries.DEFAULT_SORT:
        return value
    return ""


def _encode(pairs: Iterable[tuple[str, str]]) -> str:
    query = QueryDict(mutable=True)
    for key, value in pairs:
        query.appendlist(key, value)
    return query.urlencode()


def _as_text(value: Any) -> str:
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value).strip()


def normalise(*, workspace: Workspace, page: str, query: str) -> str:
    """``query`` with only the page's valid filters and sort, in one order (for storing)."""
    form = FILTER_FORMS[page](QueryDict(query), workspace=workspace)
    form.is_valid()  # invalid values are dropped, as the pages drop them
    cleaned = getattr(form, "cleaned_data", {})
    pairs: list[tuple[str, str]] = []
    for key in filter_keys(page):
        value = cleaned.get(key)
        values = value if isinstance(value, list | tuple | QuerySet) else [value]
        texts = sorted({_as_text(v) for v in values if v not in (None, "")})
        if key == "sort":
            texts = [s for s in map(_sort, texts) if s]
        pairs += [(key, t) for t in texts if t]
    return _encode(pairs)


def current_query(*, page: str, params: QueryDict) -> str:
    """The request's query string normalised like a stored one, without a query (for the bar)."""
    fields = FILTER_FORMS[page].base_fields
    pairs: list[tuple[str, str]] = []
    for key in filter_keys(page):
        if isinstance(fields[key], forms.MultipleChoiceField):
            given = params.getlist(key)
        else:
            given = [params.get(key, "")]  # a form reads the last value of a key given twice
        texts = sorted({v.strip() for v in given if v.strip()})
        if key == "sort":
            texts = [s for s in map(_sort, texts) if s]
        pairs += [(key, t) for t in texts]
    return _encode(pairs)


# --- reads ----------------------------------------------------------------------


def visible(*, workspace: Workspace, user: User) -> QuerySet[SavedView]:
    """The views ``user`` sees in ``workspace``: everyone's shared ones and their own private ones."""
    return SavedView.objects.filter(workspace=workspace).filter(Q(shared=True) | Q(creator=user))


def _bar(workspace_id: int, user_id: int, page: str) -> QuerySet[SavedView]:
    return (
        visible(workspace=Workspace(pk=workspace_id), user=User(pk=user_id))
        .filter(page=page)
        .select_related("creator")
        .order_by(Lower("name"), "pk")
    )


# On every list page: compiled once per process.
_BAR: Statement[SavedView] = Statement(SavedView, _bar, workspace_id=int, user_id=int, page=str)


def for_bar(*, workspace: Workspace, user: User, page: str) -> list[SavedView]:
    """The views of one page for the bar, shared and own, by name (one query)."""
    rows = _BAR(workspace_id=workspace.pk, user_id=user.pk, page=str(page))
    for row in rows:
        row.workspace = workspace  # their URLs need the slug: no query for it
    return rows


def manage_list(*, workspace: Workspace, membership: Membership) -> list[tuple[str, list[SavedView]]]:
    """The manage page's views, per page in the pages' order, each marked ``can_change`` (one query)."""
    rows = list(
        visible(workspace=workspace, user=membership.user)
        .select_related("creator")
        .order_by(Lower("name"), "pk")
    )
    groups: list[tuple[str, list[SavedView]]] = []
    for page in Page:
        mine = [row for row in rows if row.page == page]
        for row in mine:
            row.workspace = workspace
            row.can_change = can_change(membership, row)  # type: ignore[attr-defined]
        groups.append((str(page.label), mine))
    return groups


def get_visible(*, workspace: Workspace, user: User, pk: int) -> SavedView:
    """One view ``user`` can see, or 404: another workspace's, or another person's private one."""
    view = visible(workspace=workspace, user=user).select_related("creator").filter(pk=pk).first()
    if view is None:
        raise Http404
    view.workspace = workspace
    return view


def can_share(membership: Membership) -> bool:
    return membership.has_role(Role.MEMBER)


def can_change(membership: Membership, view: SavedView) -> bool:
    """The creator changes their own; a shared one also its workspace's owners and managers."""
    if view.creator_id == membership.user_id:
        return True
    return view.shared and membership.has_role(Role.MANAGER)


# --- writes ---------------------------------------------------------------------


def _check_name(*, view: SavedView) -> None:
    name = view.name.strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > SavedView.NAME_MAX:
        raise ValidationError(
            {"name": _("At most %(max)d characters, please.") % {"max": SavedView.NAME_MAX}}
        )
    view.name = name
    taken = (
        SavedView.objects.filter(
            workspace_id=view.workspace_id, creator_id=view.creator_id, page=view.page, name__iexact=name
        )
        .exclude(pk=view.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"name": _("You already have a view called “%(name)s” here.") % {"name": name}})


def _check_sharing(*, membership: Membership, shared: bool, was_shared: bool) -> None:
    if shared and not was_shared and not can_share(membership):
        raise ValidationError({"shared": _("Viewers cannot share views with the workspace.")})


def _save(view: SavedView, *, update_fields: list[str] | None = None) -> None:
    _check_name(view=view)
    try:
        with transaction.atomic():
            view.save(update_fields=update_fields)
    except IntegrityError as exc:  # the same name saved a moment ago, by the same person
        raise ValidationError(
            {"name": _("You already have a view called “%(name)s” here.") % {"name": view.name}}
        ) from exc


def saved_view_create(
    *, membership: Membership, page: str, name: str, query: str, shared: bool = False
) -> SavedView:
    """Save the page's current filters under ``name``, private or shared with the workspace."""
    if page not in FILTER_FORMS:
        raise ValidationError({"page": _("Views can be saved of the engagement list and Needs attention.")})
    _check_sharing(membership=membership, shared=shared, was_shared=False)
    view = SavedView(
        workspace=membership.workspace,
        creator=membership.user,
        page=page,
        name=name,
        query=normalise(workspace=membership.workspace, page=page, query=query),
        shared=shared,
    )
    _save(view)
    return view


def saved_view_update(*, membership: Membership, view: SavedView, name: str, shared: bool) -> SavedView:
    """Rename a view, or share or unshare it (the creator; a shared one also owners and managers)."""
    if not can_change(membership, view):
        raise PermissionDenied
    _check_sharing(membership=membership, shared=shared, was_shared=view.shared)
    view.name = name
    view.shared = shared
    view.updated_at = timezone.now()
    _save(view, update_fields=["name", "shared", "updated_at"])
    return view


def saved_view_delete(*, membership: Membership, view: SavedView) -> None:
    """Delete a view (the creator; a shared one also owners and managers)."""
    if not can_change(membership, view):
        raise PermissionDenied
    view.delete()
