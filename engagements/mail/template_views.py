"""The workspace's own follow-up texts: a list by kind and language, an edit page with a live preview,
and a reset to the shipped text (owners and managers)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from engagements import followup_templates as templates
from engagements.forms import add_service_errors
from engagements.models import FollowupTemplate
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role

manager_view = workspace_view(read_role=Role.MANAGER, write_role=Role.MANAGER)


class TemplateForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        strip=False,
        max_length=templates.BODY_MAX,
    )

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"].replace("\r\n", "\n")
        templates.check_body(body)
        return body


def _chosen(request: HttpRequest) -> tuple[str, str]:
    """The kind and language a request names (the first of each by default); 404 for unknown ones."""
    data = request.POST if request.method == "POST" else request.GET
    kind = data.get("kind") or templates.KINDS[0][0]
    language = (data.get("lang") or "en").strip().lower()
    if kind not in templates.KIND_NAMES or not templates.LANGUAGE_CODE.match(language):
        raise Http404
    return kind, language


@manager_view
@require_safe
def template_list(request: WorkspaceRequest) -> HttpResponse:
    """Every kind × language: the workspace's own text or the shipped one."""
    own = templates.workspace_templates(request.workspace)
    by_cell = {(t.language, t.kind): t for t in own}
    languages = templates.shipped_languages() + sorted(
        {t.language for t in own} - set(templates.shipped_languages())
    )
    rows = [
        {
            "code": code,
            "name": templates.language_name(code),
            "cells": [
                {"kind": kind, "label": label, "own": by_cell.get((code, kind))}
                for kind, label in templates.KINDS
            ],
        }
        for code in languages
    ]
    return render(
        request,
        "engagements/mail/template_list.html",
        {"rows": rows, "kinds": templates.KINDS, "placeholders": templates.PLACEHOLDERS},
    )


@manager_view
@require_http_methods(["GET", "HEAD", "POST"])
def template_edit(request: WorkspaceRequest) -> HttpResponse:
    """Edit one kind's text in one language; a language the app does not ship may be added here."""
    kind, language = _chosen(request)
    own = FollowupTemplate.objects.filter(workspace=request.workspace, kind=kind, language=language).first()
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                templates.template_save(
                    workspace=request.workspace,
                    kind=kind,
                    language=language,
                    body=form.cleaned_data["body"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The follow-up text was saved."))
                return redirect(reverse("mail:templates", kwargs={"ws": request.workspace.slug}))
    else:
        body = own.body if own is not None else templates.starter(kind, language)
        form = TemplateForm(initial={"body": body})
    preview, error = _preview(request, form["body"].value() or "", language)
    return render(
        request,
        "engagements/mail/template_edit.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": dict(templates.KINDS)[kind],
            "language": language,
            "language_name": templates.language_name(language),
            "own": own,
            "placeholders": templates.PLACEHOLDERS,
            "preview": preview,
            "preview_error": error,
        },
    )


def _preview(request: WorkspaceRequest, body: str, language: str) -> tuple[str, str]:
    """The text as a provider would read it with made-up values, or why it cannot be used."""
    body = body.replace("\r\n", "\n")
    try:
        templates.check_body(body)
    except ValidationError as exc:
        return "", " ".join(exc.messages)
    return templates.render(body, templates.sample_values(language, request.user.display_name)), ""


@manager_view
@require_POST
def template_preview(request: WorkspaceRequest) -> HttpResponse:
    """The edit page's preview (htmx): rendered as typed, never saved."""
    _kind, language = _chosen(request)
    preview, error = _preview(request, request.POST.get("body", "")[: templates.BODY_MAX + 1], language)
    return render(
        request, "engagements/mail/template_preview.html", {"preview": preview, "preview_error": error}
    )


@manager_view
@require_POST
def template_reset(request: WorkspaceRequest) -> HttpResponse:
    """Back to the shipped text for this kind and language."""
    kind, language = _chosen(request)
    if templates.template_reset(workspace=request.workspace, kind=kind, language=language):
        messages.success(request, _("The follow-up text is the default one again."))
    return redirect(reverse("mail:templates", kwargs={"ws": request.workspace.slug}))
