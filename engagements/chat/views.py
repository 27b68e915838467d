"""The chat import pages: upload an export, say who is who and where it goes, preview, import. Thin."""

from __future__ import annotations

import zoneinfo
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from engagements.chat import importer
from engagements.chat.forms import ChatMappingForm, ChatUploadForm
from engagements.chat.parsers import Chat, ChatError, read_export
from engagements.chat.parsers.whatsapp import AUTO, DMY, MDY, YMD
from engagements.models import ChatUpload, Engagement
from outsourcing import zones
from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.models import Membership, Role
from providers.models import Provider

# The preview lists this many of the lines to be logged.
PREVIEW_LINES = 50
RECENT = 10


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _pk(value: str) -> int | None:
    """A posted id, or None for anything that cannot be one (the database's integers end at 2³¹)."""
    return int(value) if value.isascii() and value.isdigit() and int(value) < 2**31 else None


@workspace_view()
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Step one: the export file; it is read once here so a wrong file is said at once."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    form = ChatUploadForm(request.POST, request.FILES) if request.method == "POST" else ChatUploadForm()
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        stored = importer.upload_store(
            workspace=req.workspace, data=file["data"], filename=file["name"], by=req.user
        )
        return redirect("chat:mapping", ws=req.workspace.slug, pk=stored.pk)
    recent = ChatUpload.objects.filter(workspace=req.workspace).defer("data").order_by("-created_at")[:RECENT]
    return render(request, "engagements/chat/upload.html", {"form": form, "uploads": recent})


