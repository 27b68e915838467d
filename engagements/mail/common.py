"""Small text and address helpers that every part of the mail reader shares."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ID_LENGTH = 255
MAX_REFERENCES = 100
MAX_ADDRESSES = 500

# Starts only where a run of address characters starts, so a long run is tried once, not at every offset.
LOOSE_ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
)
WHITESPACE = re.compile(r"\s+")
BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
# What a PostgreSQL text column cannot hold: NUL, and lone surrogates (no UTF-8 for them).
_NUL = re.compile("\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain and len(address) <= 254 and not any(c.isspace() for c in address))


def unique[T](values: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(values))


def collapse(value: str) -> str:
    return WHITESPACE.sub(" ", value).strip()


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return _CONTROL.sub("", text).strip("\n").rstrip()


def storable_text(value: str) -> str:
    """``value`` without what PostgreSQL refuses in text: NUL dropped, a lone surrogate replaced."""
    return _SURROGATE.sub("\ufffd", _NUL.sub("", value))
