"""The provider and engagement forms in a real Chromium: the country fills in its time zone and
currency, the provider fills in the fee's currency, under the strict CSP with no console errors."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from engagements.models import Engagement
from providers.models import Provider
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_the_country_fills_in_the_time_zone_and_the_currency(page, console, team, live_server):
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/providers/new/")
    zone, currency = page.locator("#id_time_zone"), page.locator("#id_rate_currency")

    page.locator("#id_country").select_option("DE")
    expect(zone).to_have_value("Europe/Berlin")
    assert currency.input_value() == "EUR"
    assert zone.locator("option:checked").inner_text() == "Berlin (UTC+1, summer UTC+2)"

    # The United States has several clocks: the zone is left to choose, its zones listed first.
    page.locator("#id_country").select_option("US")
    expect(zone).to_have_value("")
    assert currency.input_value() == "USD"
    assert page.get_by_text("United States of America has several time zones").is_visible()
    assert zone.locator("optgroup").first.get_attribute("label") == "United States of America"

    # A currency chosen by hand stays when the country changes again.
    currency.select_option("GBP")
    page.locator("#id_country").select_option("PH")
    expect(zone).to_have_value("Asia/Manila")
    assert currency.input_value() == "GBP"

    page.locator("#id_name").fill("Maria Santos")
    page.get_by_role("button", name="Add provider").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))
    maria = Provider.objects.get(name="Maria Santos")
    assert (maria.time_zone, maria.rate_currency) == ("Asia/Manila", "GBP")
    assert page.get_by_test_id("time-zone").inner_text() == "Manila (UTC+8)"
    assert console.errors == []


def test_the_provider_fills_in_the_fees_currency(page, console, team, live_server):
    ProviderFactory(workspace=team.workspace, name="Anna Schmidt", rate_currency="EUR")
    ProviderFactory(workspace=team.workspace, name="Maria Santos", rate_currency="PHP")
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/new/")
    fee_currency = page.locator("#id_fee_currency")

    page.locator("#id_provider").select_option(label="Maria Santos")
    assert fee_currency.input_value() == "PHP"
    page.locator("#id_provider").select_option(label="Anna Schmidt")
    assert fee_currency.input_value() == "EUR"
    # Once the person chose a currency themselves, another provider does not change it.
    fee_currency.select_option("USD")
    page.locator("#id_provider").select_option(label="Maria Santos")
    assert fee_currency.input_value() == "USD"

    page.locator("#id_title").fill("Inbox zero")
    page.locator("#id_fee_amount").fill("120")
    page.get_by_role("button", name="Delegate").click()
    page.wait_for_url(re.compile(r".*/engagements/\d+/$"))
    assert Engagement.objects.get().fee_currency == "USD"
    assert console.errors == []
