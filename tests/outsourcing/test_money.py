"""Only current ISO 4217 currencies are offered; a country's currency is its default."""

from __future__ import annotations

import pytest
from django.utils import translation

from outsourcing.money import country_currency, currency_choices


def offered() -> set[str]:
    return {code for code, _label in currency_choices()}


def test_current_currencies_are_offered():
    assert {"EUR", "USD", "PHP", "GBP", "INR", "UAH", "JPY", "XOF"} <= offered()


@pytest.mark.parametrize("code", ["DEM", "FRF", "ITL", "HRK", "ZWD", "VEF", "YUN"])
def test_no_former_currency_is_offered(code):
    assert code not in offered()


@pytest.mark.parametrize(
    "code", ["XDR", "XSU", "XUA", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI"]
)
def test_no_funds_or_accounting_unit_is_offered(code):
    assert code not in offered()


def test_common_currencies_come_first_with_their_names():
    with translation.override("de"):
        assert currency_choices()[:2] == [("EUR", "EUR – Euro"), ("USD", "USD – US-Dollar")]


def test_a_stored_former_currency_stays_choosable_marked_as_such():
    with translation.override("en"):
        choices = currency_choices(keep="DEM")
    assert choices[-1] == ("DEM", "DEM – German Mark (no longer in use)")
    assert currency_choices(keep="EUR").count(("EUR", "EUR – Euro")) == 1


@pytest.mark.parametrize(
    ("country", "currency"),
    [("DE", "EUR"), ("PH", "PHP"), ("US", "USD"), ("HR", "EUR"), ("BT", "BTN"), ("", ""), ("ZZ", "")],
)
def test_a_country_pays_in_its_current_currency(country, currency):
    # Croatia paid in kuna until 2023; Bhutan's ngultrum comes before the Indian rupee also used there.
    assert country_currency(country) == currency
