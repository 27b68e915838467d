"""Logging, editing, deleting and restoring messages; the version history; attachments."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, Message
from tests.engagements.conftest import url
from tests.factories import EngagementFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
BERLIN = ZoneInfo("Europe/Berlin")


def local_input(when) -> str:
    """A datetime as "2026-12-04T09:30" in the display time zone (log_data splits it)."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def log_data(**overrides):
    """The form as a browser sends it: the "When" as a date input and a time input."""
    data = {
        "direction": "out",
        "kind": "request",
        "channel": "email",
        "occurred_at": local_input(timezone.now() - timedelta(hours=2)),
        "subject": "Kick-off",
        "body": "Hello\nthere",
    }
    data.update(overrides)
    day, hour = data.pop("occurred_at").split("T")
    return {**data, "occurred_at_0": day, "occurred_at_1": hour}


def test_the_log_form_defaults_to_an_outbound_request_then_a_follow_up(team, engagement):
    client = team.client_for(team.alice)
    form = client.get(url("detail", pk=engagement.pk)).context["log_form"]
    assert (form.initial["direction"], form.initial["kind"]) == ("out", "request")
    services.message_log(engagement=engagement, direction="out", kind="request")
    form = client.get(url("detail", pk=engagement.pk)).context["log_form"]
    assert form.initial["kind"] == "follow_up"


def test_htmx_logging_swaps_the_log_and_returns_a_fresh_form(team):
    engagement = EngagementFactory(workspace=team.workspace, status="draft")
    response = team.client_for(team.bob).post(url("message_create", pk=engagement.pk), log_data(), **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="engagement-log"' in page
    assert "Kick-off" in page
    assert 'hx-swap-oob="true"' in page  # the status header: the draft is now requested
    assert "Message logged." in page
    assert response.context["log_form"].is_bound is False
    message = Message.objects.get(engagement=engagement)
    assert (message.author, message.subject, message.body) == (team.bob, "Kick-off", "Hello\nthere")
    assert Engagement.objects.get(pk=engagement.pk).status == "requested"


def test_the_entered_time_is_read_in_the_users_time_zone(team, engagement):
    team.alice.time_zone = "America/New_York"
    team.alice.save(update_fields=["time_zone"])
    data = log_data(occurred_at="2025-01-15T09:30")
    team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data, **HTMX)
    message = Message.objects.get(engagement=engagement)
    assert message.occurred_at.isoformat() == "2025-01-15T14:30:00+00:00"


def test_a_back_dated_time_round_trips_through_the_date_and_time_inputs(team, engagement):
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    client = team.client_for(team.alice)
    three_days_ago = timezone.localdate(timezone.now(), BERLIN) - timedelta(days=3)
    data = log_data(occurred_at=f"{three_days_ago.isoformat()}T07:45")
    assert client.post(url("message_create", pk=engagement.pk), data).status_code == 302
    message = Message.objects.get(engagement=engagement)
    assert timezone.localtime(message.occurred_at, BERLIN).replace(tzinfo=None) == datetime.combine(
        three_days_ago, time(7, 45)
    )
    page = client.get(url("message_edit", pk=message.pk)).content.decode()
    assert f'type="date" name="occurred_at_0" value="{three_days_ago.isoformat()}"' in page
    assert 'type="time" name="occurred_at_1" value="07:45"' in page


def test_the_when_field_names_the_time_zone_it_is_read_in(team, engagement):
    team.alice.time_zone = "Asia/Manila"
    team.alice.save(update_fields=["time_zone"])
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert 'id="id_occurred_at_zone"' in page
    assert "Manila (UTC+8)</span>" in page
    assert 'aria-describedby="id_occurred_at_zone"' in page


def test_one_combined_when_value_is_still_read(team, engagement):
    data = {k: v for k, v in log_data().items() if not k.startswith("occurred_at")}
    data["occurred_at"] = "2025-01-15T09:30"
    team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data)
    message = Message.objects.get(engagement=engagement)
    assert timezone.localtime(message.occurred_at, BERLIN).strftime("%Y-%m-%d %H:%M") == "2025-01-15 09:30"


def test_a_time_without_a_date_is_an_error(team, engagement):
    data = {**log_data(), "occurred_at_0": ""}
    response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data, **HTMX)
    assert response.context["log_form"].errors["occurred_at"] == ["Enter the date and the time."]
    assert not Message.objects.exists()


def test_htmx_errors_come_back_in_the_form_with_the_input_kept(team, engagement):
    future = local_input(timezone.now() + timedelta(days=2))
    data = log_data(occurred_at=future, subject="s" * 301, body="Keep me")
    response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data, **HTMX)
    assert response.status_code == 200
    form = response.context["log_form"]
    assert form.errors["occurred_at"] == ["A message cannot be logged in the future."]
    assert "subject" in form.errors
    page = response.content.decode()
    assert "Keep me" in page
    assert 'id="engagement-log"' in page
    assert "<html" not in page
    assert not Message.objects.exists()


def test_a_bad_upload_is_a_field_error(team, engagement):
    data = log_data(attachments=[SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/octet-stream")])
    response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), data, **HTMX)
    assert "attachments" in response.context["log_form"].errors
    assert not Message.objects.exists()


