"""The business-time clock: docs/design.md's worked examples, edge cases and properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engagements.clock import (
    MAX_DAYS,
    BusinessCalendar,
    add_business_time,
    business_seconds,
    calendar_seconds,
    elapsed,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
HOUR = 3600
TWO_BUSINESS_DAYS = 16 * HOUR
MON_FRI = frozenset({1, 2, 3, 4, 5})
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def calendar(**overrides) -> BusinessCalendar:
    """DESIGN's policy: Mon–Fri 09:00–17:00 in Europe/Berlin with German public holidays."""
    values = {
        "time_zone": BERLIN,
        "workdays": MON_FRI,
        "day_start": time(9),
        "day_end": time(17),
        "holiday_country": "DE",
    }
    values.update(overrides)
    return BusinessCalendar(**values)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


# --- docs/design.md, "Deadlines": every worked example, as written. ---

WORKED_EXAMPLES = [
    pytest.param(
        {},
        ("Fri", datetime(2026, 12, 18, 16)),
        ("Tue", datetime(2026, 12, 22, 16)),
        None,
        {date(2026, 12, 18): 1, date(2026, 12, 21): 8, date(2026, 12, 22): 7},
        id="friday-afternoon",
    ),
    pytest.param(
        {},
        ("Sat", datetime(2026, 12, 19, 11)),
        ("Tue", datetime(2026, 12, 22, 17)),
        None,
        {date(2026, 12, 21): 8, date(2026, 12, 22): 8},
        id="saturday-starts-monday-and-ends-at-closing",
    ),
    pytest.param(
        {},
        ("Wed", datetime(2026, 12, 23, 10)),
        ("Mon", datetime(2026, 12, 28, 10)),
        None,
        {date(2026, 12, 23): 7, date(2026, 12, 24): 8, date(2026, 12, 28): 1},
        id="christmas",
    ),
    pytest.param(
        {"absences": ((date(2026, 12, 21), date(2026, 12, 22)),)},
        ("Fri", datetime(2026, 12, 18, 16)),
        ("Thu", datetime(2026, 12, 24, 16)),
        None,
        {date(2026, 12, 18): 1, date(2026, 12, 23): 8, date(2026, 12, 24): 7},
        id="provider-absent",
    ),
    pytest.param(
        {"holiday_subdivision": "BY"},
        ("Tue", datetime(2027, 1, 5, 12)),
        ("Fri", datetime(2027, 1, 8, 12)),
        None,
        {date(2027, 1, 5): 5, date(2027, 1, 7): 8, date(2027, 1, 8): 3},
        id="bavaria-epiphany",
    ),
    pytest.param(
        {},
        ("Tue", datetime(2027, 1, 5, 12)),
        ("Thu", datetime(2027, 1, 7, 12)),
        None,
        {date(2027, 1, 5): 5, date(2027, 1, 6): 8, date(2027, 1, 7): 3},
        id="elsewhere-in-germany",
    ),
    pytest.param(
        {},
        ("Fri", datetime(2027, 3, 26, 15)),
        ("Wed", datetime(2027, 3, 31, 17)),
        datetime(2027, 3, 31, 15, tzinfo=UTC),
        {date(2027, 3, 30): 8, date(2027, 3, 31): 8},
        id="easter-and-summer-time",
    ),
    pytest.param(
        {"time_zone": NEW_YORK, "holiday_country": "US"},
        ("Fri", datetime(2027, 3, 12, 15)),
        ("Tue", datetime(2027, 3, 16, 15)),
        datetime(2027, 3, 16, 19, tzinfo=UTC),
        {date(2027, 3, 12): 2, date(2027, 3, 15): 8, date(2027, 3, 16): 6},
        id="new-york-summer-time",
    ),
]


@pytest.mark.parametrize(("overrides", "logged", "due", "due_utc", "sees"), WORKED_EXAMPLES)
def test_the_worked_examples_give_the_due_times_in_the_design(overrides, logged, due, due_utc, sees):
    cal = calendar(**overrides)
    zone = cal.time_zone
    (logged_day, logged_wall), (due_day, due_wall) = logged, due
    start = logged_wall.replace(tzinfo=zone)
    # The table's weekday names guard against a typo in the dates themselves.
    assert start.strftime("%a") == logged_day

    result = add_business_time(start, TWO_BUSINESS_DAYS, cal)

    assert result.tzinfo == UTC
    assert result == due_wall.replace(tzinfo=zone)
    assert result.astimezone(zone).strftime("%a") == due_day
    if due_utc is not None:
        assert result == due_utc
    assert business_seconds(start, result, cal) == TWO_BUSINESS_DAYS


