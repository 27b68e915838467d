"""The response clock: how much time counts between two instants.

Two clocks live here. ``elapsed``/``calendar_seconds`` count plain calendar
time (what "answered in 15 days" means). ``add_business_time`` and
``business_seconds`` count a provider's business time: their working hours on
working days, skipping public holidays, announced absences and the periods an
engagement spent on hold.

Pure Python (no ORM), so a pure function, a service and a bulk seeder can all
call it; callers build a ``BusinessCalendar`` from whatever they have.

Conventions:
- Every instant is aware; results are returned in UTC.
- A day's hours are the closed interval [day_start, day_end]: a reply at
  17:00 sharp is still inside a 09:00–17:00 day, and a due time may be 17:00.
- Paused intervals are half-open [start, end): the clock stops at ``start``
  and runs again from ``end``.
- ``add_business_time(start, 0)`` is ``start`` itself when ``start`` is inside
  business hours (day_end included), else the next instant the clock runs: a
  due time never lies outside business hours.
- Both business functions walk the calendar day by day (O(days spanned), with
  whole paused stretches skipped in one step) and give up with ``ValueError``
  after ``MAX_DAYS`` days rather than loop forever.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# About ten years of days: far beyond any reply window, small enough to fail fast.
MAX_DAYS = 3700

ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)


def _require_aware(*values: datetime) -> None:
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the clock only takes aware datetimes")


@lru_cache(maxsize=256)
def _check_region(country: str, subdivision: str) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError as exc:  # what `holidays` raises for unknown codes
        raise ValueError(f"no holiday data for {country!r} {subdivision!r}".strip()) from exc


@lru_cache(maxsize=1024)
def _holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The public holidays of one region in one year (built once, then cached)."""
    with warnings.catch_warnings():
        # Some countries only have data for a range of years and warn outside
        # it; no data simply means no holidays, which is all we can do.
        warnings.simplefilter("ignore", UserWarning)
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found.keys())


