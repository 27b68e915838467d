"""The provider page: profile, status changes, panels, and a query count that stays flat."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.safestring import mark_safe

from providers import panels, services
from providers.models import Provider
from tests.providers.conftest import pdf_upload


def detail_url(provider) -> str:
    return reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk})


def status_url(provider) -> str:
    return reverse("providers:status", kwargs={"ws": "acme", "pk": provider.pk})


def test_the_page_shows_the_whole_profile(team, provider):
    content = team.client_for(team.vera).get(detail_url(provider)).content.decode()
    assert '<a href="mailto:ada@example.net">ada@example.net</a>' in content
    assert 'href="https://analytical.example" target="_blank" rel="noopener noreferrer"' in content
    assert (
        'href="https://www.upwork.com/freelancers/ada" target="_blank" rel="noopener noreferrer"' in content
    )
    for text in [
        "Analytical Ltd",
        "Germany",
        "English, German",
        "SEO",
        "Copy editing",
        "€45.00",
        "Prefers e-mail.",
    ]:
        assert text in content


@time_machine.travel(datetime(2026, 12, 18, 15, 0, tzinfo=UTC), tick=False)
def test_the_page_shows_the_providers_local_time(team, provider):
    services.provider_update(provider=provider, time_zone="Asia/Manila")
    content = team.client_for(team.alice).get(detail_url(provider)).content.decode()
    assert "Fri 23:00" in content  # 15:00 UTC is 23:00 in Manila


@time_machine.travel(datetime(2026, 12, 18, 15, 0, tzinfo=UTC), tick=False)
def test_the_time_zone_reads_as_city_and_offset_never_as_an_abbreviation(team, provider):
    services.provider_update(provider=provider, time_zone="Asia/Manila")
    content = team.client_for(team.alice).get(detail_url(provider)).content.decode()
    assert '<span title="Asia/Manila" data-testid="time-zone">Manila (UTC+8)</span>' in content
    # Manila's own abbreviation is PST, which everyone reads as California's.
    assert "PST" not in content


def test_a_viewer_sees_no_edit_controls(team, provider, absence, document):
    content = team.client_for(team.vera).get(detail_url(provider)).content.decode()
    assert reverse("providers:edit", kwargs={"ws": "acme", "pk": provider.pk}) not in content
    assert status_url(provider) not in content
    assert "Add absence" not in content
    assert "Upload" not in content
    assert "/delete/" not in content


def test_a_member_sees_the_edit_controls(team, provider, absence, document):
    content = team.client_for(team.bob).get(detail_url(provider)).content.decode()
    assert reverse("providers:edit", kwargs={"ws": "acme", "pk": provider.pk}) in content
    assert "Add absence" in content
    assert "data-confirm=" in content  # archiving and deleting ask first


def test_a_member_archives_a_provider(team, provider):
    response = team.client_for(team.bob).post(status_url(provider), {"status": "archived"}, follow=True)
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ARCHIVED
    assert "Ada Lovelace was archived." in response.content.decode()


def test_an_archived_provider_can_be_reactivated(team, provider):
    services.provider_set_status(provider=provider, status="archived")
    client = team.client_for(team.alice)
    assert "Reactivate" in client.get(detail_url(provider)).content.decode()
    client.post(status_url(provider), {"status": "active"})
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ACTIVE


def test_pausing_and_blocking(team, provider):
    client = team.client_for(team.alice)
    client.post(status_url(provider), {"status": "paused"})
    provider.refresh_from_db()
    assert provider.status == Provider.Status.PAUSED
    client.post(status_url(provider), {"status": "blocked"})
    provider.refresh_from_db()
    assert provider.status == Provider.Status.BLOCKED


def test_an_unknown_status_changes_nothing(team, provider):
    response = team.client_for(team.alice).post(status_url(provider), {"status": "gone"}, follow=True)
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ACTIVE
    assert "Unknown status." in response.content.decode()


def test_registered_panels_render_in_order(team, provider, monkeypatch):
    monkeypatch.setattr(panels, "_panels", [])
    panels.register(lambda request, p: mark_safe(f'<section id="first">{p.pk}</section>'))
    panels.register(lambda request, p: mark_safe('<section id="second"></section>'))
    content = team.client_for(team.alice).get(detail_url(provider)).content.decode()
    assert f'<section id="first">{provider.pk}</section>' in content
    assert content.index('id="first"') < content.index('id="second"')


def _count_queries(client, provider) -> int:
    client.get(detail_url(provider))  # warm-up: the session is written once
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(detail_url(provider))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_absences_documents_and_skills(team, provider, monkeypatch):
    # Only this app's own sections: other apps' panels have their own tests.
    monkeypatch.setattr(panels, "_panels", [])
    client = team.client_for(team.alice)
    services.absence_add(provider=provider, starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 2))
    services.document_upload(provider=provider, upload=pdf_upload(), title="C1", uploaded_by=team.alice)
    few = _count_queries(client, provider)
    for day in range(3, 20):
        services.absence_add(provider=provider, starts_on=date(2026, 2, day), ends_on=date(2026, 2, day))
        services.document_upload(
            provider=provider, upload=pdf_upload(), title=f"C{day}", uploaded_by=team.bob
        )
    services.provider_update(provider=provider, skills=["seo", "ebook", *[f"tag {i}" for i in range(15)]])
    many = _count_queries(client, provider)
    assert few == many
