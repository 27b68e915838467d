"""The provider admin: edits made there move due times like edits made in the app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements import services as engagement_services
from engagements.models import Exchange
from providers.models import Absence
from tests.admin_forms import admin_form_data
from tests.factories import EngagementFactory, ProviderFactory, request_logged

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(team):
    """An engagement whose request, sent a moment ago, waits for the provider's reply."""
    provider = ProviderFactory(workspace=team.workspace, time_zone="Europe/Berlin", country="DE")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    request_logged(engagement, by=team.alice)
    return engagement


def reply_due(engagement):
    return Exchange.objects.get(engagement=engagement).reply_due_at


def change_url(provider) -> str:
    return reverse("admin:providers_provider_change", args=[provider.pk])


def test_a_time_zone_changed_in_the_admin_moves_the_open_due_times(
    waiting, admin_client, django_capture_on_commit_callbacks
):
    before = reply_due(waiting)
    page = admin_client.get(change_url(waiting.provider))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            change_url(waiting.provider), admin_form_data(page, time_zone="Pacific/Auckland")
        )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    waiting.provider.refresh_from_db()
    assert waiting.provider.time_zone == "Pacific/Auckland"
    assert reply_due(waiting) != before


def test_an_admin_edit_that_leaves_the_calendar_alone_recomputes_nothing(
    waiting, admin_client, django_capture_on_commit_callbacks
):
    page = admin_client.get(change_url(waiting.provider))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            change_url(waiting.provider), admin_form_data(page, notes="Prefers chat.")
        )

    assert response.status_code == 302
    assert queued == []


def test_an_absence_added_in_the_admin_moves_the_open_due_times(
    waiting, admin_client, django_capture_on_commit_callbacks
):
    before = reply_due(waiting)
    page = admin_client.get(change_url(waiting.provider))
    today = timezone.localdate()
    data = admin_form_data(page)
    prefix = next(key for key in data if key.endswith("-TOTAL_FORMS") and "absence" in key).removesuffix(
        "-TOTAL_FORMS"
    )
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-starts_on": str(today - timedelta(days=1)),
            f"{prefix}-0-ends_on": str(today + timedelta(days=30)),
            f"{prefix}-0-note": "Holiday",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change_url(waiting.provider), data)

    assert response.status_code == 302
    assert Absence.objects.filter(provider=waiting.provider, note="Holiday").exists()
    assert reply_due(waiting) > before + timedelta(days=25)


def test_an_absence_deleted_in_the_admin_moves_the_due_times_back(
    waiting, admin_client, django_capture_on_commit_callbacks
):
    before = reply_due(waiting)
    today = timezone.localdate()
    absence = Absence.objects.create(
        provider=waiting.provider, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30)
    )
    engagement_services.provider_recompute(provider_id=waiting.provider.pk)
    assert reply_due(waiting) > before + timedelta(days=25)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:providers_absence_delete", args=[absence.pk]), {"post": "yes"}
        )

    assert response.status_code == 302
    assert reply_due(waiting) == before


def test_an_absence_of_ten_thousand_years_is_refused_in_the_admin(waiting, admin_client):
    response = admin_client.post(
        reverse("admin:providers_absence_add"),
        {"provider": waiting.provider.pk, "starts_on": "0001-01-01", "ends_on": "9999-12-31", "note": "x"},
    )

    assert response.status_code == 200
    assert "Enter a date between" in str(response.context["adminform"].form.errors)
    assert not Absence.objects.exists()
