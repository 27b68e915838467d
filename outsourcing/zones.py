"""Time zones as people know them: by country and city, with their UTC offsets.

The stored value is always the IANA name. What people see is "Manila (UTC+8)" or
"Berlin (UTC+1, summer UTC+2)": city names from CLDR (Babel) in the reader's
language, offsets from zoneinfo. Never abbreviations such as "PST", which name
different zones in different places (Pacific in the US, Philippine in Manila).
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from babel import Locale
from babel.core import get_global
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django_countries import countries

# A zone whose offset differs for less than this many days a year (Casablanca in Ramadan) says
# "at times", not "summer".
SHORT_EXCEPTION_DAYS = 60
# Zones outside any country that are still worth offering.
WORLD_ZONES = ("UTC",)

Choices = list[tuple[str, Any]]


@cache
def _known() -> frozenset[str]:
    # available_timezones() walks the zoneinfo directories on every call.
    return frozenset(zoneinfo.available_timezones())


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Country code -> its zones, the most populous first.

    tzdata's zone.tab is "intended as an aid for users, to help them select time
    zones": one row per country and zone (Denmark gets Copenhagen, not the Berlin
    it links to), most populous first. It ships with the pinned tzdata package.
    """
    known = _known()
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, _coordinates, zone, *_comment = line.split("\t")
        if zone in known:
            zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


@cache
def _zone_countries() -> dict[str, str]:
    """Zone -> the first country that lists it."""
    found: dict[str, str] = {}
    for code, zones in _country_zones().items():
        for zone in zones:
            found.setdefault(zone, code)
    return found


@cache
def _cldr_aliases() -> dict[str, tuple[str, ...]]:
    """IANA name -> the older names CLDR may file its city names under (Indianapolis, Saigon)."""
    aliases: dict[str, list[str]] = {}
    for alias, zone in get_global("zone_aliases").items():
        aliases.setdefault(zone, []).append(alias)
    return {zone: tuple(names) for zone, names in aliases.items()}


def _today() -> date:
    return timezone.now().date()


@lru_cache(maxsize=4096)
def _offsets(zone: str, start: date) -> tuple[int, ...]:
    """The zone's UTC offset in minutes at noon UTC on each of the 366 days from ``start``."""
    tz = zoneinfo.ZoneInfo(zone)
    noon = datetime(start.year, start.month, start.day, 12, tzinfo=UTC)
    result = []
    for day in range(366):
        offset = (noon + timedelta(days=day)).astimezone(tz).utcoffset() or timedelta(0)
        result.append(int(offset.total_seconds()) // 60)
    return tuple(result)


def is_known(zone: str) -> bool:
    return zone in _known()


def country_zones(country: str) -> tuple[str, ...]:
    """The country's zones (IANA names) in zone.tab's order: by region, the most populous first."""
    return _country_zones().get(str(country or "").upper(), ())


def country_default_zone(country: str) -> str | None:
    """The country's zone when it has only one clock, else None (the person must choose).

    Zones that keep the same offsets all year (Berlin and Büsingen, Kuala Lumpur and
    Kuching) count as one clock: the response clock cannot tell them apart.
    """
    zones = country_zones(country)
    if not zones:
        return None
    today = _today()
    if len({_offsets(zone, today) for zone in zones}) > 1:
        return None
    return zones[0]


def has_several_zones(country: str) -> bool:
    return bool(country_zones(country)) and country_default_zone(country) is None


def zone_country(zone: str) -> str:
    return _zone_countries().get(zone, "")


def _utc(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def offsets_text(zone: str, *, today: date | None = None) -> str:
    """ "UTC+8", "UTC+1, summer UTC+2" or "UTC+1, at times UTC+0", for the coming year."""
    today = today or _today()
    offsets = _offsets(zone, today)
    changes = [day for day in range(1, len(offsets)) if offsets[day] != offsets[day - 1]]
    if not changes:
        return _utc(offsets[0])
    if len(changes) == 1:
        # A permanent change of the zone's rules, not daylight saving time.
        when = formats.date_format(today + timedelta(days=changes[0]), "DATE_FORMAT")
        return gettext("%(now)s, from %(date)s %(then)s") % {
            "now": _utc(offsets[0]),
            "date": when,
            "then": _utc(offsets[-1]),
        }
    days = Counter(offsets)
    if len(days) > 2:
        return " / ".join(_utc(minutes) for minutes in dict.fromkeys(offsets))
    (usual, _usual_days), (other, other_days) = days.most_common()
    if other_days < SHORT_EXCEPTION_DAYS:
        return gettext("%(usual)s, at times %(other)s") % {"usual": _utc(usual), "other": _utc(other)}
    return gettext("%(standard)s, summer %(summer)s") % {
        "standard": _utc(min(usual, other)),
        "summer": _utc(max(usual, other)),
    }


def _locale() -> Locale:
    return Locale.parse(translation.to_locale(translation.get_language() or "en"))


def city_name(zone: str) -> str:
    """The zone's city in the active language ("Moskau" in German), from CLDR."""
    names = _locale().time_zones
    for key in (zone, *_cldr_aliases().get(zone, ())):
        city = names.get(key, {}).get("city")
        if city:
            return str(city)
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def zone_label(zone: str, *, with_country: bool = False) -> str:
    """ "Manila (UTC+8)"; with the country "Manila, Philippines (UTC+8)". Unknown names as they are."""
    if not is_known(zone):
        return zone
    if zone in WORLD_ZONES:
        return zone
    if zone.startswith("Etc/"):
        # "Etc/GMT+5" is UTC-5 (POSIX signs are inverted): only the offset says it right.
        return offsets_text(zone)
    # An old name ("US/Pacific", "Asia/Calcutta") reads as the zone it stands for.
    canonical = get_global("zone_aliases").get(zone, zone)
    city = city_name(canonical)
    country = zone_country(canonical)
    if with_country and country:
        city = f"{city}, {countries.name(country) or country}"
    return f"{city} ({offsets_text(zone)})"


def time_zone_choices(*, country: str = "", likely: Iterable[str] = (), keep: str = "") -> Choices:
    """Grouped choices: the country's zones, then ``likely`` ones, then every country's, then UTC.

    ``keep`` (a stored zone no longer offered, say "US/Pacific") stays selectable so
    editing never silently changes it; an unknown name does not.
    """
    choices: Choices = []
    first = country_zones(country)
    if first:
        choices.append((countries.name(country) or country, [(z, zone_label(z)) for z in first]))
    usual = [z for z in dict.fromkeys(likely) if z not in first and is_known(z)]
    if usual:
        choices.append(
            (gettext("Used in this workspace"), [(z, zone_label(z, with_country=True)) for z in usual])
        )
    for code, name in countries:
        zones = country_zones(code)
        if zones and code != country:
            choices.append((name, [(z, zone_label(z)) for z in zones]))
    other = [(z, zone_label(z)) for z in WORLD_ZONES]
    offered = {z for _group, options in choices for z, _label in options} | set(WORLD_ZONES)
    if keep and keep not in offered and is_known(keep):
        other.append((keep, zone_label(keep)))
    choices.append((gettext("Other"), other))
    return choices


def choice_values(choices: Sequence[tuple[str, Any]]) -> set[str]:
    """Every value of a (possibly grouped) choices list."""
    values: set[str] = set()
    for value, label in choices:
        if isinstance(label, list | tuple):
            values.update(v for v, _label in label)
        else:
            values.add(value)
    return values
