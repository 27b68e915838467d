"""A report's period: one whole calendar month or ISO week in the report's time zone.

Keys are "2026-11" for a month and "2026-W48" for a week: the schedule's claim
(``ReliabilityReport.last_sent_period``), the download's query string and the
file name all use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from engagements.models import ReliabilityReport
from engagements.reliability.metrics import Period

MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
WEEK_KEY = re.compile(r"^(\d{4})-W(\d{2})$")
# How far back a period may be asked for (the clock's own horizon is ten years).
MAX_YEARS_BACK = 10


@dataclass(frozen=True)
class ReportPeriod:
    frequency: str
    key: str
    first: date  # the first day
    last: date  # the last day, included

    @property
    def label(self) -> str:
        """ "November 2026", or "Week 48, 2026 (23.11.2026 – 29.11.2026)", in the active language."""
        if self.frequency == ReliabilityReport.Frequency.MONTHLY:
            return date_format(self.first, "YEAR_MONTH_FORMAT")
        year, week, _day = self.first.isocalendar()
        return _("Week %(week)d, %(year)d (%(first)s – %(last)s)") % {
            "week": week,
            "year": year,
            "first": date_format(self.first, "SHORT_DATE_FORMAT"),
            "last": date_format(self.last, "SHORT_DATE_FORMAT"),
        }

    def metrics_period(self, zone: tzinfo) -> Period:
        """The same days as the reliability pages' custom dates in ``zone``: the same figures."""
        return Period.custom(self.first, self.last, zone)

    def previous(self) -> ReportPeriod:
        return containing(self.frequency, self.first - timedelta(days=1))


def containing(frequency: str, day: date) -> ReportPeriod:
    """The month or week ``day`` falls in."""
    if frequency == ReliabilityReport.Frequency.MONTHLY:
        first = day.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return ReportPeriod(frequency, f"{first:%Y-%m}", first, following - timedelta(days=1))
    first = day - timedelta(days=day.weekday())
    year, week, _day = first.isocalendar()
    return ReportPeriod(frequency, f"{year:04d}-W{week:02d}", first, first + timedelta(days=6))


def last_complete(frequency: str, now: datetime, zone: tzinfo) -> ReportPeriod:
    """The last whole month or week before ``now`` in ``zone``: what the schedule sends."""
    return containing(frequency, now.astimezone(zone).date()).previous()


def from_key(frequency: str, key: str) -> ReportPeriod | None:
    """The period a key of ``frequency`` names, or None for a malformed one."""
    try:
        if frequency == ReliabilityReport.Frequency.MONTHLY and (match := MONTH_KEY.match(key)):
            day = date(int(match[1]), int(match[2]), 1)
        elif frequency == ReliabilityReport.Frequency.WEEKLY and (match := WEEK_KEY.match(key)):
            day = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        else:
            return None
    except ValueError:
        return None
    return containing(frequency, day)


def parse(frequency: str, key: str, *, now: datetime, zone: tzinfo) -> ReportPeriod | None:
    """The period a key names, or None for a malformed, future or unfinished one, or one too old."""
    today = now.astimezone(zone).date()
    period = from_key(frequency, key)
    if period is None:
        return None
    if period.last >= today or period.first.year < today.year - MAX_YEARS_BACK:
        return None
    return period


def recent(frequency: str, now: datetime, zone: tzinfo, count: int = 12) -> list[ReportPeriod]:
    """The last ``count`` whole periods, the latest first (the download menu)."""
    periods = [last_complete(frequency, now, zone)]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods
