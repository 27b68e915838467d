"""Engagement pages and the message log. Thin: forms validate, services write, queries read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from engagements import bulk, deadlines, flags, queries, services
from engagements.forms import (
    EngagementBulkForm,
    EngagementFilterForm,
    EngagementForm,
    FlagBulkForm,
    FlagDismissForm,
    FlagSnoozeForm,
    MessageForm,
    MessageLogForm,
    ReviewForm,
    add_service_errors,
    followup_initial,
    snooze_presets,
)
from engagements.models import Engagement, Exchange, Flag, Review
from engagements.proposals.forms import with_decline_forms
from engagements.reliability.outlook import Awaiting, least_likely_first, least_likely_order, reply_outlooks
from engagements.saved_view_forms import ATTENTION_ORDER_NEVER
from engagements.tables import exports as tables
from outsourcing import limits
from outsourcing.access import WorkspaceRequest, require_role, safe_target, workspace_view
from outsourcing.exports import FORMATS, table_response
from outsourcing.files import private_file_response
from outsourcing.models import Role
from outsourcing.sorting import sort_columns
from providers.models import Provider

PER_PAGE = 25

# The list's sortable columns (keys of queries.SORTS) and those that sort newest or highest first.
SORT_COLUMNS = (
    ("title", gettext_lazy("Title")),
    ("provider", gettext_lazy("Provider")),
    ("status", gettext_lazy("Status")),
    ("priority", gettext_lazy("Priority")),
    ("due", gettext_lazy("Due")),
    ("silent", gettext_lazy("Whose turn")),
    ("created", gettext_lazy("Created")),
)
DESCENDING_FIRST = frozenset({"priority", "created"})


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _detail_url(engagement: Engagement, anchor: str = "") -> str:
    url = reverse("engagements:detail", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk})
    return f"{url}#{anchor}" if anchor else url


@workspace_view()
@require_safe
def engagement_list(request: HttpRequest) -> HttpResponse:
    """All engagements of the workspace, filtered, sorted and paginated."""
    req = _ws(request)
    members = list(queries.workspace_members(req.workspace))  # the filter's and the bulk form's owners
    form = EngagementFilterForm(request.GET, workspace=req.workspace, members=members)
    filters = form.filters()
    rows = queries.with_open_request_deadlines(
        queries.engagement_list(req.workspace, user=req.user, **filters)
    )
    export = request.GET.get("format", "")
    if export in FORMATS:
        # Every row the filters and sort select, not only the page on screen.
        headers, cells = tables.engagement_list_table(list(rows), timezone.now())
        return table_response(
            filename=f"engagements-{req.workspace.slug}", fmt=export, headers=headers, rows=cells
        )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    now = timezone.now()
    deadlines.mark_delivery_overdue(page.object_list, now)
    deadlines.mark_whose_turn(page.object_list, now)
    return render(
        request,
        "engagements/list.html",
        {
            "filter_form": form,
            "page_obj": page,
            "columns": sort_columns(filters["sort"], SORT_COLUMNS, descending_first=DESCENDING_FIRST),
            "filtered": any(v for k, v in filters.items() if k != "sort"),
            "bulk_form": EngagementBulkForm(workspace=req.workspace) if req.membership.can_edit else None,
            "members": members,  # the bulk form's owners, as its queryset would list them
            "back": request.get_full_path(),
        },
    )


@workspace_view()
def engagement_create(request: HttpRequest) -> HttpResponse:
    """Delegate a task: the form, and saving it through engagement_create."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    if request.method == "POST":
        form = EngagementForm(request.POST, workspace=req.workspace)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                engagement = services.engagement_create(
                    workspace=req.workspace,
                    provider=data.pop("provider"),
                    owner=data.pop("owner"),
                    created_by=req.user,
                    **data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Task delegated to %(provider)s.") % {"provider": engagement.provider}
                )
                return redirect(_detail_url(engagement))
    else:
        form = EngagementForm(workspace=req.workspace, initial={"owner": req.user.pk})
        form.preselect_provider(request.GET.get("provider", ""))
    return render(request, "engagements/form.html", {"form": form, "engagement": None})


