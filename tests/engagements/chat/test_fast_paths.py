"""The chat import's fast paths make what the ordinary ones make: rows, fingerprints, the collector left as it was."""

from __future__ import annotations

import gc
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models.signals import post_init

from engagements.chat import importer
from engagements.chat.parsers import Chat, ChatMessage
from engagements.models import Engagement, Message

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def _made(maker: importer._MessageMaker, engagement: Engagement, author, **values) -> Message:
    return maker(engagement=engagement, author=author, **values)


def _state(message: Message) -> dict:
    state = {k: v for k, v in message._state.__dict__.items() if k != "fields_cache"}
    return {**state, "fields_cache": message._state.fields_cache}


def test_a_copied_row_is_the_row_the_ordinary_way_makes(team, landing):
    maker = importer._MessageMaker(workspace=team.workspace, channel=Message.Channel.WHATSAPP)
    values = {
        "direction": "out",
        "kind": "request",
        "occurred_at": WHEN,
        "body": "hi\tthere",
        "sender": "Max",
    }
    first = _made(maker, landing, team.alice, **values)  # the model of the others: made the ordinary way
    copied = _made(maker, landing, team.alice, **values)
    ordinary = maker._ordinary(landing, team.alice, values)
    assert copied is not first and copied._state is not first._state
    assert copied._state.fields_cache is not first._state.fields_cache
    for made in (first, copied):
        assert {k: v for k, v in made.__dict__.items() if k != "_state"} == {
            k: v for k, v in ordinary.__dict__.items() if k != "_state"
        }
        assert _state(made) == _state(ordinary)
        assert made.engagement is landing and made.author is team.alice and made.author_id == team.alice.pk
        assert made._state.adding and made._state.db == "default"
    # Each row's values are its own.
    other = _made(maker, landing, None, **{**values, "body": "other", "direction": "in"})
    assert (other.body, other.direction, other.author, other.author_id) == ("other", "in", None, None)
    assert (copied.body, copied.direction) == ("hi\tthere", "out")


def test_a_row_for_an_engagement_not_saved_yet_gets_its_id_on_writing(team, anna):
    maker = importer._MessageMaker(workspace=team.workspace, channel=Message.Channel.WHATSAPP)
    new = Engagement(workspace=team.workspace, provider=anna, owner=team.alice, title="New")
    rows = [_made(maker, new, None, direction="in", kind="reply", occurred_at=WHEN) for _ in range(2)]
    assert [r.engagement_id for r in rows] == [None, None] and all(r.engagement is new for r in rows)


def test_a_column_that_is_not_one_is_refused(team, landing):
    maker = importer._MessageMaker(workspace=team.workspace, channel=Message.Channel.WHATSAPP)
    with pytest.raises(TypeError):
        _made(maker, landing, None, nonsense=1)
    with pytest.raises(TypeError):
        _made(maker, landing, None, author_id=team.alice.pk)


def test_with_an_init_receiver_connected_every_row_is_made_the_ordinary_way(team, landing):
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(receiver, sender=Message)
    try:
        maker = importer._MessageMaker(workspace=team.workspace, channel=Message.Channel.WHATSAPP)
        rows = [_made(maker, landing, None, direction="in", kind="reply", occurred_at=WHEN) for _ in range(3)]
    finally:
        post_init.disconnect(receiver, sender=Message)
    assert all(row in heard for row in rows)


def test_fingerprints_keep_their_format_so_a_later_export_finds_earlier_lines():
    lines = [
        ChatMessage("Anna", WHEN, "same"),
        ChatMessage("Anna", WHEN, "same"),
        ChatMessage("Max", WHEN + timedelta(minutes=1), "ünï\ncode"),
    ]
    chat = Chat(platform="whatsapp", key="Anna Design", title="Anna Design", messages=lines)
    # The format every logged line's key has (changing it would log every line again).
    expected = [
        hashlib.sha256(
            "\x1f".join(("whatsapp", "Anna Design", m.sender, m.sent_at.isoformat(), m.text, str(n))).encode()
        ).hexdigest()
        for m, n in zip(lines, (1, 2, 1), strict=True)
    ]
    assert importer.fingerprints(chat) == expected


def test_the_collector_is_paused_during_an_import_and_left_as_it_was():
    assert gc.isenabled()
    with importer.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), importer.collector_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with importer.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
