"""Mail upload pages: the form with the latest uploads, and one upload's progress (polled by htmx)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from engagements.mail import upload as uploads
from engagements.mail.upload_forms import MailUploadForm
from engagements.models import MailUpload
from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.models import Role


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _wants_json(request: HttpRequest) -> bool:
    # mail_upload.js sends the form itself (to show the upload's progress) and asks for JSON.
    return "application/json" in request.headers.get("Accept", "")


@workspace_view()
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Upload .eml/.mbox files; one goes to its progress page, several to this page's list."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    form = MailUploadForm(request.POST, request.FILES) if request.method == "POST" else MailUploadForm()
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                created = [
                    uploads.mail_upload_create(workspace=req.workspace, by=req.user, file=file)
                    for file in form.cleaned_data["mail_files"]
                ]
        except ValidationError as error:
            form.add_error("mail_files", error)
        else:
            target = (
                reverse("mail:upload_status", kwargs={"ws": req.workspace.slug, "pk": created[0].pk})
                if len(created) == 1
                else reverse("mail:upload", kwargs={"ws": req.workspace.slug})
            )
            if _wants_json(request):
                return JsonResponse({"url": target})
            return redirect(target)
    if request.method == "POST" and _wants_json(request):
        return JsonResponse({"errors": [m for ms in form.errors.values() for m in ms]}, status=400)
    return render(
        request,
        "engagements/mail/upload.html",
        {
            "form": form,
            "uploads": uploads.recent(req.workspace),
            "max_bytes": settings.MAIL_UPLOAD_MAX_BYTES,
            "can_manage": req.membership.has_role(Role.MANAGER),
        },
    )


@workspace_view()
@require_safe
def upload_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One upload's progress and counts; htmx asks for the partial every second while it runs."""
    req = _ws(request)
    item = get_object_or_404(MailUpload.objects.select_related("uploaded_by"), pk=pk, workspace=req.workspace)
    template = "engagements/mail/upload_status.html"
    if req.htmx:
        template += "#progress"
    return render(request, template, {"upload": item, "can_upload": req.membership.has_role(Role.MEMBER)})


@workspace_view()
@require_http_methods(["POST"])
def upload_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stalled import again, from where it stopped."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    item = get_object_or_404(MailUpload, pk=pk, workspace=req.workspace)
    if uploads.mail_upload_retry(upload=item):
        messages.success(request, _("The import was queued again; it goes on where it stopped."))
    else:
        messages.error(
            request, _("Only a failed or stalled import whose file is still kept can be tried again.")
        )
    return redirect("mail:upload_status", ws=req.workspace.slug, pk=item.pk)
