"""Compose and send a request or follow-up by e-mail from an engagement's page."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from engagements import followup_templates, queries
from engagements.forms import add_service_errors
from engagements.mail import outbound
from engagements.mail.compose_forms import ComposeForm
from engagements.models import Flag, Message
from outsourcing import limits
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.models import Role


@workspace_view(read_role=Role.MEMBER)
@require_http_methods(["GET", "HEAD", "POST"])
def compose(request: HttpRequest, pk: int) -> HttpResponse:
    """The compose page: ``?kind=`` and ``?lang=`` choose the template it starts from.

    ``?flag=ID`` (a flag of this engagement; any other id is a 404) makes the
    follow-up fit that flag. The recipient is never an address a bounce
    reported while the provider has another. Viewers cannot send, so the page
    is not theirs either (403). A failed send shows the form again with
    everything that was typed, and the reason; so does one over the sending
    limits (per person and per workspace).
    """
    req = cast(WorkspaceRequest, request)
    engagement = queries.engagement_for(req.workspace, pk)
    addresses = outbound.provider_addresses(engagement.provider)
    # The shipped languages, and those the workspace has follow-up texts in.
    added = followup_templates.added_languages(req.workspace.pk)
    languages = [*settings.LANGUAGES, *((code, followup_templates.language_name(code)) for code in added)]
    context = {"engagement": engagement, "addresses": addresses, "languages": languages}
    if not addresses:
        return render(request, "engagements/mail/compose.html", {**context, "form": None})
    flag = queries.followup_flag(engagement, request.GET.get("flag"))
    bounced = queries.bounced_addresses(engagement)
    # A bounce that named no address: nobody can say which one to avoid, so the person chooses.
    failed_unknown = flag is not None and flag.kind == Flag.Kind.BOUNCED and not bounced
    to = [] if failed_unknown else outbound.recipients(addresses, bounced)
    context |= {
        "flag": flag,
        "bounced": [a for a in addresses if a.lower() in bounced],
        "to": to,
        "failed_unknown": failed_unknown,
    }
    any_recipient = req.workspace.mail_any_recipient
    if request.method == "POST":
        form = ComposeForm(request.POST, addresses=addresses, bounced=bounced, any_recipient=any_recipient)
        if form.is_valid() and limits.exceeded(request, limits.MAIL_SEND):
            form.add_error(
                None,
                _(
                    "A lot of mail was sent from here in a short time, so this one was not sent. "
                    "Please try again later; what you wrote is kept below."
                ),
            )
        if form.is_valid():
            try:
                message = outbound.mail_send(engagement=engagement, by=req.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                sent_to = ", ".join(form.cleaned_data["to"])
                messages.success(request, _("Mail sent to %(to)s.") % {"to": sent_to})
                detail = reverse("engagements:detail", kwargs={"ws": req.workspace.slug, "pk": engagement.pk})
                return redirect(f"{detail}#message-{message.pk}")
        chosen = {
            "kind": request.POST.get("kind", ""),
            "language": outbound.mail_language(engagement, request.GET.get("lang")),
        }
    else:
        default_kind = Message.Kind.FOLLOW_UP if flag is not None else None
        kind = ComposeForm.kind_or_default(request.GET.get("kind") or default_kind, engagement.awaiting_reply)
        chosen = outbound.compose_initial(
            engagement,
            kind,
            sender_name=req.user.display_name,
            language=request.GET.get("lang"),
            flag=flag,
            bounced=bounced,
        )
        form = ComposeForm(
            initial={**chosen, "to": to}, addresses=addresses, bounced=bounced, any_recipient=any_recipient
        )
    return render(request, "engagements/mail/compose.html", {**context, "form": form, "chosen": chosen})