@pytest.mark.parametrize(("overrides", "logged", "due", "due_utc", "sees"), WORKED_EXAMPLES)
def test_the_clock_sees_each_day_of_the_worked_examples_as_the_design_says(
    overrides, logged, due, due_utc, sees
):
    cal = calendar(**overrides)
    zone = cal.time_zone
    start = logged[1].replace(tzinfo=zone)
    end = due[1].replace(tzinfo=zone)
    seen = {}
    day = start.date()
    while day <= end.date():
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        hours = business_seconds(max(start, midnight), min(end, next_midnight), cal) / HOUR
        if hours:
            seen[day] = hours
        day += timedelta(days=1)
    assert seen == sees


# --- On hold, weekends, the due instant itself. ---


def test_a_hold_inside_the_window_pushes_the_due_time_by_the_paused_business_time():
    start = berlin(2026, 12, 18, 16)
    # Three business hours on hold on Monday (12:00–15:00), plus a night that costs nothing.
    held = calendar(paused=((berlin(2026, 12, 21, 12), berlin(2026, 12, 21, 15)),))
    night = calendar(paused=((berlin(2026, 12, 21, 18), berlin(2026, 12, 22, 8)),))

    due = add_business_time(start, TWO_BUSINESS_DAYS, held)

    assert due == berlin(2026, 12, 23, 11)  # Tue 16:00 + 3 h: 1 h Tue, 2 h Wed
    assert business_seconds(start, due, calendar()) == TWO_BUSINESS_DAYS + 3 * HOUR
    assert business_seconds(start, due, held) == TWO_BUSINESS_DAYS
    assert add_business_time(start, TWO_BUSINESS_DAYS, night) == berlin(2026, 12, 22, 16)


def test_a_hold_that_began_before_the_request_starts_the_clock_when_it_ends():
    held = calendar(paused=((berlin(2026, 12, 1), berlin(2026, 12, 21, 13)),))

    due = add_business_time(berlin(2026, 12, 18, 16), TWO_BUSINESS_DAYS, held)

    assert due == berlin(2026, 12, 23, 13)  # 4 h Mon, 8 h Tue, 4 h Wed


def test_overlapping_holds_count_once():
    one = calendar(paused=((berlin(2026, 12, 21, 10), berlin(2026, 12, 21, 14)),))
    two = calendar(
        paused=(
            (berlin(2026, 12, 21, 12), berlin(2026, 12, 21, 14)),
            (berlin(2026, 12, 21, 10), berlin(2026, 12, 21, 13)),
        )
    )
    start = berlin(2026, 12, 18, 16)

    assert add_business_time(start, TWO_BUSINESS_DAYS, two) == add_business_time(
        start, TWO_BUSINESS_DAYS, one
    )
    assert two.paused == one.paused


def test_an_engagement_still_on_hold_is_due_only_after_the_far_future_end():
    held = calendar(paused=((berlin(2026, 12, 21, 12), FAR_FUTURE),))
    start = berlin(2026, 12, 18, 16)

    due = add_business_time(start, TWO_BUSINESS_DAYS, held)

    assert due > FAR_FUTURE
    assert business_seconds(start, due, held) == TWO_BUSINESS_DAYS
    # Only what ran before the hold counts while it lasts: 1 h Fri, 3 h Mon.
    assert business_seconds(start, berlin(2027, 6, 1), held) == 4 * HOUR


def test_business_seconds_over_a_weekend_is_zero():
    cal = calendar()

    assert business_seconds(berlin(2026, 12, 18, 17), berlin(2026, 12, 21, 9), cal) == 0
    assert business_seconds(berlin(2026, 12, 19, 0), berlin(2026, 12, 20, 23, 59), cal) == 0


