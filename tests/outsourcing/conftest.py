"""Helpers for the workspace, member and invitation pages."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse


def url(name: str, ws: str = "acme", **kwargs: object) -> str:
    return reverse(name, kwargs={"ws": ws, **kwargs})


def link_in_last_mail() -> str:
    """The first http link in the newest e-mail, as a path the test client can open."""
    body = mail.outbox[-1].body
    match = re.search(r"https?://[^/\s]+(/\S*)", body)
    assert match, body
    return match.group(1)
