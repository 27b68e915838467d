"""Escaping for the markup our template tags write in Python."""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    """A value as ``{{ value }}`` writes it: as text, escaped unless marked safe.

    Django's ``conditional_escape`` to the character, without its lazy-string wrappers: its
    ``escape`` is ``html.escape`` of the text too, behind a check of every argument for a lazy
    string that cost more than the escaping (a busy page escapes a few thousand values). A lazy
    string is escaped as its text, a lazy safe string kept, as there.
    """
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