@workspace_view()
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step two: who is who, which engagement(s), which zone; "Preview" shows, "Import" logs."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    stored = get_object_or_404(ChatUpload, workspace=req.workspace, pk=pk)
    data = request.POST if request.method == "POST" else None
    posted: dict[str, str] = data.dict() if data is not None else {}
    zone_name = posted.get("time_zone", "") or importer.default_zone_name(
        workspace=req.workspace, user=req.user
    )
    if not zones.is_known(zone_name):
        zone_name = importer.default_zone_name(workspace=req.workspace, user=req.user)
    date_order = posted.get("date_order", AUTO)
    date_order = date_order if date_order in (AUTO, DMY, MDY, YMD) else AUTO
    zone = zoneinfo.ZoneInfo(zone_name)
    try:
        chats = read_export(bytes(stored.data), stored.filename, zone=zone, date_order=date_order)
    except ChatError as exc:
        messages.error(request, str(exc))
        return redirect("chat:upload", ws=req.workspace.slug)
    wanted = posted.get("chat", "")
    chat = next((c for c in chats if c.key == wanted), chats[0])
    source = importer.source_remembered(workspace=req.workspace, chat=chat)
    providers = Provider.objects.filter(workspace=req.workspace).order_by("name")
    provider_id = _pk(posted.get("provider", "")) or (source.provider_id if source else None)
    engagements = (
        Engagement.objects.filter(workspace=req.workspace).select_related("provider").order_by("title")
    )
    if provider_id:
        engagements = engagements.filter(provider_id=provider_id)
    provider = providers.filter(pk=provider_id).first() if provider_id else None
    if provider is None and data is None:
        provider = importer.provider_guess(workspace=req.workspace, chat=chat)
        if provider is not None:
            engagements = engagements.filter(provider=provider)
    members = [
        m.user
        for m in Membership.objects.filter(workspace=req.workspace)
        .select_related("user")
        .order_by("user__email")
    ]
    guess = importer.participants_guess(
        workspace=req.workspace,
        chat=chat,
        provider=provider,
        remembered=source.participants if source else None,
    )
    guess_zones = importer.sender_zones_guess(
        provider=provider,
        guess=guess,
        remembered=source.participant_zones if source else {},
        members=members,
    )
    form = ChatMappingForm(
        data,
        chats=chats,
        chat=chat,
        providers=providers,
        engagements=engagements,
        members=members,
        guess=guess,
        guess_zones=guess_zones,
        initial={"chat": chat.key, "time_zone": zone_name, "provider": provider, "date_order": AUTO},
    )
    plan = None
    if form.is_valid():
        cleaned = form.cleaned_data
        engagement = cleaned["engagement"] or (
            Engagement(
                workspace=req.workspace,
                provider=cleaned["provider"],
                owner=req.user,
                title=cleaned["new_title"].strip(),
            )
            if cleaned["new_title"].strip()
            else None
        )
        ranges = [importer.DateRange(e, start, end) for e, start, end in cleaned["ranges"]]
        if (
            request.POST.get("action") == "import"
            and len(chat.messages) > settings.CHAT_IMPORT_INLINE_MESSAGES
        ):
            return _queue(req, stored, chat, cleaned, zone_name, date_order)
        try:
            plan = importer.chat_import(
                workspace=req.workspace,
                chat=chat,
                provider=cleaned["provider"],
                participants=cleaned["participants"],
                engagement=engagement,
                ranges=ranges,
                zone=zone,
                sender_zones=cleaned["sender_zones"],
                dry_run=request.POST.get("action") != "import",
                upload=stored,
                by=req.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        if plan is not None and plan.applied:
            messages.success(
                request,
                _(
                    "Chat imported: %(imported)d logged, %(already)d already there, "
                    "%(skipped)d left out, %(system)d system lines."
                )
                % {
                    "imported": len(plan.new),
                    "already": plan.already,
                    "skipped": plan.skipped,
                    "system": plan.system,
                },
            )
            target = engagement or (ranges[0].engagement if ranges else None)
            if target is not None and target.pk:
                return redirect("engagements:detail", ws=req.workspace.slug, pk=target.pk)
            return redirect("chat:upload", ws=req.workspace.slug)
    return render(
        request,
        "engagements/chat/mapping.html",
        {
            "can_import": True,
            "stored": stored,
            "chat": chat,
            "form": form,
            "plan": plan,
            "shown": plan.new[:PREVIEW_LINES] if plan else [],
            "zone": zone,
        },
    )


def _queue(
    req: WorkspaceRequest, stored: ChatUpload, chat: Chat, cleaned: dict[str, Any], zone: str, order: str
) -> HttpResponse:
    """A large chat: its import goes to a worker with the choices made here; this page shows how it goes."""
    options = {
        "chat": chat.key,
        "time_zone": zone,
        "date_order": order,
        "provider": cleaned["provider"].pk,
        "participants": cleaned["participants"],
        "zones": cleaned["sender_zones"],
        "engagement": cleaned["engagement"].pk if cleaned["engagement"] else None,
        "new_title": cleaned["new_title"].strip(),
        "ranges": [
            {
                "engagement": e.pk,
                "start": start.isoformat() if start else "",
                "end": end.isoformat() if end else "",
            }
            for e, start, end in cleaned["ranges"]
        ],
        "by": req.user.pk,
    }
    if importer.upload_queue(upload=stored, options=options):
        messages.info(
            req, _("The chat is being imported in the background; this page shows when it is done.")
        )
    else:
        messages.error(req, _("This chat is being imported already."))
    return redirect("chat:mapping", ws=req.workspace.slug, pk=stored.pk)


@workspace_view()
@require_safe
def status(request: HttpRequest, pk: int) -> HttpResponse:
    """A background import's state and progress: the partial the mapping page polls while it runs."""
    req = _ws(request)
    stored = get_object_or_404(ChatUpload.objects.defer("data"), workspace=req.workspace, pk=pk)
    return render(
        request,
        "engagements/chat/_status.html",
        {"stored": stored, "can_import": req.membership.has_role(Role.MEMBER)},
    )


@workspace_view()
@require_http_methods(["POST"])
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stalled background import again, with the choices it was queued with."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    stored = get_object_or_404(ChatUpload.objects.defer("data"), workspace=req.workspace, pk=pk)
    if importer.upload_retry(upload=stored):
        messages.success(request, _("The import was queued again; what was logged already stays."))
    else:
        messages.error(request, _("Only a failed or stalled import can be tried again."))
    return redirect("chat:mapping", ws=req.workspace.slug, pk=stored.pk)
