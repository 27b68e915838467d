"""Users, workspaces (the tenant), memberships with roles, and invitations."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outsourcing import formats


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person; logs in with their e-mail address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Times are shown in this zone. Empty: the site's default."),
    )
    language = models.CharField(
        _("language for e-mails"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Notifications and digests are written in it. Set at sign-up from the site's language."),
    )
    date_format = models.CharField(
        _("date format"),
        max_length=8,
        blank=True,
        default="",
        db_default="",
        choices=formats.CHOICES,
        help_text=_("How dates and times are written on your pages. Empty: from your browser's language."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Workspace(models.Model):
    """The tenant: every provider, engagement and message belongs to exactly one."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    webhook_url = models.URLField(
        _("webhook URL"),
        max_length=500,
        blank=True,
        help_text=_('Flags are POSTed here as JSON (Slack-compatible "text" field).'),
    )
    webhook_secret = models.CharField(_("webhook signing secret"), max_length=100, blank=True)
    notify_managers = models.BooleanField(
        _("also notify managers"),
        default=False,
        help_text=_("Managers get flag e-mails for every engagement, not only their own."),
    )
    # The secret part of the inbound mail webhook's address (made when first shown).
    mail_token = models.CharField(max_length=32, blank=True, editable=False, default="", db_default="")
    # Owners' security choices (outsourcing.services.workspace_set_security).
    require_two_factor = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        db_default=False,
        help_text=_("Members without it are asked to set it up before they can use this workspace."),
    )
    mail_any_recipient = models.BooleanField(
        _("allow sending to other addresses"),
        default=False,
        db_default=False,
        help_text=_(
            "Mail from the app may also be copied to addresses that are neither the provider's "
            "nor a member's."
        ),
    )
    # Made by "Explore a sample workspace": filled with sample data, shown with a banner.
    is_sample = models.BooleanField(_("sample workspace"), default=False, db_default=False)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["mail_token"], condition=~Q(mail_token=""), name="workspace_mail_token"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


# Higher ranks include every right of the lower ones.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.MANAGER: 2, Role.OWNER: 3}


class Membership(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("workspace")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    notify_email = models.BooleanField(_("e-mail me about flags"), default=True)
    email_digest = models.BooleanField(_("one daily digest instead of an e-mail per flag"), default=False)
    notify_in_app = models.BooleanField(_("show flags in the app"), default=True)
    # The first-run checklist is behind the person in this workspace: they hid it, or
    # everything on it was done. Until then the workspace opens on its dashboard, with the list.
    first_run_done = models.BooleanField(_("first-run checklist done"), default=False, db_default=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"

    def has_role(self, role: str) -> bool:
        """True when this member's role is ``role`` or a higher one."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def can_edit(self) -> bool:
        return self.has_role(Role.MEMBER)

    @property
    def can_manage(self) -> bool:
        return self.has_role(Role.MANAGER)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An e-mailed link that adds one person to a workspace, once, before it expires.

    Only the token's hash is stored, so a database leak yields no usable link.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("workspace")
    )
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    @staticmethod
    def default_expiry() -> Any:
        return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now
