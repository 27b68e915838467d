"""Bytes of a mail as text, the way mail clients read them whatever the label says.

Mailers label text with the charset they think they used, and are often wrong
in a few known ways; this module reads past them:

- A label names a smaller charset than the bytes use: "gb2312" for GBK text,
  "ks_c_5601-1987" for Windows' Korean, "iso-8859-1" for Windows-1252, and
  "shift_jis" or "big5" for their vendor extensions. Each is read as its
  superset (``SUPERSETS``), as browsers do (the WHATWG Encoding Standard).
- UTF-8 with a stray invalid byte (a cut line, a pasted character) is read as
  UTF-8 with each invalid sequence replaced by U+FFFD, not as Latin-1 mojibake
  of the whole body. Text labelled UTF-8 that holds no UTF-8 at all is a
  mislabelled 8-bit text and is read as one.
- An 8-bit label on valid UTF-8 is mislabelled UTF-8.
- Without a label (or with one that fails), charset-normalizer guesses; for
  text mostly in Latin script the guess is unreliable on the few bytes a mail
  has, so Windows-1252 (the West-European mailers' charset) is read instead.

Pure functions, no ORM: ``parse`` calls them for bodies, encoded words and raw header bytes.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

UTF8 = "utf-8"
WINDOWS_1252 = "cp1252"

# Declared label -> the codec that reads what mailers really send under it.
SUPERSETS: dict[str, str] = {
    **dict.fromkeys(
        (
            "gb2312",
            "gb_2312",
            "gb_2312-80",
            "csgb2312",
            "euc-cn",
            "x-euc-cn",
            "chinese",
            "iso-ir-58",
            "gbk",
            "x-gbk",
            "cp936",
            "ms936",
            "windows-936",
        ),
        "gb18030",
    ),
    **dict.fromkeys(
        (
            "ks_c_5601-1987",
            "ks_c_5601-1989",
            "ks_c_5601",
            "ksc5601",
            "ksc_5601",
            "csksc56011987",
            "iso-ir-149",
            "korean",
            "euc-kr",
            "x-euc-kr",
            "cseuckr",
            "windows-949",
        ),
        "cp949",
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "ms932"),
        "cp932",
    ),
    **dict.fromkeys(("big5", "big-5", "x-big5", "cn-big5", "csbig5"), "big5hkscs"),
    **dict.fromkeys(
        (
            "iso-8859-1",
            "iso8859-1",
            "iso_8859-1",
            "latin1",
            "latin-1",
            "l1",
            "cp819",
            "ibm819",
            "iso-ir-100",
            "csisolatin1",
            "us-ascii",
            "ascii",
            "ansi_x3.4-1968",
            "iso646-us",
        ),
        WINDOWS_1252,
    ),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "l5"), "cp1254"),
    **dict.fromkeys(("iso-8859-11", "tis-620", "windows-874"), "cp874"),
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "unicode-1-1-utf-8": UTF8,
}
# Labels that say nothing: read as if none was given.
NO_LABEL = frozenset({"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "8bit"})

# How a codec is named to people (a defect note), where Python's name differs.
LABELS = {WINDOWS_1252: "windows-1252", "latin-1": "latin-1", "utf-8": "utf-8"}

# Guesses the detector may make on a few bytes that no mail uses (16/32-bit Unicode has NUL bytes).
_NEVER_GUESSED = ("utf_16", "utf_32", "utf_7")

_LATIN1_FALLBACK = "mail-latin1-fallback"
_HIGH_BYTES = bytes(range(0x80, 0x100))
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # Windows-1252 leaves five bytes undefined; browsers read them as the Latin-1 control characters.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error(_LATIN1_FALLBACK, _latin1_fallback)


def label(codec: str) -> str:
    return LABELS.get(codec, codec.replace("_", "-"))


def charset_key(charset: str | None) -> str | None:
    """A declared charset's label, lower-case, without quotes or an RFC 2231 language."""
    if not charset:
        return None
    return charset.split("*", 1)[0].strip().strip("\"'").lower() or None


@lru_cache(maxsize=128)
def _codec(key: str) -> str | None:
    """The codec that reads a declared label, or None when Python knows no such charset."""
    name = SUPERSETS.get(key, key)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None


