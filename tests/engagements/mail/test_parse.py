"""The mail parser: every corpus message's expected outcome, the rules behind them, and no crash ever."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagements.mail import mime, parse
from engagements.mail.parse import (
    MAX_FILENAME,
    MAX_SUBJECT,
    MailRejected,
    ParsedMail,
    is_auto_reply,
    looks_like_bounce,
    parse_message,
    read_absence_until,
    sanitise_html,
    split_new_text,
)

CORPUS = Path(__file__).parent / "corpus"
# Small enough that the corpus's 48 KiB video is dropped and its 1 KiB notes are kept.
ATTACHMENT_LIMIT = 16 * 1024
SENT = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # "Mon, 14 Dec 2026 10:00:00 +0100"
REPLIED = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)
OOO_SENT = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)
VANESSA = "vanessa@va-agency.example"
PDF = ("application/pdf", 1216)
NOT_A_MESSAGE = "This is not an e-mail message"


@dataclass(frozen=True)
class Expected:
    """What one corpus file must parse to; ``None`` leaves a field unchecked."""

    subject: str = ""
    from_address: str = VANESSA
    from_name: str | None = None
    date: datetime | None = SENT
    message_id: str | None = None
    in_reply_to: str = ""
    references: tuple[str, ...] | None = None
    to: tuple[str, ...] | None = None
    recipients: tuple[str, ...] | None = None
    text: str | None = None
    text_contains: tuple[str, ...] = ()
    new_text: str | None = None
    new_text_excludes: tuple[str, ...] = ()
    has_html: bool = False
    html_contains: tuple[str, ...] = ()
    html_excludes: tuple[str, ...] = ()
    attachments: tuple[tuple[str, str, int], ...] = ()
    skipped: tuple[str, ...] = ()
    is_auto_reply: bool = False
    is_bounce: bool = False
    failed_recipients: tuple[str, ...] = ()
    absence_until: dt.date | None = None  # `date` is the field above in here
    defects: tuple[str, ...] = ()
    rejected: str = ""


GMAIL_QUOTE = "On Mon, Dec 14, 2026 at 10:00 AM Alice Owner"

EXPECTED: dict[str, Expected] = {
    # Encodings.
    "plain_utf8.eml": Expected(
        subject="Landing page copy: first draft",
        from_name="Vanessa Provider",
        message_id="plain-utf8@va-agency.example",
        text_contains=("Straße, Größe, naïve café — all fine.",),
        new_text_excludes=(),
    ),
    "latin1_body.eml": Expected(
        subject="Entwurf",
        text_contains=("die Änderungen für München sind drin.", "Viele Grüße"),
        new_text="Hallo Alice,\n\ndie Änderungen für München sind drin.",
    ),
    "windows1252_body.eml": Expected(
        subject="Rechnung", text="Die Rechnung über 450 € ist „unterwegs“ – bitte prüfen."
    ),
    "wrong_charset_declared_utf8.eml": Expected(
        subject="Falscher Zeichensatz",
        text="Schöne Grüße, Jürgen",
        defects=("text declared as utf-8 was read as windows-1252",),
    ),
    "wrong_charset_declared_latin1.eml": Expected(
        subject="Wrong label",
        text="Schöne Grüße aus Köln",
        defects=("text declared as iso-8859-1 was read as utf-8",),
    ),
    "unknown_charset.eml": Expected(
        subject="Unknown charset",
        text="Grüße from a mailer nobody knows",
        defects=("unknown charset x-foo",),
    ),
    "rfc2047_umlauts.eml": Expected(
        subject="Grüße aus Köln",
        from_address="juergen.mueller@example.de",
        from_name="Jürgen Müller",
        date=datetime(2026, 12, 15, 7, 30, tzinfo=UTC),
        text="Hallo!",
    ),
    "eight_bit_headers.eml": Expected(
        subject="Grüße, raw UTF-8 in the header",
        from_address="juergen@example.de",
        from_name="Jürgen Müller",
        date=datetime(2026, 12, 15, 7, 30, tzinfo=UTC),
        defects=("8-bit characters in header From were read as windows-1252",),
    ),
    # Structure.
    "nested_alternative_in_mixed.eml": Expected(
        subject="Offer with attachment",
        text="Please find the offer attached.",
        has_html=True,
        html_contains=("<b>offer</b>",),
        attachments=(("angebot.pdf", *PDF),),
    ),
    "attachments_only.eml": Expected(
        subject="Files",
        text="",
        attachments=(("Rechnung März.pdf", *PDF), ("Lögo.png", "image/png", 308)),
    ),
    "empty_body.eml": Expected(subject="(empty)", text="", new_text=""),
    "no_subject.eml": Expected(subject="", text="No subject here."),
    "no_date.eml": Expected(subject="No date", date=None, defects=("no Date header",)),
    "garbage_date.eml": Expected(subject="Garbage date", date=None, defects=("unreadable Date header",)),
    "no_message_id.eml": Expected(subject="No Message-ID", message_id="", defects=("no Message-ID header",)),
    "garbage_message_id.eml": Expected(
        subject="Garbage Message-ID", message_id="", defects=("unreadable Message-ID header",)
    ),
    "duplicated_headers.eml": Expected(
        subject="First subject",
        from_address="first@va-agency.example",
        from_name="First Sender",
        message_id="first-id@va-agency.example",
        to=("alice@acme.example", "bob@acme.example"),
        defects=(
            "duplicated header From",
            "duplicated header To",
            "duplicated header Date",
            "duplicated header Subject",
            "duplicated header Message-ID",
        ),
    ),
    "huge_header.eml": Expected(
        subject="Huge header",
        in_reply_to=f"ancestor-0249.{'x' * 40}@mail.example",
        text="A long thread.",
        defects=(
            "header References was cut to 16384 characters",
            "header X-Spam-Report was cut to 16384 characters",
        ),
    ),
    "long_lines.eml": Expected(
        subject="Long lines",
        text_contains=("Lorem ipsum dolor sit amet, " * 200 + "END-OF-FIRST", "x" * 5000),
    ),
    "html_only_dangerous.eml": Expected(
        subject="Newsletter-ish HTML",
        text="Click here or the offer.\n\nVisible text.",
        has_html=True,
        html_contains=(
            '<a href="https://example.com/offer" rel="noopener noreferrer nofollow">the offer</a>',
            '<a href="https://tracker.example/logo.png" rel="noopener noreferrer nofollow">Company logo</a>',
            "<p>Visible text.</p>",
        ),
        html_excludes=(
            "alert",
            "steal",
            "Hidden title",
            "background",
            "pixel.gif",
            "evil.example",
            "password",
        ),
    ),
    "calendar_invite.eml": Expected(
        subject="Invitation: Kick-off call",
        text="You have been invited to: Kick-off call",
        has_html=True,
        attachments=(("attachment.ics", "text/calendar", 229),),
    ),
    "quoted_printable.eml": Expected(
        subject="Quoted-printable",
        text_contains=("anbei die Überarbeitung. " + "Langer Absatz ohne Umbruch. " * 8,),
        new_text_excludes=("Grüße",),
    ),
    "base64_body.eml": Expected(
        subject="Base64 body", text="Der Text ist base64-kodiert: Äpfel, Öl, Übermut."
    ),
    "forward_rfc822.eml": Expected(
        subject="Fwd: Please hurry",
        from_address="alice@acme.example",
        date=datetime(2026, 12, 14, 10, 0, tzinfo=UTC),
        text="See below, can you make it?",
        attachments=(("Please hurry.eml", "message/rfc822", 187),),
    ),
    "unsafe_attachment_names.eml": Expected(
        subject="Unsafe names",
        attachments=(
            ("passwd", "application/octet-stream", 4),
            ("invoicefdp.exe", "application/octet-stream", 2),
            ("a" * (MAX_FILENAME - len(".txt")) + ".txt", "application/octet-stream", 4),
            ("attachment.bin", "application/octet-stream", 8),
        ),
    ),
    "huge_attachment.eml": Expected(
        subject="Raw footage",
        text="Footage attached.",
        attachments=(("notes.txt", "text/plain", 1024),),
        skipped=("footage.mp4",),
    ),
    "html_related_cid_image.eml": Expected(
        subject="Logo proposal",
        text="The new logo:",
        has_html=True,
        html_contains=("<p>New logo</p>",),
        attachments=(("attachment.png", "image/png", 308),),
    ),
    "gmail_html_only_reply.eml": Expected(
        subject="Re: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        text_contains=("Friday works for me.", GMAIL_QUOTE, "> Could you write the landing page copy?"),
        new_text="Friday works for me.",
        has_html=True,
        html_contains=("<blockquote>Could you write the landing page copy?</blockquote>",),
    ),
    # Bounces: never auto-replies, even with Auto-Submitted.
    "bounce_report.eml": Expected(
        subject="Undelivered Mail Returned to Sender",
        from_address="mailer-daemon@mx.acme.example",
        date=datetime(2026, 12, 14, 9, 5, tzinfo=UTC),
        text_contains=("550 5.1.1 User unknown",),
        attachments=(
            ("attachment.txt", "message/delivery-status", 119),
            ("attachment.txt", "text/rfc822-headers", 122),
        ),
        is_bounce=True,
        failed_recipients=("nobody@va-agency.example",),
    ),
    "bounce_mailer_daemon.eml": Expected(
        subject="Delivery Status Notification (Failure)",
        from_address="mailer-daemon@mx.va-agency.example",
        date=datetime(2026, 12, 14, 9, 5, tzinfo=UTC),
        is_bounce=True,
        failed_recipients=("nobody@va-agency.example",),
    ),
    "bounce_exim.eml": Expected(
        subject="Mail delivery failed: returning message to sender",
        from_address="mailer-daemon@mail.va-agency.example",
        date=datetime(2026, 12, 14, 9, 5, tzinfo=UTC),
        is_bounce=True,
        failed_recipients=("nobody@va-agency.example",),
    ),
    # Auto-replies; the return date is the last day away.
    "ooo_english.eml": Expected(
        subject="Automatic reply: Landing page copy",
        date=OOO_SENT,
        is_auto_reply=True,
        absence_until=date(2027, 1, 3),
    ),
    "ooo_german.eml": Expected(
        subject="Abwesenheitsnotiz: Landing page copy",
        date=OOO_SENT,
        is_auto_reply=True,
        absence_until=date(2027, 1, 3),
    ),
    "ooo_outlook_suppress.eml": Expected(
        subject="Im Urlaub: Landing page copy",
        date=OOO_SENT,
        is_auto_reply=True,
        absence_until=date(2027, 1, 3),
    ),
    "ooo_auto_submitted.eml": Expected(
        subject="Re: Landing page copy", date=OOO_SENT, is_auto_reply=True, absence_until=date(2027, 1, 2)
    ),
    "ooo_einschliesslich.eml": Expected(
        subject="Automatische Antwort: Landing page copy",
        date=OOO_SENT,
        is_auto_reply=True,
        absence_until=date(2027, 1, 2),
    ),
    "ooo_x_autoreply_iso.eml": Expected(
        subject="Re: Landing page copy", date=OOO_SENT, is_auto_reply=True, absence_until=date(2027, 1, 6)
    ),
    "ooo_without_return_date.eml": Expected(
        subject="Out of Office AutoReply: Landing page copy", date=OOO_SENT, is_auto_reply=True
    ),
    "ooo_precedence_bulk.eml": Expected(
        subject="Away: Landing page copy", date=OOO_SENT, is_auto_reply=True, absence_until=date(2027, 1, 3)
    ),
    "ooo_html_german_subject.eml": Expected(
        subject="Ich bin nicht im Büro",
        date=OOO_SENT,
        text="Ich bin bis zum 08.01.2027 nicht erreichbar.",
        has_html=True,
        is_auto_reply=True,
        absence_until=date(2027, 1, 8),
    ),
    "newsletter_bulk.eml": Expected(
        subject="Our December newsletter", from_address="news@va-agency.example", date=OOO_SENT
    ),
    "outlook_suppress_normal.eml": Expected(subject="RE: Landing page copy", date=OOO_SENT),
    # Replies in each client's quote style.
    "gmail_reply.eml": Expected(
        subject="Re: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        references=("request-1@acme.example",),
        text_contains=(GMAIL_QUOTE, "> Could you write the landing page copy?"),
        new_text="Sure, I will send it on Friday.",
    ),
    "outlook_original_message.eml": Expected(
        subject="RE: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        text_contains=("-----Original Message-----", "Could you write the landing page copy?"),
        new_text="The copy is attached to the shared drive.",
    ),
    "outlook_german_reply.eml": Expected(
        subject="AW: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        text_contains=("Gesendet: Montag, 14. Dezember 2026 10:00",),
        new_text="Der Text ist fertig.",
    ),
    "apple_mail_reply.eml": Expected(
        subject="Re: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        text_contains=("> Am 14.12.2026 um 10:00 schrieb Alice Owner <alice@acme.example>:",),
        new_text="Mache ich bis Freitag.",
    ),
    "thunderbird_reply.eml": Expected(
        subject="Re: Landing page copy",
        date=REPLIED,
        in_reply_to="request-1@acme.example",
        text_contains=("Alice Owner schrieb:\n> Könnten Sie",),
        new_text="Ist erledigt, siehe Anhang im Drive.",
    ),
    "reply_with_references.eml": Expected(
        subject="Re: Re: Landing page copy",
        date=datetime(2026, 12, 16, 8, 0, tzinfo=UTC),
        message_id="reply-3@va-agency.example",
        in_reply_to="request-2@acme.example",
        references=("request-1@acme.example", "reply-1@va-agency.example", "request-2@acme.example"),
    ),
    "routing_token.eml": Expected(
        subject="Re: Landing page copy",
        date=REPLIED,
        to=("replies+eng7kq2x@mail.acme.example",),
        recipients=(
            "replies+eng7kq2x@mail.acme.example",
            "bob@acme.example",
            "alice@acme.example",
            "hidden@acme.example",
            "inbox@acme.example",
            "archive@acme.example",
        ),
    ),
    # Broken things that still give a message.
    "broken_mime_boundary.eml": Expected(
        subject="Broken MIME",
        text_contains=("The boundary above is not the declared one.",),
        defects=("broken MIME: start boundary not found", "broken MIME: multipart invariant violation"),
    ),
    "truncated_base64.eml": Expected(
        subject="Truncated attachment",
        text="The attachment was cut off in transit.",
        attachments=(("cut.pdf", "application/pdf", 223),),
        defects=("broken MIME: close boundary not found",),
    ),
    "missing_header_separator.eml": Expected(
        subject="No blank line",
        text="this line should have been preceded by an empty line\nand so should this one.",
        defects=("broken MIME: missing header body separator",),
    ),
    "no_from.eml": Expected(
        subject="Who sent this?", from_address="", from_name="", defects=("no From header",)
    ),
    "mbox_from_line.eml": Expected(subject="Cut out of an mbox", text="The first line is mbox's envelope."),
    "nested_beyond_the_parser.eml": Expected(
        subject="Nested too deep",
        text_contains=("--b1199\nContent-Type: multipart/mixed; boundary=b1200", "At the bottom."),
        defects=("broken MIME (RecursionError); the body was read as plain text",),
    ),
    # Not messages at all.
    "empty.eml": Expected(rejected="The file is empty."),
    "not_a_message.eml": Expected(rejected=NOT_A_MESSAGE),
    "not_a_message_text.eml": Expected(rejected=NOT_A_MESSAGE),
}


def corpus_names() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*.eml"))


def parse_file(name: str, **options) -> ParsedMail:
    return parse_message((CORPUS / name).read_bytes(), max_attachment_bytes=ATTACHMENT_LIMIT, **options)


class TagCollector(HTMLParser):
    """Every tag and attribute of an HTML text as a browser would see them (text content is harmless)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_safe_html(html: str) -> None:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    for tag, attributes in collector.tags:
        assert tag not in ("script", "style", "img", "iframe", "form", "object", "svg", "link", "meta")
        assert not any(name == "style" or name.startswith("on") for name in attributes), (tag, attributes)
        href = (attributes.get("href") or "").strip().lower()
        assert href == "" or href.split(":", 1)[0] in ("http", "https", "mailto", "tel"), href


