"""The chat export parsers, on exports written by hand in every layout (with the tricky lines)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engagements.chat.parsers import SLACK, TELEGRAM, WHATSAPP, ChatError, read_export, whatsapp

FIXTURES = Path(__file__).parent / "fixtures"
BERLIN = ZoneInfo("Europe/Berlin")


def read(name: str, zone=BERLIN, **kwargs):
    (chat,) = read_export((FIXTURES / name).read_bytes(), name, zone=zone, **kwargs)
    return chat


def test_android_english_12_hour_export_is_read_with_its_multi_line_message_and_system_line():
    chat = read("WhatsApp Chat with Anna Design.txt")
    assert chat.platform == WHATSAPP
    assert chat.title == chat.key == "Anna Design"
    first, request, details, answer, media, document = chat.messages
    assert first.is_system and first.sender == "" and "end-to-end encrypted" in first.text
    assert request.sender == "Max Owner" and not request.is_system
    # 9:05 AM Berlin wall clock in winter is 08:05 UTC.
    assert request.sent_at == datetime(2025, 12, 30, 8, 5, tzinfo=UTC)
    assert details.text == "Details:\n- hero image\n- two columns"
    assert answer.sent_at == datetime(2025, 12, 30, 12, 15, tzinfo=UTC)
    # 12:00 AM is midnight.
    assert media.sent_at == datetime(2025, 12, 30, 23, 0, tzinfo=UTC)
    assert media.text == "<Media omitted>" and not media.is_system
    assert document.attachments == ("draft.pdf",) and document.text == "Here is the draft"
    assert chat.participants == ["Anna Design", "Max Owner"]


def test_android_german_24_hour_export_is_read_day_first():
    chat = read("WhatsApp-Chat mit Bernd Texte.txt")
    assert chat.title == "Bernd Texte"
    system, _ask, answer, media, thanks = chat.messages
    assert system.is_system and "Ende-zu-Ende-verschlüsselt" in system.text
    assert answer.text == "Ja, klar.\nKommt morgen."
    assert media.text == "<Medien ausgeschlossen>"
    assert thanks.sent_at == datetime(2026, 1, 13, 16, 30, tzinfo=UTC)


def test_ios_english_export_with_brackets_seconds_and_left_to_right_marks_is_read():
    chat = read("ios_en_chat.txt", zone=ZoneInfo("America/New_York"))
    system, request, _answer, omitted, photo = chat.messages
    # iOS writes its system lines as from the chat, behind a U+200E mark.
    assert system.is_system and system.sender == "Anna Design"
    assert request.text == "Hi Anna, could you send the draft?\nLine two of the request"
    assert request.sent_at == datetime(2025, 12, 30, 14, 5, 7, tzinfo=UTC)
    assert omitted.text == "image omitted" and not omitted.is_system and omitted.sender == "Anna Design"
    assert photo.attachments == ("00000012-PHOTO-2025-12-31-21-06-00.jpg",)
    assert "\u200e" not in "".join(m.text + m.sender for m in chat.messages)


def test_ios_german_export_is_read():
    chat = read("ios_de_chat.txt")
    system, _ask, answer, media = chat.messages
    assert system.is_system
    assert answer.text == "Ja.\nMorgen." and answer.sent_at == datetime(2025, 12, 30, 20, 40, tzinfo=UTC)
    assert media.text == "Bild weggelassen" and not media.is_system


def test_whatsapp_zip_with_media_takes_its_title_from_the_archive_and_lists_the_media():
    chat = read("WhatsApp Chat - Anna Design.zip")
    assert chat.key == "Anna Design" and len(chat.messages) == 5
    assert chat.media == ["00000012-PHOTO-2025-12-31-21-06-00.jpg"]


def test_telegram_desktop_json_reads_text_as_string_and_as_entities_and_service_lines():
    chat = read("telegram_result.json")
    assert chat.platform == TELEGRAM and chat.title == "Carla VA" and chat.key == "telegram:4242"
    service, ask, answer, photo = chat.messages
    assert service.is_system
    assert ask.text == "Could you book the flights?" and ask.sent_at == datetime(
        2025, 12, 30, 9, 5, tzinfo=UTC
    )
    assert answer.text == "Done, see https://example.com/booking today"
    assert photo.attachments == ("photo_1@30-12-2025_10-01-00.jpg",)


def test_telegram_without_unix_times_reads_the_wall_clock_in_the_given_zone():
    data = json.loads((FIXTURES / "telegram_result.json").read_text())
    for item in data["messages"]:
        del item["date_unixtime"]
    (chat,) = read_export(json.dumps(data).encode(), "result.json", zone=BERLIN)
    assert chat.messages[1].sent_at == datetime(2025, 12, 30, 8, 5, tzinfo=UTC)


def test_slack_export_maps_user_ids_to_names_and_channel_joins_to_system_lines():
    chat = read("slack_export.zip")
    assert chat.platform == SLACK and chat.key == "slack:project-x" and chat.title == "#project-x"
    join, ask, fixed = chat.messages
    assert join.is_system and join.sender == "Dora Dev"
    assert ask.sender == "Max Owner" and ask.text == "Please fix the login bug"
    assert fixed.attachments == ("patch.diff",) and fixed.sent_at == datetime(
        2025, 12, 31, 9, 0, 0, 300, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"hello world\nnothing here",
        b"PK\x03\x04garbage",
        b"{not json",
        b'{"a": 1}',
        b"\xff\xfe\x00",
    ],
)
def test_garbage_is_refused_with_a_chat_error(data):
    with pytest.raises(ChatError):
        read_export(data, "upload.txt", zone=BERLIN)


def test_a_date_that_does_not_exist_is_a_chat_error_not_a_crash():
    with pytest.raises(ChatError):
        read_export(b"31.02.25, 10:00 - A: hi\n", "chat.txt", zone=BERLIN)


def test_ambiguous_dates_follow_the_order_asked_for():
    data = b"01/02/25, 10:00 - A: hi\n"
    (dmy,) = read_export(data, "chat.txt", zone=UTC, date_order="dmy")
    (mdy,) = read_export(data, "chat.txt", zone=UTC, date_order="mdy")
    assert dmy.messages[0].sent_at.month == 2 and mdy.messages[0].sent_at.month == 1


def test_a_day_above_twelve_anywhere_in_the_file_settles_the_order():
    data = b"01/02/25, 10:00 - A: hi\n25/02/25, 10:00 - A: again\n"
    (chat,) = read_export(data, "chat.txt", zone=UTC)
    assert chat.messages[0].sent_at == datetime(2025, 2, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filename", "title"),
    [
        ("WhatsApp Chat with Anna.txt", "Anna"),
        ("WhatsApp-Chat mit Anna.txt", "Anna"),
        ("WhatsApp Chat - Anna.zip", "Anna"),
        ("_chat.txt", ""),
        ("export.txt", ""),
    ],
)
def test_the_chat_title_comes_from_the_file_name_when_whatsapp_named_it(filename, title):
    assert whatsapp.title_of(filename) == title
