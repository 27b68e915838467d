"""The response clock: how much time counts between two instants.

Two clocks live here. ``elapsed``/``calendar_seconds`` count plain calendar
time (what "answered in 15 days" means). ``add_business_time`` and
``business_seconds`` count a provider's business time.

Business time is the set of instants whose wall-clock time in the provider's
zone lies inside the working hours (``day_start`` to ``day_end``) on a
working day (a workday of the policy, not a public holiday, not inside an
announced absence), minus the periods the engagement spent on hold: exactly
what a minute-by-minute walk of the wall clock counts, on the days the clocks
change too. An hour the clocks skip is never worked; an hour they repeat is
worked twice when the hours cover it. docs/design.md ("The response clock")
has worked examples.

Pure Python (no ORM), so a pure function, a service and a bulk seeder can all
call it; callers build a ``BusinessCalendar`` from whatever they have.

Conventions:
- Every instant is aware; results are returned in UTC.
- A day's hours include both ends: a reply at 17:00 sharp is still inside a
  09:00–17:00 day, and a due time may be 17:00.
- Paused intervals are half-open [start, end): the clock stops at ``start``
  and runs again from ``end``. Absences are whole local dates, both included.
- ``add_business_time(start, seconds)`` is the first instant at which
  ``seconds`` of business time have passed; ``add_business_time(start, 0)``
  is ``start`` itself when ``start`` is inside business hours, else the next
  instant the clock runs. A due time therefore reads inside the printed
  hours, with the one exception the rule implies: a stretch of hours that
  ends when the clocks jump forward ends at the jump, which the wall clock
  already reads as the later time (00:00–02:00 on Berlin's spring-forward
  night ends at 02:00 CET, read 03:00 CEST).
- Both business functions walk the calendar day by day (O(days spanned));
  a whole absence and a whole paused stretch are each skipped in one step,
  so a long one costs one step, not one per day. They give up with
  ``ValueError`` after ``MAX_DAYS`` steps, or at the end of the calendar
  (year 9999), rather than loop forever or overflow.
"""

from __future__ import annotations

import warnings
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

import holidays

# About ten years of days: far beyond any reply window, small enough to fail fast.
# A whole absence or paused stretch skipped in one step counts as one.
MAX_DAYS = 3700

ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)

# The last day an absence covers in the clock. One stored before dates were
# checked may run to 9999-12-31; clamped here it reads like an engagement on
# hold until further notice (which resumes on 9999-01-01): the due time is
# far away but still a date, and the walk never steps off the calendar.
LAST_ABSENT_DAY = date(9998, 12, 31)

# How far from the naive midnight the first instant of a local date can lie
# (offsets reach ±14 h, and a zone once skipped a whole day).
_DAY_SEARCH = timedelta(days=2)


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


