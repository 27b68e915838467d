"""The engagement and message-log services, through the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from engagements import services
from engagements.models import Attachment, Engagement, Exchange, Message, MessageVersion
from tests.factories import EngagementFactory, ProviderFactory

NOW = timezone.now().replace(microsecond=0)


def ago(days: float):
    return NOW - timedelta(days=days)


def log(engagement, direction="out", kind="request", days=0.0, **kwargs):
    return services.message_log(
        engagement=engagement, direction=direction, kind=kind, occurred_at=ago(days), **kwargs
    )


def test_a_request_opens_an_exchange_and_a_reply_closes_it(engagement):
    request = log(engagement, days=5)
    [exchange] = Exchange.objects.filter(engagement=engagement)
    assert exchange.is_open
    assert engagement.awaiting_reply is True
    reply = log(engagement, "in", "reply", days=2)
    exchange.refresh_from_db()
    assert exchange.request_message == request
    assert exchange.reply_message == reply
    assert exchange.reply_seconds == 3 * 86400
    engagement.refresh_from_db()
    assert engagement.awaiting_reply is False
    assert engagement.our_turn_since == reply.occurred_at


def test_a_follow_up_does_not_open_a_second_exchange(engagement):
    log(engagement, days=10)
    log(engagement, kind="follow_up", days=3)
    [exchange] = Exchange.objects.filter(engagement=engagement)
    assert exchange.followups == 1
    engagement.refresh_from_db()
    assert engagement.waiting_since == ago(10)


def test_a_back_dated_request_entered_after_its_reply_still_pairs(engagement):
    reply = log(engagement, "in", "reply", days=1)
    request = log(engagement, days=4)
    [exchange] = Exchange.objects.filter(engagement=engagement)
    assert (exchange.request_message, exchange.reply_message) == (request, reply)
    assert exchange.reply_seconds == 3 * 86400


def test_editing_a_messages_time_re_pairs_the_exchanges(engagement, team):
    request = log(engagement, days=4)
    reply = log(engagement, "in", "reply", days=2)
    # Moving the reply before the request means it answered nothing.
    services.message_edit(message=reply, by=team.alice, occurred_at=ago(6))
    [exchange] = Exchange.objects.filter(engagement=engagement)
    assert exchange.request_message == request
    assert exchange.is_open
    assert MessageVersion.objects.get(message=reply).occurred_at == ago(2)
    reply.refresh_from_db()
    assert reply.version == 2


def test_editing_without_changes_keeps_no_version(message, team):
    services.message_edit(message=message, by=team.alice, subject=message.subject)
    assert not MessageVersion.objects.filter(message=message).exists()


def test_a_soft_deleted_reply_stops_counting_and_restoring_brings_it_back(engagement, team):
    log(engagement, days=4)
    reply = log(engagement, "in", "reply", days=2)
    services.message_delete(message=reply, by=team.bob)
    [exchange] = Exchange.objects.filter(engagement=engagement)
    assert exchange.is_open
    assert Message.objects.get(pk=reply.pk).deleted_by == team.bob
    services.message_restore(message=reply, by=team.bob)
    exchange.refresh_from_db()
    assert exchange.reply_message_id == reply.pk


def test_a_deleted_message_cannot_be_edited(message, team):
    services.message_delete(message=message, by=team.alice)
    with pytest.raises(ValidationError):
        services.message_edit(message=message, by=team.alice, subject="New")


def test_a_draft_becomes_requested_on_the_first_request(team, provider):
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, status="draft")
    log(engagement, "note", "other", days=1)
    assert Engagement.objects.get(pk=engagement.pk).status == "draft"
    log(engagement, days=0.5)
    assert Engagement.objects.get(pk=engagement.pk).status == "requested"


def test_a_forbidden_status_move_raises_a_validation_error(engagement, team):
    with pytest.raises(ValidationError):
        services.engagement_set_status(engagement=engagement, status="completed", by=team.alice)
    with pytest.raises(ValidationError):
        services.engagement_set_status(engagement=engagement, status="nonsense", by=team.alice)
    assert Engagement.objects.get(pk=engagement.pk).status == "requested"


def test_an_allowed_status_move_is_recorded(engagement, team):
    services.engagement_set_status(engagement=engagement, status="in_progress", by=team.alice)
    assert Engagement.objects.get(pk=engagement.pk).status == "in_progress"
    assert engagement.status_changes.last().changed_by == team.alice


def test_a_message_in_the_future_is_rejected(engagement):
    with pytest.raises(ValidationError) as exc:
        services.message_log(
            engagement=engagement, direction="out", kind="request", occurred_at=NOW + timedelta(hours=1)
        )
    assert "occurred_at" in exc.value.message_dict
    assert not Message.objects.filter(engagement=engagement).exists()


def test_a_provider_of_another_workspace_is_rejected(team, engagement):
    foreign = ProviderFactory(workspace=team.other_workspace)
    with pytest.raises(ValidationError) as exc:
        services.engagement_create(
            workspace=team.workspace, provider=foreign, owner=team.alice, title="X", created_by=team.alice
        )
    assert "provider" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.engagement_update(engagement=engagement, by=team.alice, provider=foreign, owner=None)


def test_an_owner_from_another_workspace_is_rejected(team, provider):
    with pytest.raises(ValidationError) as exc:
        services.engagement_create(
            workspace=team.workspace, provider=provider, owner=team.charlie, title="X", created_by=None
        )
    assert "owner" in exc.value.message_dict


def test_a_bad_attachment_rolls_the_whole_message_back(engagement):
    bad = SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    with pytest.raises(ValidationError):
        log(engagement, attachments=[bad])
    assert not Message.objects.filter(engagement=engagement).exists()


def test_attachments_are_stored_with_their_original_name(engagement):
    message = log(engagement, attachments=[SimpleUploadedFile("notes.txt", b"hello", "text/plain")])
    [attachment] = Attachment.objects.filter(message=message)
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        "notes.txt",
        "text/plain",
        5,
    )


def test_a_message_dated_more_than_ten_years_back_is_refused(engagement):
    with pytest.raises(ValidationError) as error:
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            occurred_at=timezone.now() - timedelta(days=3651),
        )
    assert "occurred_at" in error.value.message_dict
