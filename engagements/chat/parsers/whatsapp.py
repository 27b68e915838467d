"""WhatsApp's "Export chat" text, as Android and iOS write it, in English and German.

Android: ``12/31/25, 9:05 PM - Alice: Hello`` or ``31.12.25, 21:05 - Alice: Hallo``; a
system line has no sender (``… - Messages and calls are end-to-end encrypted. …``).
iOS: ``[12/31/25, 9:05:07 PM] Alice: Hello`` or ``[31.12.25, 21:05:07] Alice: Hallo``, often
behind a left-to-right mark (U+200E); its system lines carry the chat's name as the sender and
a U+200E before the text. A line that starts no message continues the one before (multi-line
messages). The times are the exporting phone's wall clock with no zone: ``zone`` says which.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from pathlib import PurePath
from typing import NamedTuple

from django.utils.translation import gettext as _

from engagements.chat.parsers import WHATSAPP, Chat, ChatError, ChatMessage

MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\ufeff"
_SPACE = r"[\s\u202f\u00a0]"
_DATE = r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})"
_TIME = rf"(\d{{1,2}})[:.](\d{{2}})(?:[:.](\d{{2}}))?(?:{_SPACE}*([AaPp])\.?{_SPACE}?[Mm]\.?)?"
_IOS = re.compile(rf"^[{MARKS}]*\[{_DATE},?{_SPACE}+{_TIME}\]{_SPACE}(.*)$", re.DOTALL)
_ANDROID = re.compile(rf"^[{MARKS}]*{_DATE},?{_SPACE}+{_TIME}{_SPACE}[-–]{_SPACE}(.*)$", re.DOTALL)

_OMITTED = re.compile(
    r"^(?:<Media omitted>|<Medien ausgeschlossen>|<Medien weggelassen>|.*\bomitted|.*\bweggelassen)$",
    re.IGNORECASE,
)
_ATTACHED_IOS = re.compile(r"^<(?:attached|Anhang): ([^>]+)>$")
_ATTACHED_ANDROID = re.compile(r"^(\S.*?) \((?:file attached|Datei angehängt)\)$")
_SYSTEM = re.compile(
    r"end-to-end encrypted|Ende-zu-Ende-verschlüsselt|security code changed|Sicherheitsnummer",
    re.IGNORECASE,
)
_TITLE = re.compile(r"^(?:WhatsApp[ -]Chat(?: with | mit | - |-| )?)(.+)$", re.IGNORECASE)

# The orders a date may be written in: day-month-year, month-day-year, year-month-day.
DMY, MDY, YMD, AUTO = "dmy", "mdy", "ymd", "auto"


class _Head(NamedTuple):
    line: int
    a: str
    b: str
    c: str
    hour: int
    minute: int
    second: int
    ampm: str
    rest: str
    dotted: bool


def _heads(lines: list[str]) -> list[_Head | None]:
    found: list[_Head | None] = []
    for number, line in enumerate(lines):
        match = _IOS.match(line) or _ANDROID.match(line)
        if match is None:
            found.append(None)
            continue
        a, b, c, h, m, s, ampm, rest = match.groups()
        found.append(
            _Head(number, a, b, c, int(h), int(m), int(s or 0), (ampm or "").lower(), rest, "." in line[:12])
        )
    return found


def _order(heads: list[_Head], wanted: str) -> str:
    """Which order the dates are in: said by the caller, else seen in the file (a day above 12 settles it)."""
    if wanted != AUTO:
        return wanted
    if heads and len(heads[0].a) == 4:
        return YMD
    if any(int(h.a) > 12 for h in heads):
        return DMY
    if any(int(h.b) > 12 for h in heads):
        return MDY
    # Undecided (every day so far ≤ 12): dotted dates are German, a 12-hour clock American.
    if heads and heads[0].dotted:
        return DMY
    return MDY if heads and heads[0].ampm else DMY


def _when(head: _Head, order: str, zone: tzinfo) -> datetime:
    if order == YMD:
        year, month, day = int(head.a), int(head.b), int(head.c)
    elif order == MDY:
        month, day, year = int(head.a), int(head.b), int(head.c)
    else:
        day, month, year = int(head.a), int(head.b), int(head.c)
    if year < 100:
        year += 2000
    hour = head.hour
    if head.ampm:
        hour = hour % 12 + (12 if head.ampm == "p" else 0)
    # The phone's wall clock: an hour that a DST change skips or repeats is read as the earlier instant.
    return datetime(year, month, day, hour, head.minute, head.second, tzinfo=zone).astimezone(UTC)


def _message(sender: str, when: datetime, text: str) -> ChatMessage:
    body = text.lstrip(MARKS)
    marked = text[:1] in MARKS and text != body
    first, _sep, more = body.partition("\n")
    # The patterns below run only on lines that could match (most lines are plain text: the speed).
    first_end = first.rstrip(MARKS)[-1:]
    if first_end in (">", ")") and (
        match := _ATTACHED_IOS.match(first.strip(MARKS)) or _ATTACHED_ANDROID.match(first.strip(MARKS))
    ):
        return ChatMessage(sender, when, more, attachments=(match.group(1).strip(MARKS),))
    if body.rstrip(MARKS + "\n").endswith((">", "omitted", "weggelassen")) and _OMITTED.match(
        body.strip(MARKS)
    ):
        return ChatMessage(sender, when, body.strip(MARKS))
    if marked or _SYSTEM.search(first):
        return ChatMessage(sender, when, body, is_system=True)
    return ChatMessage(sender, when, body)


def title_of(filename: str) -> str:
    """The chat's name from the export's file name ("WhatsApp Chat with Alice.txt" → "Alice"), or ""."""
    stem = PurePath(filename.replace("\\", "/")).name
    for suffix in (".zip", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    match = _TITLE.match(stem.strip())
    return match.group(1).strip() if match else ""


def parse(text: str, filename: str = "", *, zone: tzinfo, date_order: str = AUTO) -> Chat:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    heads = _heads(lines)
    found = [h for h in heads if h is not None]
    if not found:
        raise ChatError(_("No line of this file looks like a WhatsApp chat export."))
    order = _order(found, date_order)
    messages: list[ChatMessage] = []
    pending: tuple[_Head, list[str]] | None = None

    def flush() -> None:
        if pending is None:
            return
        head, parts = pending
        try:
            when = _when(head, order, zone)
        except ValueError as exc:
            raise ChatError(
                _("Line %(line)d has a date that does not exist: %(text)s")
                % {"line": head.line + 1, "text": lines[head.line][:80]}
            ) from exc
        rest = "\n".join(parts)
        sender, colon, said = rest.partition(": ")
        if not colon or "\n" in sender:
            messages.append(ChatMessage("", when, rest.strip(MARKS), is_system=True))
        else:
            messages.append(_message(sender.strip(MARKS).strip(), when, said))

    for line, head in zip(lines, heads, strict=True):
        if head is not None:
            flush()
            pending = (head, [head.rest])
        elif pending is not None:
            pending[1].append(line)
    flush()
    # An export ends with a newline: the last message does not end in an empty line.
    messages = [_trimmed(m) for m in messages]
    title = title_of(filename)
    chat = Chat(platform=WHATSAPP, key="", title=title, messages=messages)
    chat.key = title or " + ".join(sorted(chat.participants, key=str.casefold))
    chat.title = chat.title or chat.key
    return chat


def _trimmed(message: ChatMessage) -> ChatMessage:
    text = message.text.rstrip("\n")
    return (
        message
        if text == message.text
        else ChatMessage(message.sender, message.sent_at, text, message.attachments, message.is_system)
    )


# Rendering, the other way round: the tests' round trip and the benchmark write exports with these.
LAYOUTS = ("android_en", "android_de", "ios_en", "ios_de")


def render(messages: list[ChatMessage], layout: str, zone: tzinfo) -> str:
    """``messages`` as WhatsApp would export them in ``layout`` (times at the minute on Android)."""
    out = []
    for m in messages:
        local = m.sent_at.astimezone(zone)
        if layout == "android_en":
            stamp = f"{local.month}/{local.day}/{local:%y}, {local.hour % 12 or 12}:{local:%M}\u202f{'PM' if local.hour >= 12 else 'AM'} - "
        elif layout == "android_de":
            stamp = f"{local:%d.%m.%y}, {local:%H:%M} - "
        elif layout == "ios_en":
            stamp = f"[{local.month}/{local.day}/{local:%y}, {local.hour % 12 or 12}:{local:%M:%S}\u202f{'PM' if local.hour >= 12 else 'AM'}] "
        else:
            stamp = f"[{local:%d.%m.%y}, {local:%H:%M:%S}] "
        ios = layout.startswith("ios")
        if m.is_system:
            out.append(f"{stamp}{m.sender}: \u200e{m.text}" if ios else f"{stamp}{m.text}")
            continue
        text = m.text
        for name in m.attachments[:1]:
            if ios:
                attached = f"\u200e<{'attached' if layout == 'ios_en' else 'Anhang'}: {name}>"
            else:
                attached = f"{name} ({'file attached' if layout == 'android_en' else 'Datei angehängt'})"
            text = attached + ("\n" + text if text else "")
        out.append(f"{'\u200e' if ios and m.attachments else ''}{stamp}{m.sender}: {text}")
    return "\n".join(out) + "\n"
