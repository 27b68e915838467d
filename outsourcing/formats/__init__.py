"""Each person's date format, apart from the language of the pages.

Django picks its formats by the active language, so an English page would show
12/04/2026 to a German marketer, and a British reader would take it for April.
The person chooses a format locale instead ("English (US)", "English (UK)",
"Deutsch"; ``User.date_format``); ``FormatLocaleMiddleware`` activates it for the
request. The format modules under this package (``FORMAT_MODULE_PATH``) hold lazy
strings that follow the active format locale, so every ``|date:"SHORT_DATE_FORMAT"``
and ``date_format()`` uses it while the texts stay in the page's language.

Dates are unambiguous everywhere: the month is a word ("Dec 4, 2026", "4 Dec 2026",
"4. Dez. 2026"). Typed dates are read in the chosen order (``input_formats``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils.functional import Promise, lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

US, UK, DE = "en-us", "en-gb", "de"

CHOICES = [
    (US, _("English (US): Dec 4, 2026, 3:30 p.m.")),
    (UK, _("English (UK): 4 Dec 2026, 15:30")),
    (DE, _("Deutsch: 4. Dez. 2026, 15:30")),
]

FORMATS: dict[str, dict[str, Any]] = {
    US: {
        "DATE_FORMAT": "N j, Y",
        "SHORT_DATE_FORMAT": "M j, Y",
        "DATETIME_FORMAT": "N j, Y, P",
        "SHORT_DATETIME_FORMAT": "M j, Y, P",
        "TIME_FORMAT": "P",
        "MONTH_DAY_FORMAT": "F j",
        "YEAR_MONTH_FORMAT": "F Y",
        "DATE_INPUT_FORMATS": ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%b %d %Y", "%b %d, %Y"],
    },
    UK: {
        "DATE_FORMAT": "j F Y",
        "SHORT_DATE_FORMAT": "j M Y",
        "DATETIME_FORMAT": "j F Y, H:i",
        "SHORT_DATETIME_FORMAT": "j M Y, H:i",
        "TIME_FORMAT": "H:i",
        "MONTH_DAY_FORMAT": "j F",
        "YEAR_MONTH_FORMAT": "F Y",
        "DATE_INPUT_FORMATS": ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d %b %Y"],
    },
    DE: {
        "DATE_FORMAT": "j. F Y",
        "SHORT_DATE_FORMAT": "j. N Y",
        "DATETIME_FORMAT": "j. F Y, H:i",
        "SHORT_DATETIME_FORMAT": "j. N Y, H:i",
        "TIME_FORMAT": "H:i",
        "MONTH_DAY_FORMAT": "j. F",
        "YEAR_MONTH_FORMAT": "F Y",
        "DATE_INPUT_FORMATS": ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"],
    },
}

_active: ContextVar[str | None] = ContextVar("format_locale", default=None)


def activate(code: str | None) -> Any:
    """Use ``code``'s formats (None: the language's) until ``deactivate`` with the returned token."""
    return _active.set(code if code in FORMATS else None)


def deactivate(token: Any) -> None:
    _active.reset(token)


@contextmanager
def override(code: str | None) -> Iterator[None]:
    """Use ``code``'s formats inside the block (a text for someone else: a provider, a recipient)."""
    token = activate(code)
    try:
        yield
    finally:
        deactivate(token)


def for_language(language: str | None) -> str:
    return DE if (language or "").lower().startswith("de") else US


def current() -> str:
    """The active format locale: the person's choice, else the one of the page's language."""
    return _active.get() or for_language(get_language())


def from_accept_language(header: str) -> str | None:
    """The format the browser's preferred languages suggest ("en-GB" -> UK), None when none fits."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("de"):
            return DE
        if tag in ("en", "en-us"):
            return US
        if tag.startswith("en-"):
            # Elsewhere English writes the day first (UK, Ireland, Australia, India ...).
            return UK
    return None


def _value(name: str) -> Any:
    return FORMATS[current()][name]


# Read at each use, never frozen by Django's format cache.
lazy_str = lazy(_value, str)


def module_values() -> dict[str, Any]:
    """The lazy values a format module (en/formats.py, de/formats.py) exports: the display formats."""
    return {name: lazy_str(name) for name in FORMATS[US] if name.endswith("_FORMAT")}


def plain(formats: dict[str, Any]) -> dict[str, Any]:
    """``formats`` with each lazy value read now (for JSON, as in the admin's JavaScript catalog)."""
    return {name: str(value) if isinstance(value, Promise) else value for name, value in formats.items()}


def input_formats() -> list[str]:
    """The date formats typed dates are read in: ISO first, then the chosen order."""
    return list(_value("DATE_INPUT_FORMATS"))


def whole_number(value: int, *, grouping: bool = False) -> str:
    """``number_format(value, force_grouping=grouping)`` for a whole number, cheaply below a thousand.

    No format puts a separator into fewer than four digits, so there the text is the digits
    (tested against Django's for every format locale). Django's formatting looks up three
    formats a number: a leaderboard page writes about a thousand numbers, most of them shares.
    """
    if type(value) is int and -1000 < value < 1000:  # not a bool, nor numpy's integers
        return str(value)
    from django.utils.formats import number_format

    return number_format(value, force_grouping=grouping)
