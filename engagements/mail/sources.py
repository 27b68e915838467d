"""Where imported mail comes from on disk: .eml files, mbox files, Maildir folders.

Each yields one message's bytes at a time, so a large mailbox is streamed
rather than read whole (the command's files and the browser's uploads alike).
A folder is searched through, and every file in it is either read as mail or
reported as skipped, with the reason: nothing given is passed over in silence.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO

from django.conf import settings

# Lines are read in pieces of at most this size, so one enormous line cannot fill the memory.
LINE_PIECE = 64 * 1024


# An mbox postmark: "From " and the envelope sender, then somewhere a time and a year
# ("From alice@example.com Mon Dec 14 10:00:00 2026", "From - Mon Dec 14 …", Gmail's
# "From 1234@xxx Mon Dec 14 10:00:00 +0000 2026"). A sentence beginning "From " has neither.
_TIME, _YEAR = rb"(?<!\d)\d{1,2}:\d{2}(?!\d)", rb"(?<!\d)\d{4}(?!\d)"
POSTMARK = re.compile(
    rb"From \S*[ \t]+(?:.*" + _TIME + rb".*" + _YEAR + rb"|.*" + _YEAR + rb".*" + _TIME + rb")"
)
# A quoted "From " line in an mbox body: one ">" was added when the message was stored.
QUOTED_FROM = re.compile(rb">+From ")


def is_postmark(line: bytes) -> bool:
    """Whether an mbox line (after an empty line) is the postmark that starts a message."""
    return line.startswith(b"From ") and POSTMARK.match(line) is not None


MBOX, EML, MAILDIR = ".mbox", ".eml", "maildir"
# A first line that is a header field: printable characters but the colon, then a colon.
HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
SNIFF_BYTES = 4096


def mail_kind(name: str, head: bytes) -> str | None:
    """How a file of mail is read (``MBOX`` or ``EML``), from its name and first bytes; None if it is none.

    By name (.eml, .mbox) or, for any other name, by content: an mbox starts
    with a "From " line (Thunderbird's folders have no extension), a single
    message with a header line (an MH folder's numbered files, a saved mail).
    """
    suffix = PurePath(name).suffix.lower()
    if suffix in (MBOX, EML):
        return suffix  # a stray NUL byte inside is the parser's to report, per message
    if b"\x00" in head:
        return None
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if start.startswith(b"From "):
        return MBOX
    if HEADER_LINE.match(start):
        return EML
    return None


@dataclass(frozen=True)
class Found:
    """One place mail was looked for: how it is read, or why it is not (``skipped``)."""

    path: Path
    kind: str = ""  # MBOX, EML or MAILDIR
    skipped: str = ""


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _file(path: Path) -> Found:
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        return Found(path, skipped="empty")
    kind = mail_kind(path.name, head)
    return (
        Found(path, kind)
        if kind
        else Found(path, skipped="skipped: not mail (no .eml or .mbox name, no mail headers)")
    )


def mail_sources(path: Path) -> Iterator[Found]:
    """Every file or Maildir at ``path`` (a folder is searched through), each said how it is read or why not.

    Hidden files and folders (".DS_Store", Maildir's own) are passed over; a
    folder with nothing to read says so.
    """
    if path.is_file():
        yield _file(path)
    elif not path.is_dir():
        yield Found(path, skipped="not found")
    elif _is_maildir(path):
        yield Found(path, MAILDIR)
    else:
        children = sorted(c for c in path.iterdir() if not c.name.startswith("."))
        if not children:
            yield Found(path, skipped="empty")
        for child in children:
            yield from mail_sources(child)


def read(found: Found) -> Iterator[bytes]:
    """The raw bytes of every message of a found file or Maildir."""
    if found.kind == MAILDIR:
        box = mailbox.Maildir(found.path, factory=None, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()
        return
    with found.path.open("rb") as f:
        yield from MailFileReader(f, mbox=found.kind == MBOX)


def messages(path: Path) -> Iterator[bytes]:
    """The raw bytes of every message at ``path`` (what is no mail is passed over)."""
    for found in mail_sources(path):
        if found.kind:
            yield from read(found)


class MailFileReader:
    """The messages of a stored mail file, one at a time; ``position`` is the offset just past the last.

    An mbox is read a line at a time, never whole, the way mail clients read
    it: a "From " line starts a message only at the start of the file or after
    an empty line, and only when it looks like a postmark (a sender, then a
    time and a year); any other "From " line is text of the message it is in.
    The postmark line itself is dropped, and one ">" is taken off ">From ",
    ">>From " … lines (mboxrd's quoting, which also undoes mboxo's). A message
    larger than the importer takes is cut just past that size: the importer
    then rejects it, saying why, and the memory stays bounded.
    """

    def __init__(self, file: IO[bytes], *, mbox: bool, start: int = 0) -> None:
        self.file = file
        self.mbox = mbox
        self.start = start
        self.position = start
        self.cap = settings.MAIL_MAX_BYTES + 1

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.start)
        if not self.mbox:
            # A single message.
            data = self.file.read(self.cap)
            self.position = self.file.tell()
            # An empty file is read as an (empty, rejected) message, unless this resumes after it.
            if data.strip() or not self.start:
                yield data
            return
        # A resumed run starts at a message boundary (where a batch was recorded).
        offset = self.start
        pieces: list[bytes] = []
        size = 0
        in_message = False
        at_line_start = True
        after_empty_line = True  # the start of the file (or of a resumed run) counts as one
        while piece := self.file.readline(LINE_PIECE):
            if at_line_start and after_empty_line and is_postmark(piece):
                if in_message:
                    self.position = offset
                    yield b"".join(pieces)
                pieces, size, in_message = [], 0, True
            elif in_message or piece.strip():
                # Text before the first "From " line is read as a message too.
                in_message = True
                kept = piece[1:] if at_line_start and QUOTED_FROM.match(piece) else piece
                if size < self.cap:
                    pieces.append(kept)
                    size += len(kept)
            offset += len(piece)
            after_empty_line = at_line_start and piece in (b"\n", b"\r\n")
            at_line_start = piece.endswith(b"\n")
        if in_message:
            self.position = offset
            yield b"".join(pieces)
        self.position = offset
