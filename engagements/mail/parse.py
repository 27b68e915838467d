"""Read one raw e-mail into plain values the importer can log, whatever state the bytes are in.

Real mailboxes hold wrong and unknown charsets, broken MIME, missing or duplicated headers, 8-bit bytes
where only ASCII is allowed and bodies in any nesting. ``parse_message`` turns all of that into a
``ParsedMail`` and notes what was wrong in ``defects``; it raises ``MailRejected`` only when the input is
not a message at all (empty, too large, no header block) or cannot be read in any way. Nothing else
escapes: an importer can loop over a mailbox without guarding each message.

Pure Python (no ORM): the importer, the upload view and the webhook all call it the same way.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import io
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from html import unescape
from typing import Any

import nh3
from django.utils.translation import gettext as _
from mailparser_reply.parser import EmailMessage as ReplyText

from engagements.mail import charsets

# Limits on what one message may make us keep or walk; each is far above real mail.
MAX_HEADERS = 1000
MAX_HEADER_CHARS = 16_384
MAX_ID_LENGTH = 255
MAX_REFERENCES = 100
MAX_ADDRESSES = 500
MAX_SUBJECT = 300
MAX_NAME = 200
MAX_FILENAME = 255
MAX_DEPTH = 30
MAX_PARTS = 500
MAX_MIME_SEPARATORS = 5_000
MAX_DEFECTS = 50
# The reply splitter's patterns get slow on very long texts; longer bodies are kept whole.
MAX_REPLY_SPLIT_CHARS = 200_000

REPLY_LANGUAGES = ["de", "en"]

# Headers that name someone the message was delivered to (recipients), in the order they are read.
RECIPIENT_HEADERS = ("to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to", "x-forwarded-to")
# RFC 5322 allows these at most once; a second copy is noted and ignored (addresses are merged).
SINGLE_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "date",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
)
# A file whose headers include none of these is not taken for a message.
MESSAGE_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "delivered-to",
        "sender",
        "reply-to",
        "in-reply-to",
        "references",
        "x-original-to",
        "envelope-to",
        "auto-submitted",
    }
)


class MailRejected(Exception):
    """The bytes are not a message we can read; ``reason`` says why (shown to people, translatable)."""

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedAttachment:
    """One attached file, decoded; the name is safe to show and to offer for download."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    """Everything the importer needs from one message, as plain values (see ``parse_message``)."""

    message_id: str  # without angle brackets; "" if missing or garbage
    in_reply_to: str  # the first id, without brackets; "" if none
    references: tuple[str, ...]  # oldest first, de-duplicated; the root and latest 99 if there are more
    from_address: str  # lower-cased addr-spec; "" if missing or unreadable
    from_name: str
    to: tuple[str, ...]  # lower-cased
    cc: tuple[str, ...]
    recipients: tuple[str, ...]  # To, Cc, Bcc and the delivery headers (routing tokens live here)
    subject: str  # decoded, whitespace collapsed, at most MAX_SUBJECT characters
    date: datetime | None  # aware UTC; None if missing or unreadable
    text: str  # the whole plain-text body (from the HTML if there is no plain part)
    new_text: str  # ``text`` without quoted history and signature
    html: str  # sanitised for display (see ``sanitise_html``); "" if there is no HTML part
    attachments: tuple[ParsedAttachment, ...]
    skipped_attachments: tuple[str, ...]  # names of attachments over max_attachment_bytes
    is_auto_reply: bool  # never true for a bounce
    is_bounce: bool
    failed_recipients: tuple[str, ...]  # lower-cased addresses a bounce says it could not reach
    absence_until: dt.date | None  # last day away an auto-reply announces (see ``read_absence_until``)
    defects: tuple[str, ...]  # what was wrong but survived, in the active language


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


# --- auto-replies and bounces --------------------------------------------------------------------------

# Subjects that announce an automatic reply on their own (Outlook, Exchange, Gmail, GMX, web.de …).
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[\s-]?reply|autoresponse|auto[\s-]?response"
    r"|abwesenheitsnotiz|abwesenheitsmeldung|automatische\s+antwort|abwesend"
    r"|ich\s+bin\s+nicht\s+im\s+b(?:ü|ue)ro|nicht\s+im\s+b(?:ü|ue)ro"
    r")\b",
    re.IGNORECASE,
)
# Words that suggest an absence anywhere in a subject: enough only together with a bulk/suppress header.
_ABSENCE_SUBJECT_WORDS = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|away|vacation|holiday|holidays|on\s+leave|ooo"
    r"|abwesen\w*|urlaub|nicht\s+im\s+b(?:ü|ue)ro|au(?:ß|ss)er\s+haus|automatische\s+antwort"
    r"|automatic\s+reply|auto[\s-]?reply)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undelivered\s+mail|undeliverable|delivery\s+status\s+notification\s*\(failure\)"
    r"|delivery\s+(?:has\s+)?failed|delivery\s+failure|mail\s+delivery\s+failed|returned\s+mail"
    r"|failure\s+notice|unzustellbar|nicht\s+zustellbar|zustellung\s+fehlgeschlagen",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_DELIVERY_REPORT = re.compile(
    r"^\s*multipart/report\s*;.*\breport-type\s*=\s*\"?delivery-status\b", re.IGNORECASE | re.DOTALL
)


def is_auto_reply(headers: Mapping[str, str], subject: str) -> bool:
    """Whether a message was sent by a machine on someone's behalf (out of office, autoresponder).

    ``headers`` maps lower-case header names to their first value. A bounce is checked separately
    (``looks_like_bounce``) and wins: ``parse_message`` never calls a bounce an auto-reply.
    """
    submitted = headers.get("auto-submitted", "").split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    precedence = headers.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return True
    if _AUTO_REPLY_SUBJECT.search(subject):
        return True
    # Outlook puts X-Auto-Response-Suppress on many ordinary messages too, and mailing lists say
    # "bulk": only together with a subject about being away do they mean an out-of-office reply.
    if "x-auto-response-suppress" in headers or precedence in ("bulk", "junk"):
        return bool(_ABSENCE_SUBJECT_WORDS.search(subject))
    return False


def looks_like_bounce(headers: Mapping[str, str], subject: str, from_address: str) -> bool:
    """Whether a message reports that earlier mail could not be delivered.

    A delivery-status report is a bounce by its type; otherwise it takes a mail system sender
    (MAILER-DAEMON, postmaster, or the empty Return-Path of an RFC 5321 notification) and a subject
    about failed delivery, so a person called "postmaster" can still write to us.
    """
    if _DELIVERY_REPORT.match(headers.get("content-type", "")):
        return True
    local_part = from_address.split("@", 1)[0]
    null_sender = headers.get("return-path", "").strip() == "<>"
    from_system = local_part in _BOUNCE_SENDERS or null_sender
    return from_system and bool(_BOUNCE_SUBJECT.search(subject))


# --- return dates in out-of-office replies -------------------------------------------------------------

_MONTHS = {
    "january": 1,
    "jan": 1,
    "januar": 1,
    "jänner": 1,
    "jaenner": 1,
    "february": 2,
    "feb": 2,
    "februar": 2,
    "march": 3,
    "mar": 3,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "mrz": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "mai": 5,
    "june": 6,
    "jun": 6,
    "juni": 6,
    "july": 7,
    "jul": 7,
    "juli": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
    "dezember": 12,
    "dez": 12,
}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|donnerstag"
    r"|freitag|samstag|sonnabend|sonntag|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|mo|di|mi|do|fr|sa|so)"
    r"\b\.?"
)
_DATE = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})(?!\d)"
    r"|(?P<num_d>\d{1,2})\.\s?(?P<num_m>\d{1,2})\.(?:\s?(?P<num_y>\d{4}|\d{2})(?!\d|\.\d))?"
    r"|(?P<sl_a>\d{1,2})/(?P<sl_b>\d{1,2})/(?P<sl_y>\d{4}|\d{2})(?![\d/])"
    rf"|(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?P<dm_m>{_MONTH})(?:,?\s+(?P<dm_y>\d{{4}})(?!\d))?"
    rf"|(?P<md_m>{_MONTH})\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?(?!\d|[.:]\d)(?:,?\s+(?P<md_y>\d{{4}})(?!\d))?"
    r")",
    re.IGNORECASE,
)
_BEFORE_DATE = rf"\s*,?\s*(?:{_WEEKDAY},?\s*)?(?:(?:den|dem|the)\s+)?$"
# "until 3 January", "bis zum 3. Januar", "bis einschließlich 2.1.": the date is the last day away.
_UNTIL_BEFORE = re.compile(
    r"\b(?:until|till|til|through|thru|to|bis)\b"
    r"(?:\s+(?:and\s+including|including|incl\.|zum|zur|einschließlich|einschliesslich|einschl\."
    r"|inkl\.|inklusive|am|dem|den|the|on))*" + _BEFORE_DATE,
    re.IGNORECASE,
)
# "back on 4 January", "wieder im Büro am 4.1.": the date is the first day back.
_RETURN_BEFORE = re.compile(
    r"\b(?:back|return|returning|returns|zurück|zurueck|wieder)\b[^.!?\d\n]{0,40}?" + _BEFORE_DATE,
    re.IGNORECASE,
)
# "ab dem 04.01.2027 wieder erreichbar", "from January 4 I will be back": first day back as well.
_START_BEFORE = re.compile(
    r"\b(?:ab|am|from|on|as\s+of|starting(?:\s+on)?)\b(?:\s+(?:dem|den|the))?" + _BEFORE_DATE,
    re.IGNORECASE,
)
_RETURN_AFTER = re.compile(
    r"^[^.!?\d\n]{0,40}?\b(?:wieder|zurück|zurueck|back|return|returning|available\s+again|reachable\s+again)\b",
    re.IGNORECASE,
)
# A return date further out than this is more likely a misreading than an absence.
_ABSENCE_HORIZON = timedelta(days=366)


def read_absence_until(text: str, *, today: date) -> date | None:
    """The last day of an absence an out-of-office text announces, or None when it is not clear.

    English and German: "until 3 January 2027", "bis zum 3. Januar", "bis einschließlich 2.1." give that
    day; "back on 03.01.2027", "ab dem 04.01.2027 wieder erreichbar" give the day before it, so the value
    fits a provider absence's inclusive end date. A date without a year is the next one on or after
    ``today``. Dates that disagree, lie before ``today`` or more than a year ahead mean None.
    """
    found: set[date] = set()
    for match in _DATE.finditer(text):
        before = text[max(0, match.start() - 80) : match.start()].rsplit("\n", 1)[-1]
        after = text[match.end() : match.end() + 60]
        if _RETURN_BEFORE.search(before) or (_START_BEFORE.search(before) and _RETURN_AFTER.search(after)):
            back_on = _resolve_date(match, today)
            last_day = back_on - timedelta(days=1) if back_on else None
        elif _UNTIL_BEFORE.search(before):
            last_day = _resolve_date(match, today)
        else:
            continue
        if last_day is None or not today <= last_day <= today + _ABSENCE_HORIZON:
            return None
        found.add(last_day)
    return found.pop() if len(found) == 1 else None


def _resolve_date(match: re.Match[str], today: date) -> date | None:
    """The calendar date a ``_DATE`` match names, the year filled in from ``today`` when left out."""
    groups = match.groupdict()
    year: str | None
    if groups["iso_y"]:
        year, month, day = groups["iso_y"], int(groups["iso_m"]), int(groups["iso_d"])
    elif groups["num_d"]:
        year, month, day = groups["num_y"], int(groups["num_m"]), int(groups["num_d"])
    elif groups["sl_a"]:
        first, second = int(groups["sl_a"]), int(groups["sl_b"])
        if first <= 12 and second <= 12 and first != second:
            return None  # 03/01 is March 1st in the US and January 3rd elsewhere
        month, day = (second, first) if first > 12 else (first, second)
        year = groups["sl_y"]
    elif groups["dm_d"]:
        year, month, day = groups["dm_y"], _MONTHS[groups["dm_m"].rstrip(".").lower()], int(groups["dm_d"])
    else:
        year, month, day = groups["md_y"], _MONTHS[groups["md_m"].rstrip(".").lower()], int(groups["md_d"])
    if year:
        full_year = int(year) + 2000 if len(year) == 2 else int(year)
        try:
            return date(full_year, month, day)
        except ValueError:
            return None
    for candidate_year in range(today.year, today.year + 9):  # 29 February waits up to eight years
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                return None
            continue
        if candidate >= today:
            return candidate
    return None


# --- the reader ----------------------------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
# How far into a bounce's body its returned headers are looked for; and how much of a bounce
# written in prose is read for the addresses that failed.
MAX_RETURNED_SCAN = 256 * 1024
MAX_BOUNCE_TEXT = 8 * 1024
# Starts only where a run of address characters starts, so a long run is tried once, not at every offset.
_LOOSE_ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
)
_WHITESPACE = re.compile(r"\s+")
# What a PostgreSQL text column cannot hold: NUL, and lone surrogates (no UTF-8 for them).
_NUL = re.compile("\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_MIME_TYPES = mimetypes.MimeTypes()  # Python's built-in table only: the same names on every machine
# Mail's own types, which that table lacks.
_EXTENSIONS = {
    "text/calendar": ".ics",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
}


class _MailPolicy(policy.EmailPolicy):
    """``policy.default``, except that the MIME parser's own headers are handed out as plain strings.

    The structured parsers for Content-Type, -Disposition and -Transfer-Encoding recurse once per nested
    comment and take quadratic time on stray quotes, so one hostile header could crash or stall an
    import; they also run on every one of the parser's many look-ups. The parser only ever reads these
    headers as strings (type and parameters), exactly as under ``compat32``; every other header keeps
    the modern behaviour.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if name.lower() in ("content-type", "content-disposition", "content-transfer-encoding"):
            return value.replace("\r", "").replace("\n", "")
        return super().header_fetch_parse(name, value)


