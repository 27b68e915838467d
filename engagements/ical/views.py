"""The calendar feed page (anyone in the workspace, for themselves) and the feed itself (by its secret)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from engagements.ical import feed as feeds
from engagements.models import CalendarFeed
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role

# Everyone may keep a feed of their own, viewers too: it only reads.
member_view = workspace_view(read_role=Role.VIEWER, write_role=Role.VIEWER)


def _page(req: WorkspaceRequest, token: str = "") -> HttpResponse:
    feed = CalendarFeed.objects.filter(workspace=req.workspace, user=req.user).first()
    url = req.build_absolute_uri(reverse("calendar_ics", kwargs={"token": token})) if token else ""
    return render(req, "engagements/ical/feed.html", {"feed": feed, "feed_url": url})


@member_view
@require_safe
def feed_page(request: HttpRequest) -> HttpResponse:
    return _page(cast(WorkspaceRequest, request))


@member_view
@require_http_methods(["POST"])
def feed_create(request: HttpRequest) -> HttpResponse:
    """Make the address, or a new one in place of the old: shown on this response only."""
    req = cast(WorkspaceRequest, request)
    _feed, token = feeds.calendar_feed_create(
        workspace=req.workspace, user=req.user, only_mine=request.POST.get("only_mine") == "on"
    )
    response = _page(req, token)
    patch_cache_control(response, private=True, no_store=True)
    return response


@member_view
@require_http_methods(["POST"])
def feed_revoke(request: HttpRequest) -> HttpResponse:
    req = cast(WorkspaceRequest, request)
    if feeds.calendar_feed_revoke(workspace=req.workspace, user=req.user):
        messages.success(request, _("The calendar address no longer works."))
    return redirect("calendar:feed", ws=req.workspace.slug)


@require_GET
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar file; an unknown or revoked token is a 404 like any other missing page."""
    feed = feeds.calendar_feed_for_token(token)
    if feed is None:
        raise Http404
    body = feeds.feed_ics(feed, base_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="outsourcing-tracker.ics"'
    patch_cache_control(response, private=True, no_cache=True)
    return response
