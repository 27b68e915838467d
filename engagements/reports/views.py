"""The Reports page: reliability reports the workspace e-mails, their settings, a PDF on demand.

Who may do what (docs/reports.md says the same to users): owners and
managers create, edit, delete and "send now"; everyone in the workspace,
viewers too, sees the list and downloads a report's PDF (the figures are
those of the reliability pages, which they see anyway); anyone else gets 404.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from engagements.models import ReliabilityReport
from engagements.reports import periods, services
from engagements.reports.content import report_zone
from engagements.reports.forms import ReportForm
from engagements.reports.render import report_filename
from outsourcing import limits
from outsourcing.access import WorkspaceRequest, require_role, workspace_view
from outsourcing.models import Role, User

manager_view = workspace_view(write_role=Role.MANAGER)


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _report(request: WorkspaceRequest, pk: int) -> ReliabilityReport:
    return get_object_or_404(
        ReliabilityReport.objects.select_related("workspace"), pk=pk, workspace=request.workspace
    )


def _default_zone(user: User) -> str:
    return user.time_zone or timezone.get_current_timezone_name()


@workspace_view()
@require_safe
def report_list(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    now = timezone.now()
    reports = list(
        ReliabilityReport.objects.filter(workspace=req.workspace).prefetch_related(
            Prefetch("members", queryset=User.objects.order_by("email"))
        )
    )
    rows = [
        (report, periods.recent(report.frequency, now, report_zone(report)), services.is_sending(report, now))
        for report in reports
    ]
    return render(
        request,
        "engagements/reports/list.html",
        {"rows": rows, "can_manage": req.membership.has_role(Role.MANAGER)},
    )


@workspace_view()
@require_safe
def report_sent(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Sent" cell of one report: what the Reports page polls while "Send now" is under way."""
    req = _ws(request)
    report = _report(req, pk)
    sending = services.is_sending(report, timezone.now())
    return render(request, "engagements/reports/_sent.html", {"report": report, "sending": sending})


def _save(req: WorkspaceRequest, form: ReportForm, report: ReliabilityReport | None) -> ReliabilityReport:
    values = {name: form.cleaned_data[name] for name in services.FIELDS}
    members = form.cleaned_data["members"]
    if report is None:
        return services.report_create(workspace=req.workspace, by=req.user, members=members, **values)
    return services.report_update(report=report, members=members, **values)


def _form_page(request: HttpRequest, report: ReliabilityReport | None) -> HttpResponse:
    req = _ws(request)
    require_role(req, Role.MANAGER)
    if request.method == "POST":
        form = ReportForm(request.POST, instance=report, workspace=req.workspace)
        if form.is_valid():
            saved = _save(req, form, report)
            messages.success(request, _("Report “%(name)s” saved.") % {"name": saved.name})
            return redirect("reports:list", ws=req.workspace.slug)
        status = 400
    else:
        initial = (
            {} if report else {"time_zone": _default_zone(req.user), "language": req.user.language or "en"}
        )
        form = ReportForm(instance=report, initial=initial, workspace=req.workspace)
        status = 200
    return render(request, "engagements/reports/form.html", {"form": form, "report": report}, status=status)


@manager_view
@require_http_methods(["GET", "HEAD", "POST"])
def report_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@manager_view
@require_http_methods(["GET", "HEAD", "POST"])
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _report(_ws(request), pk))


@manager_view
@require_http_methods(["GET", "HEAD", "POST"])
def report_delete(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    require_role(req, Role.MANAGER)
    report = _report(req, pk)
    if request.method == "POST":
        services.report_delete(report=report)
        messages.success(request, _("Report “%(name)s” deleted.") % {"name": report.name})
        return redirect("reports:list", ws=req.workspace.slug)
    return render(request, "engagements/reports/confirm_delete.html", {"report": report})


def _period(request: HttpRequest, report: ReliabilityReport) -> periods.ReportPeriod:
    """The period the query string or form names; the last whole one when none; 404 for a bad one."""
    now = timezone.now()
    key = request.GET.get("period") or request.POST.get("period") or ""
    if not key:
        return periods.last_complete(report.frequency, now, report_zone(report))
    period = periods.parse(report.frequency, key, now=now, zone=report_zone(report))
    if period is None:
        raise Http404
    return period


@workspace_view()
@require_safe
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    report = _report(req, pk)
    content, pdf = services.report_render(report=report, period=_period(request, report))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(content)}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@manager_view
@require_POST
def report_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    report = _report(req, pk)
    period = _period(request, report)
    if limits.exceeded(request, limits.REPORT_SEND):
        messages.error(request, _("Reports were sent often in a short time. Please try again later."))
        return redirect("reports:list", ws=req.workspace.slug)
    if not services.recipients(report):
        messages.error(request, _("The report has nobody to go to: choose members or write addresses in it."))
    elif services.report_send_request(report=report, period=period):
        messages.success(
            request,
            _("The report for %(period)s is being sent; it will appear under “Sent” in a moment.")
            % {"period": period.label},
        )
    else:  # a double click, or a second manager at the same time: the first sending covers it
        messages.info(
            request, _("This report is being sent already; it will appear under “Sent” in a moment.")
        )
    return redirect("reports:list", ws=req.workspace.slug)
