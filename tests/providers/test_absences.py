"""Absences on the provider page: added and removed inline with htmx."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from providers import services
from providers.models import Absence


def add_url(provider) -> str:
    return reverse("providers:absence_add", kwargs={"ws": "acme", "pk": provider.pk})


def delete_url(absence) -> str:
    return reverse(
        "providers:absence_delete", kwargs={"ws": "acme", "pk": absence.provider_id, "absence_pk": absence.pk}
    )


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_htmx_adds_an_absence_and_gets_the_section_back(team, provider):
    data = {"starts_on": "2026-08-01", "ends_on": "2026-08-14", "note": "Summer holiday"}
    response = team.client_for(team.bob).post(add_url(provider), data, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section class="card h-100" id="absences"')
    assert "<html" not in content
    assert "Summer holiday" in content
    assert "The absence was added." in content  # out-of-band into the message box
    absence = provider.absences.get()
    assert (absence.starts_on, absence.ends_on) == (date(2026, 8, 1), date(2026, 8, 14))


def test_an_absence_ending_before_it_starts_is_an_error_in_the_section(team, provider):
    data = {"starts_on": "2026-08-14", "ends_on": "2026-08-01", "note": "Backwards"}
    response = team.client_for(team.alice).post(add_url(provider), data, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "The absence cannot end before it starts." in content
    assert 'value="Backwards"' in content
    assert 'value="2026-08-14"' in content
    assert not Absence.objects.exists()


def test_a_missing_date_is_an_error(team, provider):
    response = team.client_for(team.alice).post(add_url(provider), {"starts_on": "2026-08-14"}, **HTMX)
    assert "This field is required." in response.content.decode()
    assert not Absence.objects.exists()


def test_a_garbled_date_is_an_error_not_a_crash(team, provider):
    data = {"starts_on": "2026-02-31", "ends_on": "tomorrow"}
    response = team.client_for(team.alice).post(add_url(provider), data, **HTMX)
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_without_htmx_adding_redirects_to_the_page(team, provider):
    data = {"starts_on": "2026-08-01", "ends_on": "2026-08-14"}
    response = team.client_for(team.alice).post(add_url(provider), data)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/providers/{provider.pk}/#absences")
    assert provider.absences.count() == 1


def test_without_htmx_an_error_renders_the_whole_page(team, provider):
    response = team.client_for(team.alice).post(add_url(provider), {"starts_on": "x", "ends_on": "y"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content
    assert "Enter a valid date." in content


def test_htmx_removes_an_absence(team, absence):
    response = team.client_for(team.bob).post(delete_url(absence), **HTMX)
    assert response.status_code == 200
    assert "No absences announced." in response.content.decode()
    assert not Absence.objects.exists()


def test_removing_asks_for_confirmation(team, absence):
    page = reverse("providers:detail", kwargs={"ws": "acme", "pk": absence.provider_id})
    content = team.client_for(team.alice).get(page).content.decode()
    assert f'hx-post="{delete_url(absence)}"' in content
    assert 'hx-confirm="Remove this absence?"' in content


def test_another_providers_absence_is_404(team, provider, absence):
    from providers import services

    other = services.provider_create(workspace=team.workspace, name="Other")
    path = reverse(
        "providers:absence_delete", kwargs={"ws": "acme", "pk": other.pk, "absence_pk": absence.pk}
    )
    assert team.client_for(team.alice).post(path).status_code == 404
    assert Absence.objects.count() == 1


# --- Bounds: a typo in a year never reaches the clock. ---


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [
        ("0001-01-01", "9999-12-31", "starts_on"),
        ("2026-12-01", "9999-12-30", "ends_on"),
        ("1999-12-31", "2000-01-05", "starts_on"),
    ],
    ids=["ten-thousand-years", "until-9999", "before-2000"],
)
def test_an_absence_outside_the_accepted_dates_is_refused_on_its_field(
    team, provider, starts_on, ends_on, field
):
    data = {"starts_on": starts_on, "ends_on": ends_on, "note": "Forever"}
    response = team.client_for(team.alice).post(add_url(provider), data, **HTMX)

    assert response.status_code == 200
    form = response.context["absence_form"]
    assert "Enter a date between" in " ".join(form.errors[field])
    assert 'value="Forever"' in response.content.decode()
    assert not Absence.objects.exists()


def test_an_absence_longer_than_two_years_is_refused(team, provider):
    data = {"starts_on": "2027-01-01", "ends_on": "2029-01-02"}
    response = team.client_for(team.alice).post(add_url(provider), data, **HTMX)

    assert "An absence can last at most two years." in response.content.decode()
    assert not Absence.objects.exists()


def test_an_absence_of_exactly_two_years_is_taken(team, provider):
    data = {"starts_on": "2027-01-01", "ends_on": "2028-12-31"}
    response = team.client_for(team.alice).post(add_url(provider), data, **HTMX)

    assert "The absence was added." in response.content.decode()
    assert provider.absences.get().ends_on == date(2028, 12, 31)


@time_machine.travel(datetime(2028, 2, 29, 12, tzinfo=UTC), tick=False)
def test_the_date_pickers_offer_only_the_accepted_dates(team, provider):
    content = (
        team.client_for(team.alice)
        .get(reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk}))
        .content.decode()
    )

    field = re.search(r'<input type="date" name="starts_on"[^>]*>', content)
    assert field is not None
    # Ten years after a leap day: the 28th.
    assert 'min="2000-01-01" max="2038-02-28"' in field.group()


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (date(1, 1, 1), date(9999, 12, 31)),
        (date(2026, 12, 1), date(9999, 12, 30)),
        (date(2027, 1, 1), date(2029, 6, 1)),
    ],
    ids=["ten-thousand-years", "until-9999", "longer-than-two-years"],
)
def test_the_service_and_the_model_refuse_what_the_form_refuses(provider, starts_on, ends_on):
    with pytest.raises(ValidationError) as info:
        services.absence_add(provider=provider, starts_on=starts_on, ends_on=ends_on)
    assert set(info.value.message_dict) <= {"starts_on", "ends_on"}
    with pytest.raises(ValidationError):
        Absence(provider=provider, starts_on=starts_on, ends_on=ends_on).full_clean()
    assert not Absence.objects.exists()
