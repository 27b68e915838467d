"""Telegram Desktop's JSON export (``result.json``): one chat, or "all chats" with a list of them.

Each message has ``date`` (the exporting computer's wall clock) and, in exports since 2022,
``date_unixtime`` (the instant), which wins. ``text`` is a string or a list of pieces, plain
strings and entities such as ``{"type": "bold", "text": "…"}``. ``type: "service"`` lines
(joined, pinned, called) are the app's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from django.utils.translation import gettext as _

from engagements.chat.parsers import TELEGRAM, Chat, ChatError, ChatMessage

_FILES = ("photo", "file")


def text_of(value: Any) -> str:
    """A message's text, whether a string or a list of entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            piece if isinstance(piece, str) else str(piece.get("text", ""))
            for piece in value
            if isinstance(piece, str | dict)
        )
    return ""


def _when(item: dict[str, Any], zone: tzinfo) -> datetime:
    if str(item.get("date_unixtime", "")).isdigit():
        return datetime.fromtimestamp(int(item["date_unixtime"]), tz=UTC)
    local = datetime.fromisoformat(str(item["date"]))
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _chat(data: dict[str, Any], zone: tzinfo) -> Chat:
    title = str(data.get("name") or "")
    key = str(data.get("id") or title)
    messages = []
    for item in data.get("messages") or []:
        if not isinstance(item, dict) or ("date" not in item and "date_unixtime" not in item):
            continue
        try:
            when = _when(item, zone)
        except (ValueError, OverflowError, OSError) as exc:
            raise ChatError(
                _("A message has a date that cannot be read: %(date)s") % {"date": item.get("date")}
            ) from exc
        text = text_of(item.get("text"))
        if item.get("type") == "service":
            action = str(item.get("action") or "").replace("_", " ")
            sender = str(item.get("actor") or "")
            messages.append(ChatMessage(sender, when, text or action, is_system=True))
            continue
        files = tuple(
            str(item[k]).rsplit("/", 1)[-1] for k in _FILES if isinstance(item.get(k), str) and item[k]
        )
        messages.append(ChatMessage(str(item.get("from") or ""), when, text, attachments=files))
    return Chat(platform=TELEGRAM, key=f"telegram:{key}", title=title or key, messages=messages)


def parse(data: object, *, zone: tzinfo) -> list[Chat]:
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        return [_chat(data, zone)]
    chats = data.get("chats") if isinstance(data, dict) else None
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [_chat(c, zone) for c in chats["list"] if isinstance(c, dict)]
    raise ChatError(_("This JSON file is no Telegram Desktop export (no messages in it)."))


def render(
    title: str, chat_id: int, messages: list[ChatMessage], *, entities: bool = False
) -> dict[str, Any]:
    """``messages`` as Telegram Desktop exports them (the tests' round trip); text as entities if asked."""
    items: list[dict[str, Any]] = []
    for number, m in enumerate(messages, start=1):
        stamp = {
            "date": m.sent_at.replace(tzinfo=None).isoformat(),
            "date_unixtime": str(int(m.sent_at.timestamp())),
        }
        text: Any = m.text
        if entities and m.text:
            half = len(m.text) // 2
            text = [m.text[:half], {"type": "bold", "text": m.text[half:]}] if half else m.text
        if m.is_system:
            items.append(
                {
                    "id": number,
                    "type": "service",
                    **stamp,
                    "actor": m.sender,
                    "action": "pin_message",
                    "text": text,
                }
            )
            continue
        item: dict[str, Any] = {
            "id": number,
            "type": "message",
            **stamp,
            "from": m.sender,
            "from_id": f"user{abs(hash(m.sender)) % 10**9}",
            "text": text,
        }
        for name in m.attachments[:1]:
            item["file"] = f"files/{name}"
        items.append(item)
    return {"name": title, "type": "personal_chat", "id": chat_id, "messages": items}