def _merge_absences(absences: Iterable[tuple[date, date]]) -> tuple[tuple[date, date], ...]:
    """Absences as sorted, disjoint date ranges: clamped, empty ones dropped, touching ones merged."""
    spans = sorted(
        (first, min(last, LAST_ABSENT_DAY)) for first, last in absences if first <= min(last, LAST_ABSENT_DAY)
    )
    merged: list[tuple[date, date]] = []
    for first, last in spans:
        # last + 1 day cannot overflow: every last is at most LAST_ABSENT_DAY.
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def _local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def _first_instant(zone: tzinfo, day: date) -> datetime:
    """The first instant (UTC) whose wall-clock date in ``zone`` is ``day`` or later."""
    guess = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    if _local_date(guess, zone) == day and _local_date(guess - ONE_SECOND, zone) < day:
        return guess
    # Midnight falls in an hour a clock change skips or repeats: search the
    # second the date turns (clock changes happen on whole seconds).
    low, high = guess - _DAY_SEARCH, guess + _DAY_SEARCH
    while high - low > ONE_SECOND:
        middle = low + timedelta(seconds=(high - low) // ONE_SECOND // 2)
        if _local_date(middle, zone) >= day:
            high = middle
        else:
            low = middle
    return high


def _offset(instant: datetime, zone: tzinfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _offset_change(zone: tzinfo, start: datetime, end: datetime) -> datetime:
    """The first instant after ``start`` (and before ``end``) whose UTC offset differs from ``start``'s."""
    offset = _offset(start, zone)
    low, high = start, end - ONE_SECOND
    while high - low > ONE_SECOND:
        middle = low + timedelta(seconds=(high - low) // ONE_SECOND // 2)
        if _offset(middle, zone) == offset:
            low = middle
        else:
            high = middle
    return high


@lru_cache(maxsize=16384)
def _local_day(zone: tzinfo, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """The instants whose wall-clock date is ``day``, as (UTC start, UTC end, offset) runs of one UTC offset.

    One run on most days; two on a day the clocks change (the wall clock
    jumps between them), none on a day a zone skipped altogether.
    """
    first, last = _first_instant(zone, day), _first_instant(zone, day + ONE_DAY)
    runs: list[tuple[datetime, datetime, timedelta]] = []
    while first < last:
        offset = _offset(first, zone)
        end = last if _offset(last - ONE_SECOND, zone) == offset else _offset_change(zone, first, last)
        runs.append((first, end, offset))
        first = end
    return tuple(runs)


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
    # Announced absences: (first, last) local dates taken off whole, both
    # included. Stored sorted, merged and clamped (see LAST_ABSENT_DAY).
    absences: tuple[tuple[date, date], ...] = ()
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
        object.__setattr__(self, "absences", _merge_absences(self.absences))
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

    def absence_end(self, day: date) -> date | None:
        """The last day of the absence the local date ``day`` falls in, or None."""
        index = bisect_right(self.absences, day, key=itemgetter(0)) - 1
        if index >= 0 and day <= self.absences[index][1]:
            return self.absences[index][1]
        return None

    def is_business_day(self, day: date) -> bool:
        """Whether the local date ``day`` has working hours (pauses aside)."""
        return (
            day.isoweekday() in self.workdays and self.absence_end(day) is None and not self.is_holiday(day)
        )

    def hours(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC stretches of the local date ``day`` whose wall-clock time is inside the hours.

        Empty when ``day`` is not a business day. One stretch on most days;
        on a day the clocks change, the instants are read off the wall clock
        one offset at a time, so the hour they skip is never worked, the hour
        they repeat is worked twice when the hours cover it, and a stretch
        can end and start again at the change (e.g. 00:30–02:30 on Berlin's
        autumn night: 00:30–02:30 CEST, then 02:00–02:30 CET).
        """
        if not self.is_business_day(day):
            return ()
        opens_at = datetime.combine(day, self.day_start)
        closes_at = datetime.combine(day, self.day_end)
        stretches: list[tuple[datetime, datetime]] = []
        for start, end, offset in _local_day(self.time_zone, day):
            # In a run of one offset, the wall clock reads the instant plus that offset.
            opens = max(start, (opens_at - offset).replace(tzinfo=UTC))
            closes = min(end, (closes_at - offset).replace(tzinfo=UTC))
            if opens >= closes:
                continue
            if stretches and stretches[-1][1] == opens:
                stretches[-1] = (stretches[-1][0], closes)
            else:
                stretches.append((opens, closes))
        return tuple(stretches)


def _running(calendar: BusinessCalendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC intervals the clock runs, in order, from the first one ending at or after ``since``."""
    tz = calendar.time_zone
    pauses = calendar.paused
    index = 0
    day = since.astimezone(tz).date()
    for _examined in range(MAX_DAYS):
        absent_until = calendar.absence_end(day)
        if absent_until is not None:
            # The whole absence in one step, however long it is.
            day = absent_until + ONE_DAY
            continue
        stretches = calendar.hours(day)
        try:
            next_day = day + ONE_DAY
        except OverflowError:
            raise ValueError("the clock ran past the end of the calendar") from None
        if not stretches:
            day = next_day
            continue
        opens, closes = stretches[0][0], stretches[-1][1]
        while index < len(pauses) and pauses[index][1] <= opens:
            index += 1
        if index < len(pauses) and pauses[index][0] <= opens and pauses[index][1] >= closes:
            # The whole day is paused: jump to the day the pause ends in one
            # step, so "on hold until further notice" (a far-future end) costs
            # one iteration, not millions.
            day = max(next_day, pauses[index][1].astimezone(tz).date())
            continue
        for opens, closes in stretches:
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
