"""Engagements (delegated tasks), their message log, and the exchanges derived from it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outsourcing.models import Workspace
from outsourcing.money import CurrencyField
from providers.models import Category, Provider


class Engagement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REQUESTED = "requested", _("Requested")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        ON_HOLD = "on_hold", _("On hold")
        CANCELLED = "cancelled", _("Cancelled")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    # The lifecycle, in one place: status -> statuses it may move to.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.DRAFT: (Status.REQUESTED, Status.CANCELLED),
        Status.REQUESTED: (Status.IN_PROGRESS, Status.ON_HOLD, Status.CANCELLED),
        Status.IN_PROGRESS: (Status.DELIVERED, Status.ON_HOLD, Status.CANCELLED),
        Status.DELIVERED: (Status.COMPLETED, Status.IN_PROGRESS),
        Status.ON_HOLD: (Status.REQUESTED, Status.IN_PROGRESS, Status.CANCELLED),
        Status.COMPLETED: (),
        Status.CANCELLED: (Status.DRAFT,),
    }
    OPEN_STATUSES = (Status.DRAFT, Status.REQUESTED, Status.IN_PROGRESS, Status.DELIVERED, Status.ON_HOLD)

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="engagements", verbose_name=_("workspace")
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="engagements", verbose_name=_("provider")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_engagements",
        verbose_name=_("owner"),
    )
    title = models.CharField(_("title"), max_length=200)
    brief = models.TextField(_("brief"), blank=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    fee_amount = models.DecimalField(_("agreed fee"), max_digits=12, decimal_places=2, null=True, blank=True)
    fee_currency = CurrencyField(_("currency"), blank=True)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    client_name = models.CharField(_("client"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Derived from the log by exchanges_recompute(); never edited directly.
    awaiting_reply = models.BooleanField(_("awaiting reply"), default=False)
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="eng_ws_created"),
            models.Index(fields=["workspace", "status"], name="eng_ws_status"),
            models.Index(fields=["provider", "status"], name="eng_provider_status"),
            models.Index(fields=["workspace", "owner"], name="eng_ws_owner"),
            models.Index(
                fields=["workspace", "waiting_since"],
                name="eng_ws_awaiting",
                condition=Q(awaiting_reply=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_amount__isnull=True) | Q(fee_amount__gte=0),
                name="engagement_fee_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def allowed_transitions(self) -> tuple[str, ...]:
        return self.TRANSITIONS[self.Status(self.status)]

    def can_transition_to(self, status: str) -> bool:
        return status in self.allowed_transitions()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def whose_turn(self) -> str:
        """ "provider" while a request is unanswered, "us" after their last word, else ""."""
        if self.awaiting_reply:
            return "provider"
        if self.last_inbound_at and (
            self.last_outbound_at is None or self.last_inbound_at >= self.last_outbound_at
        ):
            return "us"
        return ""

    def is_overdue_delivery(self, today: object = None) -> bool:
        today = today or timezone.localdate()
        return bool(
            self.due_on
            and self.due_on < today  # type: ignore[operator]
            and self.status in (self.Status.REQUESTED, self.Status.IN_PROGRESS)
        )


class StatusChange(models.Model):
    """Every status move, kept: on-hold periods pause the response clock."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Engagement.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Engagement.Status.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["engagement", "changed_at"], name="status_change_eng")]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class Message(models.Model):
    """One entry of the log. Edits keep the previous version; deletes are soft."""

    class Direction(models.TextChoices):
        OUTBOUND = "out", _("To the provider")
        INBOUND = "in", _("From the provider")
        NOTE = "note", _("Internal note")

    class Kind(models.TextChoices):
        REQUEST = "request", _("Request")
        FOLLOW_UP = "follow_up", _("Follow-up")
        REPLY = "reply", _("Reply")
        DELIVERY = "delivery", _("Delivery")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")
        VIDEO = "video", _("Video call")
        PLATFORM = "platform", _("Platform message")
        FAX = "fax", _("Fax")
        LETTER = "letter", _("Letter")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        APP = "app", _("Sent from the app")
        IMAP = "imap", _("Mailbox")
        WEBHOOK = "webhook", _("Webhook")
        IMPORT = "import", _("Import")
        API = "api", _("API")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="messages", verbose_name=_("engagement")
    )
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    occurred_at = models.DateTimeField(_("when"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("message"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("logged by"),
    )
    sender = models.CharField(_("sender"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    is_auto_reply = models.BooleanField(_("automatic reply"), default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["engagement", "occurred_at"], name="message_eng_time"),
            models.Index(
                fields=["workspace", "message_id"],
                name="message_ws_msgid",
                condition=~Q(message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MessageVersion(models.Model):
    """The content a message had before an edit (version N is what was replaced)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    direction = models.CharField(max_length=4, choices=Message.Direction.choices)
    kind = models.CharField(max_length=10, choices=Message.Kind.choices)
    channel = models.CharField(max_length=10, choices=Message.Channel.choices)
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["message", "version"], name="message_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} v{self.version}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    import secrets
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"attachments/{instance.message.workspace_id}/{secrets.token_hex(16)}{suffix}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class Exchange(models.Model):
    """One request and the reply that answered it, derived from the log.

    Rows are rewritten by ``exchanges_recompute`` whenever an engagement's log
    changes; the request message that opened an exchange is its identity.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="exchanges")
    request_message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="opened_exchange")
    reply_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    reply_due_at = models.DateTimeField(_("reply due"), null=True, blank=True)
    followups = models.PositiveIntegerField(_("follow-ups"), default=0)
    reply_seconds = models.PositiveBigIntegerField(_("reply time"), null=True, blank=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["engagement", "requested_at"], name="exchange_eng_time"),
            models.Index(
                fields=["reply_due_at"],
                name="exchange_open_due",
                condition=Q(replied_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engagement}: {self.requested_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.replied_at is None
