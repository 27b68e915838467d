"""The person's in-app notifications, the workspace's failed deliveries with a retry button, and
the settings page's "Send a test" for the workspace's webhook.

Every change is a POST: opening a notification marks it read, so even that is
a form, never a link a prefetching browser could follow.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from engagements.models import Notification
from engagements.notifications import outbox as notifications
from outsourcing import limits
from outsourcing.access import WorkspaceRequest, safe_target, workspace_view
from outsourcing.models import Role

PER_PAGE = 25


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _mark_own_read(request: HttpRequest, pk: int) -> tuple[Notification, str]:
    """Mark one of the person's own in-app notifications here read (anyone else's is a 404).

    Returns it with the list's URL, where to go when nothing better is known.
    """
    req = _ws(request)
    notification = get_object_or_404(
        Notification,
        pk=pk,
        workspace=req.workspace,
        recipient=req.user,
        channel=Notification.Channel.IN_APP,
    )
    notifications.notifications_mark_read(user=req.user, workspace=req.workspace, ids=[notification.pk])
    return notification, reverse("notifications:list", kwargs={"ws": req.workspace.slug})


# Everyone, viewers too, may mark their own notifications read.
@workspace_view(write_role=Role.VIEWER)
@require_safe
def notification_list(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    rows = notifications.in_app_notifications(req.user, req.workspace)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/notifications/list.html",
        {"page_obj": page, "unread": notifications.unread_count(req.user, req.workspace)},
    )


@workspace_view(write_role=Role.VIEWER)
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notification read and go to what it is about."""
    notification, list_url = _mark_own_read(request, pk)
    return redirect(safe_target(request, notification.link, list_url))


@workspace_view(write_role=Role.VIEWER)
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    _notification, list_url = _mark_own_read(request, pk)
    messages.success(request, _("The notification was marked as read."))
    return redirect(safe_target(request, request.POST.get("next", ""), list_url))


@workspace_view(write_role=Role.VIEWER)
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    count = notifications.notifications_mark_read(user=req.user, workspace=req.workspace)
    messages.success(
        request,
        ngettext("%(n)d notification was marked as read.", "%(n)d notifications were marked as read.", count)
        % {"n": count},
    )
    return redirect("notifications:list", ws=req.workspace.slug)


@workspace_view(read_role=Role.MANAGER, write_role=Role.MANAGER)
@require_safe
def failed_list(request: HttpRequest) -> HttpResponse:
    """Every delivery that gave up, for owners and managers to retry."""
    req = _ws(request)
    page = Paginator(notifications.failed_deliveries(req.workspace), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "engagements/notifications/failed.html", {"page_obj": page})


@workspace_view(write_role=Role.MANAGER)
@require_POST
def failed_retry(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    notification = get_object_or_404(Notification, pk=pk, workspace=req.workspace)
    try:
        notifications.notification_retry(notification=notification, by=req.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The delivery was queued again."))
    fallback = reverse("notifications:failed", kwargs={"ws": req.workspace.slug})
    return redirect(safe_target(request, request.POST.get("next", ""), fallback))


@workspace_view(write_role=Role.MANAGER)
@require_POST
def webhook_test(request: HttpRequest) -> HttpResponse:
    """Queue a test POST to the workspace's webhook, then go back to the settings page."""
    req = _ws(request)
    if limits.exceeded(request, limits.WEBHOOK_TEST):
        messages.error(request, _("The webhook was tested often in a short time. Please try again later."))
        return redirect("workspace_settings", ws=req.workspace.slug)
    try:
        notifications.webhook_test_queue(workspace=req.workspace, by=req.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("A test was queued for the webhook. If it fails, it is listed under Failed deliveries."),
        )
    return redirect("workspace_settings", ws=req.workspace.slug)
