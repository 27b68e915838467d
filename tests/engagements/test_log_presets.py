"""Logging from a phone: Needs attention links straight to the log form, its direction and kind
preset and its text focused (tap 1), so "Log message" after typing is tap 2."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from engagements import services
from engagements.models import Flag, Message
from tests.engagements.conftest import url
from tests.engagements.test_attention import delivery_flagged, flagged, our_answer_owed, row, waiting


def _log_form(client, engagement, **params):
    response = client.get(url("message_create", pk=engagement.pk), params)
    assert response.status_code == 200
    return response.context["log_form"], response.content.decode()


def test_direction_in_presets_a_reply_and_focuses_the_text(team, engagement):
    form, page = _log_form(team.client_for(team.alice), engagement, direction="in")
    assert (form.initial["direction"], form.initial["kind"]) == ("in", "reply")
    textarea = re.search(r'<textarea[^>]*name="body"[^>]*>', page)
    assert textarea is not None and " autofocus" in textarea.group(0)
    # Switching the direction back to "to the provider" suggests a request, not a reply.
    assert 'data-out-kind="request"' in page


def test_without_a_direction_the_form_is_as_before_and_not_focused(team, engagement):
    services.message_log(engagement=engagement, direction="out", kind="request")
    form, page = _log_form(team.client_for(team.alice), engagement)
    assert (form.initial["direction"], form.initial["kind"]) == ("out", "follow_up")
    assert "autofocus" not in page
    assert 'data-out-kind="follow_up"' in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"direction": "in", "kind": "delivery"}, ("in", "delivery")),
        ({"direction": "in", "kind": "bounce"}, ("in", "reply")),  # no kind a person logs: ignored
        ({"direction": "in", "kind": "request"}, ("in", "reply")),  # an inbound request is no choice
        ({"direction": "out", "kind": "request"}, ("out", "request")),
        ({"direction": "out", "kind": "reply"}, ("out", "follow_up")),
        ({"direction": "sideways"}, ("out", "follow_up")),
    ],
)
def test_the_preset_takes_only_values_that_fit(team, engagement, params, expected):
    services.message_log(engagement=engagement, direction="out", kind="request")
    form, _page = _log_form(team.client_for(team.alice), engagement, **params)
    assert (form.initial["direction"], form.initial["kind"]) == expected


def test_a_viewer_gets_no_log_form_by_a_preset_link(team, engagement):
    response = team.client_for(team.vera).get(url("message_create", pk=engagement.pk), {"direction": "in"})
    assert response.status_code == 403


def test_each_row_on_needs_attention_links_to_the_log_form_it_needs(team, provider):
    reply = flagged(team.workspace, provider, "Texts", overdue_by=timedelta(days=2))
    delivery = delivery_flagged(team.workspace, provider, "Photos", late_by_days=3)
    bounced = flagged(team.workspace, provider, "Logo", overdue_by=timedelta(days=1))
    Flag.objects.filter(pk=bounced.pk).update(kind=Flag.Kind.BOUNCED)
    waiting_for = waiting(team.workspace, provider, "Flyer", due_in=timedelta(hours=5))
    answer = our_answer_owed(team.workspace, provider, "Colours")

    page = team.client_for(team.alice).get(url("attention")).content.decode()

    def link(engagement_pk: int, query: str) -> str:
        return f'href="{url("message_create", pk=engagement_pk)}?{query}"'

    assert link(reply.engagement_id, "direction=in") in row(page, "Texts")
    assert "Log reply" in row(page, "Texts")
    assert link(delivery.engagement_id, "direction=in&amp;kind=delivery") in row(page, "Photos")
    assert "Log delivery" in row(page, "Photos")
    assert link(bounced.engagement_id, "direction=out&amp;kind=request") in row(page, "Logo")
    assert "Log request" in row(page, "Logo")
    assert link(waiting_for.engagement_id, "direction=in") in row(page, "Flyer")
    assert link(answer.pk, "direction=out") in row(page, "Colours")


def test_a_viewer_sees_no_log_links_on_needs_attention(team, provider):
    flagged(team.workspace, provider, "Texts", overdue_by=timedelta(days=2))
    page = team.client_for(team.vera).get(url("attention")).content.decode()
    assert "Log reply" not in page


def test_the_reply_logged_from_the_preset_form_is_saved_as_typed(team, engagement):
    client = team.client_for(team.bob)
    form, _page = _log_form(client, engagement, direction="in")
    data = {
        **{name: form.initial[name] for name in ("direction", "kind", "channel")},
        "occurred_at": timezone.localtime(form.initial["occurred_at"]).strftime("%Y-%m-%dT%H:%M"),
        "body": "Fotos kommen Freitag.",
    }
    response = client.post(url("message_create", pk=engagement.pk), data)
    assert response.status_code == 302
    message = Message.objects.get(engagement=engagement)
    assert (message.direction, message.kind, message.body) == ("in", "reply", "Fotos kommen Freitag.")
