"""What a report says: the same figures and charts the reliability pages show, for one period.

Per provider, the leaderboard's rows (``pages.leaderboard``) over the period's
days as custom dates; for the whole scope and the charts, the dashboard's
(``pages.overview``). Both narrowed to the report's client when it has one,
so a report and the pages with the same dates and client never disagree.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.utils.translation import gettext as _

from engagements.models import ReliabilityReport
from engagements.reliability import charts, metrics
from engagements.reliability import pages as reliability
from engagements.reliability.statistics import MIN_DATA_POINTS
from engagements.reliability.views import distribution_chart, overdue_chart, within_policy_chart
from engagements.reports.periods import ReportPeriod
from outsourcing import zones

# The per-provider chart names at most this many providers (the most requests first).
CHART_PROVIDERS = 12


@dataclass
class ReportContent:
    report: ReliabilityReport
    period: ReportPeriod
    zone: tzinfo
    rows: list[reliability.Row]
    totals: metrics.Metrics
    charts: list[tuple[str, charts.Chart]]
    few_data: list[str]  # providers with fewer requests than make a figure worth trusting

    @property
    def min_data_points(self) -> int:
        return MIN_DATA_POINTS


def report_zone(report: ReliabilityReport) -> tzinfo:
    name = report.time_zone if zones.is_known(report.time_zone) else "UTC"
    return zoneinfo.ZoneInfo(name)


def response_rate_chart(rows: list[reliability.Row]) -> charts.Chart:
    """Each provider's share of requests answered, the busiest first."""
    busiest = sorted(rows, key=lambda r: (-r.m.requests, r.provider.name.casefold()))[:CHART_PROVIDERS]
    return charts.bar_chart(
        title=_("Response rate per provider"),
        description=_("The share of the period's requests each provider answered (the busiest providers)."),
        labels=[r.provider.name for r in busiest],
        values=[None if r.m.response_rate.point is None else r.m.response_rate.point * 100 for r in busiest],
        value_format=lambda value: f"{value:.0f} %",
        unit_label=_("% answered"),
        label_header=_("Provider"),
    )


def report_content(report: ReliabilityReport, period: ReportPeriod, *, now: datetime) -> ReportContent:
    """The report's figures for ``period`` (call it in the report's language: the charts' words are)."""
    zone = report_zone(report)
    span = period.metrics_period(zone)
    board = reliability.leaderboard(
        report.workspace, span, sort="name", client_name=report.client_name, now=now
    )
    whole = reliability.overview(report.workspace, span, now=now, zone=zone, client_name=report.client_name)
    rows = list(board.rows)  # every provider the leaderboard shows, by name
    return ReportContent(
        report=report,
        period=period,
        zone=zone,
        rows=rows,
        totals=whole.m,
        charts=[
            ("response-rate", response_rate_chart(rows)),
            ("distribution", distribution_chart(whole.distribution)),
            ("within-policy", within_policy_chart([(_("Within the policy"), whole.within_by_month)])),
            ("overdue", overdue_chart(whole.overdue_weeks)),
        ],
        few_data=[row.provider.name for row in rows if row.m.requests < MIN_DATA_POINTS],
    )
