"""The webhook page for managers: the addresses to give Postmark or Mailgun, and a new one on demand."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from engagements.mail import webhook
from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.models import Role


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _absolute(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def _with_credentials(url: str) -> str:
    """The URL with placeholders for the basic-auth pair (the page never shows the secret itself)."""
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{_('USER')}:{_('PASSWORD')}@{rest}"


@workspace_view(write_role=Role.MANAGER)
@require_http_methods(["GET", "POST"])
def webhook_settings(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    require_role(req, Role.MANAGER)
    if request.method == "POST":
        webhook.mail_token_rotate(req.workspace)
        messages.success(
            request,
            _("The webhook has a new address. Enter it at your e-mail service: the old one no longer works."),
        )
        return redirect("mail:webhook_settings", ws=req.workspace.slug)
    token = webhook.mail_token_ensure(req.workspace)
    basic_auth = bool(webhook.basic_auth_secrets())
    postmark_url = _absolute("mail_webhook_postmark", token)
    # The parsed form, not raw MIME: Mailgun then posts attachments as files, which Django
    # streams, while a raw message is one form field held to DATA_UPLOAD_MAX_MEMORY_SIZE.
    mailgun_url = _absolute("mail_webhook_mailgun", token)
    return render(
        request,
        "engagements/mail/webhook_settings.html",
        {
            "postmark_url": postmark_url,
            "postmark_url_with_auth": _with_credentials(postmark_url),
            "mailgun_url": mailgun_url,
            "mailgun_url_with_auth": _with_credentials(mailgun_url),
            "basic_auth_configured": basic_auth,
            "mailgun_configured": bool(webhook.mailgun_signing_key()),
        },
    )
