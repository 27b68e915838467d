"""The provider form's time zone and currency follow the country chosen (the fragment htmx swaps in)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from providers.forms import follow_country

DEFAULTS = reverse("providers:country_defaults", kwargs={"ws": "acme"})


def fields(client, **query):
    response = client.get(DEFAULTS, query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    form = response.context["form"]
    return form, response.content.decode()


def test_choosing_germany_fills_in_berlin_and_euros(team):
    form, html = fields(
        team.client_for(team.bob), country="DE", defaults_for="", time_zone="", rate_currency=""
    )
    assert form["time_zone"].value() == "Europe/Berlin"
    assert form["rate_currency"].value() == "EUR"
    assert '<option value="Europe/Berlin" selected>Berlin (UTC+1, summer UTC+2)</option>' in html
    assert '<option value="EUR" selected>' in html
    # The currency sits elsewhere in the form: htmx swaps it out of band.
    assert '<div id="provider-currency" hx-swap-oob="true">' in html
    # The next change knows which country these defaults came from.
    assert '<input type="hidden" name="defaults_for" value="DE">' in html


def test_choosing_the_united_states_leaves_the_zone_to_choose_among_its_zones(team):
    form, html = fields(team.client_for(team.bob), country="US", defaults_for="DE", time_zone="Europe/Berlin")
    assert form["time_zone"].value() == ""
    assert form.fields["time_zone"].choices[1][0] == "United States of America"
    assert "United States of America has several time zones: choose the provider's." in html


def changed(team, *, previous: str, country: str, time_zone: str, currency: str) -> tuple[str, str, str]:
    """The time zone and currency the fragment shows after a change of country, and its HTML."""
    query = {"country": country, "defaults_for": previous, "time_zone": time_zone, "rate_currency": currency}
    form, html = fields(team.client_for(team.bob), **query)
    return form["time_zone"].value(), form["rate_currency"].value(), html


def test_a_currency_the_person_chose_survives_a_change_of_country(team):
    zone, currency, _html = changed(
        team, previous="DE", country="FR", time_zone="Europe/Berlin", currency="USD"
    )
    assert (zone, currency) == ("Europe/Paris", "USD")


@pytest.mark.parametrize(
    ("previous", "country", "time_zone", "currency", "expected"),
    [
        ("DE", "PH", "Europe/Berlin", "EUR", ("Asia/Manila", "PHP")),  # both came from Germany
        ("", "PH", "", "", ("Asia/Manila", "PHP")),  # the first choice
        ("DE", "PH", "Asia/Tokyo", "EUR", ("Asia/Tokyo", "PHP")),  # a zone chosen by hand stays
        ("US", "US", "America/Chicago", "USD", ("America/Chicago", "USD")),
        ("US", "CA", "America/Chicago", "USD", ("", "CAD")),  # Canada has several zones too
        ("DE", "", "Europe/Berlin", "EUR", ("", "EUR")),  # no country: nothing to fill in
        ("XX", "ZZ", "Mars/Olympus", "ABC", ("", "")),  # what a browser cannot send counts as empty
    ],
)
def test_what_came_from_the_previous_country_follows_the_new_one(
    previous, country, time_zone, currency, expected
):
    assert (
        follow_country(previous=previous, country=country, time_zone=time_zone, currency=currency) == expected
    )


def test_nonsense_from_the_browser_gives_empty_fields_not_an_error(team):
    zone, currency, html = changed(
        team, previous="ZZ", country="<script>", time_zone="<b>Mars</b>", currency="<i>"
    )
    assert (zone, currency) == ("", "")
    assert "<b>Mars</b>" not in html


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_the_fragment_is_for_those_who_may_add_providers(team, who, status):
    assert team.client_for(getattr(team, who)).get(DEFAULTS, {"country": "DE"}).status_code == status


def test_the_form_asks_for_the_fragment_when_the_country_changes(team):
    html = (
        team.client_for(team.alice).get(reverse("providers:create", kwargs={"ws": "acme"})).content.decode()
    )
    assert f'hx-get="{DEFAULTS}" hx-trigger="change from:#id_country"' in html
    assert '<div id="provider-time-zone"' in html
    assert '<div id="provider-currency">' in html
