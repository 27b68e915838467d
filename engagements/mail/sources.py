"""Where imported mail comes from on disk: .eml files, mbox files, Maildir folders.

Each yields one message's bytes at a time, so a large mailbox is streamed
rather than read whole (the command's files and the browser's uploads alike).
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from pathlib import Path
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


class UnknownSource(ValueError):
    """A path that is neither an .eml file, an mbox file nor a Maildir folder."""


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() == ".mbox":
        return True
    with path.open("rb") as f:
        return f.read(5) == b"From "


def messages(path: Path) -> Iterator[bytes]:
    """The raw bytes of every message at ``path``."""
    if path.is_dir():
        if _is_maildir(path):
            box: mailbox.Mailbox = mailbox.Maildir(path, factory=None, create=False)
        else:
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".eml":
                    yield child.read_bytes()
            return
    elif path.is_file():
        with path.open("rb") as f:
            yield from MailFileReader(f, mbox=_is_mbox(path))
        return
    else:
        raise UnknownSource(f"{path}: no such file or folder")
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


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
