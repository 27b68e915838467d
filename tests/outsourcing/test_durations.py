"""Durations as people say them, in English and in grammatical German."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import translation

from outsourcing.templatetags.tracker import duration


@pytest.mark.parametrize(
    ("span", "english", "german", "german_dative"),
    [
        (timedelta(days=53), "53 days", "53 Tage", "53 Tagen"),
        (timedelta(days=1, hours=1), "1 day 1 hour", "1 Tag 1 Stunde", "1 Tag 1 Stunde"),
        (timedelta(days=2, hours=5, minutes=7), "2 days 5 hours", "2 Tage 5 Stunden", "2 Tagen 5 Stunden"),
        (timedelta(hours=3, minutes=1), "3 hours 1 minute", "3 Stunden 1 Minute", "3 Stunden 1 Minute"),
        (timedelta(seconds=20), "under a minute", "weniger als eine Minute", "weniger als einer Minute"),
    ],
)
def test_a_span_reads_right_in_either_language_and_case(span, english, german, german_dative):
    with translation.override("en"):
        assert duration(span) == english
        assert duration(span, "dative") == english
    with translation.override("de"):
        assert duration(span) == german
        assert duration(span, "dative") == german_dative


def test_after_seit_german_takes_the_dative():
    template = Template(
        '{% load tracker i18n %}{% blocktranslate with span=s|duration:"dative" %}overdue by {{ span }}{% endblocktranslate %}'
    )
    with translation.override("de"):
        assert template.render(Context({"s": timedelta(days=53)})) == "seit 53 Tagen überfällig"
    with translation.override("en"):
        assert template.render(Context({"s": timedelta(days=53)})) == "overdue by 53 days"


def test_no_span_is_empty_and_an_unknown_case_is_the_plain_one():
    assert duration(None) == ""
    with translation.override("de"):
        assert duration(timedelta(days=2), "genitive") == "2 Tage"
