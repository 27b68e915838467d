"""The inbound mail webhook: an e-mail service (Postmark, Mailgun) posts each mail it receives here.

The address carries the workspace's secret ``mail_token``; the service proves
who it is through anymail's checks: Postmark with HTTP basic auth
(``ANYMAIL["WEBHOOK_SECRET"]``), Mailgun with the HMAC signature made with
``MAILGUN_WEBHOOK_SIGNING_KEY``. Anymail only warns when no secret is set;
here such a post is refused, so an unauthenticated post never imports
anything. Each mail goes straight to the one importer (``importer.mail_import``),
not through anymail's signal.

What the services make of our answers: 200 is done (a mail the importer
rejects is kept as rejected, and the service must not retry it forever);
Postmark stops retrying on 403; anything else is retried for a while, which
gives a person time to fix a wrong password or key.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.core.cache import cache
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseForbidden,
    HttpResponseNotFound,
)
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

from engagements.mail import importer
from engagements.mail.tokens import token_once
from engagements.models import InboundMail
from outsourcing.models import Workspace

logger = logging.getLogger(__name__)

# secrets.token_urlsafe(24): 32 characters, the column's width.
TOKEN_BYTES = 24
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,32}")
# An envelope recipient we copy into a header: one plain address, no spaces or line breaks.
ADDRESS = re.compile(r"[^\s<>@,;:\"]{1,64}@[^\s<>@,;:\"]{1,255}")
HEADER_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
# A post as JSON carries the mail base64-encoded, and Postmark sends it twice
# (the raw message and the parsed parts): this many times the largest mail.
JSON_PER_MAIL_BYTE = 3
# Mailgun signs the time of each post: a signature older than this (or from the
# future by as much) is refused, and one already taken is refused while it is fresh.
MAILGUN_SIGNATURE_MAX_AGE = 15 * 60


class PayloadTooLarge(ValueError):
    """The post is larger than any mail the importer would accept."""


# --- The workspace's address -------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def mail_token_ensure(workspace: Workspace) -> str:
    """The workspace's webhook token, made when first asked for.

    A conditional update: two people opening the page at once end up with the same token.
    """
    if not workspace.mail_token:
        workspace.mail_token = token_once(Workspace, workspace.pk, "mail_token", _new_token)
    return workspace.mail_token


def mail_token_rotate(workspace: Workspace) -> str:
    """Give the workspace a new webhook address; the old one answers 404 from now on.

    Conditional on the token being the one the person saw: two clicks at once rotate once.
    """
    Workspace.objects.filter(pk=workspace.pk, mail_token=workspace.mail_token).update(mail_token=_new_token())
    workspace.refresh_from_db(fields=["mail_token"])
    return workspace.mail_token


def workspace_for_token(token: str) -> Workspace | None:
    if not TOKEN.fullmatch(token):
        return None
    return Workspace.objects.filter(mail_token=token).first()


# --- What the server is configured with ---------------------------------------


def basic_auth_secrets() -> list[str]:
    """The "user:password" pairs anymail accepts (shared by every service's webhook)."""
    value = get_anymail_setting("webhook_secret", default=[])
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


def mailgun_signing_key() -> str:
    """Mailgun's webhook signing key as anymail reads it ("" when none is set)."""
    key = get_anymail_setting("webhook_signing_key", esp_name="Mailgun", default=None)
    if key is None:
        # Anymail's fallback for older set-ups: the API key signs webhooks too.
        key = get_anymail_setting("api_key", esp_name="Mailgun", default=None, allow_bare=True)
    return key or ""


# --- The views ----------------------------------------------------------------


def _read_body(request: HttpRequest) -> bytes:
    """The posted bytes, up to what one mail may take.

    Not ``request.body``: Django stops that at DATA_UPLOAD_MAX_MEMORY_SIZE, a
    limit meant for forms, and a mail with attachments posted as JSON is
    larger. ``read`` is the same stream without that limit.
    """
    limit = settings.MAIL_MAX_BYTES * JSON_PER_MAIL_BYTE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge
    return body


def _with_recipient(raw: bytes, recipient: str | None) -> bytes:
    """Prepend the envelope recipient as Delivered-To, as a mail server would.

    A Bcc or forwarded copy names its routing address (``reply+TOKEN@…``) nowhere else.
    """
    # Only in front of a header: bytes that are no mail must stay no mail (the importer rejects them).
    if not recipient or not ADDRESS.fullmatch(recipient) or not HEADER_FIELD.match(raw):
        return raw
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    return b"Delivered-To: " + recipient.encode() + newline + raw


def _text_bytes(text: str) -> bytes:
    # A JSON string may hold lone surrogates, which UTF-8 cannot: those become "?".
    return text.encode("utf-8", "replace")


@method_decorator(csrf_exempt, name="dispatch")
class WorkspaceInboundMixin:
    """Before anymail's inbound view: the workspace from the URL, refusals, and the import.

    Anymail's views are CSRF-exempt through their ``dispatch``; this one
    overrides it, so it is exempted again.
    """

    esp_name: str
    workspace: Workspace

    def secret_configured(self) -> bool:
        raise NotImplementedError

    def raw_message(self, event: Any) -> bytes:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, token: str, **kwargs: Any) -> HttpResponseBase:
        workspace = workspace_for_token(token)
        if workspace is None:
            # The same empty answer for a wrong token as for a path that never existed.
            return HttpResponseNotFound()
        self.workspace = workspace
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def refused(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseForbidden()

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.secret_configured():
            logger.warning("%s webhook post refused: no secret is configured on the server", self.esp_name)
            return HttpResponseForbidden()
        try:
            self.run_validators(request)  # type: ignore[attr-defined]
        except AnymailWebhookValidationFailure as error:
            logger.warning("%s webhook post refused: %s", self.esp_name, error)
            return self.refused(request)
        try:
            raws = [self.raw_message(event) for event in self.parse_events(request)]  # type: ignore[attr-defined]
        except PayloadTooLarge:
            return HttpResponse(status=413)
        except Exception:  # reading the post writes nothing: any failure is a body we cannot read
            logger.warning("%s webhook post unreadable", self.esp_name, exc_info=True)
            return HttpResponseBadRequest()
        for raw in raws:
            importer.mail_import(workspace=self.workspace, raw=raw, source=InboundMail.Source.WEBHOOK)
        self.accepted(request)
        return HttpResponse()

    def accepted(self, request: HttpRequest) -> None:
        """The post was imported (a service's retry after a failure must still get through)."""


class PostmarkInbound(WorkspaceInboundMixin, PostmarkInboundWebhookView):
    """Postmark's inbound webhook, authenticated by HTTP basic auth in the URL."""

    # Anymail would warn on every post when no secret is set; this view refuses such posts instead.
    warn_if_no_basic_auth = False

    def secret_configured(self) -> bool:
        return bool(self.basic_auth)

    def refused(self, request: HttpRequest) -> HttpResponse:
        # A challenge, so a client that waits for one before sending its credentials gets it.
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Basic realm="mail"'
        return response

    def parse_events(self, request: HttpRequest) -> list[Any]:
        return [self.esp_to_anymail_event(json.loads(_read_body(request)))]

    def raw_message(self, event: Any) -> bytes:
        raw = event.esp_event.get("RawEmail")
        # With "Include raw email content" ticked, Postmark sends the message as it came.
        data = _text_bytes(raw) if isinstance(raw, str) and raw.strip() else event.message.as_bytes()
        return _with_recipient(data, event.message.envelope_recipient)


class MailgunInbound(WorkspaceInboundMixin, MailgunInboundWebhookView):
    """Mailgun's route forwarding, authenticated by its HMAC signature (and basic auth when one is set)."""

    def __init__(self, **kwargs: Any) -> None:
        # Anymail fails to start without any key at all (a 500); an empty key is refused per post instead.
        if not mailgun_signing_key():
            kwargs = {**kwargs, "webhook_signing_key": ""}
        super().__init__(**kwargs)

    def secret_configured(self) -> bool:
        return bool(self.webhook_signing_key)

    @staticmethod
    def _signed(request: HttpRequest) -> tuple[str, str]:
        """(timestamp, token) of a post whose signature anymail has checked: in the form, or in the JSON."""
        if request.content_type == "application/json":
            fields = json.loads(request.body)["signature"]
        else:
            fields = request.POST
        return str(fields["timestamp"]), str(fields["token"])

    def _used_key(self, request: HttpRequest) -> str:
        return f"mailgun-webhook-token:{self._signed(request)[1][:100]}"

    def validate_request(self, request: HttpRequest) -> None:
        """Anymail checks the signature; a captured post replayed later must fail too."""
        super().validate_request(request)
        try:
            signed_at = int(self._signed(request)[0])
        except ValueError as error:
            raise AnymailWebhookValidationFailure("Mailgun webhook timestamp is not a number") from error
        if abs(time.time() - signed_at) > MAILGUN_SIGNATURE_MAX_AGE:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook signature is too old: a replay, or the server's clock is wrong"
            )
        if cache.get(self._used_key(request)):
            raise AnymailWebhookValidationFailure("Mailgun webhook signature was used before: a replay")

    def accepted(self, request: HttpRequest) -> None:
        # Twice the age limit: a clock off by the whole window cannot bring it back.
        cache.set(self._used_key(request), True, 2 * MAILGUN_SIGNATURE_MAX_AGE)

    def raw_message(self, event: Any) -> bytes:
        # A route forwarding to an address ending in "mime" posts the message as it came.
        raw = event.esp_event.POST.get("body-mime")
        data = _text_bytes(raw) if raw else event.message.as_bytes()
        return _with_recipient(data, event.message.envelope_recipient)