_POLICY = _MailPolicy()


class _Headers:
    """A message's headers decoded to text, looked up by lower-case name (first value or all)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.items = list(items)
        self.first: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        for name, value in self.items:
            self.first.setdefault(name, value)
            self.counts[name] = self.counts.get(name, 0) + 1

    def get(self, name: str) -> str:
        return self.first.get(name, "")

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.items if key == name]


@dataclass
class _Body:
    """What a walk over the MIME tree found: body texts, HTML and the attached parts."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _Reader:
    """One parse: holds the message, the limits and the defects noticed along the way."""

    def __init__(self, raw: bytes, max_attachment_bytes: int, today: date | None, defects: list[str]) -> None:
        self.raw = raw
        self.max_attachment_bytes = max_attachment_bytes
        self.today = today
        self.defects = defects
        self.parts_seen = 0
        self.headers_only = False

    def read(self) -> ParsedMail:
        message = self._parse()
        headers = self._headers(message)
        subject = _truncate(_collapse(self._decode_words(headers.get("subject"), "Subject")), MAX_SUBJECT)
        from_name, from_address = self._from(headers)
        to = self._addresses(headers, "to")
        cc = self._addresses(headers, "cc")
        recipients = _unique(
            address for name in RECIPIENT_HEADERS for address in self._addresses(headers, name)
        )
        body = self._guard(lambda: self._body(message), _Body(), _("the body could not be read (%(error)s)"))
        text = _clean_text("\n\n".join(body.texts))
        raw_html = "\n".join(body.htmls)
        html = self._guard(
            lambda: sanitise_html(raw_html), "", _("the HTML could not be cleaned (%(error)s)")
        )
        if not text and raw_html:
            text = self._guard(
                lambda: html_to_text(raw_html), "", _("the HTML could not be read (%(error)s)")
            )
        new_text = self._guard(
            lambda: split_new_text(text), text, _("the quoted history could not be separated (%(error)s)")
        )
        sent_at = self._date(headers)
        bounce = looks_like_bounce(headers.first, subject, from_address)
        auto_reply = not bounce and is_auto_reply(headers.first, subject)
        absence_until = None
        if auto_reply:
            reference = self.today or (sent_at.date() if sent_at else datetime.now(UTC).date())
            absence_until = self._guard(
                lambda: read_absence_until(f"{subject}\n{new_text}", today=reference),
                None,
                _("the return date could not be read (%(error)s)"),
            )
        message_id = self._message_id(headers)
        references = self._references(headers)
        failed: tuple[str, ...] = ()
        if bounce:
            # A bounce rarely says what it answers in its headers; the returned mail's
            # Message-ID, quoted in its body, threads it to the mail that failed.
            references = _unique((*references, *(i for i in returned_ids(self.raw) if i != message_id)))
            failed = _unique(
                (*self._addresses(headers, "x-failed-recipients"), *reported_recipients(self.raw))
            )[:MAX_ADDRESSES]
            if not failed:
                # A bounce in prose only ("Delivery to the following recipient failed: …"):
                # the addresses its text names, other than the mail system's and ours.
                ours = {from_address, *to, *cc}
                failed = _unique(
                    a.lower() for a in _LOOSE_ADDRESS.findall(text[:MAX_BOUNCE_TEXT]) if a.lower() not in ours
                )[:MAX_ADDRESSES]
        return _storable(
            ParsedMail(
                message_id=message_id,
                in_reply_to=next(iter(_ids(headers.get("in-reply-to"))), ""),
                references=references,
                from_address=from_address,
                from_name=from_name,
                to=to,
                cc=cc,
                recipients=recipients[:MAX_ADDRESSES],
                subject=subject,
                date=sent_at,
                text=text,
                new_text=new_text,
                html=html,
                attachments=tuple(body.attachments),
                skipped_attachments=tuple(body.skipped),
                is_auto_reply=auto_reply,
                is_bounce=bounce,
                failed_recipients=failed,
                absence_until=absence_until,
                defects=_unique(self.defects)[:MAX_DEFECTS],
            )
        )

    def _guard[T](self, step: Callable[[], T], fallback: T, failure: str, **params: str) -> T:
        """Run one step of the parse; if the email package (or a library) fails, note it and go on."""
        try:
            return step()
        except MailRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - a defect in one part must not lose the whole message
            self.defects.append(failure % {**params, "error": type(exc).__name__})
            return fallback

    # Structure and headers.

    def _parse(self) -> Message:
        if self.raw.count(b"\n--") > MAX_MIME_SEPARATORS:
            # The modern policy parses every part's headers into objects; tens of thousands of parts
            # would hold an import up for minutes, and no real message has them.
            self.defects.append(
                _("more than %(limit)s MIME parts; the body was read as plain text")
                % {"limit": MAX_MIME_SEPARATORS}
            )
            return self._headers_only()
        try:
            message = BytesParser(policy=_POLICY).parsebytes(self.raw)
        except Exception as exc:  # noqa: BLE001 - the headers-only retry below is the fallback
            # The MIME structure is beyond the parser (e.g. nested thousands deep): keep the headers and
            # show the body as it is written, which still beats losing the message.
            self.defects.append(
                _("broken MIME (%(error)s); the body was read as plain text") % {"error": type(exc).__name__}
            )
            return self._headers_only()
        self._note_mime_defects(message)
        return message

    def _headers_only(self) -> Message:
        self.headers_only = True
        message = BytesParser(policy=_POLICY).parsebytes(self.raw, headersonly=True)
        self._note_mime_defects(message)
        return message

    def _headers(self, message: Message) -> _Headers:
        items: list[tuple[str, str]] = []
        for index, (name, value) in enumerate(message.raw_items()):
            if index >= MAX_HEADERS:
                self.defects.append(
                    _("too many headers; only the first %(limit)s were read") % {"limit": MAX_HEADERS}
                )
                break
            key = str(name).strip().lower()
            text = _FOLD.sub("", str(value)).replace("\r", " ").replace("\n", " ").strip()
            if len(text) > MAX_HEADER_CHARS:
                self.defects.append(
                    _("header %(name)s was cut to %(limit)s characters")
                    % {"name": name, "limit": MAX_HEADER_CHARS}
                )
                text = _cut_header(key, text)
            items.append((key, self._header_text(text, str(name))))
        headers = _Headers(items)
        if not any(name in MESSAGE_HEADERS for name in headers.counts):
            raise MailRejected(
                _("This is not an e-mail message: the file does not start with a header block.")
            )
        for name in SINGLE_HEADERS:
            if headers.counts.get(name, 0) > 1:
                self.defects.append(_("duplicated header %(name)s") % {"name": _display_name(name)})
        return headers

    def _header_text(self, value: str, name: str) -> str:
        """A raw header value as text: 8-bit bytes (which RFC 5322 forbids but mailers send) decoded."""
        try:
            data = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        if data.isascii():
            return data.decode("ascii")
        # RFC 6532 allows UTF-8 headers; anything else is guessed (charsets.guess).
        text, used = charsets.guess(data)
        if used != charsets.UTF8:
            self.defects.append(
                _("8-bit characters in header %(name)s were read as %(charset)s")
                % {"name": name, "charset": charsets.label(used)}
            )
        return text

    def _decode_words(self, value: str, name: str) -> str:
        """Decode RFC 2047 encoded words in any charset, joining words split inside one character."""
        # Plain text stays a str; an encoded word is (charset, bytes) until all its neighbours are known.
        pieces: list[str | tuple[str, bytes]] = []
        position = 0
        for match in _ENCODED_WORD.finditer(value):
            between = value[position : match.start()]
            # RFC 2047: the whitespace between two encoded words is not part of the text.
            if between and not (pieces and isinstance(pieces[-1], tuple) and between.isspace()):
                pieces.append(between)
            position = match.end()
            charset = charsets.charset_key(match.group(1)) or ""
            decoded = _decode_word_payload(match.group(2).lower(), match.group(3))
            if decoded is None:
                self.defects.append(_("unreadable encoded word in header %(name)s") % {"name": name})
                pieces.append(match.group(0))
            elif pieces and isinstance(pieces[-1], tuple) and pieces[-1][0] == charset:
                # Mailers split a long text into words mid-character; join the bytes before decoding.
                pieces[-1] = (charset, pieces[-1][1] + decoded)
            else:
                pieces.append((charset, decoded))
        pieces.append(value[position:])
        return "".join(
            piece if isinstance(piece, str) else self._decode_bytes(piece[1], piece[0] or None)
            for piece in pieces
        )

    def _from(self, headers: _Headers) -> tuple[str, str]:
        raw = headers.get("from")
        if not raw:
            self.defects.append(_("no From header"))
            return "", ""
        for name, address in _parse_addresses(raw):
            return _truncate(_collapse(self._decode_words(name, "From")).strip("\"' "), MAX_NAME), address
        self.defects.append(_("unreadable From header"))
        return "", ""

    def _addresses(self, headers: _Headers, name: str) -> tuple[str, ...]:
        found = (address for value in headers.all(name) for _name, address in _parse_addresses(value))
        return _unique(found)[:MAX_ADDRESSES]

    def _date(self, headers: _Headers) -> datetime | None:
        raw = headers.get("date")
        if not raw:
            self.defects.append(_("no Date header"))
            return None
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
            if parsed.tzinfo is None:  # "-0000": the time is UTC, its source zone unknown (RFC 5322)
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        except (ValueError, TypeError, OverflowError, IndexError):
            self.defects.append(_("unreadable Date header"))
            return None

    def _message_id(self, headers: _Headers) -> str:
        raw = headers.get("message-id")
        if not raw:
            self.defects.append(_("no Message-ID header"))
            return ""
        found = _ids(raw)
        if not found:
            self.defects.append(_("unreadable Message-ID header"))
            return ""
        return found[0]

    def _references(self, headers: _Headers) -> tuple[str, ...]:
        found = _ids(" ".join(headers.all("references")))
        if len(found) > MAX_REFERENCES:
            # The thread's root and the latest ancestors are what threading uses.
            found = (found[0], *found[-(MAX_REFERENCES - 1) :])
        return found

    def _note_mime_defects(self, message: Message) -> None:
        for part in _walk_limited(message):
            for defect in getattr(part, "defects", ()):
                problem = _CAMEL.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
                self.defects.append(_("broken MIME: %(problem)s") % {"problem": problem})

    # Bodies and attachments.

    def _body(self, message: Message) -> _Body:
        body = _Body()
        if self.headers_only:
            payload = message.get_payload()
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
            body.texts.append(self._decode_bytes(data, _param(message, "charset")))
            return body
        self._collect(message, body, depth=0, top=True)
        return body

    def _collect(self, part: Message, body: _Body, *, depth: int, top: bool = False) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            if self.parts_seen == MAX_PARTS + 1:
                self.defects.append(
                    _("more than %(limit)s parts; the rest were skipped") % {"limit": MAX_PARTS}
                )
            return
        if depth > MAX_DEPTH:
            self.defects.append(
                _("parts nested deeper than %(limit)s levels were skipped") % {"limit": MAX_DEPTH}
            )
            return
        content_type = _content_type(part)
        maintype = content_type.split("/", 1)[0]
        if maintype == "multipart":
            payload = part.get_payload()
            if not isinstance(payload, list):
                # Its boundary never came: the parser kept the body as one string, shown as it is.
                data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
                body.texts.append(self._decode_bytes(data, None))
            elif content_type == "multipart/alternative":
                self._collect_alternative([c for c in payload if isinstance(c, Message)], body, depth=depth)
            else:
                for child in payload:
                    if isinstance(child, Message):
                        self._collect(child, body, depth=depth + 1)
            return
        if content_type in ("text/plain", "text/html") and not _is_attachment(part, top=top):
            text = self._part_text(part)
            (body.texts if content_type == "text/plain" else body.htmls).append(text)
            return
        self._attach(part, content_type, body)

    def _collect_alternative(self, children: list[Message], body: _Body, *, depth: int) -> None:
        # Each alternative says the same thing: keep the richest plain text and HTML (the last ones,
        # RFC 2046), but every attached part in any branch (a calendar invite, inline images).
        texts: list[str] = []
        htmls: list[str] = []
        for child in children:
            branch = _Body()
            content_type = _content_type(child)
            if not content_type.startswith(("multipart/", "text/plain", "text/html")) and not (
                content_type == "text/calendar" or _is_attachment(child)
            ):
                continue  # text/enriched and the like: another rendering of the same words
            self._collect(child, branch, depth=depth + 1)
            texts = branch.texts or texts
            htmls = branch.htmls or htmls
            body.attachments.extend(branch.attachments)
            body.skipped.extend(branch.skipped)
        body.texts.extend(texts)
        body.htmls.extend(htmls)

    def _part_text(self, part: Message) -> str:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            return ""
        return self._decode_bytes(data, _param(part, "charset"))

    def _attach(self, part: Message, content_type: str, body: _Body) -> None:
        filename = self._filename(part, content_type)
        data = self._guard(
            lambda: _part_bytes(part, content_type),
            None,
            _("the attachment %(name)s could not be read (%(error)s)"),
            name=filename,
        )
        if data is None:
            return
        if len(data) > self.max_attachment_bytes:
            body.skipped.append(filename)
            return
        body.attachments.append(ParsedAttachment(filename=filename, content_type=content_type, data=data))

    def _filename(self, part: Message, content_type: str) -> str:
        raw = self._guard(part.get_filename, None, _("an attachment name could not be read (%(error)s)"))
        if raw is None and content_type == "message/rfc822":
            raw = self._guard(
                lambda: self._forwarded_name(part),
                None,
                _("an attachment name could not be read (%(error)s)"),
            )
        name = _safe_filename(
            self._decode_words(self._header_text(str(raw), "Content-Disposition"), "Content-Disposition")
            if raw
            else ""
        )
        extension = _EXTENSIONS.get(content_type) or _MIME_TYPES.guess_extension(content_type) or ""
        return name or f"attachment{extension}"

    def _forwarded_name(self, part: Message) -> str | None:
        """A forwarded message's file name from its subject, the way mail clients name it."""
        inner = part.get_payload()
        if not (isinstance(inner, list) and inner and isinstance(inner[0], Message)):
            return None
        raw_subject = next((str(v) for k, v in inner[0].raw_items() if k.lower() == "subject"), "")
        subject = _collapse(self._decode_words(self._header_text(raw_subject, "Subject"), "Subject"))
        return f"{subject[: MAX_FILENAME - 4]}.eml" if subject else None

    def _decode_bytes(self, data: bytes, declared: str | None) -> str:
        """Bytes as text, read past wrong and narrow charset labels (``charsets.decode``)."""
        text, notes = charsets.decode(data, declared)
        self.defects.extend(notes)
        return text


