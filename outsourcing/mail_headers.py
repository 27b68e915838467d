"""Text that goes into a mail header (Subject, a From display name): one line, no control characters.

A header cannot span lines: Python's mail package refuses a value holding a
line break (``\\n``, ``\\r``, ``\\v``, ``\\x85``, ``\\u2028`` …), so a workspace,
provider or engagement name posted with one would fail every mail it
appears in, on every retry. Names are stored as typed; every place that
builds a header passes them through :func:`header_text` instead.
"""

from __future__ import annotations

import unicodedata

# Control characters (NUL, ESC, line breaks, DEL …) and the Unicode line and paragraph separators.
_BREAKING = {"Cc", "Zl", "Zp"}


def header_text(value: object, limit: int | None = None) -> str:
    """``value`` as one clean header line: control characters become spaces, runs of space collapse.

    ``limit`` cuts the result to that many characters (a stored subject's length).
    """
    text = "".join(" " if unicodedata.category(c) in _BREAKING else c for c in str(value))
    text = " ".join(text.split())
    return text[:limit].rstrip() if limit is not None else text
