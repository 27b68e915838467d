"""Documents: uploaded through the page, checked, downloaded only by members."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from providers import services
from providers.models import Document
from tests.providers.conftest import EXE, PDF, pdf_upload, png_bytes


def upload_url(provider) -> str:
    return reverse("providers:document_upload", kwargs={"ws": "acme", "pk": provider.pk})


def download_url(document) -> str:
    return reverse(
        "providers:document_download",
        kwargs={"ws": "acme", "pk": document.provider_id, "document_pk": document.pk},
    )


def delete_url(document) -> str:
    return reverse(
        "providers:document_delete",
        kwargs={"ws": "acme", "pk": document.provider_id, "document_pk": document.pk},
    )


def test_a_member_uploads_a_pdf(team, provider):
    data = {
        "kind": "contract",
        "title": "Framework contract",
        "expires_on": "2027-12-31",
        "file": pdf_upload(),
    }
    response = team.client_for(team.bob).post(upload_url(provider), data, follow=True)
    assert "The document was uploaded." in response.content.decode()
    document = provider.documents.get()
    assert document.title == "Framework contract"
    assert document.uploaded_by == team.bob
    assert str(document.expires_on) == "2027-12-31"


def test_a_png_is_accepted(team, provider):
    upload = SimpleUploadedFile("scan.png", png_bytes(), content_type="image/png")
    response = team.client_for(team.alice).post(upload_url(provider), {"kind": "other", "file": upload})
    assert response.status_code == 302
    assert provider.documents.get().title == "scan.png"


def test_a_renamed_executable_is_a_form_error_that_keeps_the_input(team, provider):
    upload = SimpleUploadedFile("contract.pdf", EXE, content_type="application/pdf")
    data = {"kind": "nda", "title": "Totally an NDA", "file": upload}
    response = team.client_for(team.alice).post(upload_url(provider), data)
    assert response.status_code == 200
    form = response.context["document_form"]
    assert "does not match its name" in " ".join(form.errors["file"])
    assert 'value="Totally an NDA"' in response.content.decode()
    assert not Document.objects.exists()


def test_an_oversized_file_is_a_form_error(team, provider, settings):
    settings.MAX_UPLOAD_SIZE = 50
    data = {"kind": "contract", "file": pdf_upload()}
    response = team.client_for(team.alice).post(upload_url(provider), data)
    assert "too large" in " ".join(response.context["document_form"].errors["file"])
    assert not Document.objects.exists()


def test_an_empty_or_missing_file_is_a_form_error(team, provider):
    empty = SimpleUploadedFile("empty.pdf", b"")
    response = team.client_for(team.alice).post(upload_url(provider), {"kind": "contract", "file": empty})
    assert response.context["document_form"].errors["file"]
    response = team.client_for(team.alice).post(upload_url(provider), {"kind": "contract"})
    assert response.context["document_form"].errors["file"]
    assert not Document.objects.exists()


def test_a_disallowed_type_is_a_form_error(team, provider):
    upload = SimpleUploadedFile("setup.exe", EXE)
    response = team.client_for(team.alice).post(upload_url(provider), {"kind": "other", "file": upload})
    assert "cannot be uploaded" in " ".join(response.context["document_form"].errors["file"])


def test_the_download_is_an_attachment_under_the_original_name(team, document):
    response = team.client_for(team.vera).get(download_url(document))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="NDA Ada.pdf"'
    assert "private" in response["Cache-Control"]


def test_a_document_whose_file_is_gone_is_404(team, document):
    document.file.storage.delete(document.file.name)
    assert team.client_for(team.alice).get(download_url(document)).status_code == 404


def test_uploaded_files_have_no_public_url_on_the_page(team, document):
    page = reverse("providers:detail", kwargs={"ws": "acme", "pk": document.provider_id})
    content = team.client_for(team.alice).get(page).content.decode()
    assert document.file.name not in content
    assert download_url(document) in content


def test_a_member_deletes_a_document_after_confirming(team, document):
    page = reverse("providers:detail", kwargs={"ws": "acme", "pk": document.provider_id})
    content = team.client_for(team.bob).get(page).content.decode()
    assert "Delete the document “NDA”?" in content
    response = team.client_for(team.bob).post(delete_url(document), follow=True)
    assert "The document was deleted." in response.content.decode()
    assert not Document.objects.exists()


def test_expiry_badges(team, provider):
    today = timezone.localdate()
    for title, expires in [("Old", today - timedelta(days=1)), ("Soon", today + timedelta(days=10))]:
        services.document_upload(provider=provider, upload=pdf_upload(), title=title, expires_on=expires)
    services.document_upload(
        provider=provider, upload=pdf_upload(), title="Fine", expires_on=today + timedelta(days=300)
    )
    page = reverse("providers:detail", kwargs={"ws": "acme", "pk": provider.pk})
    content = team.client_for(team.alice).get(page).content.decode()
    assert content.count(">expired</span>") == 1
    assert content.count(">expiring soon</span>") == 1


def test_an_expiry_date_in_year_9999_is_a_field_error(team, provider):
    data = {"kind": "nda", "title": "NDA", "expires_on": "9999-12-31", "file": pdf_upload()}
    response = team.client_for(team.alice).post(upload_url(provider), data)

    assert response.status_code == 200
    assert "Enter a date between" in " ".join(response.context["document_form"].errors["expires_on"])
    assert not Document.objects.exists()


def test_a_contract_may_run_for_decades(team, provider):
    expires = timezone.localdate() + timedelta(days=25 * 365)
    data = {"kind": "contract", "title": "Lease", "expires_on": expires.isoformat(), "file": pdf_upload()}

    team.client_for(team.alice).post(upload_url(provider), data)

    assert provider.documents.get().expires_on == expires


def test_the_service_refuses_an_expiry_date_before_2000(provider):
    with pytest.raises(ValidationError) as info:
        services.document_upload(
            provider=provider, upload=pdf_upload(), title="Old", expires_on=date(1999, 1, 1)
        )
    assert "expires_on" in info.value.message_dict
    assert not Document.objects.exists()
