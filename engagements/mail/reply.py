"""The new text of a reply: what the sender wrote, without the quoted history below or above it."""

from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage as ReplyText

from engagements.mail.common import BLANK_LINES

# The reply splitter's patterns get slow on very long texts; longer bodies are kept whole.
MAX_REPLY_SPLIT_CHARS = 200_000

REPLY_LANGUAGES = ["de", "en"]

# --- the new text of a reply ---------------------------------------------------------------------------

_ATTRIBUTION = re.compile(r"(?:wrote|schrieb|a écrit|escribió|ha scritto)\s*:\s*$", re.IGNORECASE)
_LONG_SPACES = re.compile(r"[ \t]{9,}")


def split_new_text(text: str) -> str:
    """The text a reply adds: quoted history and signature removed, or ``text`` itself if none is found.

    mail-parser-reply knows the quote headers of Gmail, Outlook and Apple Mail in English and German;
    a trailing block of "> " lines under a bare "… schrieb:" / "… wrote:" line (Thunderbird) is
    removed here.
    """
    if not text.strip():
        return text
    new_text = text
    if len(text) <= MAX_REPLY_SPLIT_CHARS:
        # Its patterns backtrack badly on long runs of blanks; those carry no meaning anyway.
        prepared = BLANK_LINES.sub("\n\n", _LONG_SPACES.sub("        ", text))
        message = ReplyText(text=prepared, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True).read()
        if message.replies:
            new_text = message.replies[0].body.strip() or text
    return _strip_trailing_quote(new_text) or new_text


def _strip_trailing_quote(text: str) -> str:
    lines = text.rstrip().split("\n")
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end == len(lines):
        return text
    if end and _ATTRIBUTION.search(lines[end - 1]) and len(lines[end - 1]) < 300:
        end -= 1
    return "\n".join(lines[:end]).rstrip()
