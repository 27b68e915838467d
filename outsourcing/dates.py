"""The dates the app accepts: far enough for real plans, near enough for date arithmetic.

A typo such as 0001 or 9999 in a date field is refused wherever it is typed
(a form, the admin, an import, a service call): the response clock, the
deadlines and the reliability periods all count days from these dates, and
Python's calendar ends on 9999-12-31. Forms use ``BoundedDateField``; models
call ``check_dates`` from ``clean()``, which every service runs through
``full_clean()``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from outsourcing import formats

# Nothing the app tracks happened before this.
EARLIEST = date(2000, 1, 1)
# How far ahead a due date or an absence may lie.
YEARS_AHEAD = 10
# A contract or an NDA may run for decades.
DOCUMENT_YEARS_AHEAD = 30
# The longest announced absence (two years, a leap day included).
MAX_ABSENCE_DAYS = 2 * 365 + 1


def latest(years_ahead: int = YEARS_AHEAD, today: date | None = None) -> date:
    """The last date accepted: ``years_ahead`` years after today (28 February for a leap day)."""
    today = today or timezone.localdate()
    year = today.year + years_ahead
    return (
        today.replace(year=year, day=28) if (today.month, today.day) == (2, 29) else today.replace(year=year)
    )


def date_error(value: date, years_ahead: int = YEARS_AHEAD) -> ValidationError | None:
    """Why ``value`` is refused, or None when it lies in the accepted range."""
    last = latest(years_ahead)
    if EARLIEST <= value <= last:
        return None
    return ValidationError(
        _("Enter a date between %(earliest)s and %(latest)s."),
        code="date_out_of_range",
        params={"earliest": date_format(EARLIEST), "latest": date_format(last)},
    )


def check_dates(values: dict[str, date | None], years_ahead: int = YEARS_AHEAD) -> dict[str, ValidationError]:
    """The errors of a model's date fields by name (empty when all are in range), for ``clean()``."""
    errors: dict[str, ValidationError] = {}
    for name, value in values.items():
        if isinstance(value, date):
            error = date_error(value, years_ahead)
            if error is not None:
                errors[name] = error
    return errors


class DateRangeValidator:
    """A form field validator: the date must lie in the accepted range."""

    def __init__(self, years_ahead: int = YEARS_AHEAD) -> None:
        self.years_ahead = years_ahead

    def __call__(self, value: date) -> None:
        error = date_error(value, self.years_ahead)
        if error is not None:
            raise error


class BoundedDateInput(forms.DateInput):
    """A browser date picker limited to the accepted range (worked out when it is drawn, not at start-up)."""

    input_type = "date"

    def __init__(self, years_ahead: int = YEARS_AHEAD, attrs: dict[str, Any] | None = None) -> None:
        # ISO, whatever the language: the only format a date input reads.
        super().__init__(attrs, format="%Y-%m-%d")
        self.years_ahead = years_ahead

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        bounds = {"min": EARLIEST.isoformat(), "max": latest(self.years_ahead).isoformat()}
        return super().get_context(name, value, {**bounds, **(attrs or {})})


class BoundedDateField(forms.DateField):
    """A date field that refuses dates outside the accepted range, with a clear message.

    Typed dates are read in ISO and in the person's chosen format (outsourcing.formats):
    04.12.2026 for "Deutsch", 04/12/2026 for "English (UK)", 12/04/2026 for "English (US)".
    """

    input_formats = lazy(formats.input_formats, list)()

    def __init__(self, *, years_ahead: int = YEARS_AHEAD, **kwargs: Any) -> None:
        kwargs.setdefault("widget", BoundedDateInput(years_ahead))
        super().__init__(**kwargs)
        self.validators.append(DateRangeValidator(years_ahead))