@lru_cache(maxsize=128)
def _ascii_compatible(codec: str) -> bool:
    """Whether 7-bit bytes read as ASCII in this codec (not in UTF-7, ISO-2022 or UTF-16)."""
    sample = bytes(range(1, 128))
    try:
        return sample.decode(codec) == sample.decode("ascii")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return False


@lru_cache(maxsize=128)
def _single_byte(codec: str) -> bool:
    try:
        return len(bytes(range(256)).decode(codec, "replace")) == 256
    except (LookupError, ValueError, TypeError, UnicodeError):
        return False


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode(UTF8)
    except UnicodeDecodeError:
        return None


def _mostly_utf8(data: bytes) -> tuple[str, int] | None:
    """UTF-8 with its invalid sequences replaced, and how many, when valid sequences outnumber them.

    Mislabelled 8-bit text (Windows-1252 prose) almost never forms a valid
    multi-byte sequence, so one found means the text is UTF-8 with a few bad bytes.
    """
    text = data.decode(UTF8, "replace")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for c in text if c > "\x7f" and c != "\ufffd")
    return (text, replaced) if good and good >= replaced else None


def _windows_1252(data: bytes) -> str:
    return data.decode(WINDOWS_1252, _LATIN1_FALLBACK)


def _mostly_latin(data: bytes) -> bool:
    """Whether 8-bit bytes are the odd accented letter in ASCII words (a Latin-script text).

    In Cyrillic, Greek or CJK text nearly every letter is 8-bit; in German or
    French a few are. On so few bytes a detector cannot tell Windows-1252 from
    its neighbours, and 1252 is what West-European mailers send.
    """
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
    return high < letters


def _detect(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's reading of text that is not UTF-8: (text, codec), or None."""
    try:
        best = from_bytes(data).best()
    except (LookupError, ValueError, TypeError, UnicodeError):  # pragma: no cover - the detector's own bug
        return None
    if best is None or best.encoding.startswith(_NEVER_GUESSED):
        return None
    return str(best), best.encoding


def guess(data: bytes) -> tuple[str, str]:
    """Undeclared bytes as text, and the codec used: UTF-8, the detector's guess, or Windows-1252."""
    if data.isascii():
        return data.decode("ascii"), "ascii"
    text = _utf8(data)
    if text is not None:
        return text, UTF8
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return mostly[0], UTF8
    if not _mostly_latin(data):
        detected = _detect(data)
        if detected is not None:
            return detected
    return _windows_1252(data), WINDOWS_1252


def decode(data: bytes, declared: str | None) -> tuple[str, list[str]]:
    """Bytes labelled ``declared`` (or nothing) as text, and notes on what was read differently."""
    key = charset_key(declared)
    if key in NO_LABEL:
        key = None
    notes: list[str] = []
    codec = _codec(key) if key else None
    if key and codec is None:
        notes.append(_("unknown charset %(charset)s") % {"charset": key[:40]})
    if data.isascii() and (codec is None or _ascii_compatible(codec)):
        return data.decode("ascii"), notes  # the common case, the same in all of these
    if codec is None:
        return guess(data)[0], notes

    def read_as(used: str) -> None:
        notes.append(
            _("text declared as %(declared)s was read as %(used)s") % {"declared": key, "used": used}
        )

    if codec == UTF8:
        text = _utf8(data)
        if text is not None:
            return text, notes
        mostly = _mostly_utf8(data)
        if mostly is not None:
            notes.append(
                _("%(count)s invalid byte sequences in %(declared)s text were replaced")
                % {"count": mostly[1], "declared": key}
            )
            return mostly[0], notes
    else:
        # An 8-bit label on bytes that are valid UTF-8 is mislabelled UTF-8: real
        # Latin-1 prose almost never forms valid UTF-8 sequences by accident.
        if _single_byte(codec):
            text = _utf8(data)
            if text is not None:
                read_as(UTF8)
                return text, notes
        if codec == WINDOWS_1252:
            return _windows_1252(data), notes
        try:
            return data.decode(codec), notes
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
        # A few broken characters in a long text of this charset (a line cut mid-character).
        text = data.decode(codec, "replace")
        replaced = text.count("\ufffd")
        if replaced * 10 <= sum(1 for c in text if c > "\x7f"):
            notes.append(
                _("%(count)s invalid byte sequences in %(declared)s text were replaced")
                % {"count": replaced, "declared": key}
            )
            return text, notes
    text, used = guess(data)
    read_as(label(used))
    return text, notes