# --- helpers -------------------------------------------------------------------------------------------


def _strip_envelope(raw: bytes) -> tuple[bytes, list[str]]:
    """Drop what may precede the headers: a byte-order mark, an mbox "From " line, blank lines."""
    defects: list[str] = []
    data = raw.removeprefix(b"\xef\xbb\xbf")
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    stripped = data.lstrip(b"\r\n")
    if stripped != data:
        defects.append(_("blank lines before the headers were ignored"))
    return stripped, defects


def _cut_header(name: str, value: str) -> str:
    """A header value cut to ``MAX_HEADER_CHARS``."""
    if name != "references":
        return value[:MAX_HEADER_CHARS]
    # References lists the thread's root first and the parent last; threading needs both ends.
    head = 1024
    return value[:head] + " " + value[len(value) - (MAX_HEADER_CHARS - head - 1) :]


def _walk_limited(message: Message, depth: int = 0) -> Iterable[Message]:
    """Every part down to ``MAX_DEPTH`` (the parser may hand us trees the stack cannot walk)."""
    yield message
    if depth >= MAX_DEPTH:
        return
    payload = message.get_payload()
    if isinstance(payload, list):
        for child in payload[:MAX_PARTS]:
            if isinstance(child, Message):
                yield from _walk_limited(child, depth + 1)


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type().lower()
    except (ValueError, TypeError, AttributeError, IndexError, LookupError):
        return "application/octet-stream"
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except (ValueError, TypeError, AttributeError, IndexError, LookupError):
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value) if value else None


