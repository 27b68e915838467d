"""Slack's workspace export: ``users.json``, ``channels.json`` and a folder per channel of per-day files.

Each day file is a list of messages with ``ts`` (seconds since the epoch, as a string), ``user``
(an id looked up in ``users.json``), ``text`` and ``files``. Joins, leaves and topic changes carry
a ``subtype`` and are the app's own lines. One chat per channel folder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from engagements.chat.parsers import SLACK, Chat, ChatError, ChatMessage

SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_join",
        "group_leave",
        "pinned_item",
        "unpinned_item",
    }
)


def _names(users: Any) -> dict[str, str]:
    names = {}
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict) or "id" not in user:
            continue
        profile = user.get("profile") or {}
        names[str(user["id"])] = str(
            user.get("real_name")
            or profile.get("real_name")
            or profile.get("display_name")
            or user.get("name")
            or user["id"]
        )
    return names


def parse(files: dict[str, Any]) -> list[Chat]:
    """``files``: the export's JSON files by path inside the zip, already decoded."""
    by_name = {path.rsplit("/", 1)[-1]: data for path, data in files.items() if path.count("/") <= 1}
    names = _names(next((d for p, d in files.items() if p.rsplit("/", 1)[-1] == "users.json"), []))
    days: dict[str, list[tuple[str, Any]]] = {}
    for path, data in files.items():
        parts = path.split("/")
        if len(parts) >= 2 and parts[-1][:4].isdigit() and isinstance(data, list):
            days.setdefault(parts[-2], []).append((parts[-1], data))
    if not days:
        raise ChatError(_("This Slack export has no channel with messages."))
    del by_name
    chats = []
    for channel in sorted(days):
        messages = []
        for _day, items in sorted(days[channel]):
            for item in items:
                if not isinstance(item, dict) or "ts" not in item:
                    continue
                try:
                    when = datetime.fromtimestamp(float(item["ts"]), tz=UTC)
                except (TypeError, ValueError, OverflowError, OSError):
                    continue
                user = str(item.get("user") or "")
                sender = names.get(user) or str(
                    item.get("user_profile", {}).get("real_name") or item.get("username") or user
                )
                files_ = tuple(
                    str(f.get("name") or f.get("title") or "")
                    for f in item.get("files") or []
                    if isinstance(f, dict)
                )
                messages.append(
                    ChatMessage(
                        sender,
                        when,
                        str(item.get("text") or ""),
                        attachments=tuple(f for f in files_ if f),
                        is_system=item.get("subtype") in SYSTEM_SUBTYPES,
                    )
                )
        messages.sort(key=lambda m: m.sent_at)
        chats.append(Chat(platform=SLACK, key=f"slack:{channel}", title=f"#{channel}", messages=messages))
    return chats


def render(channel: str, messages: list[ChatMessage]) -> dict[str, Any]:
    """``messages`` as a one-channel Slack export, file path → JSON (the tests' round trip)."""
    ids = {name: f"U{n:07d}" for n, name in enumerate(sorted({m.sender for m in messages}))}
    users = [
        {"id": uid, "name": name.lower().replace(" ", "."), "real_name": name, "profile": {"real_name": name}}
        for name, uid in ids.items()
    ]
    files: dict[str, Any] = {"users.json": users, "channels.json": [{"id": "C0000001", "name": channel}]}
    for m in messages:
        item: dict[str, Any] = {
            "type": "message",
            "ts": f"{m.sent_at.timestamp():.6f}",
            "user": ids[m.sender],
            "text": m.text,
        }
        if m.is_system:
            item["subtype"] = "channel_join"
        if m.attachments:
            item["files"] = [{"name": name} for name in m.attachments]
        files.setdefault(f"{channel}/{m.sent_at:%Y-%m-%d}.json", []).append(item)
    return files
