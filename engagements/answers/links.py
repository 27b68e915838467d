"""Answer links: made when a mail goes out, checked when the provider opens one.

A token is ``<workspace>-<message>-<nonce>`` signed with a timestamp
(``TimestampSigner``, a salt of its own): tampering with any part breaks the
signature, and its age says when it expired without a database read. Only the
token's SHA-256 is stored (``AnswerLink.token_hash``), so a database dump holds
no working link; the row is what makes acknowledging and reporting a delivery
once-only, and deleting it revokes the link.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from engagements.models import AnswerLink, Message

SALT = "engagements.answers.link"
# Not in the signer's own alphabet (URL-safe base64), so it cannot be confused with a part.
SEPARATOR = "."


class LinkExpired(Exception):
    """The link was real but is too old (or its stored expiry passed)."""


class LinkInvalid(Exception):
    """Not a link this site made, tampered with, or revoked."""


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=SEPARATOR)


def max_age() -> timedelta:
    return timedelta(days=settings.ANSWER_LINK_MAX_AGE_DAYS)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def links_issue(messages: Sequence[Message]) -> list[str]:
    """Make the links for requests or follow-ups just logged (one INSERT); the tokens, in order.

    A token is shown once, in its mail: only its hash is kept.
    """
    expires_at = timezone.now() + max_age()
    signer = _signer()
    tokens = [signer.sign(f"{m.workspace_id}-{m.pk}-{secrets.token_hex(8)}") for m in messages]
    AnswerLink.objects.bulk_create(
        [
            AnswerLink(
                workspace_id=m.workspace_id, message=m, token_hash=token_hash(token), expires_at=expires_at
            )
            for m, token in zip(messages, tokens, strict=True)
        ]
    )
    return tokens


def link_issue(*, message: Message) -> str:
    """The link for one request or follow-up just logged."""
    return links_issue([message])[0]


def link_url(token: str) -> str:
    """The absolute address a mail carries."""
    return settings.SITE_URL + reverse("answer", kwargs={"token": token})


@dataclass(frozen=True)
class Opened:
    """A link that works: its row, and the request it answers (with its engagement and provider)."""

    link: AnswerLink
    request: Message


def link_open(token: str) -> Opened:
    """The link behind ``token``, or LinkExpired / LinkInvalid (one query for a good one).

    The signature is checked first, so a guessed or altered token costs no database read;
    the stored row must then name the same workspace and message as the signed value.
    """
    try:
        value = _signer().unsign(token, max_age=max_age())
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    try:
        workspace, message, _nonce = value.split("-")
        workspace_id, message_id = int(workspace), int(message)
    except ValueError:
        raise LinkInvalid from None
    link = (
        AnswerLink.objects.select_related("message__engagement__provider", "message__engagement__workspace")
        .filter(token_hash=token_hash(token), workspace_id=workspace_id, message_id=message_id)
        .first()
    )
    if link is None or link.message.is_deleted:
        raise LinkInvalid
    if link.expires_at <= timezone.now():
        raise LinkExpired
    return Opened(link=link, request=link.message)
