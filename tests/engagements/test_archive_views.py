"""The export page: owners only; start, follow (htmx polling), download, delete; upload an import."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from engagements.archive import services as archives
from engagements.models import DataArchive
from providers.models import Provider
from tests.engagements.archive_helpers import export_now, zip_bytes
from tests.factories import MembershipFactory, ProviderFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _url(name, ws="acme", **kwargs):
    return reverse(f"archive:{name}", kwargs={"ws": ws, **kwargs})


@pytest.fixture
def done_export(team):
    ProviderFactory(workspace=team.workspace, name="Ana")
    return export_now(team.workspace)


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_see_the_export_page(team, who, status):
    response = team.client_for(getattr(team, who)).get(_url("index"))

    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_download_an_export(team, done_export, who, status):
    response = team.client_for(getattr(team, who)).get(_url("download", pk=done_export.pk))

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/zip"
        assert b"".join(response.streaming_content)[:2] == b"PK"
        assert "no-store" in response["Cache-Control"]


def test_another_workspaces_export_is_a_404_even_for_an_owner(team, done_export):
    response = team.client_for(team.charlie).get(_url("download", ws="other", pk=done_export.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_cannot_start_an_export(team, who):
    response = team.client_for(getattr(team, who)).post(_url("export"))

    assert response.status_code == 403
    assert not DataArchive.objects.exists()


def test_an_owner_starts_an_export_and_is_taken_to_its_progress(team, django_capture_on_commit_callbacks):
    ProviderFactory(workspace=team.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.alice).post(_url("export"))

    archive = DataArchive.objects.get()
    assert response.status_code == 302 and response.url == _url("status", pk=archive.pk)
    assert archive.status == DataArchive.Status.DONE  # the task ran inline
    page = team.client_for(team.alice).get(response.url)
    assert _url("download", pk=archive.pk) in page.content.decode()


def test_the_progress_is_polled_by_htmx_while_the_export_runs_and_stops_when_done(team):
    archive = DataArchive.objects.create(
        workspace=team.workspace, kind="export", status="running", percent=42, step="messages"
    )
    client = team.client_for(team.alice)

    partial = client.get(_url("status", pk=archive.pk), HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 1s"' in partial and "42 %" in partial and "Writing messages" in partial
    assert "<html" not in partial
    archive.status, archive.percent = "done", 100
    archive.save()
    assert (
        "hx-trigger" not in client.get(_url("status", pk=archive.pk), HTTP_HX_REQUEST="true").content.decode()
    )


def test_an_expired_export_cannot_be_downloaded_and_the_sweep_deletes_its_zip(team, done_export):
    done_export.expires_at = timezone.now() - timedelta(minutes=1)
    done_export.save()
    name = done_export.file.name

    assert team.client_for(team.alice).get(_url("download", pk=done_export.pk)).status_code == 404
    assert archives.archives_sweep() == 1
    done_export.refresh_from_db()
    assert not done_export.file
    assert not done_export.file.storage.exists(name)


def test_the_sweep_fails_runs_whose_worker_died(team):
    stuck = DataArchive.objects.create(
        workspace=team.workspace,
        kind="export",
        status="running",
        created_at=timezone.now() - timedelta(hours=7),
    )

    archives.archives_sweep()

    stuck.refresh_from_db()
    assert stuck.status == DataArchive.Status.FAILED and "stopped" in stuck.error


def test_an_owner_deletes_an_export_and_its_zip(team, done_export):
    name = done_export.file.name

    response = team.client_for(team.alice).post(_url("delete", pk=done_export.pk))

    assert response.status_code == 302
    assert not DataArchive.objects.exists()
    assert not done_export.file.storage.exists(name)


def test_members_cannot_delete_an_export(team, done_export):
    assert team.client_for(team.bob).post(_url("delete", pk=done_export.pk)).status_code == 403
    assert DataArchive.objects.filter(pk=done_export.pk).exists()


def test_an_owner_imports_an_export_into_a_new_empty_workspace(
    team, done_export, django_capture_on_commit_callbacks
):
    fresh = WorkspaceFactory(slug="fresh")
    MembershipFactory(workspace=fresh, user=team.alice, role="owner")
    upload = SimpleUploadedFile("acme.zip", zip_bytes(done_export), "application/zip")

    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.alice).post(_url("import", ws="fresh"), {"archive": upload})

    archive = DataArchive.objects.get(workspace=fresh)
    assert response.status_code == 302
    assert archive.status == DataArchive.Status.DONE, archive.error
    assert list(Provider.objects.filter(workspace=fresh).values_list("name", flat=True)) == ["Ana"]
    page = team.client_for(team.alice).get(_url("status", ws="fresh", pk=archive.pk)).content.decode()
    assert "Everything was imported" in page


def test_an_upload_that_is_not_an_export_shows_the_reason_on_the_form(team):
    fresh = WorkspaceFactory(slug="fresh")
    MembershipFactory(workspace=fresh, user=team.alice, role="owner")
    upload = SimpleUploadedFile("notes.zip", b"not a zip at all", "application/zip")

    response = team.client_for(team.alice).post(_url("import", ws="fresh"), {"archive": upload})

    assert response.status_code == 400
    assert "This is not a zip file." in response.content.decode()
    assert not DataArchive.objects.exists()


def test_the_import_form_is_offered_only_in_an_empty_workspace(team):
    ProviderFactory(workspace=team.workspace)

    page = team.client_for(team.alice).get(_url("index")).content.decode()

    assert 'data-testid="import-needs-empty"' in page and 'data-testid="start-import"' not in page


def test_the_list_of_exports_reads_a_fixed_number_of_queries(team, django_assert_max_num_queries):
    for _ in range(5):
        DataArchive.objects.create(workspace=team.workspace, kind="export", requested_by=team.alice)
    client = team.client_for(team.alice)
    client.get(_url("index"))

    with django_assert_max_num_queries(12):
        response = client.get(_url("index"))

    assert response.content.decode().count('data-testid="archive-row"') == 5


@pytest.mark.parametrize(("who", "shown"), [("alice", True), ("bob", False), ("vera", False)])
def test_the_workspace_menu_offers_export_and_import_to_owners_and_the_calendar_feed_to_all(team, who, shown):
    page = team.client_for(getattr(team, who)).get(reverse("engagements:list", kwargs={"ws": "acme"}))

    html = page.content.decode()
    assert ('data-testid="nav-archive"' in html) is shown
    assert 'data-testid="nav-calendar"' in html
