"""The complete export page (owners only): start an export, follow it, download it; import one."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from engagements.archive import services
from engagements.archive.forms import ArchiveImportForm
from engagements.archive.restore import ArchiveError, workspace_is_empty
from engagements.models import DataArchive
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.files import private_file_response
from outsourcing.models import Role

owner_view = workspace_view(read_role=Role.OWNER, write_role=Role.OWNER)


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _archive(request: WorkspaceRequest, pk: int) -> DataArchive:
    return get_object_or_404(
        DataArchive.objects.select_related("requested_by"), pk=pk, workspace=request.workspace
    )


@owner_view
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    return _index(req, ArchiveImportForm())


def _index(req: WorkspaceRequest, form: ArchiveImportForm, status: int = 200) -> HttpResponse:
    archives = DataArchive.objects.filter(workspace=req.workspace).select_related("requested_by")[:20]
    return render(
        req,
        "engagements/archive/index.html",
        {"archives": archives, "form": form, "can_import": workspace_is_empty(req.workspace)},
        status=status,
    )


@owner_view
@require_http_methods(["POST"])
def export(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    archive = services.archive_export_create(workspace=req.workspace, by=req.user)
    return redirect("archive:status", ws=req.workspace.slug, pk=archive.pk)


@owner_view
@require_http_methods(["POST"])
def import_archive(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    form = ArchiveImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            archive = services.archive_import_create(
                workspace=req.workspace, by=req.user, file=form.cleaned_data["archive"]
            )
        except ArchiveError as error:
            form.add_error("archive", str(error))
        else:
            return redirect("archive:status", ws=req.workspace.slug, pk=archive.pk)
    return _index(req, form, status=400)


@owner_view
@require_safe
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """One export's or import's progress; htmx asks for the partial every second while it runs."""
    req = _ws(request)
    template = "engagements/archive/status.html"
    if req.htmx:
        template += "#progress"
    return render(request, template, {"archive": _archive(req, pk)})


@owner_view
@require_safe
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    archive = _archive(_ws(request), pk)
    if not archive.is_downloadable:
        raise Http404
    return private_file_response(archive.file, filename=archive.original_name, content_type="application/zip")


@owner_view
@require_http_methods(["POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    services.archive_delete(archive=_archive(req, pk))
    messages.success(request, _("Deleted."))
    return redirect("archive:index", ws=req.workspace.slug)
