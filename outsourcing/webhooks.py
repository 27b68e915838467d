"""The check a workspace's flag webhook address must pass, when it is saved and before each POST."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from outsourcing.network import resolves_to_private


def check_webhook_url(url: str) -> None:
    """Refuse anything but http(s) to a public address (unless a setting allows private ones).

    Checked when the URL is saved and again before each POST, since DNS may
    change in between.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter an http:// or https:// address."))
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        private = resolves_to_private(parts.hostname, parts.port or 443)
    except OSError:
        raise ValidationError(_("The webhook's host name cannot be resolved.")) from None
    if private:
        raise ValidationError(_("Private, loopback and reserved addresses are not allowed for webhooks."))
