"""Currencies and locale-aware money formatting (Babel's CLDR data)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from babel.core import Locale
from babel.numbers import format_currency, list_currencies
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# Offered first in pickers: what freelancers and agencies bill in most.
COMMON_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "PHP", "INR", "PLN", "UAH", "CAD", "AUD")

# Former, fund and test codes that no provider bills in.
_NOT_OFFERED = {"XTS", "XXX", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"}


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if code not in _NOT_OFFERED)


def currency_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, "EUR – Euro") pairs in the active language, common ones first."""
    locale = Locale.parse(translation.to_locale(language or translation.get_language() or "en"))
    names = locale.currencies

    def label(code: str) -> str:
        return f"{code} – {names.get(code, code)}"

    rest = sorted(currency_codes() - set(COMMON_CURRENCIES))
    return [(c, label(c)) for c in COMMON_CURRENCIES] + [(c, label(c)) for c in rest]


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

        # A callable: the labels follow the language of each request.
        blank = [("", "---------")] if self.blank else []
        defaults: dict[str, Any] = {
            "widget": forms.Select(choices=lambda: blank + currency_choices()),  # type: ignore[arg-type]
        }
        defaults.update(kwargs)
        return super().formfield(**defaults)


def format_money(amount: Decimal | int | float | None, currency: str, language: str | None = None) -> str:
    """``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if amount is None or not currency:
        return ""
    locale = translation.to_locale(language or translation.get_language() or "en")
    return format_currency(amount, currency, locale=locale)