def assert_safe(mail: ParsedMail) -> None:
    """What holds for every parsed message, whatever it was made of."""
    assert_safe_html(mail.html)
    assert mail.date is None or mail.date.utcoffset() == timedelta(0)
    assert len(mail.subject) <= MAX_SUBJECT
    for address in (mail.from_address, *mail.to, *mail.cc, *mail.recipients):
        assert address == address.lower()
        assert address == "" or "@" in address
    assert set(mail.to) | set(mail.cc) <= set(mail.recipients)
    for attachment in mail.attachments:
        assert attachment.filename
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        assert len(attachment.filename) <= MAX_FILENAME
        assert "/" in attachment.content_type and attachment.content_type == attachment.content_type.lower()
    assert not (mail.is_auto_reply and mail.is_bounce)


def test_every_corpus_file_has_an_expected_outcome():
    assert len(corpus_names()) >= 40
    assert corpus_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_corpus_message_parses_to_its_expected_outcome(name):
    expected = EXPECTED[name]
    if expected.rejected:
        with pytest.raises(MailRejected) as rejected:
            parse_file(name)
        assert expected.rejected in rejected.value.reason
        return

    mail = parse_file(name)

    assert_safe(mail)
    assert mail.subject == expected.subject
    assert mail.from_address == expected.from_address
    assert mail.date == expected.date
    assert mail.in_reply_to == expected.in_reply_to
    assert mail.is_auto_reply is expected.is_auto_reply
    assert mail.is_bounce is expected.is_bounce
    assert mail.failed_recipients == expected.failed_recipients
    assert mail.absence_until == expected.absence_until
    assert [(a.filename, a.content_type, len(a.data)) for a in mail.attachments] == list(expected.attachments)
    assert mail.skipped_attachments == expected.skipped
    assert bool(mail.html) is expected.has_html
    assert mail.defects == expected.defects
    for piece in expected.html_contains:
        assert piece in mail.html
    for piece in expected.html_excludes:
        assert piece not in mail.html
        assert piece not in mail.text
    for piece in expected.text_contains:
        assert piece in mail.text
    for piece in expected.new_text_excludes:
        assert piece not in mail.new_text
    checked = {
        "from_name": expected.from_name,
        "message_id": expected.message_id,
        "references": expected.references,
        "to": expected.to,
        "recipients": expected.recipients,
        "text": expected.text,
        "new_text": expected.new_text,
    }
    for field_name, value in checked.items():
        if value is not None:
            assert getattr(mail, field_name) == value, field_name


