"""Cells as typed values: the dates, numbers and choices people actually put in spreadsheets.

Each cleaner takes one cell (text from a CSV, or a number, date or datetime
from an XLSX cell) and returns the value, or raises ValidationError with a
message for the row. Empty cells are None before a cleaner sees them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

# Excel's day 0 (it counts 1900 as a leap year, so serials from March 1900 on land right from here).
EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers a real date in a tracker can have: 1950-01-01 to 2099-12-31.
EXCEL_SERIALS = (18264, 73050)
LIST_SPLIT = re.compile(r"[,;|\n]+")
# Currency signs, letters and spaces (also the narrow and non-breaking ones) around an amount.
AMOUNT_NOISE = re.compile(r"[^\d,.\-+']")
DATE_PATTERNS = (
    # ISO first; then day before month as in Germany (18.12.2026, 18/12/2026, 18-12-2026).
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), ("y", "m", "d")),
)
TIME_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number or code typed into a number cell
    if isinstance(value, datetime | date):
        return value.isoformat()
    return " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()


def long_text(value: Any) -> str:
    return str(value).replace("\r\n", "\n").strip()


def text_list(value: Any) -> list[str]:
    return [part.strip() for part in LIST_SPLIT.split(str(value)) if part.strip()]


def emails(value: Any) -> list[str]:
    found = [part.lower() for part in re.split(r"[\s,;|]+", str(value)) if part]
    for address in found:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(_("“%(value)s” is not an e-mail address.") % {"value": address}) from None
    return found


def decimal(value: Any) -> Decimal:
    """1.234,56 or 1,234.56 or 1234,5 or € 1 234: German and English notation alike.

    The last separator is the decimal one, unless three digits follow it and
    it groups thousands (1.234 or 1,234.567.890 with 1–3 digits before the
    first): amounts here have at most two decimal places, so that reading is
    the one that can be right.
    """
    if isinstance(value, bool):
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, int | float):
        return Decimal(str(value))
    raw = str(value).strip()
    cleaned = AMOUNT_NOISE.sub("", raw).replace("'", "").lstrip("+")
    sign = "-" if cleaned.startswith("-") else ""
    cleaned = cleaned.lstrip("-")
    if not cleaned or "-" in cleaned or "+" in cleaned:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
    whole, fraction = cleaned, ""
    last = max(cleaned.rfind(","), cleaned.rfind("."))
    if last >= 0:
        sep = cleaned[last]
        first_group = re.split(r"[.,]", cleaned, maxsplit=1)[0]
        groups_thousands = (
            len(cleaned) - last - 1 == 3
            and 1 <= len(first_group) <= 3
            and first_group != "0"
            and ("," if sep == "." else ".") not in cleaned
        )
        if not groups_thousands:
            if cleaned.count(sep) > 1:
                raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
            whole, fraction = cleaned[:last], cleaned[last + 1 :]
    whole = whole.replace(".", "").replace(",", "")
    if not (whole + fraction).isdigit():
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
    return Decimal(f"{sign}{whole or '0'}.{fraction or '0'}")


def _from_serial(number: float) -> datetime:
    if not EXCEL_SERIALS[0] <= number <= EXCEL_SERIALS[1]:
        raise ValidationError(_("%(value)s is not a date.") % {"value": number})
    return datetime.combine(EXCEL_EPOCH, time()) + timedelta(days=number)


def _serial(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\d{5}(?:[.,]\d+)?", value.strip()):
        return float(value.strip().replace(",", "."))
    return None


def _parse_date_text(raw: str) -> date | None:
    for pattern, order in DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            year = parts["y"] + 2000 if parts["y"] < 100 else parts["y"]
            day, month = parts["d"], parts["m"]
            if month > 12 and day <= 12:
                day, month = month, day  # 12/18/2026: an American sheet
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def day(value: Any) -> date:
    """A date cell, an Excel serial number (46009) or text: 2026-12-18, 18.12.2026, 18/12/26."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    serial = _serial(value)
    if serial is not None:
        return _from_serial(serial).date()
    raw = str(value).strip()
    parsed = _parse_date_text(raw.split("T")[0].split(" ")[0])
    if parsed is None:
        raise ValidationError(_("“%(value)s” is not a date.") % {"value": raw})
    return parsed


def moment(value: Any) -> datetime:
    """An aware datetime; without a zone in the cell, the wall-clock time of the current zone."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        found = datetime.combine(value, time())
    elif (serial := _serial(value)) is not None:
        # Excel keeps the time as the fraction of a day; round to the second it showed.
        found = _from_serial(serial)
        found = found.replace(microsecond=0) + timedelta(seconds=round(found.microsecond / 1e6))
    else:
        raw = str(value).strip()
        found = _parse_moment_text(raw)
    if timezone.is_naive(found):
        return timezone.make_aware(found, timezone.get_current_timezone())
    return found.astimezone(UTC)


def _parse_moment_text(raw: str) -> datetime:
    try:
        iso = parse_datetime(raw)
    except ValueError:
        iso = None
    if iso is not None:
        return iso
    date_part, _sep, time_part = raw.replace(",", " ").partition(" ")
    parsed = _parse_date_text(date_part)
    clock = TIME_PATTERN.match(time_part.strip()) if time_part.strip() else None
    if parsed is None or (time_part.strip() and clock is None):
        raise ValidationError(_("“%(value)s” is not a date and time.") % {"value": raw})
    hour, minute, second = (int(g or 0) for g in clock.groups()) if clock else (0, 0, 0)
    try:
        return datetime.combine(parsed, time(hour, minute, second))
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date and time.") % {"value": raw}) from None


def _key(value: Any) -> str:
    return " ".join(str(value).replace("_", " ").replace("-", " ").split()).casefold()


def choice_lookup(choices: Iterable[tuple[Any, Any]], *extra: tuple[str, Any]) -> dict[str, Any]:
    """Every way to write a choice (its code, its English and its German label) → its code."""
    lookup: dict[str, Any] = {}
    pairs = list(choices)
    for language in ("en", "de"):
        with translation.override(language):
            for code, label in pairs:
                lookup.setdefault(_key(label), code)
    for code, _label in pairs:
        lookup[_key(code)] = code
    for spelling, code in extra:
        lookup.setdefault(_key(spelling), code)
    return lookup


def choose(value: Any, lookup: dict[str, Any]) -> Any:
    found = lookup.get(_key(text(value)))
    if found is None:
        raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": text(value)})
    return found