def test_several_files_can_be_attached(team, engagement):
    files = [SimpleUploadedFile(f"n{i}.txt", b"note", "text/plain") for i in range(2)]
    response = team.client_for(team.alice).post(
        url("message_create", pk=engagement.pk), log_data(attachments=files), **HTMX
    )
    assert response.status_code == 200
    assert Message.objects.get().attachments.count() == 2


def test_without_javascript_logging_redirects_back(team, engagement):
    response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), log_data())
    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("detail", pk=engagement.pk) + f"#message-{message.pk}"


def test_without_javascript_errors_render_the_whole_page(team, engagement):
    response = team.client_for(team.alice).post(url("message_create", pk=engagement.pk), log_data(kind="x"))
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "kind" in response.context["log_form"].errors


@pytest.mark.parametrize(("who", "code"), [("vera", 403), ("charlie", 404)])
def test_viewers_and_outsiders_cannot_log(team, engagement, who, code):
    response = team.client_for(getattr(team, who)).post(url("message_create", pk=engagement.pk), log_data())
    assert response.status_code == code
    assert not Message.objects.exists()


def test_an_anonymous_visitor_cannot_log(team, engagement):
    assert team.client_for(None).post(url("message_create", pk=engagement.pk), log_data()).status_code == 302


@pytest.mark.parametrize(("who", "code"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_the_message_edit_form_is_for_members(team, message, who, code):
    assert team.client_for(getattr(team, who)).get(url("message_edit", pk=message.pk)).status_code == code


def test_editing_a_message_keeps_the_old_version(team, engagement, message):
    data = log_data(subject="Better subject", occurred_at=local_input(message.occurred_at))
    response = team.client_for(team.bob).post(url("message_edit", pk=message.pk), data)
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.subject, message.version) == ("Better subject", 2)
    history = team.client_for(team.vera).get(url("message_history", pk=message.pk)).content.decode()
    assert "Better subject" in history
    assert "Please write the copy" in history
    detail = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert url("message_history", pk=message.pk) in detail


def test_editing_errors_keep_the_input(team, message):
    data = log_data(subject="New words", occurred_at=local_input(timezone.now() + timedelta(days=1)))
    response = team.client_for(team.alice).post(url("message_edit", pk=message.pk), data)
    assert response.status_code == 200
    assert "occurred_at" in response.context["form"].errors
    assert 'value="New words"' in response.content.decode()
    message.refresh_from_db()
    assert message.version == 1


@pytest.mark.parametrize(("who", "code"), [("vera", 200), ("charlie", 404)])
def test_the_history_is_readable_by_members_only(team, message, who, code):
    assert team.client_for(getattr(team, who)).get(url("message_history", pk=message.pk)).status_code == code


def test_deleting_strikes_the_message_through_and_restore_brings_it_back(team, engagement, message):
    client = team.client_for(team.bob)
    assert client.post(url("message_delete", pk=message.pk)).status_code == 302
    assert Engagement.objects.get(pk=engagement.pk).awaiting_reply is False
    page = client.get(url("detail", pk=engagement.pk)).content.decode()
    assert "is-deleted" in page
    assert "Deleted by bob@example.com" in page
    assert url("message_restore", pk=message.pk) in page
    assert client.post(url("message_restore", pk=message.pk)).status_code == 302
    assert Engagement.objects.get(pk=engagement.pk).awaiting_reply is True


def test_a_deleted_message_cannot_be_edited(team, message):
    services.message_delete(message=message, by=team.alice)
    response = team.client_for(team.alice).get(url("message_edit", pk=message.pk))
    assert response.status_code == 302


@pytest.mark.parametrize("action", ["message_delete", "message_restore"])
@pytest.mark.parametrize(("who", "code"), [("vera", 403), ("charlie", 404)])
def test_viewers_and_outsiders_cannot_delete_or_restore(team, message, action, who, code):
    assert team.client_for(getattr(team, who)).post(url(action, pk=message.pk)).status_code == code
    assert Message.objects.get(pk=message.pk).deleted_at is None


def test_deleting_asks_for_confirmation(team, engagement, message):
    page = team.client_for(team.alice).get(url("detail", pk=engagement.pk)).content.decode()
    assert 'data-confirm="Delete this message?' in page


@pytest.fixture
def attachment(engagement):
    message = services.message_log(
        engagement=engagement,
        direction="in",
        kind="reply",
        attachments=[SimpleUploadedFile("brief.txt", b"the brief", "text/plain")],
    )
    return message.attachments.get()


@pytest.mark.parametrize("who", ["alice", "bob", "vera"])
def test_members_download_an_attachment_under_its_original_name(team, attachment, who):
    response = team.client_for(getattr(team, who)).get(url("attachment", pk=attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"the brief"
    assert 'filename="brief.txt"' in response["Content-Disposition"]


def test_an_outsider_cannot_download_an_attachment(team, attachment):
    assert team.client_for(team.charlie).get(url("attachment", pk=attachment.pk)).status_code == 404
    assert team.client_for(None).get(url("attachment", pk=attachment.pk)).status_code == 302


def test_a_missing_file_is_a_404(team, attachment):
    attachment.file.storage.delete(attachment.file.name)
    assert team.client_for(team.alice).get(url("attachment", pk=attachment.pk)).status_code == 404


def test_an_outsider_cannot_see_a_message(team, message):
    client = team.client_for(team.charlie)
    assert client.get(url("message_edit", pk=message.pk)).status_code == 404
    assert client.get(url("message_history", pk=message.pk)).status_code == 404
