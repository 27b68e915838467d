"""Personal API tokens, and the answers kept for retried POSTs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from outsourcing.models import Workspace


class ApiToken(AbstractAPIKey):
    """One person's key to one workspace: read-only or read-write, stored hashed, shown once.

    djangorestframework-api-key makes and checks the key ("prefix.secret"; only
    the prefix and a SHA-512 hash of the whole are kept). What the holder may do
    is still their role in the workspace: a write token of a viewer writes nothing.
    """

    class Access(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("workspace")
    )
    access = models.CharField(_("access"), max_length=5, choices=Access.choices, default=Access.READ)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API token")  # type: ignore[assignment]
        verbose_name_plural = _("API tokens")  # type: ignore[assignment]
        indexes = [models.Index(fields=["user", "workspace"], name="apitoken_user_ws")]

    @property
    def can_write(self) -> bool:
        return self.access == self.Access.WRITE


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to its retries.

    Written in the same transaction as what the POST did, so a retry sees
    either nothing (and does the work) or the finished answer, never half.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # The method, path and body it came with: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotent_request_token_key")]
        # The hourly purge finds old answers without reading the whole table.
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_created")]

    def __str__(self) -> str:
        return self.key