def _is_attachment(part: Message, *, top: bool = False) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except (ValueError, TypeError, AttributeError, IndexError, LookupError):
        return True
    # A lone text part is the body even if a mailer named it; inside a multipart a name means a file.
    return disposition == "attachment" or (bool(filename) and not top)


def _part_bytes(part: Message, content_type: str) -> bytes:
    if content_type.startswith("message/") or part.is_multipart():
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else [payload]
        out = io.BytesIO()
        for block in blocks:
            if isinstance(block, Message):
                # compat32 writes the headers back as they came, instead of refolding (and re-checking)
                # them the way the modern policy would.
                BytesGenerator(out, mangle_from_=False, policy=policy.compat32).flatten(block)
                out.write(b"\n")
            elif isinstance(block, str):
                out.write(block.encode("utf-8", "surrogateescape"))
        return out.getvalue()
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _decode_word_payload(encoding: str, payload: str) -> bytes | None:
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    if encoding == "q":
        return binascii.a2b_qp(data, header=True)
    # Be lenient the way mail clients are: ignore stray characters and repair the padding.
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


_RETURNED_ID = re.compile(rb"^message-id:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


# A delivery report's recipient fields (RFC 3464): "Final-Recipient: rfc822; someone@example.com".
_REPORTED_RECIPIENT = re.compile(
    rb"^(?:final|original)-recipient:[ \t]*rfc822[ \t]*;[ \t]*<?([^<>\s;@]{1,64}@[^<>\s;@]{1,255})>?",
    re.IGNORECASE | re.MULTILINE,
)


def _bounce_body(raw: bytes) -> bytes:
    """The start of a bounce's body, where the report and the returned headers are."""
    _head, sep, body = raw.partition(b"\n\n")
    if not sep:
        _head, sep, body = raw.partition(b"\r\n\r\n")
    return body[:MAX_RETURNED_SCAN]


def returned_ids(raw: bytes) -> tuple[str, ...]:
    """The Message-IDs quoted in a bounce's body (the returned mail's headers), in order."""
    found = (m.decode("ascii", "replace") for m in _RETURNED_ID.findall(_bounce_body(raw)))
    return _unique(i for i in found if len(i) <= MAX_ID_LENGTH)[:MAX_REFERENCES]


def reported_recipients(raw: bytes) -> tuple[str, ...]:
    """The addresses a delivery report says failed (its Final-/Original-Recipient fields), lower-cased."""
    found = (m.decode("ascii", "replace").lower() for m in _REPORTED_RECIPIENT.findall(_bounce_body(raw)))
    return _unique(a for a in found if _valid_address(a))


def _ids(value: str) -> tuple[str, ...]:
    """Message-IDs in a header value, without brackets, in order and de-duplicated."""
    found = _ANGLE_ID.findall(value)
    if not found:
        # Some mailers forget the brackets; a bare token with an "@" is still an id.
        found = [token for token in value.split() if "@" in token and "<" not in token and ">" not in token]
    return _unique(token for token in found if 0 < len(token) <= MAX_ID_LENGTH)


def _parse_addresses(value: str) -> list[tuple[str, str]]:
    """(name, lower-cased address) pairs from an address header; junk around them is dropped."""
    pairs = [
        (name, address.strip().strip("<>").lower())
        for name, address in email.utils.getaddresses([value])
        if _valid_address(address.strip().strip("<>"))
    ]
    if pairs:
        return pairs
    return [("", address.lower()) for address in _LOOSE_ADDRESS.findall(value)]


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain and len(address) <= 254 and not any(c.isspace() for c in address))


