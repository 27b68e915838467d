"""Writes of the API app: issuing and revoking personal tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken, IdempotentRequest
from outsourcing.models import Membership

# last_used_at is written at most this often per token: one UPDATE a minute, not one per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def token_create(*, membership: Membership, name: str, access: str) -> tuple[ApiToken, str]:
    """A new token for the member in their workspace; returns it and its key (never stored, shown once)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if access not in ApiToken.Access.values:
        raise ValidationError({"access": _("Choose read only or read and write.")})
    if access == ApiToken.Access.WRITE and not membership.can_edit:
        raise ValidationError({"access": _("A viewer's token can only read.")})
    token, key = ApiToken.objects.create_key(
        user=membership.user, workspace=membership.workspace, name=name[:50], access=access
    )
    return cast(ApiToken, token), key


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop a token working, for good (the row stays, so the list can say when)."""
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked=False).update(revoked=True, revoked_at=now)
    token.refresh_from_db(fields=["revoked", "revoked_at"])
    return token


def token_touch(token: ApiToken) -> None:
    """Note that the token was used (at most once a minute, by a conditional update)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


PURGE_BATCH = 5000


def idempotent_requests_purge() -> int:
    """Delete the stored answers older than API_IDEMPOTENCY_HOURS, in batches; the number deleted.

    A retry after that long is a new request: clients retry within minutes.
    """
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted = 0
    while True:
        ids = list(
            IdempotentRequest.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return deleted
        deleted += IdempotentRequest.objects.filter(pk__in=ids).delete()[0]