def test_business_seconds_is_zero_when_the_end_is_not_after_the_start():
    cal = calendar()

    assert business_seconds(berlin(2026, 12, 21, 12), berlin(2026, 12, 21, 10), cal) == 0
    assert business_seconds(berlin(2026, 12, 21, 12), berlin(2026, 12, 21, 12), cal) == 0


def test_a_reply_exactly_at_the_due_instant_took_exactly_the_allowed_business_time():
    cal = calendar()
    start = berlin(2026, 12, 18, 16)
    due = add_business_time(start, TWO_BUSINESS_DAYS, cal)

    assert business_seconds(start, due, cal) == TWO_BUSINESS_DAYS
    assert business_seconds(start, due - timedelta(seconds=1), cal) == TWO_BUSINESS_DAYS - 1


def test_two_weeks_of_business_days_end_at_closing_on_the_second_friday():
    cal = calendar()
    start = berlin(2027, 2, 1, 9)  # a Monday, no holidays in sight

    due = add_business_time(start, 10 * cal.day_seconds, cal)

    assert due == berlin(2027, 2, 12, 17)
    assert business_seconds(start, berlin(2027, 2, 15, 9), cal) == 80 * HOUR


# --- Zero, time zones, wall-clock hours. ---


def test_zero_seconds_inside_hours_is_the_start_itself():
    assert add_business_time(berlin(2026, 12, 21, 10, 30), 0, calendar()) == berlin(2026, 12, 21, 10, 30)


def test_zero_seconds_at_closing_time_is_closing_time():
    assert add_business_time(berlin(2026, 12, 21, 17), 0, calendar()) == berlin(2026, 12, 21, 17)


def test_zero_seconds_outside_hours_is_the_next_opening():
    assert add_business_time(berlin(2026, 12, 18, 17, 1), 0, calendar()) == berlin(2026, 12, 21, 9)


def test_a_summer_time_day_still_has_eight_hours():
    cal = calendar(workdays=frozenset(range(1, 8)), holiday_country="")
    # Sunday 2027-03-28 loses an hour at 02:00 and Sunday 2027-10-31 gains one at 03:00.
    for day in (date(2027, 3, 28), date(2027, 10, 31)):
        midnight = datetime.combine(day, time(0), tzinfo=BERLIN)
        assert business_seconds(midnight, midnight + timedelta(days=1), cal) == 8 * HOUR
    assert cal.day_seconds == 8 * HOUR


def test_a_half_hour_zone_opens_at_its_own_nine_oclock():
    cal = calendar(time_zone=KOLKATA, holiday_country="IN")

    due = add_business_time(datetime(2027, 2, 1, 0, 0, tzinfo=UTC), HOUR, cal)

    assert due == datetime(2027, 2, 1, 4, 30, tzinfo=UTC)  # 10:00 IST


def test_results_are_in_utc_whatever_zone_the_start_was_given_in():
    start = datetime(2026, 12, 18, 15, tzinfo=UTC)  # 16:00 in Berlin

    due = add_business_time(start.astimezone(NEW_YORK), TWO_BUSINESS_DAYS, calendar())

    assert due.utcoffset() == timedelta(0)
    assert due == berlin(2026, 12, 22, 16)


def test_the_calendar_clock_counts_every_second_and_never_goes_negative():
    start = berlin(2026, 12, 18, 16)

    assert calendar_seconds(start, start + timedelta(days=2, seconds=5)) == 2 * 86400 + 5
    assert calendar_seconds(start, start - timedelta(hours=1)) == 0
    assert elapsed(start, start - timedelta(hours=1)) == timedelta(0)


# --- Refusals. ---


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_time(datetime(2026, 12, 18, 16), HOUR, calendar()),
        lambda: business_seconds(datetime(2026, 12, 18, 16), berlin(2026, 12, 22, 9), calendar()),
        lambda: business_seconds(berlin(2026, 12, 18, 16), datetime(2026, 12, 22, 9), calendar()),
        lambda: elapsed(datetime(2026, 12, 18, 16), berlin(2026, 12, 22, 9)),
        lambda: calendar_seconds(berlin(2026, 12, 18, 16), datetime(2026, 12, 22, 9)),
        lambda: calendar(paused=((datetime(2026, 12, 21), berlin(2026, 12, 22)),)),
    ],
    ids=["add", "business-start", "business-end", "elapsed", "calendar-seconds", "paused"],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="aware"):
        call()