@workspace_view()
def engagement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit an engagement's details through engagement_update."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    engagement = queries.engagement_for(req.workspace, pk)
    if request.method == "POST":
        form = EngagementForm(request.POST, instance=engagement, workspace=req.workspace)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                services.engagement_update(
                    engagement=engagement,
                    by=req.user,
                    provider=data.pop("provider"),
                    owner=data.pop("owner"),
                    **data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Engagement saved."))
                return redirect(_detail_url(engagement))
    else:
        form = EngagementForm(instance=engagement, workspace=req.workspace)
    return render(request, "engagements/form.html", {"form": form, "engagement": engagement})


def _log_context(request: WorkspaceRequest, engagement: Engagement, form: MessageLogForm | None) -> dict:
    """What the log section (flags, whose turn, exchanges, log form, timeline) renders."""
    all_flags = queries.engagement_flags(engagement)
    now = timezone.now()
    deadlines.mark_delivery_overdue([engagement], now)
    exchanges = queries.exchanges(engagement)
    # The open request, if any (at most one; newest first, so the oldest open is the last).
    waiting = next((x for x in reversed(exchanges) if x.replied_at is None), None)
    outlook = None
    if waiting is not None and engagement.status in Engagement.OPEN_STATUSES:
        outlook = reply_outlooks(
            engagement.workspace_id, [(waiting.pk, engagement.provider_id)], now=now
        ).get(waiting.pk)
    return {
        "engagement": engagement,
        "reply_outlook": outlook,
        "turn": deadlines.whose_turn(
            engagement,
            now,
            reply_due_at=waiting.reply_due_at if waiting else None,
            ghosted_due_at=waiting.ghosted_due_at if waiting else None,
        ),
        # Each with where it stands now, by the rule the flags follow.
        "exchanges": [(x, deadlines.exchange_state_key(x, now)) for x in exchanges],
        "timeline": queries.timeline_rows(engagement),
        "proposals": with_decline_forms(queries.due_date_proposals(engagement)),
        "log_form": form or MessageLogForm(initial=MessageLogForm.initial_for(engagement)),
        "can_edit": request.membership.can_edit,
        "open_flags": [f for f in all_flags if f.is_open],
        "flag_history": [f for f in all_flags if not f.is_open],
        **_flag_row_context(request, _detail_url(engagement, "flags"), now),
    }


def _status_choices(engagement: Engagement) -> list[tuple[str, str]]:
    return [(s, str(Engagement.Status(s).label)) for s in engagement.allowed_transitions()]


def _detail_context(request: WorkspaceRequest, engagement: Engagement, form: MessageLogForm | None) -> dict:
    return {**_log_context(request, engagement, form), "transitions": _status_choices(engagement)}


@workspace_view()
@require_safe
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The engagement: details, status moves, whose turn, exchanges and the full log."""
    req = _ws(request)
    engagement = queries.engagement_for(req.workspace, pk)
    return render(request, "engagements/detail.html", _detail_context(req, engagement, None))


@workspace_view()
@require_POST
def engagement_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the engagement to another status, if its lifecycle allows it."""
    req = _ws(request)
    engagement = queries.engagement_for(req.workspace, pk)
    status = request.POST.get("status", "")
    try:
        services.engagement_set_status(engagement=engagement, status=status, by=req.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Status changed to %(status)s.") % {"status": engagement.get_status_display()}
        )
        if (
            engagement.status == Engagement.Status.COMPLETED
            and req.membership.can_edit
            and _review_of(engagement) is None
        ):
            # The moment the work is fresh in mind is the moment to ask how it went.
            messages.info(
                request, _("Take a minute to review the work: it feeds the provider's reliability figures.")
            )
            target = _review_url(engagement)
            return HttpResponseClientRedirect(target) if req.htmx else redirect(target)
    return redirect(_detail_url(engagement))


@workspace_view()
@require_http_methods(["GET", "HEAD", "POST"])
def message_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a message; htmx swaps the log section, a plain POST redirects back.

    GET shows the engagement with its log form; ``?followup=1`` prefills a
    follow-up, and ``&flag=ID`` one that fits that flag of this engagement
    (any other id is a 404); ``?direction=in`` (or ``out``, with an optional
    ``&kind=``) presets the form and focuses its text, so a phone logs a reply
    from Needs attention in two taps. Nothing is saved before the person submits it.
    """
    req = _ws(request)
    require_role(req, Role.MEMBER)
    engagement = queries.engagement_for(req.workspace, pk)
    if request.method != "POST":
        flag = None
        if request.GET.get("followup"):
            flag = queries.followup_flag(engagement, request.GET.get("flag"))
            facts = queries.followup_facts(engagement, flag)
            if flag is not None and facts.flag is None:
                messages.info(
                    request, _("That flag is resolved already: the text fits the engagement as it is now.")
                )
            initial = followup_initial(engagement, facts, sender=req.user.display_name)
        else:
            initial = MessageLogForm.initial_for(
                engagement, direction=request.GET.get("direction", ""), kind=request.GET.get("kind", "")
            )
        form = MessageLogForm(initial=initial, autofocus=bool(request.GET.get("direction")))
        context = _detail_context(req, engagement, form)
        return render(request, "engagements/detail.html", {**context, "followup_flag": flag})
    form = MessageLogForm(request.POST, request.FILES)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            message = services.message_log(
                engagement=engagement,
                author=req.user,
                attachments=data.pop("attachments"),
                **data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, fallback="attachments")
        else:
            messages.success(request, _("Message logged."))
            if not req.htmx:
                return redirect(_detail_url(engagement, f"message-{message.pk}"))
            context = _detail_context(req, engagement, None)
            return render(request, "engagements/_log_swap.html", {**context, "logged": message})
    if req.htmx:
        # 200, not 422: htmx swaps it and the errors appear where the form was.
        return render(request, "engagements/detail.html#log", _log_context(req, engagement, form))
    return render(request, "engagements/detail.html", _detail_context(req, engagement, form))


@workspace_view()
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a logged message; message_edit keeps the previous version."""
    req = _ws(request)
    require_role(req, Role.MEMBER)
    message = queries.message_for(req.workspace, pk)
    engagement = message.engagement
    if message.is_deleted:
        messages.error(request, _("A deleted message cannot be edited."))
        return redirect(_detail_url(engagement, f"message-{message.pk}"))
    if request.method == "POST":
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                services.message_edit(message=message, by=req.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Message saved; the previous version is kept."))
                return redirect(_detail_url(engagement, f"message-{message.pk}"))
    else:
        # Not bound to the instance: the service compares old and new values itself.
        form = MessageForm(initial={name: getattr(message, name) for name in services.MESSAGE_CONTENT_FIELDS})
    return render(request, "engagements/message_form.html", {"form": form, "message": message})


@workspace_view()
@require_safe
def message_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every version a message has had, the current one first."""
    req = _ws(request)
    message = queries.message_for(req.workspace, pk)
    versions = message.versions.select_related("replaced_by").order_by("-version")
    return render(request, "engagements/message_history.html", {"message": message, "versions": versions})


@workspace_view()
@require_POST
def message_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Soft-delete a message: it stays visible, struck through, and stops counting."""
    req = _ws(request)
    message = queries.message_for(req.workspace, pk)
    services.message_delete(message=message, by=req.user)
    messages.success(request, _("Message deleted. It no longer counts; you can restore it."))
    return redirect(_detail_url(message.engagement, f"message-{message.pk}"))


@workspace_view()
@require_POST
def message_restore(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring a soft-deleted message back into the log."""
    req = _ws(request)
    message = queries.message_for(req.workspace, pk)
    services.message_restore(message=message, by=req.user)
    messages.success(request, _("Message restored."))
    return redirect(_detail_url(message.engagement, f"message-{message.pk}"))


@workspace_view()
@require_POST
def message_not_an_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a message from the provider as not an answer, or as an answer again."""
    req = _ws(request)
    message = queries.message_for(req.workspace, pk)
    marked = request.POST.get("not_an_answer") == "1"
    try:
        services.message_set_not_an_answer(message=message, not_an_answer=marked, by=req.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Marked as not an answer: the request stays open and its clock keeps running.")
            if marked
            else _("It counts as the provider's answer again."),
        )
    return redirect(_detail_url(message.engagement, f"message-{message.pk}"))


@workspace_view()
@require_POST
def message_absence(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the absence an out-of-office reply announced (the offer under such a message)."""
    req = _ws(request)
    message = queries.message_for(req.workspace, pk)
    try:
        absence = services.message_absence_record(message=message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Absence recorded until %(date)s: the response clock pauses.")
            % {"date": formats.date_format(absence.ends_on, "SHORT_DATE_FORMAT")},
        )
    return redirect(_detail_url(message.engagement, f"message-{message.pk}"))


@workspace_view()
@require_safe
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream an attachment to a member of its workspace; files never have a public URL."""
    req = _ws(request)
    attachment = queries.attachment_for(req.workspace, pk)
    return private_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


@workspace_view()
@require_safe
def message_log_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The engagement's log as its page shows it (newest first, deleted entries marked), as CSV or XLSX."""
    req = _ws(request)
    engagement = queries.engagement_for(req.workspace, pk)
    export = request.GET.get("format", "")
    if export not in FORMATS:
        raise Http404
    headers, cells = tables.message_log_table(queries.timeline(engagement), with_engagement=False)
    return table_response(filename=f"messages-{engagement.title}", fmt=export, headers=headers, rows=cells)


@workspace_view()
@require_safe
def provider_timeline(request: HttpRequest, provider_pk: int) -> HttpResponse:
    """Every message with one provider, across engagements, newest first."""
    req = _ws(request)
    provider = get_object_or_404(Provider, workspace=req.workspace, pk=provider_pk)
    export = request.GET.get("format", "")
    if export in FORMATS:
        headers, cells = tables.message_log_table(queries.provider_timeline(provider), with_engagement=True)
        return table_response(filename=f"messages-{provider.name}", fmt=export, headers=headers, rows=cells)
    page = Paginator(queries.provider_timeline(provider), queries.PROVIDER_TIMELINE_CAP).get_page(
        request.GET.get("page")
    )
    return render(request, "engagements/provider_timeline.html", {"provider": provider, "page_obj": page})


# --- Needs attention, and what can be done about a flag ---------------------


def _flag_row_context(request: HttpRequest, back: str, now: datetime) -> dict[str, Any]:
    """What the flag rows need: the moment, where their forms return, their snooze and dismiss fields.

    Those fields are the same in every row, so they are rendered once here (with
    the person's CSRF token), not once per flag: Needs attention shows up to 50 and more.
    """
    today = timezone.localdate(now)
    fields = {
        "csrf_token": get_token(request),
        "back": back,
        "snooze_presets": [
            (
                value,
                label,
                f"{formats.date_format(day, 'D')}, {formats.date_format(day, 'SHORT_DATE_FORMAT')}",
            )
            for value, label, day in snooze_presets(today)
        ],
        "snooze_min": (today + timedelta(days=1)).isoformat(),
        "snooze_max": (today + timedelta(days=flags.MAX_SNOOZE_DAYS)).isoformat(),
    }
    return {
        "now": now,
        "back": back,
        "flag_snooze_fields": get_template("engagements/_flag_snooze_fields.html").render(fields),
        "flag_dismiss_fields": get_template("engagements/_flag_dismiss_fields.html").render(fields),
        # The bulk bar offers the same choices.
        "snooze_presets": fields["snooze_presets"],
    }


def _least_likely_page(req: WorkspaceRequest, awaiting: QuerySet[Exchange], now: datetime) -> Page:
    """The page of ``awaiting`` asked for, the whole list ordered by the chance of never hearing back.

    The order needs every row's chance, so the candidates are read narrow (id,
    provider, due time), ordered by ``least_likely_order`` and paginated in
    Python; only the page's rows are then read in full. A fixed number of
    queries, however many rows and providers.
    """
    candidates = [
        Awaiting(*row) for row in awaiting.values_list("pk", "engagement__provider_id", "reply_due_at")
    ]
    ordered = Paginator(least_likely_order(req.workspace.pk, candidates, now=now), PER_PAGE).get_page(
        req.GET.get("page")
    )
    shown = awaiting.in_bulk([c.exchange_id for c in ordered.object_list])
    # The same page, holding the rows themselves (a row answered meanwhile drops out).
    return Page(
        [shown[c.exchange_id] for c in ordered.object_list if c.exchange_id in shown],
        ordered.number,
        cast(Paginator, ordered.paginator),
    )


@workspace_view()
@require_safe
def attention(request: HttpRequest) -> HttpResponse:
    """What needs someone now: overdue flags, our overdue answers, replies due within a day, the rest awaited."""
    req = _ws(request)
    now = timezone.now()
    mine = request.GET.get("mine") == "1"
    least_likely = request.GET.get("order") == ATTENTION_ORDER_NEVER
    owner = req.user if mine else None
    overdue, more_overdue = queries.attention_section("overdue", req.workspace, now=now, owner=owner)
    our_answers, more_our_answers = queries.attention_section(
        "our_answers", req.workspace, now=now, owner=owner
    )
    deadlines.mark_whose_turn(our_answers, now)
    due_soon, more_due_soon = queries.attention_section("due_soon", req.workspace, now=now, owner=owner)
    snoozed, more_snoozed = queries.attention_section("snoozed", req.workspace, now=now, owner=owner)
    awaiting = queries.attention_awaiting(req.workspace, now=now, owner=owner)
    if least_likely:
        page = _least_likely_page(req, awaiting, now)
    else:
        page = Paginator(awaiting, PER_PAGE).get_page(request.GET.get("page"))
    nothing_now = not overdue and not our_answers and not due_soon and not page.paginator.count
    page.object_list = list(page.object_list)
    for x in [*due_soon, *page.object_list]:
        # Not due yet, or past due with its flag dismissed or about to be raised: the rule the flags follow.
        x.state = deadlines.exchange_state_key(x, now)
    # Is a reply still coming? Every provider's record read once for all the rows shown.
    outlooks = reply_outlooks(
        req.workspace.pk,
        [(f.exchange_id, f.engagement.provider_id) for f in overdue if f.exchange_id is not None]
        + [(x.pk, x.engagement.provider_id) for x in [*due_soon, *page.object_list]],
        now=now,
    )
    for f in overdue:
        f.reply_outlook = outlooks.get(f.exchange_id) if f.exchange_id is not None else None
    for x in [*due_soon, *page.object_list]:
        x.reply_outlook = outlooks.get(x.pk)
    if least_likely:
        overdue = least_likely_first(overdue, outlooks, lambda f: f.exchange_id)
        due_soon = least_likely_first(due_soon, outlooks, lambda x: x.pk)
    return render(
        request,
        "engagements/attention.html",
        {
            "mine": mine,
            "least_likely": least_likely,
            "overdue": overdue,
            "overdue_groups": queries.by_provider(overdue),
            "more_overdue": more_overdue,
            "our_answers": our_answers,
            "more_our_answers": more_our_answers,
            "due_soon": due_soon,
            "more_due_soon": more_due_soon,
            "snoozed": snoozed,
            "more_snoozed": more_snoozed,
            "page_obj": page,
            "cap": queries.ATTENTION_CAP,
            # Nothing to do now; and nothing owed at all only when no snoozed flag waits either.
            "nothing_now": nothing_now,
            "nothing": nothing_now and not snoozed,
            "show_engagement": True,
            "can_edit": req.membership.can_edit,
            # The flag rows' checkboxes belong to the bulk form (rows carry forms of their own).
            "bulk_form": BULK_FLAGS_FORM if req.membership.can_edit else "",
            "status_choices": Engagement.Status.choices,
            **_flag_row_context(request, request.get_full_path(), now),
        },
    )


def _back(request: HttpRequest, workspace_slug: str) -> str:
    """Where a flag action returns: the page it came from when that is on this site, else attention."""
    return safe_target(
        request, request.POST.get("next", ""), reverse("engagements:attention", kwargs={"ws": workspace_slug})
    )


def _flag_done(request: HttpRequest, flag: Flag) -> HttpResponse:
    """htmx swaps the flag's row (now in its new state); a plain POST goes back with the message."""
    req = _ws(request)
    back = _back(request, req.workspace.slug)
    if not req.htmx:
        return redirect(back)
    context = {
        "flag": flag,
        "can_edit": req.membership.can_edit,
        # The attention page names the engagement in each row; its own page does not need to.
        "show_engagement": not back.startswith(_detail_url(flag.engagement)),
        "bulk_form": "" if back.startswith(_detail_url(flag.engagement)) else BULK_FLAGS_FORM,
        **_flag_row_context(request, back, timezone.now()),
    }
    return render(request, "engagements/_flag_swap.html", context)


def _act_on_flag(
    request: HttpRequest,
    pk: int,
    action: Callable[[Flag, dict[str, Any]], str],
    form_class: type[forms.Form] | None = None,
) -> HttpResponse:
    """One flag action: validate its form, call its service, say what happened, go back."""
    req = _ws(request)
    flag = queries.flag_for(req.workspace, pk)
    form = form_class(request.POST) if form_class is not None else None
    try:
        if form is not None and not form.is_valid():
            raise ValidationError([m for errors in form.errors.values() for m in errors])
        done = action(flag, form.cleaned_data if form is not None else {})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return _flag_done(request, flag)


@workspace_view()
@require_POST
def flag_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    """Hide an open flag from the attention list until a date."""

    def snooze(flag: Flag, data: dict[str, Any]) -> str:
        flags.flag_snooze(flag=flag, until=data["until_at"], by=_ws(request).user)
        until = formats.date_format(timezone.localtime(flag.snoozed_until), "DATE_FORMAT")
        return _("Flag snoozed until %(date)s.") % {"date": until}

    return _act_on_flag(request, pk, snooze, FlagSnoozeForm)


@workspace_view()
@require_POST
def flag_unsnooze(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a snoozed flag back on the attention list now."""

    def unsnooze(flag: Flag, data: dict[str, Any]) -> str:
        flags.flag_unsnooze(flag=flag, by=_ws(request).user)
        return _("The flag is back on the list.")

    return _act_on_flag(request, pk, unsnooze)


@workspace_view()
@require_POST
def flag_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve a flag by hand, with a reason kept in its history."""

    def dismiss(flag: Flag, data: dict[str, Any]) -> str:
        flags.flag_dismiss(flag=flag, reason=data["reason"], by=_ws(request).user)
        return _("Flag dismissed.")

    return _act_on_flag(request, pk, dismiss, FlagDismissForm)


# --- Bulk actions on ticked rows -----------------------------------------------

# The id of Needs attention's bulk form: the rows' checkboxes point at it (form="…").
BULK_FLAGS_FORM = "bulk-flags"


def _form_errors(form: forms.Form) -> str:
    return " ".join(str(m) for errors in form.errors.values() for m in errors)


def _left_alone(selected: int, done: int) -> str:
    """A sentence about ticked rows nothing happened to (resolved meanwhile, or not this workspace's)."""
    if done >= selected:
        return ""
    left = selected - done
    return " " + ngettext(
        "%(n)d selected row was left alone: it is resolved already or no longer there.",
        "%(n)d selected rows were left alone: they are resolved already or no longer there.",
        left,
    ) % {"n": left}


def _status_done(outcome: bulk.StatusOutcome, status: str) -> tuple[str, str]:
    """The message level and text after a status change of several engagements."""
    label = Engagement.Status(status).label
    if not outcome.moved:
        return "error", _("No selected engagement can move to %(status)s.") % {"status": label}
    text = ngettext(
        "%(n)d engagement moved to %(status)s.", "%(n)d engagements moved to %(status)s.", outcome.moved
    ) % {"n": outcome.moved, "status": label}
    if outcome.refused:
        text += " " + ngettext(
            "%(n)d could not: its status does not allow that move.",
            "%(n)d could not: their status does not allow that move.",
            outcome.refused,
        ) % {"n": outcome.refused}
    return ("warning" if outcome.refused else "success"), text


def _say(request: HttpRequest, level: str, text: str) -> None:
    getattr(messages, level)(request, text)


def _followup_done(request: HttpRequest, outcome: bulk.FollowupOutcome) -> None:
    if outcome.sent:
        each = ", ".join(
            ngettext("%(provider)s (%(n)d item)", "%(provider)s (%(n)d items)", n)
            % {"provider": name, "n": n}
            for name, n in outcome.sent
        )
        messages.success(
            request,
            ngettext(
                "One follow-up mail sent: %(each)s.",
                "%(n)d follow-up mails sent, one per provider: %(each)s.",
                outcome.mails,
            )
            % {"n": outcome.mails, "each": each},
        )
    for refusal in outcome.refused:
        messages.error(request, refusal)
    if outcome.left_out:
        messages.info(
            request,
            ngettext(
                "%(n)d selected flag was left out: a bounce is resent on its own, and a resolved flag "
                "needs no follow-up.",
                "%(n)d selected flags were left out: a bounce is resent on its own, and a resolved flag "
                "needs no follow-up.",
                outcome.left_out,
            )
            % {"n": outcome.left_out},
        )
    if not outcome.sent and not outcome.refused and not outcome.left_out:
        messages.error(request, _("No mail was sent."))


@workspace_view()
@require_POST
def flag_bulk(request: HttpRequest) -> HttpResponse:
    """Snooze, dismiss, follow up on, or change the status of the flags ticked on Needs attention.

    A plain form POST that goes back where it came from with a message saying
    what happened. Dismissing asks first: a page lists the flags and takes the
    reason, and only its confirmed POST dismisses them. Ids of another
    workspace's flags are ignored.
    """
    req = _ws(request)
    back = _back(request, req.workspace.slug)
    form = FlagBulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(back)
    data = form.cleaned_data
    ids, action, by = data["flags"], data["action"], req.user
    try:
        if action == "snooze":
            n = bulk.flags_snooze(workspace=req.workspace, flag_ids=ids, until=data["until_at"], by=by)
            day = formats.date_format(timezone.localtime(data["until_at"]), "DATE_FORMAT")
            if not n:
                messages.error(request, _("None of the selected flags is open any more."))
            else:
                messages.success(
                    request,
                    ngettext("%(n)d flag snoozed until %(date)s.", "%(n)d flags snoozed until %(date)s.", n)
                    % {"n": n, "date": day}
                    + _left_alone(len(ids), n),
                )
        elif action == "dismiss":
            if request.POST.get("confirmed") != "1" or not data["reason"].strip():
                return _confirm_dismiss(
                    request, ids, back, data["reason"], asked=request.POST.get("confirmed") == "1"
                )
            n = bulk.flags_dismiss(workspace=req.workspace, flag_ids=ids, reason=data["reason"], by=by)
            if not n:
                messages.error(request, _("None of the selected flags is open any more."))
            else:
                messages.success(
                    request,
                    ngettext("%(n)d flag dismissed.", "%(n)d flags dismissed.", n) % {"n": n}
                    + _left_alone(len(ids), n),
                )
        elif action == "follow_up":
            sent = bulk.flags_follow_up(
                workspace=req.workspace,
                flag_ids=ids,
                by=by,
                may_send=lambda: not limits.exceeded(request, limits.MAIL_SEND),
            )
            _followup_done(request, sent)
        else:
            engagement_ids = bulk.flag_engagement_ids(req.workspace, ids)
            if not engagement_ids:
                messages.error(request, _("None of the selected flags is open any more."))
            else:
                outcome = bulk.engagements_set_status(
                    workspace=req.workspace, engagement_ids=engagement_ids, status=data["status"], by=by
                )
                _say(request, *_status_done(outcome, data["status"]))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(back)


def _confirm_dismiss(
    request: HttpRequest, ids: list[int], back: str, reason: str, *, asked: bool
) -> HttpResponse:
    """The page that asks before several flags are dismissed, and for the reason they share."""
    req = _ws(request)
    chosen = list(
        bulk.open_flags(req.workspace, ids)
        .select_related("engagement__provider")
        .defer(*queries.ATTENTION_UNUSED)
        .order_by("due_at", "id")
    )
    if not chosen:
        messages.error(request, _("None of the selected flags is open any more."))
        return redirect(back)
    return render(
        request,
        "engagements/bulk_dismiss.html",
        {
            "flags": chosen,
            "back": back,
            "reason": reason,
            "reason_error": _("Say why the flags are dismissed.") if asked else "",
        },
    )


@workspace_view()
@require_POST
def engagement_bulk(request: HttpRequest) -> HttpResponse:
    """Change the status or the owner of the engagements ticked on the list, then go back to it."""
    req = _ws(request)
    back = safe_target(
        request, request.POST.get("next", ""), reverse("engagements:list", kwargs={"ws": req.workspace.slug})
    )
    form = EngagementBulkForm(request.POST, workspace=req.workspace)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(back)
    data = form.cleaned_data
    ids = data["engagements"]
    try:
        if data["action"] == "status":
            outcome = bulk.engagements_set_status(
                workspace=req.workspace, engagement_ids=ids, status=data["status"], by=req.user
            )
            _say(request, *_status_done(outcome, data["status"]))
        else:
            owner = data["owner"]
            n = bulk.engagements_set_owner(
                workspace=req.workspace, engagement_ids=ids, owner=owner, by=req.user
            )
            if n:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d engagement now belongs to %(owner)s.",
                        "%(n)d engagements now belong to %(owner)s.",
                        n,
                    )
                    % {"n": n, "owner": owner.display_name},
                )
            else:
                messages.info(
                    request,
                    _("The selected engagements belong to %(owner)s already.")
                    % {"owner": owner.display_name},
                )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(back)


# --- Reviews ------------------------------------------------------------------


def _review_of(engagement: Engagement) -> Review | None:
    """The engagement's review, or None; free when it was fetched with select_related("review")."""
    return getattr(engagement, "review", None)


def _review_url(engagement: Engagement) -> str:
    return reverse("engagements:review", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk})


@workspace_view()
def review_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Review a completed engagement, or correct its review, through review_save.

    Members and above get the form; a viewer sees the review read-only (and a
    POST from one is refused by ``workspace_view``). Work that is not completed
    is sent back to its page with a word why, never a form that cannot be saved.
    """
    req = _ws(request)
    engagement = queries.engagement_for(req.workspace, pk)
    if engagement.status != Engagement.Status.COMPLETED:
        messages.warning(request, _("An engagement can be reviewed once it is completed."))
        return redirect(_detail_url(engagement))
    review = _review_of(engagement)
    can_edit = req.membership.can_edit
    form: ReviewForm | None = None
    if can_edit:
        instance = review if review is not None else Review(engagement=engagement)
        if request.method == "POST":
            form = ReviewForm(request.POST, instance=instance, engagement=engagement)
            if form.is_valid():
                try:
                    services.review_save(engagement=engagement, by=req.user, **form.cleaned_data)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("Review saved."))
                    return redirect(_detail_url(engagement, "review"))
        else:
            form = ReviewForm(instance=instance, engagement=engagement)
    return render(
        request,
        "engagements/review_form.html",
        {"engagement": engagement, "review": review, "form": form, "can_edit": can_edit},
    )