@pytest.mark.parametrize(
    "name",
    [
        "gmail_reply.eml",
        "gmail_html_only_reply.eml",
        "outlook_original_message.eml",
        "outlook_german_reply.eml",
        "apple_mail_reply.eml",
        "thunderbird_reply.eml",
    ],
)
def test_a_reply_keeps_the_quote_in_text_but_not_in_new_text(name):
    mail = parse_file(name)

    assert mail.new_text
    assert mail.new_text in mail.text
    assert "landing" in mail.text.lower()
    assert "landing" not in mail.new_text.lower()
    assert ">" not in mail.new_text


def test_a_forwarded_message_is_attached_whole():
    (forwarded,) = parse_file("forward_rfc822.eml").attachments

    assert forwarded.data.startswith(b"From: Client <client@customer.example>")
    assert b"Can we go live next week?" in forwarded.data


def test_the_routing_token_survives_in_the_recipients():
    mail = parse_file("routing_token.eml")

    assert "replies+eng7kq2x@mail.acme.example" in mail.recipients
    assert mail.from_address == VANESSA


def test_a_huge_references_header_keeps_the_root_and_the_latest_ancestors():
    mail = parse_file("huge_header.eml")

    assert len(mail.references) == parse.MAX_REFERENCES
    assert mail.references[0] == f"ancestor-0000.{'x' * 40}@mail.example"
    assert mail.references[-1] == mail.in_reply_to
    assert len(set(mail.references)) == len(mail.references)


