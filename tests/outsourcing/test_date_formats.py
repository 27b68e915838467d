"""Each person's date format: the same date per choice, typed dates read in it, the default."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from outsourcing import formats
from outsourcing.dates import BoundedDateField
from outsourcing.forms import ProfileForm

DAY = date(2026, 12, 4)


def _render(value, format_name="SHORT_DATE_FORMAT") -> str:
    return Template("{{ value|date:format_name }}").render(
        Context({"value": value, "format_name": format_name})
    )


@pytest.mark.parametrize(
    ("choice", "language", "shown"),
    [
        (formats.US, "en", "Dec 4, 2026"),
        (formats.UK, "en", "4 Dec 2026"),
        (formats.DE, "de", "4. Dez. 2026"),
        # The format follows the choice, the month's name the page's language.
        (formats.DE, "en", "4. Dec. 2026"),
        (formats.UK, "de", "4 Dez 2026"),
    ],
)
def test_the_same_date_is_written_as_each_person_chose(choice, language, shown):
    token = formats.activate(choice)
    try:
        with translation.override(language):
            assert _render(DAY) == shown
    finally:
        formats.deactivate(token)


def test_times_follow_the_choice_too():
    moment = datetime(2026, 12, 4, 15, 30, tzinfo=ZoneInfo("UTC"))
    for choice, shown in [(formats.US, "Dec 4, 2026, 3:30 p.m."), (formats.UK, "4 Dec 2026, 15:30")]:
        token = formats.activate(choice)
        try:
            with translation.override("en"), timezone.override(ZoneInfo("UTC")):
                assert _render(moment, "SHORT_DATETIME_FORMAT") == shown
        finally:
            formats.deactivate(token)


def test_without_a_choice_the_language_decides():
    with translation.override("de"):
        assert _render(DAY) == "4. Dez. 2026"
    with translation.override("en"):
        assert _render(DAY) == "Dec 4, 2026"


@pytest.mark.parametrize(
    ("choice", "typed"),
    [
        (formats.US, "12/04/2026"),
        (formats.UK, "04/12/2026"),
        (formats.DE, "04.12.2026"),
        (formats.DE, "2026-12-04"),
    ],
)
def test_typed_dates_are_read_in_the_chosen_format(choice, typed):
    token = formats.activate(choice)
    try:
        assert BoundedDateField().clean(typed) == DAY
    finally:
        formats.deactivate(token)


def test_a_date_in_another_order_is_refused():
    token = formats.activate(formats.DE)
    try:
        with pytest.raises(Exception, match="valid date"):
            BoundedDateField().clean("12/04/2026")
    finally:
        formats.deactivate(token)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9", formats.UK),
        ("en-US,en;q=0.9", formats.US),
        ("de-DE,de;q=0.9,en;q=0.8", formats.DE),
        ("en-IE", formats.UK),
        ("fr-FR,fr;q=0.9", None),
        ("", None),
    ],
)
def test_the_browsers_languages_suggest_a_default(header, expected):
    assert formats.from_accept_language(header) == expected


def test_the_profile_offers_the_formats():
    field = ProfileForm().fields["date_format"]
    assert [value for value, _label in field.choices] == ["", formats.US, formats.UK, formats.DE]


def test_a_follow_up_to_a_german_provider_writes_dates_the_german_way_whatever_the_sender_chose():
    from engagements.followup_templates import values_for

    token = formats.activate(formats.US)
    try:
        values = values_for(
            provider="Lena",
            engagement="Logo",
            requested_on=DAY,
            days_waiting=3,
            due_on=None,
            sender="Ann",
            language="de",
        )
    finally:
        formats.deactivate(token)
    assert values["request_date"] == "4. Dezember 2026"


def test_the_admins_javascript_catalog_carries_the_chosen_formats(client):
    response = client.get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert response.status_code == 200
    assert '"SHORT_DATE_FORMAT": "j M Y"' in response.content.decode()


@pytest.mark.parametrize("thousand_separator", [True, False])
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("choice", [formats.US, formats.UK, formats.DE])
def test_a_whole_number_is_written_as_djangos_number_format_writes_it(
    choice, language, thousand_separator, settings
):
    from django.template.defaultfilters import floatformat
    from django.utils.formats import number_format

    settings.USE_THOUSAND_SEPARATOR = thousand_separator
    token = formats.activate(choice)
    try:
        with translation.override(language):
            for value in [*range(-1200, 1200), 9_999, 12_345, 1_234_567, -45_000]:
                assert formats.whole_number(value) == number_format(value), value
                assert formats.whole_number(value, grouping=True) == floatformat(value, "0g"), value
            # Grouping shows where it applies: a thousand is written with the format's separator.
            assert formats.whole_number(1000, grouping=True) == floatformat(1000, "0g") != "1000"
    finally:
        formats.deactivate(token)
