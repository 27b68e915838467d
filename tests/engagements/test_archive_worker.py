"""A real Celery worker builds an export started on the page, and loads it into a fresh workspace."""

from __future__ import annotations

import io
import zipfile

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from engagements import services
from engagements.models import DataArchive, Message
from outsourcing.celery import app as celery_app
from tests.factories import EngagementFactory, MembershipFactory, ProviderFactory, WorkspaceFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_builds_the_export_and_then_loads_it_into_a_fresh_workspace(
    team, through_the_broker, finished_tasks
):
    provider = ProviderFactory(workspace=team.workspace, name="Ana")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(engagement=engagement, direction="out", kind="request", body="Please")
    fresh = WorkspaceFactory(slug="fresh")
    MembershipFactory(workspace=fresh, user=team.alice, role="owner")
    client = team.client_for(team.alice)
    client.get(
        reverse("archive:index", kwargs={"ws": "acme"})
    )  # the session is written before the worker runs

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        response = client.post(reverse("archive:export", kwargs={"ws": "acme"}))
        assert finished_tasks.wait_for("engagements.tasks.build_export"), finished_tasks.results
        export = DataArchive.objects.get(workspace=team.workspace)
        with export.file.open("rb") as handle:
            data = handle.read()
        client.post(
            reverse("archive:import", kwargs={"ws": "fresh"}),
            {"archive": SimpleUploadedFile("acme.zip", data, "application/zip")},
        )
        assert finished_tasks.wait_for("engagements.tasks.run_import"), finished_tasks.results

    assert response.status_code == 302
    assert export.status == DataArchive.Status.DONE and export.percent == 100
    assert "json/messages.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    imported = DataArchive.objects.get(workspace=fresh)
    assert imported.status == DataArchive.Status.DONE, imported.error
    assert Message.objects.filter(workspace=fresh, body="Please").count() == 1