def test_an_attachment_at_the_limit_is_kept_and_one_byte_more_is_skipped():
    raw = (CORPUS / "huge_attachment.eml").read_bytes()

    kept = parse_message(raw, max_attachment_bytes=48 * 1024)
    skipped = parse_message(raw, max_attachment_bytes=48 * 1024 - 1)

    assert [a.filename for a in kept.attachments] == ["footage.mp4", "notes.txt"]
    assert skipped.skipped_attachments == ("footage.mp4",)


def test_today_anchors_a_return_date_without_a_year():
    assert parse_file("ooo_german.eml").absence_until == date(2027, 1, 3)
    assert parse_file("ooo_german.eml", today=date(2027, 2, 1)).absence_until == date(2028, 1, 3)
    # On 3 January, "bis einschließlich 2.1." can only mean the coming year's.
    assert parse_file("ooo_einschliesslich.eml", today=date(2027, 1, 3)).absence_until == date(2028, 1, 2)


def test_a_message_larger_than_max_bytes_is_rejected():
    raw = (CORPUS / "plain_utf8.eml").read_bytes()

    with pytest.raises(MailRejected) as rejected:
        parse_message(raw, max_bytes=len(raw) - 1)

    assert "larger than" in rejected.value.reason
    assert parse_message(raw, max_bytes=len(raw)).subject == "Landing page copy: first draft"