def _unique[T](values: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(values))


def _collapse(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _display_name(header: str) -> str:
    return (
        "Message-ID" if header == "message-id" else "-".join(word.capitalize() for word in header.split("-"))
    )


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return _CONTROL.sub("", text).strip("\n").rstrip()


def storable_text(value: str) -> str:
    """``value`` without what PostgreSQL refuses in text: NUL dropped, a lone surrogate replaced."""
    return _SURROGATE.sub("\ufffd", _NUL.sub("", value))


def _storable(mail: ParsedMail) -> ParsedMail:
    """Every text of a parsed mail made storable, in this one place: a NUL in any header, body or
    file name (raw, or from an encoded word or a charset) would otherwise fail the INSERT of the
    whole batch the mail was imported with, and fail it again on every retry."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return storable_text(value)
        if isinstance(value, tuple):
            return tuple(clean(item) for item in value)
        if isinstance(value, ParsedAttachment):
            return replace(
                value, filename=storable_text(value.filename), content_type=storable_text(value.content_type)
            )
        return value

    return replace(mail, **{f.name: clean(getattr(mail, f.name)) for f in fields(mail)})


def _safe_filename(name: str) -> str:
    """A file name with no directories, no control or direction characters, at most 255 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    name = _collapse(name)
    if name in ("", ".", ".."):
        return ""
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name


# --- the new text of a reply ---------------------------------------------------------------------------

_ATTRIBUTION = re.compile(r"(?:wrote|schrieb|a écrit|escribió|ha scritto)\s*:\s*$", re.IGNORECASE)
_LONG_SPACES = re.compile(r"[ \t]{9,}")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


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
        prepared = _BLANK_LINES.sub("\n\n", _LONG_SPACES.sub("        ", text))
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


# --- HTML ----------------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
# Dropped with everything inside them; any other unknown tag is dropped but its text kept.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "noscript", "template", "iframe", "object", "svg"}
)
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_LINK_REL = "noopener noreferrer nofollow"
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_ATTRIBUTE = re.compile(r'\b(src|alt|width|height)="([^"]*)"', re.IGNORECASE)


