"""The provider's answer page: no account, the signed link is the credential.

Rendered in the provider's language (as mail to them is written) and dated in
their time zone. Plain forms and redirects: it works without JavaScript. A
link that is not ours, was tampered with or revoked is a 404; an expired one a
410. Neither page says anything about any engagement.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from engagements import queries
from engagements.answers import links, services
from engagements.answers.forms import DeliverForm, ProposeForm, QuestionForm
from engagements.forms import followup_language
from outsourcing import formats as date_formats
from outsourcing import limits

# What ?done= may say after a redirect: each shows its own confirmation.
DONE = frozenset({"acknowledged", "proposed", "asked", "delivered", "already"})


def _private(response: HttpResponse) -> HttpResponse:
    # The page is a person's own: no shared cache keeps it, no search engine lists it.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    # The address holds the token: it goes to no other site. (Not "no-referrer": a form
    # posted under it says "Origin: null", which the CSRF check rightly refuses.)
    response["Referrer-Policy"] = "same-origin"
    return response


def _gone(request: HttpRequest, *, expired: bool) -> HttpResponse:
    response = render(
        request, "engagements/answers/gone.html", {"expired": expired}, status=410 if expired else 404
    )
    return _private(response)


def _forms(data: Any = None, files: Any = None, action: str = "") -> dict[str, forms.Form]:
    bound = {
        "propose": ProposeForm(data if action == "propose" else None),
        "ask": QuestionForm(data if action == "ask" else None),
        "deliver": DeliverForm(data if action == "deliver" else None, files if action == "deliver" else None),
    }
    return bound


def _act(opened: links.Opened, action: str, form: forms.Form | None) -> str:
    """Carry out ``action``; the word for ?done=. Raises ValidationError for what the form should show."""
    if action == "acknowledge":
        done = services.answer_acknowledge(opened=opened, text=_("Got it, I am on it."))
        return "acknowledged" if done else "already"
    assert form is not None
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())  # type: ignore[arg-type]
    data = form.cleaned_data
    if action == "propose":
        text = _("I propose a new delivery date: %(date)s. Reason: %(reason)s") % {
            "date": formats.date_format(data["proposed_on"]),
            "reason": data["reason"].strip(),
        }
        services.answer_propose_date(
            opened=opened, proposed_on=data["proposed_on"], reason=data["reason"], text=text
        )
        return "proposed"
    if action == "ask":
        services.answer_ask(opened=opened, question=data["question"])
        return "asked"
    done = services.answer_deliver(
        opened=opened, note=data["note"], file=data["file"], text=_("The work is delivered.")
    )
    return "delivered" if done else "already"


def _page(request: HttpRequest, opened: links.Opened) -> HttpResponse:
    engagement = opened.request.engagement
    status = 200
    page_forms = _forms()
    error = ""
    if request.method == "POST":
        if limits.exceeded(request, limits.ANSWER):
            return render(request, "engagements/answers/limited.html", {"engagement": engagement}, status=429)
        action = request.POST.get("action", "")
        if action in ("acknowledge", *page_forms):
            page_forms = _forms(request.POST, request.FILES, action)
            try:
                done = _act(opened, action, page_forms.get(action))
            except ValidationError as exc:
                form = page_forms.get(action)
                if form is not None and hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        if field in form.fields and not form.has_error(field):
                            form.add_error(field, errors)
                        elif field not in form.fields:
                            error = " ".join(e.message % (e.params or {}) for e in errors)
                else:
                    error = " ".join(exc.messages)
                status = 400
            else:
                return redirect(f"{request.path}?done={done}")
        else:
            error = _("Choose one of the answers below.")
            status = 400
    done = request.GET.get("done", "")
    context = {
        "engagement": engagement,
        "provider": engagement.provider,
        "request_message": opened.request,
        "link": opened.link,
        "done": done if done in DONE else "",
        "error": error,
        "closed": engagement.status in engagement.CLOSED_STATUSES,
        "today": services.provider_today(engagement),
        # What became of the dates proposed for this task (a decision is also mailed to the provider).
        "proposals": queries.due_date_proposals(engagement),
        **{f"{name}_form": form for name, form in page_forms.items()},
    }
    return render(request, "engagements/answers/page.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def answer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The provider's page for one request: acknowledge, propose a date, ask, or report the delivery."""
    try:
        opened = links.link_open(token)
    except links.LinkExpired:
        return _gone(request, expired=True)
    except links.LinkInvalid:
        return _gone(request, expired=False)
    engagement = opened.request.engagement
    provider = engagement.provider
    language = followup_language(provider.languages or [], translation.get_language())
    with (
        translation.override(language),
        date_formats.override(date_formats.for_language(language)),
        timezone.override(provider.time_zone or "UTC"),
    ):
        return _private(_page(request, opened))