def test_whitespace_alone_is_an_empty_file():
    with pytest.raises(MailRejected) as rejected:
        parse_message(b" \r\n\t\n")

    assert rejected.value.reason == "The file is empty."


def test_headers_that_no_mail_has_are_not_a_message():
    with pytest.raises(MailRejected) as rejected:
        parse_message(b'{"name": "Vanessa", "email": "vanessa@va-agency.example"}\n')

    assert NOT_A_MESSAGE in rejected.value.reason


def test_an_unexpected_failure_is_rejected_with_its_class_name(monkeypatch):
    def explode(self):
        raise KeyError("boom")

    monkeypatch.setattr(parse._Reader, "read", explode)

    with pytest.raises(MailRejected) as rejected:
        parse_file("plain_utf8.eml")

    assert "KeyError" in rejected.value.reason


def test_a_failing_step_becomes_a_defect_and_the_rest_is_still_read(monkeypatch):
    def explode(html: str) -> str:
        raise ValueError("nh3 broke")

    monkeypatch.setattr(mime, "sanitise_html", explode)

    mail = parse_file("nested_alternative_in_mixed.eml")

    assert mail.html == ""
    assert mail.text == "Please find the offer attached."
    assert mail.defects == ("the HTML could not be cleaned (ValueError)",)