def _merge_pauses(
    paused: Iterable[tuple[datetime, datetime]],
) -> tuple[tuple[datetime, datetime], ...]:
    """Pauses in UTC, sorted, empty ones dropped and overlapping ones merged."""
    spans: list[tuple[datetime, datetime]] = []
    for start, end in paused:
        _require_aware(start, end)
        if end > start:
            spans.append((start.astimezone(UTC), end.astimezone(UTC)))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a provider's response clock runs: working hours, minus holidays, absences and pauses."""

    time_zone: ZoneInfo
    # ISO weekdays, 1 = Monday … 7 = Sunday.
    workdays: frozenset[int]
    # Local wall-clock hours of every business day; day_end must be after day_start.
    day_start: time
    day_end: time
    # ISO country code for the `holidays` package, "" for none; subdivision e.g. "BY".
    holiday_country: str = ""
    holiday_subdivision: str = ""
    # Announced absences: local dates taken off whole.
    closed_dates: frozenset[date] = frozenset()
    # Aware intervals when the clock stops (the engagement on hold); use a
    # far-future end for "still on hold". Stored sorted, merged, in UTC.
    paused: tuple[tuple[datetime, datetime], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.time_zone, tzinfo):
            raise ValueError("time_zone must be a ZoneInfo")
        workdays = frozenset(self.workdays)
        if not workdays:
            raise ValueError("a business calendar needs at least one workday")
        if not workdays <= frozenset(range(1, 8)):
            raise ValueError("workdays are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are local wall-clock times, without a zone")
        if self.day_end <= self.day_start:
            raise ValueError("day_end must be after day_start")
        if self.holiday_subdivision and not self.holiday_country:
            raise ValueError("a holiday subdivision needs a holiday country")
        if self.holiday_country:
            _check_region(self.holiday_country, self.holiday_subdivision)
        # Normalised once here so the day walk stays simple; the dataclass is
        # frozen, hence object.__setattr__.
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        object.__setattr__(self, "paused", _merge_pauses(self.paused))

    @property
    def day_seconds(self) -> int:
        """Length of one business day in seconds, by the wall clock (09:00–17:00 is 28,800)."""
        anchor = date(2000, 1, 1)
        span = datetime.combine(anchor, self.day_end) - datetime.combine(anchor, self.day_start)
        return span // ONE_SECOND

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a public holiday in the calendar's region."""
        if not self.holiday_country:
            return False
        return day in _holiday_dates(self.holiday_country, self.holiday_subdivision, day.year)

    def is_business_day(self, day: date) -> bool:
        """Whether the local date ``day`` has working hours (pauses aside)."""
        return day.isoweekday() in self.workdays and day not in self.closed_dates and not self.is_holiday(day)

    def hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants the local date ``day`` opens and closes, or None if it is not a business day."""
        if not self.is_business_day(day):
            return None
        # Wall-clock, not "day_start + day_seconds": a provider works 09:00–17:00
        # local time on the days clocks change too (still 8 h in CEST, and the
        # instants shift by the new offset). zoneinfo handles any offset,
        # including half-hour zones such as Asia/Kolkata.
        # The two folds (PEP 495) settle the hour a clock change skips or
        # repeats: an opening time read with fold=0 and a closing time with
        # fold=1 both land inside the local day between the two wall times,
        # so a due time can never fall outside the printed hours.
        opens = datetime.combine(day, self.day_start, tzinfo=self.time_zone).astimezone(UTC)
        closes = datetime.combine(day, self.day_end, tzinfo=self.time_zone).replace(fold=1).astimezone(UTC)
        if closes <= opens:
            # Only possible for hours that sit entirely in a skipped DST hour.
            return None
        return opens, closes


def _running(calendar: BusinessCalendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC intervals the clock runs, in order, from the first one ending at or after ``since``."""
    tz = calendar.time_zone
    pauses = calendar.paused
    index = 0
    day = since.astimezone(tz).date()
    for _examined in range(MAX_DAYS):
        hours = calendar.hours(day)
        try:
            next_day = day + ONE_DAY
        except OverflowError:
            raise ValueError("the clock ran past the end of the calendar") from None
        if hours is None:
            day = next_day
            continue
        opens, closes = hours
        while index < len(pauses) and pauses[index][1] <= opens:
            index += 1
        if index < len(pauses) and pauses[index][0] <= opens and pauses[index][1] >= closes:
            # The whole day is paused: jump to the day the pause ends in one
            # step, so "on hold until further notice" (a far-future end) costs
            # one iteration, not millions.
            day = max(next_day, pauses[index][1].astimezone(tz).date())
            continue
        cursor = opens
        position = index
        while position < len(pauses) and pauses[position][0] < closes:
            pause_start, pause_end = pauses[position]
            if pause_start > cursor and pause_start >= since:
                yield cursor, pause_start
            cursor = max(cursor, pause_end)
            if pause_end >= closes:
                break
            position += 1
        if cursor < closes and closes >= since:
            yield cursor, closes
        day = next_day
    raise ValueError(f"the business clock gave up after {MAX_DAYS} days")


def add_business_time(start: datetime, seconds: int, calendar: BusinessCalendar) -> datetime:
    """The instant at which ``seconds`` of business time have passed since ``start`` (aware, in UTC)."""
    _require_aware(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    start = start.astimezone(UTC)
    remaining = timedelta(seconds=seconds)
    try:
        for opens, closes in _running(calendar, start):
            opens = max(opens, start)
            # `<=`: time running out exactly at closing makes closing the due
            # time (Sat 11:00 + 16 h is Tue 17:00, not Wed 09:00).
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
    except OverflowError:
        raise ValueError("the clock ran past the end of the calendar") from None
    raise AssertionError("unreachable: _running ends by raising")  # pragma: no cover


def business_seconds(start: datetime, end: datetime, calendar: BusinessCalendar) -> int:
    """Business time between two aware instants in whole seconds (rounded down); 0 if end <= start."""
    _require_aware(start, end)
    if end <= start:
        return 0
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    try:
        for opens, closes in _running(calendar, start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
    except OverflowError:
        raise ValueError("the clock ran past the end of the calendar") from None
    return total // ONE_SECOND


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Calendar time from ``start`` to ``end``; never negative."""
    _require_aware(start, end)
    return max(end - start, timedelta(0))


def calendar_seconds(start: datetime, end: datetime) -> int:
    """Calendar time from ``start`` to ``end`` in whole seconds (rounded down); never negative."""
    return elapsed(start, end) // ONE_SECOND
