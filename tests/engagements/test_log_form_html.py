"""The engagement page's log form written in Python reads exactly as ``{% crispy log_form %}`` wrote it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict

from engagements.forms import MessageLogForm
from outsourcing.filter_form_html import filter_form_html
from tests.factories import EngagementFactory

CRISPY = Template("{% load crispy_forms_tags %}{% crispy form %}")
TAG = Template("{% load filter_forms %}{% form_html form %}")


def unbound(engagement) -> MessageLogForm:
    return MessageLogForm(initial=MessageLogForm.initial_for(engagement, direction="in", kind=""))


def focused(engagement) -> MessageLogForm:
    return MessageLogForm(
        initial=MessageLogForm.initial_for(engagement, direction="out", kind="follow_up"), autofocus=True
    )


def empty_post(engagement) -> MessageLogForm:
    form = MessageLogForm({})
    form.is_valid()
    return form


def bad_values(engagement) -> MessageLogForm:
    form = MessageLogForm(
        {
            "direction": "sideways",
            "kind": "reply",
            "channel": "<b>",
            "occurred_at_0": "2026-13-40",
            "occurred_at_1": "10:00",
            "subject": "O'Brien & <Sons> " * 30,
            "body": "</textarea><script>alert(1)</script> & more",
        }
    )
    form.is_valid()
    return form


def in_the_future(engagement) -> MessageLogForm:
    later = timezone.localtime() + timezone.timedelta(days=2)
    form = MessageLogForm(
        {
            "direction": "out",
            "kind": "request",
            "channel": "email",
            "occurred_at": later.strftime("%Y-%m-%dT%H:%M"),
            "subject": "Logo",
            "body": "Please <3",
        }
    )
    form.is_valid()
    return form


def service_errors(engagement) -> MessageLogForm:
    # What the view adds when the service refuses the message: on the attachments, and for the form.
    form = MessageLogForm(
        {
            "direction": "in",
            "kind": "reply",
            "channel": "chat",
            "occurred_at": "2026-01-05T09:30",
            "body": "ok",
        },
        MultiValueDict({"attachments": [SimpleUploadedFile("a <b>.txt", b"x", "text/plain")]}),
    )
    form.is_valid()
    form.add_error("attachments", "“a <b>.txt” is not a file type we keep.")
    form.add_error(None, "The engagement is <closed> & archived.")
    return form


MAKERS: list[Callable[..., MessageLogForm]] = [
    unbound,
    focused,
    empty_post,
    bad_values,
    in_the_future,
    service_errors,
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("make", MAKERS)
def test_the_log_form_renders_what_crispy_did(team, language, make):
    engagement = EngagementFactory(workspace=team.workspace, owner=team.alice)
    with translation.override(language):
        # Crispy adds classes to the widgets as it draws them: each gets a form of its own.
        before = CRISPY.render(Context({"form": make(engagement)}))
        after = TAG.render(Context({"form": make(engagement)}))
        assert filter_form_html(make(engagement)) is not None
    assert after == before


class StoredFile:
    name = "old <b>.txt"
    url = "/media/old.txt"

    def __str__(self) -> str:
        return self.name


def test_a_file_input_with_a_current_file_is_left_to_crispy(db):
    def make() -> MessageLogForm:
        form = MessageLogForm()
        form.fields["attachments"].initial = StoredFile()
        return form

    assert filter_form_html(make()) is None
    assert TAG.render(Context({"form": make()})) == CRISPY.render(Context({"form": make()}))
