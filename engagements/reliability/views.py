"""The reliability pages: dashboard, providers leaderboard, a provider's scorecard, compare.

Thin: the filter form (``engagements.reliability.forms``) reads the query
string, ``engagements.reliability.pages`` puts the figures together,
``engagements.reliability.charts`` draws them. What counts in each figure is
explained in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from babel.numbers import get_currency_precision
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from engagements import deadlines, firstrun, queries
from engagements.reliability import charts, metrics
from engagements.reliability import pages as reliability
from engagements.reliability.forms import CompareForm, ReliabilityFilterForm
from engagements.reliability.statistics import Interval
from outsourcing.access import WorkspaceRequest, workspace_view
from outsourcing.exports import table_response
from outsourcing.sorting import sort_columns
from providers.models import Provider

PER_PAGE = 50
EXCHANGES_PER_PAGE = 25


def _ws(request: HttpRequest) -> WorkspaceRequest:
    return cast(WorkspaceRequest, request)


def _month(month: date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def _count(value: float) -> str:
    return f"{value:.0f}"


# --- Charts -------------------------------------------------------------------------------


def distribution_chart(counts: Sequence[int]) -> charts.Chart:
    labels = metrics.distribution_labels()
    return charts.bar_chart(
        title=_("Time to reply"),
        description=_(
            "How many requests of the period were answered within each span of calendar time, "
            "and how many are not answered yet."
        ),
        labels=labels,
        values=list(counts) if counts else [None] * len(labels),
        value_format=_count,
        unit_label=_("requests"),
    )


def within_policy_chart(series: Sequence[tuple[str, Sequence[tuple[date, Interval]]]]) -> charts.Chart:
    """Share within the policy per month, one line per name, with the interval band."""
    months = sorted({month for _name, points in series for month, _i in points})
    lines = []
    for name, points in series:
        by_month = dict(points)

        def pct(value: float | None) -> float | None:
            return None if value is None else value * 100

        lines.append(
            charts.Series(
                name=name,
                values=[pct(by_month[m].point) if m in by_month else None for m in months],
                low=[pct(by_month[m].low) if m in by_month else None for m in months],
                high=[pct(by_month[m].high) if m in by_month else None for m in months],
            )
        )
    return charts.line_chart(
        title=_("Replies within the policy, per month"),
        description=_(
            "The share of requests answered within the response policy, by the month they were made, "
            "with its 95 %% interval."
        )
        % {},
        labels=[_month(m) for m in months],
        series=lines,
    )


def overdue_chart(weeks: Sequence[tuple[date, int]]) -> charts.Chart:
    return charts.bar_chart(
        title=_("Overdue per week"),
        description=_("Reply-overdue and delivery-overdue flags raised each week (weeks start on Monday)."),
        labels=[date_format(week, "SHORT_DATE_FORMAT") for week, _n in weeks],
        values=[n for _week, n in weeks],
        value_format=_count,
        unit_label=_("flags"),
    )


def survival_chart(named: Sequence[tuple[str, metrics.ReplyTimes | None]], *, business: bool) -> charts.Chart:
    return charts.step_chart(
        title=_("Share still unanswered after a given business time")
        if business
        else _("Share still unanswered after a given time"),
        description=_(
            "Kaplan–Meier estimate: of the requests made in the period, the share still without a reply "
            "after each span. Requests not answered yet count for as long as they have waited."
        ),
        series=[
            charts.StepSeries(
                name=name,
                times=list(t.curve.times),
                survival=list(t.curve.survival),
                max_time=t.curve.max_time or 0,
            )
            for name, t in named
            if t is not None and t.curve is not None
        ],
        business=business,
    )


# --- Pages ---------------------------------------------------------------------------------


@workspace_view()
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    form = ReliabilityFilterForm(
        request.GET or None, fields=("period", "start", "end", "category", "owner"), workspace=req.workspace
    )
    period = form.get_period()
    now = timezone.now()
    data = reliability.overview(
        req.workspace,
        period,
        now=now,
        zone=timezone.get_current_timezone(),
        category=form.value("category"),
        owner_id=form.value("owner") or None,
    )
    return render(
        request,
        "engagements/reliability/dashboard.html",
        {
            "form": form,
            "period": period,
            "data": data,
            "m": data.m,
            "attention": queries.attention_summary(req.workspace, now=now),
            "checklist": firstrun.first_run_checklist(req.membership),
            "charts": [
                ("distribution", distribution_chart(data.distribution)),
                ("within-policy", within_policy_chart([(_("Within the policy"), data.within_by_month)])),
                ("overdue", overdue_chart(data.overdue_weeks)),
            ],
        },
    )


def _percent(share: float | None) -> float | None:
    """A share as the page shows it, in percent (one decimal kept: 0.7846 → 78.5)."""
    return None if share is None else round(share * 100, 1)


def _spend(m: metrics.Metrics, currency: str) -> Decimal | None:
    """The spend in ``currency`` with its minor units, as the page shows it (SQLite's sums drop them)."""
    total = reliability.spend_in(m, currency)
    return None if total is None else total.quantize(Decimal(1).scaleb(-get_currency_precision(currency)))


def _leaderboard_table(board: reliability.Leaderboard) -> tuple[list[str], list[list[object]]]:
    """Exactly the leaderboard's rows and columns, as plain values, for CSV and XLSX.

    Shares are percentages with the unit in the header, and spend has one
    column per currency that occurs: nothing is left out for being in another currency.
    """
    currencies = reliability.spend_currencies(board)
    headers = [
        _("Rank"),
        _("Provider"),
        _("Kind"),
        _("Score"),
        _("Data points"),
        _("Requests"),
        _("Response rate (%)"),
        _("Response rate (%%), low end (95 %%)") % {},
        _("Response rate (%%), high end (95 %%)") % {},
        _("Median time to reply (business hours)"),
        _("Within the policy (%)"),
        _("Ghosted"),
        _("On-time delivery (%)"),
        _("Deliveries"),
        _("Quality (1–5)"),
        _("Reviews"),
        *(_("Spend (%(currency)s)") % {"currency": currency or "—"} for currency in currencies),
    ]
    rows: list[list[object]] = []
    for row in board.rows:
        m = row.m
        median = m.business.median if m.business else None
        rows.append(
            [
                row.rank,
                row.provider.name,
                row.provider.get_kind_display(),
                m.score.value if m.score else None,
                m.score.n if m.score else 0,
                m.requests,
                _percent(m.response_rate.point),
                _percent(m.response_rate.low),
                _percent(m.response_rate.high),
                None if median is None else round(median / 3600, 2),
                _percent(m.within_policy.point),
                m.ghosted,
                _percent(m.on_time.point),
                m.on_time.n,
                m.quality.value,
                m.quality.n,
                *(_spend(m, currency) for currency in currencies),
            ]
        )
    return headers, rows


def _period_name(period: metrics.Period) -> str:
    """The period for a file name: "90", "all", or the custom dates."""
    if period.key in metrics.PERIODS or period.start is None:
        return period.key
    last = (period.end - timedelta(days=1)).date()
    return f"{period.start.date().isoformat()}-{last.isoformat()}"


@workspace_view()
@require_safe
def leaderboard(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    form = ReliabilityFilterForm(
        request.GET or None,
        fields=("period", "start", "end", "category", "kind", "client", "sort"),
        workspace=req.workspace,
    )
    period = form.get_period()
    sort = form.value("sort") or reliability.DEFAULT_SORT
    board = reliability.leaderboard(
        req.workspace,
        period,
        category=form.value("category"),
        kind=form.value("kind"),
        sort=sort,
        client_name=form.value("client"),
        now=timezone.now(),
    )
    export = request.GET.get("format", "")
    if export in ("csv", "xlsx"):
        headers, rows = _leaderboard_table(board)
        return table_response(
            filename=f"providers-{req.workspace.slug}-{_period_name(period)}",
            fmt=export,
            headers=headers,
            rows=rows,
        )
    return render(
        request,
        "engagements/reliability/leaderboard.html",
        {
            "form": form,
            "period": period,
            "board": board,
            "columns": sort_columns(
                sort,
                [
                    ("name", _("Provider")),
                    ("score", _("Score")),
                    ("response_rate", _("Response rate")),
                    ("median", _("Median time to reply")),
                    ("on_time", _("On-time delivery")),
                    ("spend", _("Spend (%(currency)s)") % {"currency": board.currency or "—"}),
                ],
                descending_first=reliability.DESCENDING_FIRST,
            ),
            "page_obj": Paginator(board.rows, PER_PAGE).get_page(request.GET.get("page")),
        },
    )


def _provider(request: HttpRequest, pk: int) -> Provider:
    return get_object_or_404(Provider, pk=pk, workspace=_ws(request).workspace)


@workspace_view()
@require_safe
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    req = _ws(request)
    provider = _provider(request, pk)
    form = ReliabilityFilterForm(
        request.GET or None, fields=("period", "start", "end", "client"), workspace=req.workspace
    )
    period = form.get_period()
    now = timezone.now()
    client_name = form.value("client")
    card = reliability.scorecard(
        req.workspace,
        provider,
        period,
        now=now,
        zone=timezone.get_current_timezone(),
        client_name=client_name,
    )
    show = request.GET.get("show", "all")
    if show not in reliability.EXCHANGE_FILTERS:
        show = "all"
    exchanges = reliability.scorecard_exchanges(
        req.workspace, provider, period, show, now=now, client_name=client_name
    )
    page = Paginator(exchanges, EXCHANGES_PER_PAGE).get_page(request.GET.get("page"))
    m = card.m
    return render(
        request,
        "engagements/reliability/scorecard.html",
        {
            "form": form,
            "period": period,
            "provider": provider,
            "m": m,
            "trend": card.trend,
            "show": show,
            "exchange_filters": reliability.EXCHANGE_FILTERS,
            "page_obj": page,
            "exchange_rows": [(x, deadlines.exchange_state_key(x, now)) for x in page],
            "charts": [
                ("survival-business", survival_chart([(provider.name, m.business)], business=True)),
                ("survival-calendar", survival_chart([(provider.name, m.calendar)], business=False)),
                ("distribution", distribution_chart(card.distribution)),
                (
                    "within-policy",
                    within_policy_chart([(provider.name, [(t.month, t.within_policy) for t in card.trend])]),
                ),
            ],
        },
    )


@workspace_view()
@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    req = _ws(request)
    filters = ReliabilityFilterForm(request.GET or None)
    period = filters.get_period()
    start = request.GET.get("start", "")
    if start.isdigit() and "providers" not in request.GET:
        # From a scorecard's "Compare with others": that provider chosen, waiting for the others
        # (an error before the person has chosen anything would say they did something wrong).
        form = CompareForm(workspace=req.workspace, initial={"providers": [int(start)]})
    else:
        form = CompareForm(request.GET or None, workspace=req.workspace)
    context: dict[str, object] = {"form": form, "filters": filters, "period": period, "columns": []}
    if form.is_valid():
        providers = form.cleaned_data["providers"]
        figures, trends = reliability.comparison(
            req.workspace, providers, period, now=timezone.now(), zone=timezone.get_current_timezone()
        )
        context["columns"] = [(p, figures[p.pk]) for p in providers]
        context["charts"] = [
            (
                "survival-business",
                survival_chart([(p.name, figures[p.pk].business) for p in providers], business=True),
            ),
            (
                "within-policy",
                within_policy_chart(
                    [(p.name, [(t.month, t.within_policy) for t in trends[p.pk]]) for p in providers]
                ),
            ),
        ]
    return render(request, "engagements/reliability/compare.html", context)
