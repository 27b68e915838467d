"""Creating and editing a provider through the form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from providers import services
from providers.models import Provider

CREATE = reverse("providers:create", kwargs={"ws": "acme"})


def edit_url(provider) -> str:
    return reverse("providers:edit", kwargs={"ws": "acme", "pk": provider.pk})


def valid_data(**overrides):
    data = {
        "kind": "agency",
        "name": "Pixel Crew",
        "company": "Pixel Crew Inc.",
        "status": "active",
        "emails": "hello@pixel.example\n\n  Jobs@Pixel.example  \n",
        "phone": "+63 2 1234 5678",
        "website": "https://pixel.example",
        "profile_links_text": "https://www.upwork.com/agencies/pixel\nhttps://fiverr.com/pixel",
        "country": "PH",
        "time_zone": "Asia/Manila",
        "languages": ["en", "es"],
        "categories": ["web_design", "seo"],
        "other_skills": "Figma, figma , Webflow",
        "rate_amount": "25.50",
        "rate_currency": "USD",
        "rate_unit": "hour",
        "notes": "Found on Upwork.",
    }
    data.update(overrides)
    return data


def test_a_member_adds_a_provider_with_every_field(team):
    response = team.client_for(team.bob).post(CREATE, valid_data())
    provider = Provider.objects.get(workspace=team.workspace)
    assert response.status_code == 302
    assert response["Location"] == reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk})
    assert provider.kind == "agency"
    assert provider.company == "Pixel Crew Inc."
    assert [e.email for e in provider.emails.all()] == ["hello@pixel.example", "jobs@pixel.example"]
    assert provider.profile_links == ["https://www.upwork.com/agencies/pixel", "https://fiverr.com/pixel"]
    assert str(provider.country) == "PH"
    assert provider.time_zone == "Asia/Manila"
    assert provider.languages == ["en", "es"]
    assert sorted(s.name for s in provider.skills.all()) == ["Figma", "Webflow", "seo", "web_design"]
    assert provider.rate_amount == Decimal("25.50")
    assert provider.rate_currency == "USD"
    assert provider.notes == "Found on Upwork."


def test_adding_shows_a_success_message(team):
    response = team.client_for(team.alice).post(CREATE, valid_data(), follow=True)
    assert "Pixel Crew was added." in response.content.decode()


def test_a_new_provider_starts_with_no_guessed_time_zone_or_currency(team):
    # Every provider so far is in Manila and paid in dollars: that says nothing about the next one.
    for name in ("A", "B"):
        services.provider_create(
            workspace=team.workspace, name=name, country="PH", time_zone="Asia/Manila", rate_currency="USD"
        )
    form = team.client_for(team.alice).get(CREATE).context["form"]
    assert form["time_zone"].value() == ""
    assert form["rate_currency"].value() == ""


def test_a_german_designer_gets_berlin_and_euros_unless_another_zone_is_chosen(team):
    client = team.client_for(team.alice)
    data = valid_data(name="Anna Schmidt", kind="freelancer", country="DE", time_zone="", rate_currency="")
    assert client.post(CREATE, data).status_code == 302
    anna = Provider.objects.get(name="Anna Schmidt")
    assert (anna.time_zone, anna.rate_currency) == ("Europe/Berlin", "EUR")
    # A German designer who lives in Manila keeps the zone chosen for her.
    data = valid_data(name="Lena Vogel", country="DE", time_zone="Asia/Manila", rate_currency="")
    assert client.post(CREATE, data).status_code == 302
    lena = Provider.objects.get(name="Lena Vogel")
    assert (lena.time_zone, lena.rate_currency) == ("Asia/Manila", "EUR")


def test_a_filipino_virtual_assistant_gets_manila_pesos_and_filipino(team):
    data = valid_data(
        name="Maria Santos",
        kind="virtual_assistant",
        country="PH",
        time_zone="",
        rate_currency="",
        languages=["fil", "en"],
    )
    response = team.client_for(team.alice).post(CREATE, data)
    assert response.status_code == 302
    provider = Provider.objects.get(name="Maria Santos")
    assert (provider.time_zone, provider.rate_currency) == ("Asia/Manila", "PHP")
    assert provider.languages == ["fil", "en"]
    page = team.client_for(team.alice).get(response["Location"]).content.decode()
    assert "Filipino (Tagalog)" in page
    assert "Manila (UTC+8)" in page


def test_a_provider_in_the_united_states_must_choose_among_its_zones(team):
    client = team.client_for(team.alice)
    response = client.post(CREATE, valid_data(country="US", time_zone=""))
    assert response.status_code == 200
    assert not Provider.objects.exists()
    form = response.context["form"]
    assert form.errors["time_zone"] == [
        "United States of America has several time zones: choose the provider's."
    ]
    group, options = form.fields["time_zone"].choices[1]
    assert group == "United States of America"
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"} <= {
        zone for zone, _label in options
    }
    assert client.post(CREATE, valid_data(country="US", time_zone="America/Chicago")).status_code == 302
    assert Provider.objects.get().time_zone == "America/Chicago"


def test_with_neither_country_nor_time_zone_the_form_asks_for_one(team):
    response = team.client_for(team.alice).post(CREATE, valid_data(country="", time_zone=""))
    assert response.context["form"].errors["time_zone"] == [
        "Choose the provider's time zone, or their country to fill it in."
    ]
    assert not Provider.objects.exists()


def test_the_countrys_zones_come_first_then_the_workspaces(team):
    services.provider_create(workspace=team.workspace, name="A", time_zone="Asia/Manila")
    response = team.client_for(team.alice).post(CREATE, valid_data(country="AU", time_zone="", name=""))
    choices = response.context["form"].fields["time_zone"].choices
    assert choices[0] == ("", "Choose the time zone")
    assert choices[1][0] == "Australia"
    assert ("Australia/Sydney", "Sydney (UTC+10, summer UTC+11)") in choices[1][1]
    assert choices[2] == ("Used in this workspace", [("Asia/Manila", "Manila, Philippines (UTC+8)")])


def test_a_stored_zone_and_currency_no_longer_offered_stay_on_the_edit_form(team):
    old = services.provider_create(
        workspace=team.workspace, name="Old", time_zone="US/Pacific", rate_currency="DEM"
    )
    form = team.client_for(team.alice).get(edit_url(old)).context["form"]
    assert form["time_zone"].value() == "US/Pacific"
    offered = dict(option for _group, options in form.fields["time_zone"].choices[1:] for option in options)
    assert offered["US/Pacific"] == "Los Angeles, United States of America (UTC-8, summer UTC-7)"
    assert ("DEM", "DEM – German Mark (no longer in use)") in form.fields["rate_currency"].choices


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "x" * 201, "at most 200 characters"),
        ("company", "x" * 201, "at most 200 characters"),
        ("phone", "1" * 51, "at most 50 characters"),
        ("emails", "hello@pixel.example\nnot-an-address", "Not a valid e-mail address: not-an-address"),
        ("profile_links_text", "javascript:alert(1)", "Not a valid web address"),
        ("website", "not a url", "Enter a valid URL."),
        ("rate_amount", "-5", "greater than or equal to 0"),
        ("rate_amount", "abc", "Enter a number."),
        ("rate_currency", "XYZ", "Select a valid choice."),
        ("time_zone", "Mars/Olympus", "Select a valid choice."),
        ("country", "XX", "Select a valid choice."),
        ("languages", ["xx"], "Select a valid choice."),
        ("categories", ["astrology"], "Select a valid choice."),
        ("other_skills", "ok, " + "y" * 61, "at most 60 characters"),
        ("kind", "robot", "Select a valid choice."),
        ("status", "deleted", "Select a valid choice."),
    ],
)
def test_invalid_input_is_a_field_error_that_keeps_what_was_typed(team, field, value, message):
    response = team.client_for(team.alice).post(CREATE, valid_data(**{field: value}))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    content = response.content.decode()
    assert "Found on Upwork." in content  # the rest of the input is still there
    assert "hello@pixel.example" in content or field == "emails"
    assert not Provider.objects.exists()


def test_a_rate_needs_a_currency_when_no_country_gives_one(team):
    response = team.client_for(team.alice).post(CREATE, valid_data(country="", rate_currency=""))
    assert response.context["form"].errors["rate_currency"] == ["Choose the currency of the rate."]


def test_a_former_currency_is_not_offered_to_a_new_provider(team):
    response = team.client_for(team.alice).post(CREATE, valid_data(rate_currency="DEM"))
    assert "Select a valid choice." in response.context["form"].errors["rate_currency"][0]


def test_no_email_at_all_is_fine(team):
    response = team.client_for(team.alice).post(CREATE, valid_data(emails=""))
    assert response.status_code == 302
    assert Provider.objects.get().emails.count() == 0


@pytest.fixture
def pixel(team):
    return services.provider_create(
        workspace=team.workspace,
        name="Pixel Crew",
        emails=["old@pixel.example"],
        skills=["seo", "Figma"],
        profile_links=["https://fiverr.com/pixel"],
        languages=["en"],
    )


def test_the_edit_form_shows_the_current_values(team, pixel):
    form = team.client_for(team.alice).get(edit_url(pixel)).context["form"]
    assert form["emails"].value() == "old@pixel.example"
    assert form["profile_links_text"].value() == "https://fiverr.com/pixel"
    assert form["categories"].value() == ["seo"]
    assert form["other_skills"].value() == "Figma"
    assert form["languages"].value() == ["en"]


def test_editing_replaces_emails_and_skills(team, pixel):
    data = valid_data(emails="new@pixel.example", categories=["bookkeeping"], other_skills="")
    response = team.client_for(team.bob).post(edit_url(pixel), data, follow=True)
    assert "Pixel Crew was saved." in response.content.decode()
    pixel.refresh_from_db()
    assert [e.email for e in pixel.emails.all()] == ["new@pixel.example"]
    assert [s.name for s in pixel.skills.all()] == ["bookkeeping"]
    assert pixel.time_zone == "Asia/Manila"


def test_an_invalid_edit_keeps_the_input_and_changes_nothing(team, pixel):
    response = team.client_for(team.alice).post(edit_url(pixel), valid_data(name="Renamed", rate_amount="-1"))
    assert response.status_code == 200
    assert 'value="Renamed"' in response.content.decode()
    assert "Edit Pixel Crew" in response.content.decode()
    pixel.refresh_from_db()
    assert pixel.name == "Pixel Crew"