@pytest.mark.parametrize(
    "overrides",
    [
        {"workdays": frozenset()},
        {"workdays": frozenset({0, 1})},
        {"day_end": time(9)},
        {"day_end": time(8)},
        {"day_start": time(9, tzinfo=UTC)},
    ],
    ids=["no-workdays", "weekday-zero", "empty-day", "day-ends-before-it-starts", "zoned-hours"],
)
def test_an_impossible_calendar_is_refused_at_construction(overrides):
    with pytest.raises(ValueError):
        calendar(**overrides)


@pytest.mark.parametrize(
    ("country", "subdivision"),
    [("XX", ""), ("DE", "ZZ"), ("", "BY")],
    ids=["unknown-country", "unknown-subdivision", "subdivision-without-country"],
)
def test_an_unknown_holiday_region_is_refused_at_construction(country, subdivision):
    with pytest.raises(ValueError):
        calendar(holiday_country=country, holiday_subdivision=subdivision)


def test_negative_seconds_are_refused():
    with pytest.raises(ValueError):
        add_business_time(berlin(2026, 12, 18, 16), -1, calendar())


def test_a_wait_longer_than_the_cap_gives_up_instead_of_looping():
    cal = calendar()

    with pytest.raises(ValueError, match="gave up"):
        add_business_time(berlin(2026, 12, 18, 16), MAX_DAYS * cal.day_seconds, cal)
    with pytest.raises(ValueError, match="gave up"):
        business_seconds(berlin(2026, 1, 1), berlin(2026, 1, 1) + timedelta(days=MAX_DAYS + 10), cal)


# --- Properties, across zones, DST changes and years. ---

ZONES = {
    "Europe/Berlin": ("DE", ""),
    "America/New_York": ("US", ""),
    "Asia/Kolkata": ("IN", ""),  # a half-hour offset
    "Australia/Sydney": ("AU", "NSW"),  # summer time in the southern winter months
    "UTC": ("", ""),
}
# Office hours, a morning, and night shifts that straddle the DST changes at 02:00/03:00.
HOURS = [
    (time(9), time(17)),
    (time(8, 30), time(12)),
    (time(0, 30), time(2, 30)),
    (time(1, 30), time(3, 30)),
    (time(2, 30), time(17)),
    (time(0), time(23, 59)),
]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEARS_SECONDS = int((datetime(2029, 1, 1, tzinfo=UTC) - YEAR_START).total_seconds())

instants = st.integers(0, YEARS_SECONDS).map(lambda s: YEAR_START + timedelta(seconds=s))
absence_ranges = st.tuples(st.dates(date(2026, 1, 1), date(2028, 12, 31)), st.integers(0, 60)).map(
    lambda pair: (pair[0], pair[0] + timedelta(days=pair[1]))
)


@st.composite
def calendars(draw) -> BusinessCalendar:
    zone_name = draw(st.sampled_from(sorted(ZONES)))
    country, subdivision = ZONES[zone_name] if draw(st.booleans()) else ("", "")
    day_start, day_end = draw(st.sampled_from(HOURS))
    absences = draw(st.lists(absence_ranges, max_size=6))
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = draw(instants)
        length = timedelta(seconds=draw(st.integers(1, 40 * 86400)))
        pauses.append((begin, FAR_FUTURE if draw(st.integers(0, 9)) == 0 else begin + length))
    return BusinessCalendar(
        time_zone=ZoneInfo(zone_name),
        workdays=draw(st.frozensets(st.integers(1, 7), min_size=1)),
        day_start=day_start,
        day_end=day_end,
        holiday_country=country,
        holiday_subdivision=subdivision,
        absences=tuple(absences),
        paused=tuple(pauses),
    )


@cache
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def in_business_hours(instant: datetime, cal: BusinessCalendar) -> bool:
    local = instant.astimezone(cal.time_zone)
    day = local.date()
    if cal.holiday_country and day in public_holidays(cal.holiday_country, cal.holiday_subdivision, day.year):
        return False
    paused = any(begin < instant < end for begin, end in cal.paused)
    return (
        local.isoweekday() in cal.workdays
        and not any(first <= day <= last for first, last in cal.absences)
        and cal.day_start <= local.time() <= cal.day_end
        and not paused
    )