def test_a_message_of_tens_of_thousands_of_parts_is_read_as_plain_text():
    part = b"--x\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n"
    raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + part * 20_000

    mail = parse_message(raw)

    assert mail.attachments == ()
    assert mail.text.startswith("--x\nContent-Type: application/octet-stream")
    assert mail.defects[0] == "more than 5000 MIME parts; the body was read as plain text"


def test_html_nested_thousands_deep_is_flattened_and_keeps_its_text():
    html = "<div>" * 5_000 + "deep text" + "</div>" * 5_000

    sanitised = sanitise_html(html)

    assert "deep text" in sanitised
    assert sanitised.count("<div>") == parse.MAX_HTML_DEPTH
    assert parse.html_to_text(html) == "deep text"


def test_a_content_type_of_endlessly_nested_comments_is_still_read():
    raw = b"From: a@b.example\r\nContent-Type: text/plain; " + b"(" * 5_000 + b"\r\n\r\nStill here.\r\n"

    assert parse_message(raw).text == "Still here."


def test_an_attachment_name_in_raw_8_bit_is_decoded():
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        b'--x\r\nContent-Disposition: attachment; filename="Rechnung M\xc3\xa4rz.pdf"\r\n\r\nPDF\r\n'
        b'--x\r\nContent-Disposition: attachment; filename="Gr\xfc\xdfe.pdf"\r\n\r\nPDF\r\n--x--\r\n'
    )

    mail = parse_message(raw)

    assert [a.filename for a in mail.attachments] == ["Rechnung März.pdf", "Grüße.pdf"]


# --- the rules on their own ----------------------------------------------------------------------------

