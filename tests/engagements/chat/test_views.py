"""The chat import pages: upload, who is who, preview, import; access by role; fixed query counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.chat.parsers import ChatMessage
from engagements.chat.parsers.whatsapp import render
from engagements.models import ChatSource, ChatUpload, Message
from tests.engagements.chat.conftest import ANDROID_EN, FIXTURES

pytestmark = pytest.mark.django_db
UPLOAD = reverse("chat:upload", kwargs={"ws": "acme"})


def _mapping_url(pk: int, ws: str = "acme") -> str:
    return reverse("chat:mapping", kwargs={"ws": ws, "pk": pk})


def _upload(client, name: str = ANDROID_EN, data: bytes | None = None):
    data = (FIXTURES / name).read_bytes() if data is None else data
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def _stored(team, name: str = ANDROID_EN, data: bytes | None = None) -> ChatUpload:
    data = (FIXTURES / name).read_bytes() if data is None else data
    return ChatUpload.objects.create(
        workspace=team.workspace, filename=name, data=data, created_by=team.alice
    )


def _choices(team, anna, landing, action: str = "preview") -> dict[str, str]:
    return {
        "chat": "Anna Design",
        "provider": str(anna.pk),
        "engagement": str(landing.pk),
        "time_zone": "Europe/Berlin",
        "date_order": "auto",
        "who_0": "provider",
        "who_1": f"member:{team.alice.pk}",
        "action": action,
    }


def test_an_uploaded_export_goes_on_to_the_mapping_step(team):
    response = _upload(team.client_for(team.bob))
    stored = ChatUpload.objects.get()
    assert response.status_code == 302 and response.url == _mapping_url(stored.pk)
    assert stored.created_by == team.bob and stored.filename == ANDROID_EN


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", b"hello\nthis is not a chat"),
        ("x.zip", b"PK\x03\x04broken"),
        ("r.json", b"{bad"),
        ("e.txt", b""),
    ],
)
def test_garbage_is_refused_on_the_upload_page_with_an_error_not_a_500(team, name, data):
    response = _upload(team.client_for(team.alice), name, data)
    assert response.status_code == 200 and not ChatUpload.objects.exists()
    assert response.context["form"].errors["file"]


def test_a_file_over_the_limit_is_refused(team, settings):
    settings.CHAT_IMPORT_MAX_BYTES = 100
    response = _upload(team.client_for(team.alice))
    assert "too large" in str(response.context["form"].errors["file"])


def test_the_mapping_page_prefills_the_guess_and_previews_what_will_be_logged(team, anna, landing):
    stored = _stored(team)
    client = team.client_for(team.alice)
    page = client.get(_mapping_url(stored.pk))
    assert page.status_code == 200
    # A one-to-one chat: the one sender who is no member is the provider.
    assert page.context["form"]["who_0"].initial == "provider"
    preview = client.post(_mapping_url(stored.pk), _choices(team, anna, landing))
    assert preview.status_code == 200 and not Message.objects.exists()
    plan = preview.context["plan"]
    assert len(plan.new) == 5 and plan.system == 1
    assert b'data-testid="chat-line"' in preview.content


def test_import_logs_the_messages_and_goes_to_the_engagement(team, anna, landing):
    stored = _stored(team)
    client = team.client_for(team.bob)
    response = client.post(_mapping_url(stored.pk), _choices(team, anna, landing, "import"))
    assert response.status_code == 302
    assert response.url == reverse("engagements:detail", kwargs={"ws": "acme", "pk": landing.pk})
    assert landing.messages.count() == 5
    stored.refresh_from_db()
    assert stored.imported_at is not None and stored.result["imported"] == 5
    assert ChatSource.objects.get().participants["Max Owner"] == f"member:{team.alice.pk}"
    again = client.post(_mapping_url(stored.pk), _choices(team, anna, landing))
    assert again.context["plan"].already == 5 and not again.context["plan"].new


def test_a_new_engagement_named_on_the_page_is_created_with_the_messages(team, anna, landing):
    stored = _stored(team)
    data = {**_choices(team, anna, landing, "import"), "engagement": "", "new_title": "WhatsApp with Anna"}
    response = team.client_for(team.alice).post(_mapping_url(stored.pk), data)
    new = anna.engagements.get(title="WhatsApp with Anna")
    assert response.status_code == 302 and new.messages.count() == 5 and new.owner == team.alice


def test_split_by_date_ranges_from_the_page(team, anna, landing):
    from tests.factories import EngagementFactory

    second = EngagementFactory(workspace=team.workspace, provider=anna, title="Second")
    stored = _stored(team)
    data = {
        **_choices(team, anna, landing, "import"),
        "range_1_start": "2025-12-31",
        "range_1_engagement": str(second.pk),
    }
    team.client_for(team.alice).post(_mapping_url(stored.pk), data)
    assert landing.messages.count() == 3 and second.messages.count() == 2


def test_an_engagement_of_another_provider_is_an_error_on_the_form(team, anna, landing):
    from tests.factories import EngagementFactory

    other = EngagementFactory(workspace=team.workspace)
    stored = _stored(team)
    data = {**_choices(team, anna, landing), "range_1_engagement": str(other.pk)}
    response = team.client_for(team.alice).post(_mapping_url(stored.pk), data)
    assert (
        response.status_code == 200 and response.context["form"].errors and response.context["plan"] is None
    )


def test_a_participant_left_unchosen_is_an_error_not_a_guess(team, anna, landing):
    stored = _stored(team)
    data = {**_choices(team, anna, landing), "who_1": ""}
    response = team.client_for(team.alice).post(_mapping_url(stored.pk), data)
    assert "who_1" in response.context["form"].errors


def test_a_viewer_may_not_import_and_an_outsider_finds_nothing(team, anna, landing):
    stored = _stored(team)
    viewer = team.client_for(team.vera)
    assert viewer.get(UPLOAD).status_code == 403
    assert viewer.post(_mapping_url(stored.pk), _choices(team, anna, landing, "import")).status_code == 403
    outsider = team.client_for(team.charlie)
    assert outsider.get(_mapping_url(stored.pk)).status_code == 404
    assert outsider.get(_mapping_url(stored.pk, ws="other")).status_code == 404
    assert (
        outsider.post(
            _mapping_url(stored.pk, ws="other"), _choices(team, anna, landing, "import")
        ).status_code
        == 404
    )
    assert not Message.objects.exists()


def _long_chat(lines: int) -> bytes:
    start = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)
    messages = [
        ChatMessage("Anna Design" if i % 2 else "Max Owner", start + timedelta(minutes=i), f"line {i}")
        for i in range(lines)
    ]
    from zoneinfo import ZoneInfo

    return render(messages, "android_en", ZoneInfo("Europe/Berlin")).encode()


def test_the_preview_reads_the_same_number_of_queries_for_few_and_many_lines(team, anna, landing):
    client = team.client_for(team.alice)
    counts = []
    for lines in (4, 400):
        stored = _stored(team, "WhatsApp Chat with Anna Design.txt", _long_chat(lines))
        with CaptureQueriesContext(connection) as queries:
            response = client.post(_mapping_url(stored.pk), _choices(team, anna, landing))
        assert len(response.context["plan"].new) == lines
        counts.append(len(queries))
    # The first request also saves the fresh session (three queries); the lines add none.
    assert counts[1] <= counts[0] <= 25


def test_a_large_chat_is_imported_by_a_worker_and_the_page_says_how_it_went(
    team, anna, landing, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_IMPORT_INLINE_MESSAGES = 3
    stored = _stored(team)
    client = team.client_for(team.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_mapping_url(stored.pk), _choices(team, anna, landing, "import"))
    assert response.status_code == 302 and response.url == _mapping_url(stored.pk)
    stored.refresh_from_db()
    assert stored.status == ChatUpload.Status.DONE and stored.result["imported"] == 5
    assert landing.messages.filter(author=team.alice).count() == 2
    page = client.get(_mapping_url(stored.pk))
    assert b'data-testid="chat-status"' in page.content and b"5 messages logged" in page.content


def test_a_queued_import_whose_engagement_went_away_fails_with_a_reason(team, anna, landing):
    from engagements.chat import importer

    stored = _stored(team)
    options = {
        "chat": "Anna Design",
        "time_zone": "Europe/Berlin",
        "date_order": "auto",
        "provider": anna.pk,
        "participants": {"Anna Design": "provider"},
        "engagement": 999999,
        "by": team.alice.pk,
    }
    ChatUpload.objects.filter(pk=stored.pk).update(status=ChatUpload.Status.QUEUED, options=options)
    assert importer.upload_run(stored.pk) == "failed"
    stored.refresh_from_db()
    assert stored.status == ChatUpload.Status.FAILED and stored.error
    # A redelivered task finds nothing queued and does nothing.
    assert importer.upload_run(stored.pk) == "not queued"
    assert not Message.objects.exists()