def business_amounts(cal: BusinessCalendar):
    return st.integers(0, 30 * cal.day_seconds)


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def assert_due_reads_inside_the_hours(due: datetime, seconds: int, cal: BusinessCalendar) -> None:
    """The due time reads inside the hours (closing time included), or ends a stretch at a jump forward.

    The one exception the rule implies: a stretch cut off when the clocks jump
    forward ends at the jump, which the wall clock already reads as the later time.
    """
    if in_business_hours(due, cal):
        return
    before = due - timedelta(seconds=1)
    assert seconds > 0
    assert in_business_hours(before, cal)
    # The wall clock jumped forward between the last second counted and the due time.
    wall_before = before.astimezone(cal.time_zone).replace(tzinfo=None)
    assert due.astimezone(cal.time_zone).replace(tzinfo=None) - wall_before > timedelta(seconds=1)


@PROPERTY_SETTINGS
@given(data=st.data(), cal=calendars(), start=instants)
def test_the_due_time_reads_inside_business_hours(data, cal, start):
    seconds = data.draw(business_amounts(cal))
    due = add_business_time(start, seconds, cal)

    assert due >= start
    assert_due_reads_inside_the_hours(due, seconds, cal)


@PROPERTY_SETTINGS
@given(data=st.data(), cal=calendars(), start=instants, later_by=st.integers(0, 20 * 86400))
def test_a_later_start_never_gives_an_earlier_due_time(data, cal, start, later_by):
    seconds = data.draw(business_amounts(cal))

    assert add_business_time(start, seconds, cal) <= add_business_time(
        start + timedelta(seconds=later_by), seconds, cal
    )


@PROPERTY_SETTINGS
@given(cal=calendars(), start=instants, end=instants)
def test_business_time_is_never_negative_nor_more_than_calendar_time(cal, start, end):
    counted = business_seconds(start, end, cal)

    assert 0 <= counted <= calendar_seconds(start, end)


@PROPERTY_SETTINGS
@given(data=st.data(), cal=calendars(), start=instants)
def test_adding_business_time_and_measuring_it_round_trips(data, cal, start):
    seconds = data.draw(business_amounts(cal))

    assert business_seconds(start, add_business_time(start, seconds, cal), cal) == seconds


@PROPERTY_SETTINGS
@given(cal=calendars(), points=st.lists(instants, min_size=3, max_size=3))
def test_business_time_adds_up_across_a_split(cal, points):
    a, b, c = sorted(points)

    assert business_seconds(a, c, cal) == business_seconds(a, b, cal) + business_seconds(b, c, cal)


def test_the_property_calendars_really_cross_clock_changes():
    # Guards the strategy above: a night shift on Berlin's spring-forward day is an hour short.
    cal = calendar(workdays=frozenset(range(1, 8)), day_start=time(1, 30), day_end=time(3, 30))
    short_day = datetime(2027, 3, 28, tzinfo=BERLIN)
    long_day = datetime(2027, 10, 31, tzinfo=BERLIN)

    assert business_seconds(short_day, short_day + timedelta(days=1), cal) == 1 * HOUR
    assert business_seconds(long_day, long_day + timedelta(days=1), cal) == 3 * HOUR
    assert replace(cal, holiday_country="").day_seconds == 2 * HOUR


# --- The rule on the days the clocks change: what a minute-by-minute walk counts. ---

EVERY_DAY = frozenset(range(1, 8))
# Zones whose clocks change at 02:00/03:00 (Berlin, New York), at midnight
# (Santiago, Havana, Cairo), by half an hour (Lord Howe), or never.
CHANGING_ZONES = {
    "Europe/Berlin": ("DE", ""),
    "America/New_York": ("US", ""),
    "America/Santiago": ("CL", ""),
    "America/Havana": ("CU", ""),
    "Africa/Cairo": ("EG", ""),
    "Australia/Lord_Howe": ("AU", "NSW"),
    "Asia/Kolkata": ("IN", ""),
    "UTC": ("", ""),
}
# Night hours that span, touch or sit inside the hour a change skips or repeats.
NIGHT_HOURS = [
    (time(0), time(8)),
    (time(1), time(4)),
    (time(2), time(3)),
    (time(2, 15), time(2, 45)),
    (time(0, 30), time(2, 30)),
    (time(1, 30), time(3, 30)),
    (time(0), time(2)),
    (time(3), time(5)),
    (time(23), time(23, 59)),
    (time(0), time(23, 59)),
    (time(9), time(17)),
]