DEC_21 = date(2026, 12, 21)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am out of the office until 3 January 2027.", date(2027, 1, 3)),
        ("Out until January 3.", date(2027, 1, 3)),
        ("Out until January 3rd, 2027", date(2027, 1, 3)),
        ("I will be back on 03.01.2027.", date(2027, 1, 2)),
        ("I will be back in the office on Monday, January 4th.", date(2027, 1, 3)),
        ("Ich bin bis zum 3. Januar nicht im Büro.", date(2027, 1, 3)),
        ("Ab dem 04.01.2027 bin ich wieder erreichbar.", date(2027, 1, 3)),
        ("Ich bin ab dem 04.01.2027 wieder erreichbar.", date(2027, 1, 3)),
        ("Ich bin bis einschließlich 2.1. abwesend.", date(2027, 1, 2)),
        ("Away until 2027-01-06.", date(2027, 1, 6)),
        ("Urlaub vom 20.12. bis 03.01.", date(2027, 1, 3)),
        ("Abwesend bis 3. Jan.", date(2027, 1, 3)),
        ("Returning 01/13/2027.", date(2027, 1, 12)),
        ("Bis zum 3. Januar nicht im Büro, ab dem 4. Januar wieder da. Until 3 January.", date(2027, 1, 3)),
        # Not sure: say nothing.
        ("I am out of the office with limited access to e-mail.", None),
        ("Away from 20 December.", None),
        ("Out until 03/01/2027.", None),
        ("Out until 3 January, or maybe until 10 January.", None),
        ("Away until 3 January 2026.", None),
        ("Away until 3 January 2029.", None),
        ("Out until 31.02.2027.", None),
    ],
)
def test_a_return_date_is_read_in_english_and_german(text, expected):
    assert read_absence_until(text, today=DEC_21) == expected


def test_the_29th_of_february_without_a_year_is_the_next_leap_day():
    assert read_absence_until("Away until 29 February.", today=date(2027, 3, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("headers", "subject", "expected"),
    [
        ({"auto-submitted": "auto-replied"}, "Re: Landing page copy", True),
        ({"auto-submitted": "auto-generated; owner-email=x@y.example"}, "Report", True),
        ({"auto-submitted": "no"}, "Re: Landing page copy", False),
        ({"x-autoreply": "yes"}, "Re: Landing page copy", True),
        ({"x-autorespond": "Thanks"}, "Re: Landing page copy", True),
        ({"precedence": "auto_reply"}, "Re: Landing page copy", True),
        ({"precedence": "bulk"}, "Our newsletter", False),
        ({"precedence": "junk"}, "Im Urlaub", True),
        ({"x-auto-response-suppress": "All"}, "RE: Landing page copy", False),
        ({"x-auto-response-suppress": "All"}, "Away: Landing page copy", True),
        ({}, "Out of office", True),
        ({}, "Out of Office AutoReply: Landing page copy", True),
        ({}, "Automatic reply: Landing page copy", True),
        ({}, "Autoreply: Landing page copy", True),
        ({}, "Abwesenheitsnotiz: Landing page copy", True),
        ({}, "Automatische Antwort: Landing page copy", True),
        ({}, "Abwesend bis 3.1.", True),
        ({}, "Ich bin nicht im Büro", True),
        ({}, "Re: Out of office plans for the team", False),
        ({}, "Landing page copy", False),
    ],
)
def test_an_auto_reply_is_known_by_its_headers_or_subject(headers, subject, expected):
    assert is_auto_reply(headers, subject) is expected


@pytest.mark.parametrize(
    ("headers", "subject", "sender", "expected"),
    [
        (
            {"content-type": 'multipart/report; report-type="delivery-status"; boundary=x'},
            "Hi",
            "a@b.example",
            True,
        ),
        (
            {"content-type": "multipart/report; report-type=disposition-notification"},
            "Read",
            "a@b.example",
            False,
        ),
        ({}, "Undelivered Mail Returned to Sender", "mailer-daemon@mx.example", True),
        ({}, "Delivery Status Notification (Failure)", "mailer-daemon@googlemail.com", True),
        ({}, "Unzustellbar: Landing page copy", "postmaster@firma.example", True),
        ({}, "Mail delivery failed: returning message to sender", "mailer-daemon@mx.example", True),
        ({"return-path": "<>"}, "Undeliverable: Landing page copy", "system@firma.example", True),
        ({}, "Undeliverable: Landing page copy", "vanessa@va-agency.example", False),
        ({}, "Re: Landing page copy", "postmaster@firma.example", False),
    ],
)
def test_a_bounce_is_known_by_its_report_or_its_sender_and_subject(headers, subject, sender, expected):
    assert looks_like_bounce(headers, subject, sender) is expected


def test_sanitised_html_keeps_text_and_safe_links_only():
    html = sanitise_html(
        '<div style="color:red" class="x" onclick="go()">Hi <a href="/logout">home</a>'
        ' <a href="mailto:a@b.example">mail</a> <img src="data:image/png;base64,AAAA" alt="inline">'
        ' <img src="https://pixel.example/p.gif" width="1" height="1">'
        ' <img src="http://cdn.example/a.png?x=1&amp;y=2"></div>'
    )

    assert html == (
        '<div>Hi <a rel="noopener noreferrer nofollow">home</a>'
        ' <a href="mailto:a@b.example" rel="noopener noreferrer nofollow">mail</a> inline '
        ' <a href="http://cdn.example/a.png?x=1&amp;y=2" rel="noopener noreferrer nofollow">'
        "http://cdn.example/a.png?x=1&amp;y=2</a></div>"
    )


def test_new_text_falls_back_to_the_whole_text_when_nothing_is_quoted():
    assert split_new_text("Just one line.") == "Just one line."
    assert split_new_text("On Mon, Dec 14, 2026 at 10:00 AM Alice wrote:\n> only a quote") != ""


def test_a_text_of_endless_blank_lines_is_split_without_hanging():
    text = "Reply.\n" + " \n" * 20_000 + "On Mon, Dec 14, 2026 at 10:00 AM Alice wrote:\n> quote"

    assert split_new_text(text) == "Reply."


# --- never a crash -------------------------------------------------------------------------------------

PARSEABLE = [name for name in sorted(EXPECTED) if not EXPECTED[name].rejected]
HEADER_STARTS = [
    b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"Subject: =?utf-8?B?",
    b"From: =?x-foo?Q?",
    b"Content-Type: text/plain; charset=",
    b"Date: ",
    b"Message-ID: <",
    b"To: ",
]


def parse_or_reject(raw: bytes) -> None:
    try:
        mail = parse_message(raw, max_attachment_bytes=ATTACHMENT_LIMIT)
    except MailRejected as rejected:
        assert rejected.reason
    else:
        assert_safe(mail)


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=4096))
def test_random_bytes_are_parsed_or_rejected_but_never_crash(raw):
    parse_or_reject(raw)


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(HEADER_STARTS), st.binary(max_size=4096))
def test_a_header_followed_by_random_bytes_never_crashes(start, rest):
    parse_or_reject(start + rest)


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
        st.integers(min_value=0, max_value=2**31),
        st.binary(min_size=1, max_size=32),
    ),
    min_size=1,
    max_size=8,
)


