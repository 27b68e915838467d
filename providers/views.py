"""Pages of the provider registry: list, create/edit, provider page, absences, documents, policies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.files import private_file_response
from outsourcing.models import Role, Workspace
from outsourcing.sorting import sort_columns
from outsourcing.zones import zone_label
from providers import queries, services
from providers.forms import (
    AbsenceForm,
    DocumentForm,
    PolicyForm,
    ProviderFilterForm,
    ProviderForm,
    StatusForm,
    follow_country,
)
from providers.models import Absence, Document, Provider, ResponsePolicy, language_choices
from providers.panels import render_panels

PER_PAGE = 25

SORT_COLUMNS = (
    ("name", gettext_lazy("Name")),
    ("kind", gettext_lazy("Kind")),
    ("country", gettext_lazy("Country")),
    ("status", gettext_lazy("Status")),
    ("created", gettext_lazy("Added")),
)

STATUS_MESSAGES = {
    Provider.Status.ACTIVE: gettext_lazy("%(name)s is active again."),
    Provider.Status.PAUSED: gettext_lazy("%(name)s is paused."),
    Provider.Status.ARCHIVED: gettext_lazy("%(name)s was archived."),
    Provider.Status.BLOCKED: gettext_lazy("%(name)s is blocked."),
}

# A service's model error on a field the form shows under another name.
FORM_FIELD_FOR = {"profile_links": "profile_links_text"}


def _add_errors(form: forms.BaseForm, error: ValidationError, default_field: str | None = None) -> None:
    """Show a service's ValidationError on the form, next to the field it concerns."""
    if not hasattr(error, "error_dict"):
        form.add_error(default_field, error)
        return
    for field, errors in error.message_dict.items():
        name = FORM_FIELD_FOR.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


@workspace_view()
def provider_list(request: WorkspaceRequest) -> HttpResponse:
    """Search, filter, sort and page through the workspace's providers."""
    workspace = request.workspace
    form = ProviderFilterForm(
        request.GET,
        free_tags=queries.free_skill_tags(workspace),
        country_codes=queries.used_countries(workspace),
    )
    filters = form.filters(sort=request.GET.get("sort", ""))
    page = Paginator(queries.provider_list(workspace, filters), PER_PAGE).get_page(request.GET.get("page"))
    filtered = any([filters.q, filters.kind, filters.skill, filters.status, filters.country])
    # Only asked when the page is empty: "none yet" and "none match" need different words.
    has_any = bool(page.object_list) or Provider.objects.filter(workspace=workspace).exists()
    return render(
        request,
        "providers/provider_list.html",
        {
            "filter_form": form,
            "filters": filters,
            "filtered": filtered,
            "has_any": has_any,
            "page_obj": page,
            "providers": page.object_list,
            "columns": sort_columns(filters.sort, SORT_COLUMNS, descending_first={"created"}),
        },
    )


@workspace_view()
def provider_create(request: WorkspaceRequest) -> HttpResponse:
    """Register a new provider."""
    require_role(request, Role.MEMBER)
    workspace = request.workspace
    # No zone yet: the country's is filled in, or the person chooses one (never a guess).
    # A name and profile links can come prefilled (the Unsorted inbox's "add this provider").
    prefill = {
        "name": request.GET.get("name", "")[:200],
        "profile_links_text": request.GET.get("profile_links", ""),
    }
    form = ProviderForm(
        request.POST or None,
        instance=Provider(workspace=workspace, time_zone=""),
        initial={k: v for k, v in prefill.items() if v},
    )
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(workspace=workspace, **form.service_kwargs())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": provider.name})
            return redirect("providers:detail", ws=workspace.slug, pk=provider.pk)
    return render(request, "providers/provider_form.html", {"form": form, "provider": None})


@workspace_view()
def provider_country_defaults(request: WorkspaceRequest) -> HttpResponse:
    """The provider form's time zone and currency fields for the country just chosen (for htmx)."""
    require_role(request, Role.MEMBER)
    query = request.GET
    time_zone, currency = follow_country(
        previous=query.get("defaults_for", ""),
        country=query.get("country", ""),
        time_zone=query.get("time_zone", ""),
        currency=query.get("rate_currency", ""),
    )
    provider = Provider(workspace=request.workspace, time_zone=time_zone, rate_currency=currency)
    form = ProviderForm(instance=provider, initial={"country": query.get("country", "")})
    return render(request, "providers/partials/country_defaults.html", {"form": form, "swap": True})


