"""Read one raw e-mail into plain values the importer can log, whatever state the bytes are in.

Real mailboxes hold wrong and unknown charsets, broken MIME, missing or duplicated headers, 8-bit bytes
where only ASCII is allowed and bodies in any nesting. ``parse_message`` turns all of that into a
``ParsedMail`` and notes what was wrong in ``defects``; it raises ``MailRejected`` only when the input is
not a message at all (empty, too large, no header block) or cannot be read in any way. Nothing else
escapes: an importer can loop over a mailbox without guarding each message.

Pure Python (no ORM): the importer, the upload view and the webhook all call it the same way.

The work is split by concern: ``mime`` reads the structure, headers, charsets and attachments;
``classify`` tells auto-replies and bounces apart and reads return dates; ``reply`` finds the new text
of a reply; ``html`` makes HTML safe to show and reads it as text. This module is the entry point and
re-exports what callers use.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from engagements.mail.classify import (
    MAX_BOUNCE_TEXT,
    MAX_RETURNED_SCAN,
    is_auto_reply,
    looks_like_bounce,
    read_absence_until,
    reported_recipients,
    returned_ids,
)
from engagements.mail.common import MAX_ADDRESSES, MAX_ID_LENGTH, MAX_REFERENCES, storable_text
from engagements.mail.html import MAX_HTML_DEPTH, display_html, html_to_text, sanitise_html
from engagements.mail.mime import (
    _HEADER_LINE,
    MAX_DEFECTS,
    MAX_DEPTH,
    MAX_FILENAME,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_MIME_SEPARATORS,
    MAX_NAME,
    MAX_PARTS,
    MAX_SUBJECT,
    MailRejected,
    ParsedAttachment,
    ParsedMail,
    _Reader,
    _strip_envelope,
)
from engagements.mail.reply import MAX_REPLY_SPLIT_CHARS, REPLY_LANGUAGES, split_new_text

__all__ = [
    "MAX_ADDRESSES",
    "MAX_BOUNCE_TEXT",
    "MAX_DEFECTS",
    "MAX_DEPTH",
    "MAX_FILENAME",
    "MAX_HEADERS",
    "MAX_HEADER_CHARS",
    "MAX_HTML_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_MIME_SEPARATORS",
    "MAX_NAME",
    "MAX_PARTS",
    "MAX_REFERENCES",
    "MAX_REPLY_SPLIT_CHARS",
    "MAX_RETURNED_SCAN",
    "MAX_SUBJECT",
    "REPLY_LANGUAGES",
    "MailRejected",
    "ParsedAttachment",
    "ParsedMail",
    "display_html",
    "html_to_text",
    "is_auto_reply",
    "looks_like_bounce",
    "parse_message",
    "read_absence_until",
    "reported_recipients",
    "returned_ids",
    "sanitise_html",
    "split_new_text",
    "storable_text",
]


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = 10 * 1024 * 1024,
    max_bytes: int = 50 * 1024 * 1024,
    today: date | None = None,
) -> ParsedMail:
    """Parse raw RFC 5322 bytes into a ``ParsedMail``; raise ``MailRejected`` if they are not a message.

    ``max_attachment_bytes`` drops larger attachments (their names land in ``skipped_attachments``);
    ``today`` anchors return dates written without a year and defaults to the message's own date, so an
    old out-of-office reply imported today still reads its "until January 3" in the year it was sent.
    """
    data = bytes(raw)
    if not data.strip():
        raise MailRejected(_("The file is empty."))
    if len(data) > max_bytes:
        raise MailRejected(
            _("The file is larger than %(limit)s MB.") % {"limit": f"{max_bytes / (1024 * 1024):g}"}
        )
    data, leading_defects = _strip_envelope(data)
    if not _HEADER_LINE.match(data):
        raise MailRejected(_("This is not an e-mail message: the file does not start with a header block."))
    try:
        return _Reader(data, max_attachment_bytes, today, leading_defects).read()
    except MailRejected:
        raise
    except Exception as exc:  # whatever the email package throws, the caller gets one kind
        raise MailRejected(
            _("The message could not be read (%(error)s).") % {"error": type(exc).__name__}
        ) from exc
