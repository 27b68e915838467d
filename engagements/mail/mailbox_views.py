"""Managing the workspace's IMAP mailboxes: list, add, edit, delete, test, poll now (managers only;
what decides where the password goes, owners only: see ``imap.OWNER_FIELDS``)."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from engagements.forms import add_service_errors
from engagements.mail import imap
from engagements.mail.imap_tasks import poll_mailbox
from engagements.mail.mailbox_forms import MailboxForm
from engagements.models import Mailbox
from outsourcing import limits
from outsourcing.access import WorkspaceRequest, safe_target, workspace_view
from outsourcing.models import Role

PER_PAGE = 25

manager_view = workspace_view(read_role=Role.MANAGER, write_role=Role.MANAGER)


def _mailbox(request: WorkspaceRequest, pk: int) -> Mailbox:
    return get_object_or_404(Mailbox, pk=pk, workspace=request.workspace)


def _list_url(request: WorkspaceRequest) -> str:
    return reverse("mail:mailboxes", kwargs={"ws": request.workspace.slug})


@manager_view
@require_safe
def mailbox_list(request: WorkspaceRequest) -> HttpResponse:
    """Each mailbox with its state: polling on or off, last polled, last error, mail imported."""
    mailboxes = Mailbox.objects.filter(workspace=request.workspace).order_by("name", "pk")
    page = Paginator(mailboxes, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/mail/mailbox_list.html",
        {"page_obj": page, "poll_minutes": settings.MAIL_POLL_MINUTES},
    )


def _form_page(request: WorkspaceRequest, mailbox: Mailbox | None) -> HttpResponse:
    form = MailboxForm(
        request.POST or None,
        instance=mailbox or Mailbox(workspace=request.workspace),
        owner=request.membership.role == Role.OWNER,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = imap.mailbox_save(
                workspace=request.workspace, by=request.membership, mailbox=mailbox, **form.service_kwargs()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            text = (
                _("The mailbox “%(name)s” was saved.")
                if mailbox
                else _("The mailbox “%(name)s” was added. It is polled within a minute.")
            )
            messages.success(request, text % {"name": saved.name})
            return redirect(_list_url(request))
    return render(request, "engagements/mail/mailbox_form.html", {"form": form, "mailbox": mailbox})


@manager_view
@require_http_methods(["GET", "POST"])
def mailbox_create(request: WorkspaceRequest) -> HttpResponse:
    return _form_page(request, None)


@manager_view
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: WorkspaceRequest, pk: int) -> HttpResponse:
    return _form_page(request, _mailbox(request, pk))


@manager_view
@require_http_methods(["GET", "POST"])
def mailbox_delete(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """A confirmation page; the POST deletes."""
    mailbox = _mailbox(request, pk)
    if request.method == "POST":
        imap.mailbox_delete(mailbox=mailbox)
        messages.success(request, _("The mailbox “%(name)s” was deleted.") % {"name": mailbox.name})
        return redirect(_list_url(request))
    return render(request, "engagements/mail/mailbox_confirm_delete.html", {"mailbox": mailbox})


@manager_view
@require_POST
def mailbox_test(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Log in and open the folder now, and say what came of it."""
    mailbox = _mailbox(request, pk)
    if limits.exceeded(request, limits.MAILBOX_TEST):
        messages.error(
            request, _("Too many connection tests in a short time. Please try again in a few minutes.")
        )
        return redirect(safe_target(request, request.POST.get("next", ""), _list_url(request)))
    count, error = imap.mailbox_test(mailbox)
    if count is None:
        messages.error(
            request,
            _("“%(name)s” could not connect: %(error)s") % {"name": mailbox.name, "error": error},
        )
    else:
        messages.success(
            request,
            ngettext(
                "“%(name)s” connected: the folder %(folder)s holds %(count)d message.",
                "“%(name)s” connected: the folder %(folder)s holds %(count)d messages.",
                count,
            )
            % {"name": mailbox.name, "folder": mailbox.folder, "count": count},
        )
    return redirect(safe_target(request, request.POST.get("next", ""), _list_url(request)))


@manager_view
@require_POST
def mailbox_poll(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Queue a poll now, whatever the schedule says."""
    mailbox = _mailbox(request, pk)
    if limits.exceeded(request, limits.MAILBOX_POLL):
        messages.error(request, _("Too many polls were asked for in a short time. Please try again later."))
        return redirect(_list_url(request))
    transaction.on_commit(partial(poll_mailbox.delay, mailbox.pk))
    messages.success(
        request,
        _("“%(name)s” is being polled. Reload this page in a moment to see the result.")
        % {"name": mailbox.name},
    )
    return redirect(_list_url(request))
