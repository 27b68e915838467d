"""The import pages: upload or paste, map the columns, preview, import. Thin: the importer decides."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from engagements.models import TableImport
from engagements.tables import columns, importer
from engagements.tables.forms import MappingForm, UploadForm
from engagements.tables.read import TableError, read_table
from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.models import Role

# A preview lists the rows with errors first, then the others, up to this many.
PREVIEW_ROWS = 300
LIST_PAGES = {
    TableImport.Kind.PROVIDERS: "providers:list",
    TableImport.Kind.ENGAGEMENTS: "engagements:list",
    TableImport.Kind.MESSAGES: "engagements:list",
}


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


@workspace_view()
def upload(request: HttpRequest) -> HttpResponse:
    """Step one: the spreadsheet, uploaded or pasted, and what it holds."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            stored = importer.upload_store(
                workspace=req.workspace,
                kind=form.cleaned_data["kind"],
                data=form.cleaned_data["content"],
                filename=form.cleaned_data["filename"],
                by=req.user,
            )
            return redirect("tables:mapping", ws=req.workspace.slug, pk=stored.pk)
    else:
        kind = request.GET.get("kind", "")
        form = UploadForm(
            initial={"kind": kind if kind in TableImport.Kind.values else TableImport.Kind.PROVIDERS}
        )
    return render(request, "engagements/tables/upload.html", {"form": form, "columns": columns.COLUMNS})


@workspace_view()
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step two: which header fills which column; then the preview, then the import."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    stored = get_object_or_404(TableImport, workspace=req.workspace, pk=pk)
    if stored.imported_at is not None:
        messages.info(request, _("This spreadsheet has been imported already."))
        return redirect(LIST_PAGES[TableImport.Kind(stored.kind)], ws=req.workspace.slug)
    try:
        table = read_table(bytes(stored.data), stored.filename)
    except TableError as exc:
        messages.error(request, str(exc))
        return redirect("tables:upload", ws=req.workspace.slug)
    remembered = importer.mapping_remembered(workspace=req.workspace, kind=stored.kind)
    initial = columns.guess_mapping(stored.kind, table.headers, remembered)
    report = None
    if request.method == "POST":
        form = MappingForm(request.POST, kind=stored.kind, table=table, initial_mapping=initial)
        if form.is_valid():
            chosen = form.cleaned_data["mapping"]
            importer.mapping_remember(workspace=req.workspace, kind=stored.kind, mapping=chosen)
            report = importer.table_import(
                workspace=req.workspace,
                kind=stored.kind,
                table=table,
                mapping=chosen,
                by=req.user,
                dry_run=request.POST.get("action") != "import",
                upload=stored,
            )
            if report.applied:
                counts = report.counts
                messages.success(
                    request,
                    _("Imported: %(created)d created, %(updated)d updated, %(skipped)d skipped.")
                    % {"created": counts["create"], "updated": counts["update"], "skipped": counts["skip"]},
                )
                return redirect(LIST_PAGES[TableImport.Kind(stored.kind)], ws=req.workspace.slug)
    else:
        form = MappingForm(kind=stored.kind, table=table, initial_mapping=initial)
    shown = []
    if report is not None:
        shown = sorted(report.rows, key=lambda row: (row.action != importer.ERROR, row.number))[:PREVIEW_ROWS]
    return render(
        request,
        "engagements/tables/mapping.html",
        {
            "stored": stored,
            "form": form,
            "table": table,
            "report": report,
            "shown": shown,
            "hidden": len(report.rows) - len(shown) if report else 0,
            "upload_url": reverse("tables:upload", kwargs={"ws": req.workspace.slug}),
        },
    )
