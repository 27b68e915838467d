"""Currencies and locale-aware money formatting (Babel's CLDR data)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from babel.core import Locale, get_global
from babel.numbers import format_currency, get_territory_currencies, list_currencies
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Offered first in pickers: what freelancers and agencies bill in most.
COMMON_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "PHP", "INR", "PLN", "UAH", "CAD", "AUD")

# Former, fund and test codes that no provider bills in.
_NOT_OFFERED = {"XTS", "XXX", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"}


@cache
def currency_codes() -> frozenset[str]:
    """Every code that may be stored, former ones included: old records stay valid."""
    return frozenset(code for code in list_currencies() if code not in _NOT_OFFERED)


@lru_cache(maxsize=8)
def current_currencies(on: date) -> frozenset[str]:
    """ISO 4217 currencies that are legal tender somewhere on ``on``.

    CLDR records each territory's currencies with their date ranges and whether
    they are tender, so former currencies (DEM) and funds codes (BOV, XDR, XSU)
    drop out by themselves.
    """
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, on, tender=True))
    return frozenset(codes)


def offered_currencies() -> frozenset[str]:
    return current_currencies(timezone.now().date())


def country_currency(country: str) -> str:
    """The currency the country pays in today ("EUR" for DE, "PHP" for PH), "" if unknown."""
    code = str(country or "").upper()
    if not code:
        return ""
    tender = get_territory_currencies(code, timezone.now().date(), tender=True)
    # Where a neighbour's currency is legal tender too (INR in Bhutan), the national one comes first;
    # ISO 4217 starts a national currency's code with the country's.
    national = [c for c in tender if c.startswith(code)]
    return (national or tender or [""])[0]


def currency_choices(language: str | None = None, *, keep: str = "") -> list[tuple[str, str]]:
    """(code, "EUR – Euro") pairs of current currencies in the active language, common ones first.

    ``keep`` (a stored code no longer in use) stays selectable, marked as such, so an
    edit never silently changes it.
    """
    locale = Locale.parse(translation.to_locale(language or translation.get_language() or "en"))
    names = locale.currencies

    def label(code: str) -> str:
        return f"{code} – {names.get(code, code)}"

    offered = offered_currencies()
    common = [c for c in COMMON_CURRENCIES if c in offered]
    rest = sorted(offered - set(common))
    choices = [(c, label(c)) for c in (*common, *rest)]
    if keep and keep not in offered:
        choices.append((keep, gettext("%(currency)s (no longer in use)") % {"currency": label(keep)}))
    return choices


def grouped_currency_choices(*, likely: Iterable[str] = (), keep: str = "") -> list[tuple[str, Any]]:
    """``currency_choices`` with the ``likely`` codes first, in their order, as optgroups.

    ``likely`` is, say, the provider's country's currency and then the ones the workspace
    already bills in: "Likely" holds those, "All currencies" the rest. Without any, the
    plain list (common currencies first).
    """
    choices = currency_choices(keep=keep)
    labels = dict(choices)
    # A former currency kept for an old record is never "likely".
    offered = offered_currencies()
    first = [code for code in dict.fromkeys(likely) if code in labels and code in offered]
    if not first:
        return list(choices)
    return [
        (gettext("Likely"), [(code, labels[code]) for code in first]),
        (gettext("All currencies"), [(code, label) for code, label in choices if code not in first]),
    ]


def validate_currency(value: str) -> None:
    if value and value not in currency_codes():
        raise ValidationError(_("%(value)s is not an ISO 4217 currency code."), params={"value": value})


class CurrencyField(models.CharField):
    """A three-letter ISO 4217 code, validated against CLDR's list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("validators", [validate_currency])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        # A callable: the labels follow the language of each request. Only current currencies
        # are offered; a form editing a record in a former one passes ``keep`` (see currency_choices).
        blank = [("", "---------")] if self.blank else []
        defaults: dict[str, Any] = {
            "choices": lambda: blank + currency_choices(),
            "required": not self.blank,
            "label": capfirst(self.verbose_name),
            "help_text": self.help_text,
        }
        defaults.update(kwargs)
        return forms.ChoiceField(**defaults)


def format_money(amount: Decimal | int | float | None, currency: str, language: str | None = None) -> str:
    """``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if amount is None or not currency:
        return ""
    locale = translation.to_locale(language or translation.get_language() or "en")
    return format_currency(amount, currency, locale=locale)
