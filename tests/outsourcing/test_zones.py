"""Time zones by country and city with their offsets, never by ambiguous abbreviations."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import translation

from outsourcing import zones

# "PST" is Pacific time in the US and Philippine time in Manila; "IST" is India, Ireland or Israel.
ABBREVIATION = re.compile(r"\b(?!UTC\b)[A-Z]{2,5}\b")


def every_label(choices):
    return [label for _group, options in choices for _zone, label in options]


@pytest.mark.parametrize(
    ("zone", "english", "german"),
    [
        ("Asia/Manila", "Manila (UTC+8)", "Manila (UTC+8)"),
        ("Europe/Berlin", "Berlin (UTC+1, summer UTC+2)", "Berlin (UTC+1, Sommer UTC+2)"),
        ("Europe/Moscow", "Moscow (UTC+3)", "Moskau (UTC+3)"),
        ("Asia/Kolkata", "Kolkata (UTC+5:30)", "Kalkutta (UTC+5:30)"),
        (
            "America/St_Johns",
            "St. John’s (UTC-3:30, summer UTC-2:30)",
            "St. John’s (UTC-3:30, Sommer UTC-2:30)",
        ),
        # Southern hemisphere: the summer offset is the larger one all the same.
        ("Australia/Sydney", "Sydney (UTC+10, summer UTC+11)", "Sydney (UTC+10, Sommer UTC+11)"),
        # Casablanca goes back an hour only in Ramadan: that is no summer time.
        ("Africa/Casablanca", "Casablanca (UTC+1, at times UTC+0)", "Casablanca (UTC+1, zeitweise UTC+0)"),
        (
            "America/Indiana/Indianapolis",
            "Indianapolis (UTC-5, summer UTC-4)",
            "Indianapolis (UTC-5, Sommer UTC-4)",
        ),
    ],
)
def test_a_zone_reads_as_its_city_and_its_offsets(zone, english, german):
    with translation.override("en"):
        assert zones.zone_label(zone) == english
    with translation.override("de"):
        assert zones.zone_label(zone) == german


def test_a_permanent_change_of_offset_is_told_with_its_date():
    # Kazakhstan moved Almaty from UTC+6 to UTC+5 on 1 March 2024.
    with translation.override("en"):
        assert zones.offsets_text("Asia/Almaty", today=date(2023, 6, 1)) == "UTC+6, from March 1, 2024 UTC+5"


@pytest.mark.parametrize("language", ["en", "de"])
def test_no_label_is_a_bare_abbreviation(language):
    with translation.override(language):
        labels = every_label(zones.time_zone_choices(country="US", likely=["Asia/Manila"]))
    assert len(labels) > 400
    assert [label for label in labels if ABBREVIATION.search(label)] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_within_a_country_no_two_zones_read_the_same(language):
    with translation.override(language):
        choices = zones.time_zone_choices()
    for group, options in choices:
        labels = [label for _zone, label in options]
        assert len(labels) == len(set(labels)), group


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("DE", "Europe/Berlin"),  # Büsingen keeps the same clock: still one choice
        ("PH", "Asia/Manila"),
        ("MY", "Asia/Kuala_Lumpur"),
        ("IN", "Asia/Kolkata"),
        ("GB", "Europe/London"),
    ],
)
def test_a_country_with_one_clock_has_a_default_zone(country, zone):
    assert zones.country_default_zone(country) == zone
    assert not zones.has_several_zones(country)


@pytest.mark.parametrize("country", ["US", "AU", "BR", "CA", "RU", "MX", "ID", "ES"])
def test_a_country_with_several_clocks_has_no_default_zone(country):
    assert zones.country_default_zone(country) is None
    assert zones.has_several_zones(country)
    assert len(zones.country_zones(country)) > 1


def test_no_country_or_an_unknown_one_has_no_zones():
    assert zones.country_zones("") == ()
    assert zones.country_zones("ZZ") == ()
    assert zones.country_default_zone("ZZ") is None
    assert not zones.has_several_zones("")


def test_the_countrys_zones_come_first_and_a_stored_old_name_stays_choosable():
    with translation.override("en"):
        choices = zones.time_zone_choices(
            country="PH", likely=["Europe/Berlin", "Asia/Manila"], keep="Etc/GMT+5"
        )
    assert choices[0] == ("Philippines", [("Asia/Manila", "Manila (UTC+8)")])
    assert choices[1] == (
        "Used in this workspace",
        [("Europe/Berlin", "Berlin, Germany (UTC+1, summer UTC+2)")],
    )
    assert choices[-1] == ("Other", [("UTC", "UTC"), ("Etc/GMT+5", "UTC-5")])
    assert "Mars/Olympus" not in zones.choice_values(zones.time_zone_choices(keep="Mars/Olympus"))
