"""A WhatsApp zip's media: kept as attachments of the line that names them, once, within the upload rules."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engagements.chat import importer
from engagements.chat.parsers import ChatMessage, read_export
from engagements.chat.parsers.whatsapp import render
from engagements.models import Attachment

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(30)


def _zip(files: dict[str, bytes], layout: str = "android_en") -> bytes:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    messages = [
        ChatMessage("Max Owner", start, "Please send the photos"),
        ChatMessage("Anna Design", start + timedelta(minutes=1), "first one", ("IMG-20251231-WA0001.jpg",)),
        ChatMessage("Anna Design", start + timedelta(minutes=2), "", ("00000012-PHOTO-2025-12-31.png",)),
        ChatMessage(
            "Anna Design", start + timedelta(minutes=3), "this one got lost", ("IMG-20251231-WA0002.jpg",)
        ),
        ChatMessage("Anna Design", start + timedelta(minutes=4), "a program", ("setup.exe",)),
        ChatMessage("Anna Design", start + timedelta(minutes=5), "no file here"),
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("WhatsApp Chat with Anna Design.txt", render(messages, layout, BERLIN))
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _import(team, anna, landing, data: bytes):
    (chat,) = read_export(data, "WhatsApp Chat - Anna Design.zip", zone=BERLIN)
    return importer.chat_import(
        workspace=team.workspace,
        chat=chat,
        provider=anna,
        participants={"Max Owner": f"member:{team.alice.pk}", "Anna Design": "provider"},
        engagement=landing,
        zone=BERLIN,
    )


FILES = {
    "IMG-20251231-WA0001.jpg": JPEG,
    "00000012-PHOTO-2025-12-31.png": PNG,
    "setup.exe": b"MZ\x90\x00" + bytes(20),
}


@pytest.mark.parametrize("layout", ["android_en", "ios_en"])
def test_the_files_a_line_names_are_stored_on_its_message_when_the_zip_holds_them(
    team, anna, landing, layout
):
    _import(team, anna, landing, _zip(FILES, layout))
    kept = {a.original_name: a for a in Attachment.objects.select_related("message")}
    assert set(kept) == {"IMG-20251231-WA0001.jpg", "00000012-PHOTO-2025-12-31.png"}
    jpeg = kept["IMG-20251231-WA0001.jpg"]
    assert jpeg.message.body == "first one" and jpeg.size == len(JPEG) and jpeg.content_type == "image/jpeg"
    with jpeg.file.open("rb") as stored:
        assert stored.read() == JPEG
    # Stored under the workspace's folder with a name of its own, as every upload.
    stored_name = str(jpeg.file.name)
    assert stored_name.startswith(f"attachments/{team.workspace.pk}/") and "WA0001" not in stored_name
    assert kept["00000012-PHOTO-2025-12-31.png"].message.body == ""


def test_a_file_missing_from_the_zip_or_refused_by_the_upload_rules_stays_named_in_the_body(
    team, anna, landing
):
    _import(team, anna, landing, _zip(FILES))
    lost = landing.messages.get(body__startswith="this one got lost")
    assert lost.body == "this one got lost\n[file: IMG-20251231-WA0002.jpg]" and not lost.attachments.exists()
    program = landing.messages.get(body__startswith="a program")
    assert "[file: setup.exe]" in program.body and not program.attachments.exists()


def test_a_file_over_the_upload_limit_is_not_kept(team, anna, landing, settings):
    settings.MAX_UPLOAD_SIZE = len(JPEG) - 1
    _import(team, anna, landing, _zip(FILES))
    assert list(Attachment.objects.values_list("original_name", flat=True)) == [
        "00000012-PHOTO-2025-12-31.png"
    ]
    assert landing.messages.filter(body="first one\n[file: IMG-20251231-WA0001.jpg]").exists()


def test_importing_the_zip_again_adds_no_attachment_twice(team, anna, landing):
    data = _zip(FILES)
    _import(team, anna, landing, data)
    again = _import(team, anna, landing, data)
    assert again.counts["imported"] == 0
    assert Attachment.objects.count() == 2


def test_the_preview_reads_no_file_and_saves_nothing(team, anna, landing):
    (chat,) = read_export(_zip(FILES), "WhatsApp Chat - Anna Design.zip", zone=BERLIN)
    plan = importer.chat_import(
        workspace=team.workspace,
        chat=chat,
        provider=anna,
        participants={"Max Owner": f"member:{team.alice.pk}", "Anna Design": "provider"},
        engagement=landing,
        zone=BERLIN,
        dry_run=True,
    )
    assert len(plan.new) == 6 and not plan.files and not Attachment.objects.exists()