@workspace_view()
def provider_edit(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Change a provider's profile, contacts and skills."""
    require_role(request, Role.MEMBER)
    provider = queries.provider_get(request.workspace, pk)
    # The bound form writes into the instance; the heading keeps the saved name.
    heading = provider.display_name
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_update(provider=provider, **form.service_kwargs())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": provider.name})
            return redirect("providers:detail", ws=request.workspace.slug, pk=provider.pk)
    return render(
        request, "providers/provider_form.html", {"form": form, "provider": provider, "heading": heading}
    )


@workspace_view()
@require_POST
def provider_status(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Archive, pause, block or reactivate a provider."""
    provider = queries.provider_get(request.workspace, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        services.provider_set_status(provider=provider, status=status)
        messages.success(request, STATUS_MESSAGES[Provider.Status(status)] % {"name": provider.name})
    else:
        messages.error(request, _("Unknown status."))
    return redirect("providers:detail", ws=request.workspace.slug, pk=provider.pk)


def _language_names(codes: list[str]) -> list[str]:
    english = dict(language_choices())
    names = []
    for code in codes:
        try:
            names.append(translation.get_language_info(code)["name_translated"])
        except KeyError:
            names.append(english.get(code, code))
    return names


def _detail(
    request: WorkspaceRequest,
    provider: Provider,
    *,
    absence_form: AbsenceForm | None = None,
    document_form: DocumentForm | None = None,
) -> HttpResponse:
    own_policy = provider.response_policy
    context = {
        "provider": provider,
        "policy": own_policy or services.policy_default(workspace=request.workspace),
        "policy_is_own": own_policy is not None,
        "emails": list(provider.emails.all()),
        "skills": list(provider.skills.all()),
        "languages": _language_names(provider.languages or []),
        "time_zone_label": zone_label(provider.time_zone),
        "now": timezone.now(),
        "absences": list(provider.absences.all()),
        "documents": list(provider.documents.all()),
        "absence_form": absence_form or AbsenceForm(),
        "document_form": document_form or DocumentForm(),
        "statuses": Provider.Status,
        "panels": render_panels(request, provider),
    }
    return render(request, "providers/provider_detail.html", context)


@workspace_view()
def provider_detail(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The provider's page: profile, absences, documents and the other apps' panels."""
    return _detail(request, queries.provider_for_page(request.workspace, pk))


def _absences_response(request: WorkspaceRequest, provider: Provider, form: AbsenceForm) -> HttpResponse:
    """The absences section alone, for htmx to swap in."""
    context = {
        "provider": provider,
        "absences": queries.provider_absences(provider),
        "absence_form": form,
    }
    return render(request, "providers/provider_detail.html#absences", context)


@workspace_view()
@require_POST
def absence_add(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Add an announced absence; htmx gets the section back, errors included."""
    provider = queries.provider_get(request.workspace, pk)
    form = AbsenceForm(request.POST)
    if form.is_valid():
        try:
            services.absence_add(provider=provider, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The absence was added."))
            if not request.htmx:
                return redirect(_detail_url(request, provider, "absences"))
            form = AbsenceForm()
    if request.htmx:
        return _absences_response(request, provider, form)
    return _detail(request, queries.provider_for_page(request.workspace, pk), absence_form=form)


@workspace_view()
@require_POST
def absence_delete(request: WorkspaceRequest, pk: int, absence_pk: int) -> HttpResponse:
    provider = queries.provider_get(request.workspace, pk)
    absence = get_object_or_404(Absence, provider=provider, pk=absence_pk)
    services.absence_delete(absence=absence)
    messages.success(request, _("The absence was removed."))
    if request.htmx:
        return _absences_response(request, provider, AbsenceForm())
    return redirect(_detail_url(request, provider, "absences"))


@workspace_view()
@require_POST
def document_upload(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Upload a contract, NDA or other document; a refused file is a form error."""
    provider = queries.provider_get(request.workspace, pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.document_upload(
                provider=provider,
                upload=data["file"],
                title=data["title"],
                kind=data["kind"],
                expires_on=data["expires_on"],
                uploaded_by=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error, default_field="file")
        else:
            messages.success(request, _("The document was uploaded."))
            return redirect(_detail_url(request, provider, "documents"))
    return _detail(request, queries.provider_for_page(request.workspace, pk), document_form=form)


def _document(request: WorkspaceRequest, pk: int, document_pk: int) -> Document:
    return get_object_or_404(
        Document.objects.select_related("provider"),
        provider__workspace=request.workspace,
        provider_id=pk,
        pk=document_pk,
    )


@workspace_view()
def document_download(request: WorkspaceRequest, pk: int, document_pk: int) -> FileResponse:
    """Stream a document to a member of its workspace, as an attachment under its original name."""
    document = _document(request, pk, document_pk)
    return private_file_response(
        document.file, filename=document.original_name, content_type=document.content_type
    )


@workspace_view()
@require_POST
def document_delete(request: WorkspaceRequest, pk: int, document_pk: int) -> HttpResponse:
    document = _document(request, pk, document_pk)
    services.document_delete(document=document)
    messages.success(request, _("The document was deleted."))
    return redirect(_detail_url(request, document.provider, "documents"))


def _detail_url(request: WorkspaceRequest, provider: Provider, section: str) -> str:
    url = reverse("providers:detail", kwargs={"ws": request.workspace.slug, "pk": provider.pk})
    return f"{url}#{section}"


def _policy_usage_relations() -> list[ForeignObjectRel]:
    """Every foreign key that points at a response policy (a provider's, an engagement's …).

    Found through the model registry because providers must not import the
    apps built on it, yet the list shows how many of their rows use a policy.
    """
    return [
        rel
        for rel in ResponsePolicy._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel) and rel.one_to_many
    ]


def _usage_key(rel: ForeignObjectRel) -> str:
    return f"used_by_{rel.related_model._meta.model_name}"


def _policies_with_usage(workspace: Workspace, relations: list[ForeignObjectRel]) -> QuerySet[ResponsePolicy]:
    """The workspace's policies, each annotated with how many rows of every relation use it."""
    counts = {}
    for rel in relations:
        using = (
            rel.related_model._default_manager.filter(**{rel.field.name: OuterRef("pk")})
            .order_by()
            .values(rel.field.name)
            .annotate(n=Count("pk"))
            .values("n")
        )
        counts[_usage_key(rel)] = Coalesce(Subquery(using, output_field=IntegerField()), 0)
    return ResponsePolicy.objects.filter(workspace=workspace).annotate(**counts)


def _usage(policy: ResponsePolicy, relations: list[ForeignObjectRel]) -> list[dict[str, Any]]:
    return [
        {
            "label": capfirst(rel.related_model._meta.verbose_name_plural),
            "count": getattr(policy, _usage_key(rel)),
        }
        for rel in relations
    ]


@workspace_view(write_role=Role.MANAGER)
def policy_list(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's response policies in words, with how much uses each."""
    # Created on first use, so the list always shows the default everyone falls back on.
    services.policy_default(workspace=request.workspace)
    relations = _policy_usage_relations()
    page = Paginator(_policies_with_usage(request.workspace, relations), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [{"policy": policy, "usage": _usage(policy, relations)} for policy in page.object_list]
    return render(
        request,
        "providers/policy_list.html",
        {
            "page_obj": page,
            "rows": rows,
            "usage_labels": [capfirst(rel.related_model._meta.verbose_name_plural) for rel in relations],
        },
    )


@workspace_view(write_role=Role.MANAGER)
def policy_create(request: WorkspaceRequest) -> HttpResponse:
    """Add a response policy."""
    require_role(request, Role.MANAGER)
    form = PolicyForm(request.POST or None, instance=ResponsePolicy(workspace=request.workspace))
    if request.method == "POST" and form.is_valid():
        try:
            policy = services.policy_create(workspace=request.workspace, **form.service_kwargs())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The response policy “%(name)s” was added.") % {"name": policy.name})
            return redirect("providers:policy_list", ws=request.workspace.slug)
    return render(request, "providers/policy_form.html", {"form": form, "policy": None})


@workspace_view(write_role=Role.MANAGER)
def policy_edit(request: WorkspaceRequest, policy_pk: int) -> HttpResponse:
    """Change a response policy; the open due times of whoever uses it are recomputed."""
    require_role(request, Role.MANAGER)
    relations = _policy_usage_relations()
    policy = get_object_or_404(_policies_with_usage(request.workspace, relations), pk=policy_pk)
    # The bound form writes into the instance; the heading keeps the saved name.
    heading = policy.name
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(policy=policy, **form.service_kwargs())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("The response policy “%(name)s” was saved. Open due times follow it shortly.")
                % {"name": policy.name},
            )
            return redirect("providers:policy_list", ws=request.workspace.slug)
    return render(
        request,
        "providers/policy_form.html",
        {"form": form, "policy": policy, "heading": heading, "usage": _usage(policy, relations)},
    )


def _policy(request: WorkspaceRequest, policy_pk: int) -> ResponsePolicy:
    return get_object_or_404(ResponsePolicy, workspace=request.workspace, pk=policy_pk)


@workspace_view(write_role=Role.MANAGER)
@require_POST
def policy_delete(request: WorkspaceRequest, policy_pk: int) -> HttpResponse:
    """Delete a policy; providers and engagements using it fall back."""
    policy = _policy(request, policy_pk)
    try:
        services.policy_delete(policy=policy)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The response policy “%(name)s” was deleted.") % {"name": policy.name})
    return redirect("providers:policy_list", ws=request.workspace.slug)


@workspace_view(write_role=Role.MANAGER)
@require_POST
def policy_make_default(request: WorkspaceRequest, policy_pk: int) -> HttpResponse:
    """Make a policy the one that applies when neither engagement nor provider names one."""
    policy = _policy(request, policy_pk)
    services.policy_make_default(policy=policy)
    messages.success(request, _("“%(name)s” is now the workspace default.") % {"name": policy.name})
    return redirect("providers:policy_list", ws=request.workspace.slug)