def sanitise_html(html: str) -> str:
    """HTML safe to show under a strict CSP: no scripts, styles, event handlers or style attributes.

    Remote images would report the reader to the sender (and the CSP blocks them anyway), so each
    becomes a link to the image, labelled with its alt text; tracking pixels and embedded (cid:,
    data:) images are dropped.
    """
    if not html.strip():
        return ""
    first = nh3.clean(
        _limit_nesting(html),
        tags=set(_ALLOWED_TAGS | {"img"}),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={**_ALLOWED_ATTRIBUTES, "img": {"src", "alt", "width", "height"}},
        attribute_filter=_no_angle_brackets,
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        link_rel=_LINK_REL,
        strip_comments=True,
    )
    # Second pass with the final allowlist: whatever the image rewrite produced is cleaned again.
    return display_html(_IMG_TAG.sub(_image_as_link, first))


def display_html(html: str) -> str:
    """Clean stored HTML with the final allowlist (again at display: the stored copy is not trusted blindly)."""
    return nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={key: set(value) for key, value in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        link_rel=_LINK_REL,
        strip_comments=True,
    ).strip()


def _no_angle_brackets(tag: str, attribute: str, value: str) -> str:
    # Keeps the serialised <img> tag free of ">" so the rewrite below can find where it ends.
    return value.replace("<", "").replace(">", "") if tag == "img" else value


