"""Read a chat export into one shape, whatever app wrote it.

``read_export`` looks at the bytes (a ``.txt``, a ``.json`` or a ``.zip``) and
returns the chats it holds, each a list of ``ChatMessage`` with the sender's
name as the export spells it, the time as an aware UTC datetime, the text, the
names of attached files and whether the line is the app's own (a system line
such as "Messages and calls are end-to-end encrypted").

WhatsApp writes the sender's wall-clock time without a zone: the caller says
which zone to read it in. Telegram Desktop and Slack write instants.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from django.utils.translation import gettext as _

WHATSAPP, TELEGRAM, SLACK = "whatsapp", "telegram", "slack"
# What one export may hold: larger files are refused before they are read.
MAX_UNPACKED = 200 * 1024 * 1024


class ChatError(ValueError):
    """The file is no chat export this importer can read; the text says why, for people."""


@dataclass(frozen=True)
class ChatMessage:
    sender: str
    sent_at: datetime
    text: str
    attachments: tuple[str, ...] = ()
    is_system: bool = False


@dataclass
class Chat:
    """One conversation of an export; ``key`` names it across exports of the same chat."""

    platform: str
    key: str
    title: str
    messages: list[ChatMessage] = field(default_factory=list)
    # Names of the files that came with the export (a WhatsApp zip's media).
    media: list[str] = field(default_factory=list)
    # The zip they are in, and each file's path in it by name: read only when a line names one.
    archive: zipfile.ZipFile | None = field(default=None, repr=False, compare=False)
    media_paths: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def media_size(self, name: str) -> int | None:
        """The unpacked size of the export's file ``name``, or None when the export does not hold it."""
        path = self.media_paths.get(name)
        if self.archive is None or path is None:
            return None
        return self.archive.getinfo(path).file_size

    def media_bytes(self, name: str) -> bytes | None:
        """The content of the export's file ``name``, or None when the export does not hold it."""
        path = self.media_paths.get(name)
        if self.archive is None or path is None:
            return None
        try:
            return self.archive.read(path)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError):
            return None

    @property
    def participants(self) -> list[str]:
        """Who wrote in the chat, most messages first (system lines not counted)."""
        counts: dict[str, int] = {}
        for message in self.messages:
            if not message.is_system and message.sender:
                counts[message.sender] = counts.get(message.sender, 0) + 1
        return sorted(counts, key=lambda name: (-counts[name], name.casefold()))


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ChatError(_("The file is not text in a known encoding."))


def _json(data: bytes) -> object:
    try:
        return json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise ChatError(_("The JSON file cannot be read: %(error)s") % {"error": exc.msg}) from exc


def _read_zip(data: bytes, filename: str, zone: tzinfo, date_order: str) -> list[Chat]:
    from engagements.chat.parsers import slack, telegram, whatsapp

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise ChatError(_("The archive is too large once unpacked."))
        names = {i.filename: i for i in infos}
        texts = [n for n in names if n.lower().endswith(".txt")]
        media = [n.rsplit("/", 1)[-1] for n in names if not n.lower().endswith((".txt", ".json"))]
        if texts:
            # WhatsApp's zip: the chat as _chat.txt (iOS) or "WhatsApp Chat with X.txt" (Android), media beside it.
            text_name = next((n for n in texts if n.endswith("_chat.txt")), texts[0])
            title_from = filename if text_name.endswith("_chat.txt") else text_name
            chat = whatsapp.parse(
                _decode(archive.read(names[text_name])), title_from, zone=zone, date_order=date_order
            )
            chat.media = media
            chat.archive = archive
            chat.media_paths = {
                n.rsplit("/", 1)[-1]: n for n in names if not n.lower().endswith((".txt", ".json"))
            }
            return [chat]
        result = next((n for n in names if n.rsplit("/", 1)[-1] == "result.json"), None)
        if result is not None:
            return telegram.parse(_json(archive.read(names[result])), zone=zone)
        if any(n.rsplit("/", 1)[-1] in ("channels.json", "users.json") for n in names):
            files = {n: archive.read(names[n]) for n in names if n.lower().endswith(".json")}
            return slack.parse({n: _json(d) for n, d in files.items()})
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError) as exc:
        raise ChatError(_("The zip archive is damaged.")) from exc
    raise ChatError(_("The archive holds no WhatsApp, Telegram or Slack export."))


def read_export(data: bytes, filename: str, *, zone: tzinfo, date_order: str = "auto") -> list[Chat]:
    """The chats in an export file; ``zone`` is the wall clock's zone where the file has none."""
    from engagements.chat.parsers import telegram, whatsapp

    if not data.strip():
        raise ChatError(_("The file is empty."))
    if data[:4] == b"PK\x03\x04":
        chats = _read_zip(data, filename, zone, date_order)
    elif data.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{":
        chats = telegram.parse(_json(data), zone=zone)
    else:
        chats = [whatsapp.parse(_decode(data), filename, zone=zone, date_order=date_order)]
    chats = [chat for chat in chats if chat.messages]
    if not chats:
        raise ChatError(_("The file holds no chat messages."))
    return chats