def mutate(raw: bytes, steps: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(raw)
    for kind, where, chunk in steps:
        at = where % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= chunk[0] or 0xFF
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + len(chunk)]
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            data[at:at] = data[at : at + 64 * len(chunk)]
    return bytes(data)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PARSEABLE), MUTATIONS)
def test_a_mutated_corpus_message_is_parsed_or_rejected_but_never_crashes(name, steps):
    parse_or_reject(mutate((CORPUS / name).read_bytes(), steps))


HTML_PIECES = st.sampled_from(
    [
        "<div>",
        "</div>",
        "<blockquote>",
        "</blockquote>",
        "<script>",
        "</script>",
        "<style>",
        "<img src=",
        '"',
        "'",
        "javascript:",
        "onclick=",
        "style=",
        "<a href=",
        ">",
        "<",
        "&lt;",
        "&",
        "<!--",
        "-->",
        "<pre>",
        "\n",
    ]
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(HTML_PIECES, st.text(max_size=20)), max_size=60).map("".join))
def test_sanitised_html_never_holds_a_script_a_style_or_a_handler(html):
    assert_safe_html(sanitise_html(html))
    assert isinstance(parse.html_to_text(html), str)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=2000), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)))
def test_reading_a_reply_or_a_return_date_never_crashes(text, today):
    assert isinstance(split_new_text(text), str)
    found = read_absence_until(text, today=today)
    assert found is None or today <= found <= today + timedelta(days=366)
