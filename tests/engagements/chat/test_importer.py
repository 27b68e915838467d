"""Logging a chat export: direction and kind, channel and source, re-import, exchanges like e-mail, ranges."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from engagements import services
from engagements.chat import importer
from engagements.chat.importer import DateRange
from engagements.models import ChatSource, Engagement, Exchange, Message
from tests.engagements.chat.conftest import BERLIN, chat_of
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def _run(team, anna, engagement, chat=None, **kwargs):
    chat = chat or chat_of()
    kwargs.setdefault("participants", {"Max Owner": f"member:{team.alice.pk}", "Anna Design": "provider"})
    return importer.chat_import(
        workspace=team.workspace, chat=chat, provider=anna, engagement=engagement, zone=BERLIN, **kwargs
    )


def test_an_import_logs_each_line_with_its_direction_kind_channel_and_source(team, anna, landing):
    plan = _run(team, anna, landing)
    assert plan.applied and plan.counts["imported"] == 5 and plan.system == 1
    rows = list(landing.messages.order_by("occurred_at", "id"))
    assert [(m.direction, m.kind) for m in rows] == [
        ("out", "request"),
        ("out", "follow_up"),
        ("in", "reply"),
        ("in", "reply"),
        ("in", "reply"),
    ]
    assert {m.channel for m in rows} == {Message.Channel.WHATSAPP}
    assert {m.source for m in rows} == {Message.Source.CHAT}
    assert rows[0].author == team.alice and rows[2].author is None and rows[2].sender == "Anna Design"
    assert rows[4].body == "Here is the draft\n[file: draft.pdf]"


def test_importing_the_same_export_again_adds_nothing(team, anna, landing):
    _run(team, anna, landing)
    again = _run(team, anna, landing)
    assert again.counts["imported"] == 0 and again.already == 5
    assert landing.messages.count() == 5


def test_a_longer_export_of_the_same_chat_adds_only_the_new_lines(team, anna, landing):
    chat = chat_of()
    later = chat.messages.pop()
    assert _run(team, anna, landing, chat=chat).counts["imported"] == 4
    chat.messages.append(later)
    plan = _run(team, anna, landing, chat=chat)
    assert plan.counts["imported"] == 1 and plan.already == 4


def test_the_same_line_twice_in_a_minute_is_logged_twice_and_only_once_each(team, anna, landing):
    chat = chat_of()
    chat.messages.append(chat.messages[-1])
    assert _run(team, anna, landing, chat=chat).counts["imported"] == 6
    assert _run(team, anna, landing, chat=chat).already == 6


def test_requests_and_replies_pair_into_exchanges_exactly_like_e_mail(team, anna, landing):
    _run(team, anna, landing)
    mailed = EngagementFactory(workspace=team.workspace, provider=anna, owner=team.alice, title="By mail")
    for m in landing.messages.order_by("occurred_at", "id"):
        services.message_log(
            engagement=mailed, direction=m.direction, kind=m.kind, occurred_at=m.occurred_at, body=m.body
        )
    fields = ("requested_at", "replied_at", "followups", "reply_due_at")
    by_chat = list(Exchange.objects.filter(engagement=landing).order_by("requested_at").values_list(*fields))
    by_mail = list(Exchange.objects.filter(engagement=mailed).order_by("requested_at").values_list(*fields))
    assert by_chat == by_mail and len(by_chat) == 1 and by_chat[0][2] == 1 and by_chat[0][1] is not None


def test_a_draft_engagement_is_requested_once_its_first_request_is_logged(team, anna, landing):
    landing.status = Engagement.Status.DRAFT
    landing.save(update_fields=["status"])
    _run(team, anna, landing)
    landing.refresh_from_db()
    assert landing.status == Engagement.Status.REQUESTED


def test_a_line_of_ours_while_an_earlier_logged_request_is_open_is_a_follow_up(team, anna, landing):
    services.message_log(
        engagement=landing,
        direction="out",
        kind="request",
        occurred_at=chat_of().messages[1].sent_at.replace(hour=1),
        body="by mail before the chat",
    )
    _run(team, anna, landing)
    kinds = list(landing.messages.filter(source=Message.Source.CHAT).values_list("kind", flat=True)[:2])
    assert kinds == ["follow_up", "follow_up"]


def test_skipped_and_unmapped_participants_are_counted_not_logged(team, anna, landing):
    plan = _run(team, anna, landing, participants={"Anna Design": "provider"})
    assert plan.counts["imported"] == 3 and plan.skipped == 2


def test_a_dry_run_writes_nothing_and_remembers_nothing(team, anna, landing):
    plan = _run(team, anna, landing, dry_run=True)
    assert len(plan.new) == 5 and not plan.applied
    assert not Message.objects.exists() and not ChatSource.objects.exists()


def test_the_participants_are_remembered_per_chat_and_prefill_the_next_guess(team, anna, landing):
    mapping = {"Max Owner": f"member:{team.bob.pk}", "Anna Design": "provider"}
    _run(team, anna, landing, participants=mapping)
    source = importer.source_remembered(workspace=team.workspace, chat=chat_of())
    assert source is not None and source.provider == anna and source.participants == mapping
    guess = importer.participants_guess(
        workspace=team.workspace, chat=chat_of(), provider=anna, remembered=source.participants
    )
    assert guess == mapping


def test_without_a_remembered_mapping_the_guess_matches_names_and_leaves_the_provider(team, anna):
    team.alice.first_name, team.alice.last_name = "Max", "Owner"
    team.alice.save(update_fields=["first_name", "last_name"])
    guess = importer.participants_guess(workspace=team.workspace, chat=chat_of(), provider=anna)
    assert guess == {"Max Owner": f"member:{team.alice.pk}", "Anna Design": "provider"}


def test_messages_split_by_date_ranges_onto_several_engagements(team, anna, landing):
    second = EngagementFactory(workspace=team.workspace, provider=anna, owner=team.alice, title="Second")
    plan = _run(
        team,
        anna,
        None,
        ranges=[DateRange(landing, None, date(2025, 12, 30)), DateRange(second, date(2025, 12, 31))],
    )
    assert plan.counts["imported"] == 5
    assert landing.messages.count() == 3 and second.messages.count() == 2


def test_a_message_no_range_holds_and_no_engagement_is_counted_outside(team, anna, landing):
    plan = _run(team, anna, None, ranges=[DateRange(landing, date(2025, 12, 31), None)])
    assert plan.counts["imported"] == 2 and plan.outside == 3


def test_an_engagement_of_another_provider_or_workspace_is_refused(team, anna, landing):
    other = EngagementFactory(workspace=team.workspace, provider=ProviderFactory(workspace=team.workspace))
    with pytest.raises(ValidationError):
        _run(team, anna, other)
    foreign = EngagementFactory(workspace=team.other_workspace)
    with pytest.raises(ValidationError):
        _run(team, anna, landing, ranges=[DateRange(foreign)])
    assert not Message.objects.exists()


def test_a_member_of_another_workspace_cannot_be_mapped(team, anna, landing):
    plan = _run(
        team,
        anna,
        landing,
        participants={"Max Owner": f"member:{team.charlie.pk}", "Anna Design": "provider"},
    )
    assert plan.skipped == 2 and not landing.messages.filter(direction="out").exists()


def test_a_long_chat_goes_in_by_copy_with_its_exchanges_the_same_as_row_by_row(team, anna, landing):
    from datetime import UTC, datetime, timedelta

    from engagements.chat.parsers import Chat, ChatMessage

    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    lines = [
        ChatMessage("Max Owner" if i % 3 != 2 else "Anna Design", start + timedelta(hours=i), f"line {i}")
        for i in range(1800)
    ]
    chat = Chat(platform="whatsapp", key="long", title="long", messages=lines)
    plan = _run(team, anna, landing, chat=chat)
    assert plan.counts["imported"] == 1800
    by_copy = list(
        Exchange.objects.filter(engagement=landing)
        .order_by("requested_at")
        .values_list("requested_at", "replied_at", "followups", "request_message__body")
    )
    assert len(by_copy) == 600 and by_copy[0] == (start, start + timedelta(hours=2), 1, "line 0")
    mailed = EngagementFactory(workspace=team.workspace, provider=anna, owner=team.alice, title="By mail")
    services.messages_log(
        [
            services.LogItem(
                Message(
                    workspace_id=team.workspace.pk,
                    engagement=mailed,
                    direction=m.direction,
                    kind=m.kind,
                    occurred_at=m.occurred_at,
                    body=m.body,
                )
            )
            for m in landing.messages.order_by("occurred_at", "id")
        ]
    )
    by_rows = list(
        Exchange.objects.filter(engagement=mailed)
        .order_by("requested_at")
        .values_list("requested_at", "replied_at", "followups", "request_message__body")
    )
    assert by_copy == by_rows
