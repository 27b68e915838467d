"""Needs attention in German: spans after "seit" and "in" take the dative ("seit 53 Tagen")."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from tests.engagements.conftest import url
from tests.engagements.test_attention import flagged, waiting


def test_overdue_and_due_spans_read_as_german_says_them(team, provider):
    flagged(team.workspace, provider, "Altes Logo", overdue_by=timedelta(days=53, minutes=30))
    waiting(team.workspace, provider, "Neue Texte", due_in=timedelta(days=3, minutes=30))
    client = team.client_for(team.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = client.get(url("attention")).content.decode()
    assert "seit 53 Tagen überfällig" in page
    assert "Antwort fällig in 3 Tagen (" in page