def first_instant(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` in UTC (the test days' midnights exist and are unique)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@cache
def change_days(zone_name: str) -> tuple[date, ...]:
    """The local dates in 2026–2028 on which the zone's clocks change."""
    zone = ZoneInfo(zone_name)
    found = []
    day = date(2026, 1, 1)
    while day < date(2029, 1, 1):
        today = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        if today != datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset():
            found.append(day)
        day += timedelta(days=1)
    return tuple(found)


def business_minutes(cal: BusinessCalendar, start: datetime, minutes: int) -> list[datetime]:
    """The reference: each minute from ``start`` whose wall-clock time the rule counts, one at a time."""
    counted = []
    for n in range(minutes):
        minute = start + timedelta(minutes=n)
        local = minute.astimezone(cal.time_zone)
        day = local.date()
        if (
            local.isoweekday() in cal.workdays
            and not (
                cal.holiday_country
                and day in public_holidays(cal.holiday_country, cal.holiday_subdivision, day.year)
            )
            and not any(first <= day <= last for first, last in cal.absences)
            and cal.day_start <= local.time() < cal.day_end
            and not any(begin <= minute < end for begin, end in cal.paused)
        ):
            counted.append(minute)
    return counted


def minute_of_day(minute: int) -> time:
    return time(minute // 60, minute % 60)


@st.composite
def clock_change_cases(draw) -> tuple[BusinessCalendar, datetime]:
    """A calendar and a whole-minute start within a day and a half of one of its zone's clock changes."""
    zone_name = draw(st.sampled_from(sorted(CHANGING_ZONES)))
    zone = ZoneInfo(zone_name)
    country, subdivision = CHANGING_ZONES[zone_name] if draw(st.booleans()) else ("", "")
    if draw(st.booleans()):
        day_start, day_end = draw(st.sampled_from(NIGHT_HOURS))
    else:
        first = draw(st.integers(0, 23 * 60 + 58))
        day_start, day_end = minute_of_day(first), minute_of_day(draw(st.integers(first + 1, 23 * 60 + 59)))
    around = draw(st.sampled_from(change_days(zone_name) or (date(2027, 3, 28),)))
    start = first_instant(around, zone) + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    absences = [
        (around + timedelta(days=offset), around + timedelta(days=offset + length))
        for offset, length in draw(st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2)), max_size=2))
    ]
    pauses = []
    for _ in range(draw(st.integers(0, 2))):
        begin = start + timedelta(minutes=draw(st.integers(-24 * 60, 48 * 60)))
        pauses.append((begin, begin + timedelta(minutes=draw(st.integers(1, 24 * 60)))))
    cal = BusinessCalendar(
        time_zone=zone,
        workdays=draw(st.frozensets(st.integers(1, 7), min_size=1)) if draw(st.booleans()) else EVERY_DAY,
        day_start=day_start,
        day_end=day_end,
        holiday_country=country,
        holiday_subdivision=subdivision,
        absences=tuple(absences),
        paused=tuple(pauses),
    )
    return cal, start


REFERENCE_SETTINGS = settings(max_examples=150, deadline=None)
TWO_DAYS_OF_MINUTES = 2 * 24 * 60


@REFERENCE_SETTINGS
@given(case=clock_change_cases(), minutes=st.integers(0, TWO_DAYS_OF_MINUTES))
def test_business_time_matches_a_minute_by_minute_walk_across_clock_changes(case, minutes):
    cal, start = case

    counted = business_minutes(cal, start, minutes)

    assert business_seconds(start, start + timedelta(minutes=minutes), cal) == 60 * len(counted)


@REFERENCE_SETTINGS
@given(data=st.data(), case=clock_change_cases())
def test_the_due_time_is_where_a_minute_by_minute_walk_uses_up_the_allowance(data, case):
    cal, start = case
    counted = business_minutes(cal, start, TWO_DAYS_OF_MINUTES)
    assume(counted)
    minutes = data.draw(st.integers(1, len(counted)))

    due = add_business_time(start, 60 * minutes, cal)

    assert due == counted[minutes - 1] + timedelta(minutes=1)
    assert_due_reads_inside_the_hours(due, 60 * minutes, cal)


def test_the_reference_cases_really_sit_on_clock_change_days():
    # Guards the strategy above: Berlin's, New York's and Santiago's changes are where the tests look.
    assert date(2027, 3, 28) in change_days("Europe/Berlin")
    assert date(2027, 10, 31) in change_days("Europe/Berlin")
    assert date(2027, 11, 7) in change_days("America/New_York")
    assert date(2026, 9, 6) in change_days("America/Santiago")
    assert change_days("Asia/Kolkata") == ()


SPRING, AUTUMN = date(2027, 3, 28), date(2027, 10, 31)  # Berlin: 02:00 → 03:00, 03:00 → 02:00
NY_SPRING, NY_AUTUMN = date(2027, 3, 14), date(2027, 11, 7)  # New York: 02:00 → 03:00, 02:00 → 01:00


# Business hours a day's working hours give on the days the clocks change: docs/design.md's table.
CLOCK_CHANGE_HOURS = {
    ("berlin-spring", BERLIN, SPRING): {"00-08": 7, "01-04": 2, "02-03": 0, "0215-0245": 0, "0030-0230": 1.5},
    ("berlin-autumn", BERLIN, AUTUMN): {"00-08": 9, "01-04": 4, "02-03": 2, "0215-0245": 1, "0030-0230": 2.5},
    ("new-york-spring", NEW_YORK, NY_SPRING): {"00-08": 7, "01-04": 2, "02-03": 0, "0215-0245": 0},
    ("new-york-autumn", NEW_YORK, NY_AUTUMN): {
        "00-08": 9,
        "01-04": 4,
        "02-03": 1,
        "0115-0145": 1,
        "0030-0230": 3,
    },
}


def wall_hours(text: str) -> tuple[time, time]:
    """ "0215-0245" → (02:15, 02:45); "00-08" → (00:00, 08:00)."""
    start, end = (part.ljust(4, "0") for part in text.split("-"))
    return time(int(start[:2]), int(start[2:])), time(int(end[:2]), int(end[2:]))


@pytest.mark.parametrize(
    ("zone", "day", "hours", "worked"),
    [
        pytest.param(zone, day, wall_hours(hours), worked, id=f"{name}-{hours}")
        for (name, zone, day), rows in CLOCK_CHANGE_HOURS.items()
        for hours, worked in rows.items()
    ],
)
def test_a_clock_change_day_has_the_business_hours_its_wall_clock_shows(zone, day, hours, worked):
    cal = calendar(
        time_zone=zone, holiday_country="", workdays=EVERY_DAY, day_start=hours[0], day_end=hours[1]
    )
    midnight, next_midnight = first_instant(day, zone), first_instant(day + timedelta(days=1), zone)
    minutes = (next_midnight - midnight) // timedelta(minutes=1)

    assert business_seconds(midnight, next_midnight, cal) == worked * HOUR
    assert len(business_minutes(cal, midnight, minutes)) == worked * 60


def night(day_start: time, day_end: time) -> BusinessCalendar:
    return calendar(workdays=EVERY_DAY, holiday_country="", day_start=day_start, day_end=day_end)


def test_hours_that_span_the_skipped_hour_run_straight_through_the_jump():
    # 01:00–04:00 on the spring night: 01:00–02:00 CET, then 03:00–04:00 CEST, one stretch in UTC.
    due = add_business_time(berlin(2027, 3, 28, 0, 0), HOUR, night(time(1), time(4)))

    assert due == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_hours_that_span_the_repeated_hour_work_it_twice():
    cal = night(time(1), time(4))
    start = datetime(2027, 10, 30, 23, 0, tzinfo=UTC)  # 01:00 CEST on the autumn night

    due = add_business_time(start, 3 * HOUR, cal)

    # 01:00–02:00 CEST, 02:00–03:00 CEST, 02:00–03:00 CET: the third hour ends at 03:00 CET.
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CET"
    assert business_seconds(start, start + timedelta(hours=12), cal) == 4 * HOUR


def test_a_stretch_ended_by_the_jump_forward_ends_at_the_jump_which_reads_as_the_later_time():
    cal = night(time(0), time(2))

    due = add_business_time(berlin(2027, 3, 28, 0, 0), 2 * HOUR, cal)

    # Two hours after 00:00 CET is 02:00 CET, the instant the wall clock reads 03:00 CEST.
    assert due == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_a_closing_time_in_the_repeated_hour_closes_twice():
    cal = night(time(0, 30), time(2, 30))
    start = berlin(2027, 10, 31, 0, 30)

    # 00:30–02:30 CEST, then the wall clock reads 02:30–03:00 CEST (outside), then 02:00–02:30 CET.
    first_close = add_business_time(start, 2 * HOUR, cal)
    assert first_close.astimezone(BERLIN).strftime("%H:%M %Z") == "02:30 CEST"
    reopened = add_business_time(first_close + timedelta(minutes=1), 0, cal)
    assert reopened.astimezone(BERLIN).strftime("%H:%M %Z") == "02:00 CET"
    assert add_business_time(start, 150 * 60, cal).astimezone(BERLIN).strftime("%H:%M %Z") == "02:30 CET"


def test_hours_entirely_inside_the_skipped_hour_make_no_business_time_that_day():
    cal = night(time(2, 15), time(2, 45))

    opens = add_business_time(berlin(2027, 3, 28, 0, 0), 0, cal)

    # Nothing on the 28th: the next day's 02:15.
    assert opens == berlin(2027, 3, 29, 2, 15)
    assert cal.hours(date(2027, 3, 28)) == ()


def test_an_opening_time_in_the_skipped_hour_opens_at_the_jump():
    cal = night(time(2, 30), time(17))

    opens = add_business_time(berlin(2027, 3, 28, 0, 0), 0, cal)

    # The first instant whose wall clock reads 02:30 or later: 03:00 CEST.
    assert opens.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


# --- Absences as ranges. ---


def test_overlapping_and_touching_absences_are_kept_as_one_range():
    cal = calendar(
        absences=(
            (date(2027, 2, 10), date(2027, 2, 12)),
            (date(2027, 2, 1), date(2027, 2, 5)),
            (date(2027, 2, 4), date(2027, 2, 9)),
            (date(2027, 3, 1), date(2027, 3, 1)),
        )
    )

    assert cal.absences == ((date(2027, 2, 1), date(2027, 2, 12)), (date(2027, 3, 1), date(2027, 3, 1)))
    assert cal.absence_end(date(2027, 2, 7)) == date(2027, 2, 12)
    assert cal.absence_end(date(2027, 2, 13)) is None


def test_a_long_absence_costs_the_walk_one_step_not_one_per_day(monkeypatch):
    cal = calendar(absences=((date(2027, 1, 4), date(2028, 12, 31)),))
    looked_at: list[date] = []
    hours = BusinessCalendar.hours

    def counted_hours(self, day):
        looked_at.append(day)
        return hours(self, day)

    monkeypatch.setattr(BusinessCalendar, "hours", counted_hours)

    due = add_business_time(berlin(2027, 1, 4, 10), TWO_BUSINESS_DAYS, cal)

    assert due == berlin(2029, 1, 3, 17)  # Mon 1 Jan is a holiday: 8 h Tue 2nd, 8 h Wed 3rd
    assert len(looked_at) < 10


def test_an_absence_stored_to_the_end_of_the_calendar_reads_like_a_hold_until_further_notice():
    # Stored before dates were checked: 0001-01-01 to 9999-12-31.
    cal = calendar(absences=((date(1, 1, 1), date(9999, 12, 31)),))
    start = berlin(2027, 1, 4, 10)

    due = add_business_time(start, TWO_BUSINESS_DAYS, cal)

    assert cal.absences == ((date(1, 1, 1), date(9998, 12, 31)),)
    assert due.year == 9999
    assert business_seconds(start, due, cal) == TWO_BUSINESS_DAYS
    assert business_seconds(start, berlin(2040, 1, 1), cal) == 0
