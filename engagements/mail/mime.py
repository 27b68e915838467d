"""Reading the MIME structure of one raw message: headers, bodies, charsets and attachments.

Real mailboxes hold wrong and unknown charsets, broken MIME, missing or duplicated headers, 8-bit bytes
where only ASCII is allowed and bodies in any nesting. ``_Reader`` turns all of that into a
``ParsedMail`` and notes what was wrong in ``defects``.
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from typing import Any

from django.utils.translation import gettext as _

from engagements.mail import charsets
from engagements.mail.classify import (
    MAX_BOUNCE_TEXT,
    is_auto_reply,
    looks_like_bounce,
    read_absence_until,
    reported_recipients,
    returned_ids,
)
from engagements.mail.common import (
    LOOSE_ADDRESS,
    MAX_ADDRESSES,
    MAX_ID_LENGTH,
    MAX_REFERENCES,
    clean_text,
    collapse,
    storable_text,
    unique,
    valid_address,
)
from engagements.mail.html import html_to_text, sanitise_html
from engagements.mail.reply import Reply, extract_reply

# Limits on what one message may make us keep or walk; each is far above real mail.
MAX_HEADERS = 1000
MAX_HEADER_CHARS = 16_384
MAX_SUBJECT = 300
MAX_NAME = 200
MAX_FILENAME = 255
MAX_DEPTH = 30
MAX_PARTS = 500
MAX_MIME_SEPARATORS = 5_000
MAX_DEFECTS = 50

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
    new_text: str  # what the sender wrote: ``text`` without quoted history, footers and signature
    signature: str  # the signature under ``new_text`` ("" if none was found), kept to be shown muted
    html: str  # sanitised for display (see ``sanitise_html``); "" if there is no HTML part
    attachments: tuple[ParsedAttachment, ...]
    skipped_attachments: tuple[str, ...]  # names of attachments over max_attachment_bytes
    is_auto_reply: bool  # never true for a bounce
    is_bounce: bool
    failed_recipients: tuple[str, ...]  # lower-cased addresses a bounce says it could not reach
    absence_until: dt.date | None  # last day away an auto-reply announces (see ``read_absence_until``)
    defects: tuple[str, ...]  # what was wrong but survived, in the active language


# --- the reader ----------------------------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


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
        subject = _truncate(collapse(self._decode_words(headers.get("subject"), "Subject")), MAX_SUBJECT)
        from_name, from_address = self._from(headers)
        to = self._addresses(headers, "to")
        cc = self._addresses(headers, "cc")
        recipients = unique(
            address for name in RECIPIENT_HEADERS for address in self._addresses(headers, name)
        )
        body = self._guard(lambda: self._body(message), _Body(), _("the body could not be read (%(error)s)"))
        text = clean_text("\n\n".join(body.texts))
        raw_html = "\n".join(body.htmls)
        html = self._guard(
            lambda: sanitise_html(raw_html), "", _("the HTML could not be cleaned (%(error)s)")
        )
        if not text and raw_html:
            text = self._guard(
                lambda: html_to_text(raw_html), "", _("the HTML could not be read (%(error)s)")
            )
        reply = self._guard(
            lambda: extract_reply(text, subject),
            Reply(text, ""),
            _("the quoted history could not be separated (%(error)s)"),
        )
        new_text = reply.answer or text
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
            references = unique((*references, *(i for i in returned_ids(self.raw) if i != message_id)))
            failed = unique(
                (*self._addresses(headers, "x-failed-recipients"), *reported_recipients(self.raw))
            )[:MAX_ADDRESSES]
            if not failed:
                # A bounce in prose only ("Delivery to the following recipient failed: …"):
                # the addresses its text names, other than the mail system's and ours.
                ours = {from_address, *to, *cc}
                failed = unique(
                    a.lower() for a in LOOSE_ADDRESS.findall(text[:MAX_BOUNCE_TEXT]) if a.lower() not in ours
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
                signature=reply.signature if reply.answer else "",
                html=html,
                attachments=tuple(body.attachments),
                skipped_attachments=tuple(body.skipped),
                is_auto_reply=auto_reply,
                is_bounce=bounce,
                failed_recipients=failed,
                absence_until=absence_until,
                defects=unique(self.defects)[:MAX_DEFECTS],
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
            return _truncate(collapse(self._decode_words(name, "From")).strip("\"' "), MAX_NAME), address
        self.defects.append(_("unreadable From header"))
        return "", ""

    def _addresses(self, headers: _Headers, name: str) -> tuple[str, ...]:
        found = (address for value in headers.all(name) for _name, address in _parse_addresses(value))
        return unique(found)[:MAX_ADDRESSES]

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
        subject = collapse(self._decode_words(self._header_text(raw_subject, "Subject"), "Subject"))
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


def _ids(value: str) -> tuple[str, ...]:
    """Message-IDs in a header value, without brackets, in order and de-duplicated."""
    found = _ANGLE_ID.findall(value)
    if not found:
        # Some mailers forget the brackets; a bare token with an "@" is still an id.
        found = [token for token in value.split() if "@" in token and "<" not in token and ">" not in token]
    return unique(token for token in found if 0 < len(token) <= MAX_ID_LENGTH)


def _parse_addresses(value: str) -> list[tuple[str, str]]:
    """(name, lower-cased address) pairs from an address header; junk around them is dropped."""
    pairs = [
        (name, address.strip().strip("<>").lower())
        for name, address in email.utils.getaddresses([value])
        if valid_address(address.strip().strip("<>"))
    ]
    if pairs:
        return pairs
    return [("", address.lower()) for address in LOOSE_ADDRESS.findall(value)]


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _display_name(header: str) -> str:
    return (
        "Message-ID" if header == "message-id" else "-".join(word.capitalize() for word in header.split("-"))
    )


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
    name = collapse(name)
    if name in ("", ".", ".."):
        return ""
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name
