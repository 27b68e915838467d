"""The provider services: the one place each write rule lives."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from providers import services
from providers.models import Absence, Document, Provider
from tests.providers.conftest import EXE, PDF, pdf_upload, png_bytes


def test_creating_a_provider_stores_its_emails_and_skills(team):
    provider = services.provider_create(
        workspace=team.workspace,
        name="Ada",
        emails=[" Ada@Example.net ", "office@example.net", "ada@example.net"],
        skills=["seo", "Copy editing"],
    )
    assert [e.email for e in provider.emails.all()] == ["ada@example.net", "office@example.net"]
    assert sorted(s.name for s in provider.skills.all()) == ["Copy editing", "seo"]
    assert provider.workspace == team.workspace


def test_updating_the_emails_replaces_them(provider):
    services.provider_update(provider=provider, emails=["new@example.net"])
    assert [e.email for e in provider.emails.all()] == ["new@example.net"]


def test_updating_without_emails_keeps_them(provider):
    services.provider_update(provider=provider, name="Ada L.")
    provider.refresh_from_db()
    assert provider.name == "Ada L."
    assert provider.emails.count() == 2


def test_skills_are_deduplicated_case_insensitively(team):
    provider = services.provider_create(
        workspace=team.workspace, name="Bo", skills=["Copy  editing", "copy editing", "COPY EDITING", "seo"]
    )
    assert sorted(s.name for s in provider.skills.all()) == ["Copy editing", "seo"]


def test_an_unknown_field_is_refused(team):
    with pytest.raises(TypeError):
        services.provider_create(workspace=team.workspace, name="X", workspace_id=1)


def test_a_negative_rate_is_refused(team):
    with pytest.raises(ValidationError):
        services.provider_create(workspace=team.workspace, name="X", rate_amount=-1, rate_currency="EUR")


def test_setting_the_status_archives_a_provider(provider):
    services.provider_set_status(provider=provider, status=Provider.Status.ARCHIVED)
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ARCHIVED


def test_an_unknown_status_is_refused(provider):
    with pytest.raises(ValidationError):
        services.provider_set_status(provider=provider, status="gone")


def test_an_absence_is_added(provider):
    absence = services.absence_add(
        provider=provider, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 14), note="Summer"
    )
    assert list(provider.absences.all()) == [absence]


def test_an_absence_cannot_end_before_it_starts(provider):
    with pytest.raises(ValidationError) as info:
        services.absence_add(provider=provider, starts_on=date(2026, 8, 14), ends_on=date(2026, 8, 1))
    assert "ends_on" in info.value.message_dict
    assert not Absence.objects.exists()


def test_an_absence_note_longer_than_allowed_is_refused(provider):
    with pytest.raises(ValidationError):
        services.absence_add(
            provider=provider, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 2), note="x" * 201
        )


def test_a_small_pdf_is_accepted(team, provider):
    document = services.document_upload(
        provider=provider, upload=pdf_upload(), title="Contract", uploaded_by=team.alice
    )
    assert document.content_type == "application/pdf"
    assert document.original_name == "contract.pdf"
    assert document.size == len(PDF)
    with document.file.open("rb") as handle:
        assert handle.read() == PDF


def test_a_small_png_is_accepted_and_titled_after_its_file(provider):
    upload = SimpleUploadedFile("scan.png", png_bytes(), content_type="image/png")
    document = services.document_upload(provider=provider, upload=upload, title="", kind="other")
    assert document.content_type == "image/png"
    assert document.title == "scan.png"


def test_the_stored_name_does_not_come_from_the_user(provider):
    document = services.document_upload(
        provider=provider, upload=pdf_upload("../../etc/passwd.pdf"), title="x"
    )
    name = document.file.name or ""
    assert ".." not in name
    assert name.startswith(f"documents/{provider.workspace_id}/")


def test_an_executable_renamed_pdf_is_refused(provider):
    upload = SimpleUploadedFile("invoice.pdf", EXE, content_type="application/pdf")
    with pytest.raises(ValidationError, match="does not match"):
        services.document_upload(provider=provider, upload=upload, title="Invoice")
    assert not Document.objects.exists()


def test_an_oversized_file_is_refused(provider, settings):
    settings.MAX_UPLOAD_SIZE = 100
    upload = SimpleUploadedFile("big.pdf", PDF + b"%" * 200, content_type="application/pdf")
    with pytest.raises(ValidationError, match="too large"):
        services.document_upload(provider=provider, upload=upload, title="Big")
    assert not Document.objects.exists()


def test_an_empty_file_is_refused(provider):
    upload = SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf")
    with pytest.raises(ValidationError, match="empty"):
        services.document_upload(provider=provider, upload=upload, title="Empty")


def test_deleting_a_document_removes_its_file(document):
    storage, name = document.file.storage, document.file.name
    assert storage.exists(name)
    services.document_delete(document=document)
    assert not storage.exists(name)
    assert not Document.objects.exists()
