"""A generated chat, written out in every export layout, reads back as the same messages."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagements.chat.parsers import ChatMessage, read_export, slack, telegram, whatsapp

# No daylight saving: every wall-clock time names one instant, so the round trip is exact.
ZONE = ZoneInfo("Asia/Kolkata")
WORDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzäöüßABCXYZ0123456789 !?,'-", min_size=1, max_size=30
).filter(lambda t: t.strip() and not t.strip().endswith(("omitted", "weggelassen")))
NAMES = st.sampled_from(["Max Owner", "Anna Design", "Bernd", "Zoë Ämter", "J. R. Smith"])
FILES = st.from_regex(r"[a-z0-9]{1,8}\.(jpg|pdf|docx)", fullmatch=True)


@st.composite
def chats(draw: st.DrawFn, *, minutes: bool) -> list[ChatMessage]:
    when = draw(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1))).replace(
        tzinfo=UTC, microsecond=0
    )
    messages = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        when += timedelta(seconds=draw(st.integers(min_value=0, max_value=10**6)))
        sent = when.replace(second=0) if minutes else when
        if draw(st.integers(0, 9)) == 0:
            messages.append(ChatMessage("Group", sent, draw(WORDS).strip(), is_system=True))
            continue
        lines = draw(st.lists(WORDS, min_size=0 if minutes else 1, max_size=3))
        files = tuple(draw(st.lists(FILES, max_size=1)))
        if not lines and not files:
            lines = ["ok"]
        messages.append(ChatMessage(draw(NAMES), sent, "\n".join(lines), attachments=files))
    return messages


def _read(data: bytes, filename: str) -> list[ChatMessage]:
    (chat,) = read_export(data, filename, zone=ZONE)
    return chat.messages


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chats(minutes=True), st.sampled_from(whatsapp.LAYOUTS))
def test_a_whatsapp_chat_reads_back_the_same_in_every_layout(messages, layout):
    text = whatsapp.render(messages, layout, ZONE)
    expected = messages
    if layout.startswith("android"):
        # Android writes system lines without a sender.
        expected = [replace(m, sender="") if m.is_system else m for m in messages]
    assert _read(text.encode(), "WhatsApp Chat with Anna.txt") == expected


@settings(max_examples=40, deadline=None)
@given(chats(minutes=False), st.booleans())
def test_a_telegram_chat_reads_back_the_same_with_text_as_string_or_entities(messages, entities):
    data = json.dumps(telegram.render("Anna", 7, messages, entities=entities)).encode()
    assert _read(data, "result.json") == messages


@settings(max_examples=40, deadline=None)
@given(chats(minutes=False))
def test_a_slack_channel_reads_back_the_same(messages):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, content in slack.render("general", messages).items():
            archive.writestr(path, json.dumps(content))
    assert _read(out.getvalue(), "export.zip") == messages