def _image_as_link(match: re.Match[str]) -> str:
    attributes = {name.lower(): value for name, value in _IMG_ATTRIBUTE.findall(match.group(0))}
    src, alt = attributes.get("src", ""), attributes.get("alt", "").strip()
    if attributes.get("width") in ("0", "1") or attributes.get("height") in ("0", "1"):
        return ""
    if not src.lower().startswith(("http://", "https://")):
        return alt
    # The values are already escaped for an attribute, which is also safe as text.
    return f'<a href="{src}">{alt or src}</a>'


# Tags that end a line when an HTML body is read as text (table cells only add a space).
_TEXT_BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "caption",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_TEXT_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
# Deeper quotes are still quotes; a longer "> > > …" prefix only repeats itself on every line.
_MAX_QUOTE_MARKS = 10


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (for HTML-only mail): no markup, scripts or styles.

    nh3 first reduces the HTML to bare block tags (well-formed, no attributes, no comments), which a
    single scan then turns into lines, blockquotes into "> " lines the reply splitter recognises.
    """
    if not html.strip():
        return ""
    bare = nh3.clean(
        _limit_nesting(html),
        tags=set(_TEXT_BLOCKS | {"td", "th"}),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={},
        link_rel=None,
        strip_comments=True,
    )
    lines: list[str] = []
    current: list[str] = []
    quoting = preformatted = 0

    def end_line() -> None:
        line = "".join(current)
        line = line.rstrip() if preformatted else _collapse(line)
        lines.append(("> " * min(quoting, _MAX_QUOTE_MARKS) + line).rstrip())
        current.clear()

    def add_text(chunk: str) -> None:
        if not chunk:
            return
        chunk = unescape(chunk)
        if not preformatted:
            current.append(_WHITESPACE.sub(" ", chunk))
            return
        first, *rest = chunk.split("\n")
        current.append(first)
        for line in rest:
            end_line()
            current.append(line)

    position = 0
    for match in _TEXT_TAG.finditer(bare):
        add_text(bare[position : match.start()])
        position = match.end()
        closing, tag = match.group(1) == "/", match.group(2)
        if tag in ("td", "th"):
            current.append("" if closing else " ")
            continue
        end_line()
        if tag == "blockquote":
            quoting = max(0, quoting - 1) if closing else quoting + 1
        elif tag == "pre":
            preformatted = max(0, preformatted - 1) if closing else preformatted + 1
        elif tag == "li" and not closing:
            current.append("- ")
    add_text(bare[position:])
    end_line()
    return _clean_text(_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip())


_TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")
_ANY_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*?(/?)>")
# Tags that never hold others, or that the next one of their kind closes (so never nest in themselves).
_FLAT_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
    ]
)
# Real mail nests a few dozen levels; beyond this the HTML parser's work grows with depth squared.
MAX_HTML_DEPTH = 256


def _limit_nesting(html: str) -> str:
    """Drop the tags that would open deeper than ``MAX_HTML_DEPTH`` (their text stays).

    A rough count (unclosed ``<p>`` counts as open), which only ever removes markup: nh3 still
    decides what is safe.
    """
    if _max_depth(html) <= MAX_HTML_DEPTH:
        return html
    depth = 0

    def keep_or_drop(match: re.Match[str]) -> str:
        nonlocal depth
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _FLAT_TAGS or self_closing:
            return match.group(0)
        if closing:
            dropped = depth > MAX_HTML_DEPTH
            depth = max(0, depth - 1)
            return "" if dropped else match.group(0)
        depth += 1
        return "" if depth > MAX_HTML_DEPTH else match.group(0)

    return _ANY_TAG.sub(keep_or_drop, html)


def _max_depth(html: str) -> int:
    """How deep the tags of ``html`` nest, counted as roughly as ``_limit_nesting`` does (but cheaply)."""
    depth = deepest = 0
    for closing, name in _TAG_START.findall(html):
        if closing:
            depth = max(0, depth - 1)
        elif name.lower() not in _FLAT_TAGS:
            depth += 1
            deepest = max(deepest, depth)
    return deepest
