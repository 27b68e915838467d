"""How the importer knows a mail it has seen before when no Message-ID says so.

Many archives hold mail without a Message-ID (or with one that cannot be
read). Such a mail is known by a fingerprint: its sender, date and subject
and a hash of its body, as read (text, HTML and attached files, whitespace
evened out). Read rather than raw: a mail a webhook service rebuilds from
its fields gets new MIME boundaries each time it is posted, and a copy fetched
by IMAP (CRLF) and one read from an mbox (LF) differ in their bytes.

A rejected mail is known by a hash of its bytes: it is stored once, however
often the same file is imported.
"""

from __future__ import annotations

import hashlib

from engagements.mail.parse import ParsedMail

MAIL, REJECT = "m:", "r:"


def _field(digest: hashlib._Hash, value: str) -> None:
    digest.update(value.encode("utf-8", "surrogatepass") + b"\x00")


def mail_fingerprint(mail: ParsedMail) -> str:
    """The fingerprint of a parsed mail: sender, date, subject and body hash."""
    body = hashlib.sha256()
    _field(body, " ".join(mail.text.split()))
    _field(body, " ".join(mail.html.split()))
    for part in mail.attachments:
        _field(body, part.filename)
        body.update(hashlib.sha256(part.data).digest())
    for name in mail.skipped_attachments:
        _field(body, name)
    digest = hashlib.sha256()
    for value in (mail.from_address.lower(), mail.date.isoformat() if mail.date else "", mail.subject):
        _field(digest, value)
    digest.update(body.digest())
    return MAIL + digest.hexdigest()


def reject_fingerprint(raw: bytes) -> str:
    """The fingerprint of a rejected mail: its bytes."""
    return REJECT + hashlib.sha256(raw).hexdigest()
