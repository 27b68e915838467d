"""Where imported mail comes from on disk: .eml files, mbox files, Maildir folders.

Each yields one message's bytes at a time, so a large mailbox is streamed
rather than read whole.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path


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
        if not _is_mbox(path):
            yield path.read_bytes()
            return
        box = mailbox.mbox(path, factory=None, create=False)
    else:
        raise UnknownSource(f"{path}: no such file or folder")
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()
