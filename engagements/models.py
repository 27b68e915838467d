"""Engagements (delegated tasks), their message log, and the exchanges derived from it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from outsourcing import dates
from outsourcing.files import stored_name
from outsourcing.models import Workspace
from outsourcing.money import CurrencyField
from providers.models import Category, Provider, ResponsePolicy


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
    CLOSED_STATUSES = (Status.COMPLETED, Status.CANCELLED)
    # While the provider still owes the delivery (on hold pauses the obligation).
    DELIVERY_OWED_STATUSES = (Status.REQUESTED, Status.IN_PROGRESS)

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
    response_policy = models.ForeignKey(
        ResponsePolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("response policy"),
        help_text=_("Empty: the provider's policy, else the workspace default."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Derived from the log by exchanges_recompute(); never edited directly.
    awaiting_reply = models.BooleanField(_("awaiting reply"), default=False)
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    # When the log left the next word to us (the provider's first real message
    # since ours, with no request of ours open), and when our answer is due
    # under the policy's allowance on our calendar (docs/design.md, "Whose turn").
    our_turn_since = models.DateTimeField(_("our turn since"), null=True, blank=True, editable=False)
    our_answer_due_at = models.DateTimeField(_("our answer due"), null=True, blank=True, editable=False)
    # When the flagging pass must look at this engagement's delivery: the end of
    # its due date in the provider's zone, while delivery is still owed.
    delivery_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by the status service for the reliability numbers: when the work was
    # (last) delivered and whether that was by the end of the due date in the
    # provider's zone (None without a due date), and when it was completed.
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True, editable=False)
    delivered_on_time = models.BooleanField(_("delivered on time"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    # The per-engagement part of the Reply-To address (local+TOKEN@domain) that
    # sends replies back here; made when the first mail goes out.
    # A database default too: the bulk loaders (demo, benchmarks) write rows in SQL.
    routing_token = models.CharField(max_length=24, blank=True, editable=False, default="", db_default="")
    # When it was completed or cancelled (None while open): an unanswered
    # request of a closed engagement stopped waiting then.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list's default order, whole: ties on created_at (an import) are read in order, not sorted.
            models.Index(fields=["workspace", "-created_at", "-id"], name="eng_ws_created_id"),
            models.Index(fields=["workspace", "status"], name="eng_ws_status"),
            models.Index(fields=["provider", "status"], name="eng_provider_status"),
            models.Index(fields=["workspace", "owner"], name="eng_ws_owner"),
            models.Index(
                fields=["workspace", "waiting_since"],
                name="eng_ws_awaiting",
                condition=Q(awaiting_reply=True),
            ),
            # Needs attention: our answers that are overdue. The navigation counts them on every
            # page: with the columns the rule reads (deadlines.our_answer_overdue_q) included, that
            # COUNT is an index-only scan rather than a visit to every row it counts.
            models.Index(
                fields=["workspace", "our_answer_due_at"],
                name="eng_ws_our_answer_due",
                condition=Q(our_answer_due_at__isnull=False),
                include=["status", "due_on", "our_turn_since"],
            ),
            models.Index(
                fields=["delivery_check_at"],
                name="eng_delivery_check",
                condition=Q(delivery_check_at__isnull=False),
            ),
            # The reliability pages: deliveries and completions in a period.
            models.Index(
                fields=["workspace", "delivered_at"],
                name="eng_ws_delivered",
                condition=Q(delivered_at__isnull=False),
            ),
            # The Client filter's choices: a skip from one name to the next (queries.client_names).
            models.Index(
                fields=["workspace", "client_name"],
                name="eng_ws_client",
                condition=~Q(client_name=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_amount__isnull=True) | Q(fee_amount__gte=0),
                name="engagement_fee_not_negative",
            ),
            # Imported mail finds its engagement by the token in a recipient address.
            models.UniqueConstraint(
                fields=["routing_token"], condition=~Q(routing_token=""), name="engagement_routing_token"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = dates.check_dates({"due_on": self.due_on})
        if errors:
            raise ValidationError(errors)

    def allowed_transitions(self) -> tuple[str, ...]:
        return self.TRANSITIONS[self.Status(self.status)]

    def can_transition_to(self, status: str) -> bool:
        return status in self.allowed_transitions()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


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
        # A mail server's report that our mail did not arrive.
        BOUNCE = "bounce", _("Delivery failure")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")
        WHATSAPP = "whatsapp", _("WhatsApp")
        TELEGRAM = "telegram", _("Telegram")
        SLACK = "slack", _("Slack")
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
        # A chat export (WhatsApp, Telegram, Slack) brought into the log.
        CHAT = "chat", _("Chat export")
        # The provider's own answer through the signed link in our request.
        LINK = "link", _("Provider's answer page")

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
    # For mail: the quoted history and signature under the new text (shown folded
    # away), and the HTML part, sanitised when it was imported.
    # The last day away an out-of-office reply announced: offered as the provider's absence.
    absence_until = models.DateField(_("away until"), null=True, blank=True)
    quoted = models.TextField(_("quoted history"), blank=True, default="", db_default="")
    # For mail: the sender's signature, cut from under the body so the answer reads first.
    signature = models.TextField(_("signature"), blank=True, default="", db_default="")
    html = models.TextField(_("HTML version"), blank=True, default="", db_default="")
    # For a bounce: the addresses it says our mail could not reach (lower-case, space-separated),
    # so that the next attempt goes to another of the provider's addresses.
    failed_recipients = models.TextField(_("undeliverable addresses"), blank=True, default="", db_default="")
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
    # A person's verdict on a message from the provider that does not answer the
    # request (off topic, "will check later"): the request stays open. Who said so, and when.
    not_an_answer = models.BooleanField(_("not an answer"), default=False, db_default=False)
    not_an_answer_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    not_an_answer_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A line of a chat export: a hash of the chat, sender, time and text (engagements.chat), so
    # importing the same export again adds only what is new.
    chat_fingerprint = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The zone the sender lives in (IANA name), where known (a chat's participant): the log shows
    # their wall-clock time beside ours. The instant itself is ``occurred_at``, always UTC.
    sender_time_zone = models.CharField(
        _("sender's time zone"), max_length=64, blank=True, default="", db_default=""
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
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "chat_fingerprint"],
                name="message_ws_chat_fingerprint",
                condition=~Q(chat_fingerprint=""),
            )
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
    return stored_name("attachments", instance.message.workspace_id, filename)


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


def inbound_raw_upload_to(instance: InboundMail, filename: str) -> str:
    return stored_name("mail", instance.workspace_id, "mail.eml")


class InboundMail(models.Model):
    """One message that came in by mail (mailbox, webhook, upload or import) and what became of it.

    Threaded mail is logged as a Message and linked here. Unsorted mail waits
    for a person to assign it; rejected mail keeps its raw bytes and the
    reason. Nothing that arrives is dropped.
    """

    class Status(models.TextChoices):
        THREADED = "threaded", _("Logged")
        UNSORTED = "unsorted", _("Unsorted")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        IMAP = "imap", _("Mailbox")
        WEBHOOK = "webhook", _("Webhook")
        UPLOAD = "upload", _("Upload")
        IMPORT = "import", _("Import")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    from_address = models.CharField(_("from"), max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    snippet = models.CharField(_("beginning"), max_length=300, blank=True)
    # Kept while the mail is unsorted or rejected: assigning it later reads it again.
    raw = models.FileField(upload_to=inbound_raw_upload_to, max_length=300, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # What finds this mail again on the next run when no Message-ID can (engagements/mail/fingerprints.py):
    # "m:" and a hash of sender, date, subject and body for mail without one; "r:" and a hash of
    # the bytes for a rejected mail, so a reject is stored once.
    fingerprint = models.CharField(max_length=66, blank=True, default="")
    logged_message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mail"
    )
    # For a platform's message notification (engagements/mail/platforms.py): the platform, who wrote
    # (suggested as the provider while the mail is unsorted) and the user names it shows, space-separated.
    platform = models.CharField(_("platform"), max_length=20, blank=True, default="", db_default="")
    platform_sender = models.CharField(
        _("written on the platform by"), max_length=200, blank=True, default="", db_default=""
    )
    platform_handles = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("incoming mail")
        verbose_name_plural = _("incoming mail")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["workspace", "-received_at"],
                name="inbound_unsorted",
                condition=Q(status="unsorted"),
            ),
            models.Index(
                fields=["workspace", "message_id"],
                name="inbound_ws_msgid",
                condition=~Q(message_id=""),
            ),
            models.Index(
                fields=["workspace", "fingerprint"],
                name="inbound_ws_fingerprint",
                condition=~Q(fingerprint=""),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"#{self.pk}"


def mail_upload_to(instance: MailUpload, filename: str) -> str:
    return stored_name("mail-uploads", instance.workspace_id, filename)


class MailUpload(models.Model):
    """A file of mail (.eml or .mbox) uploaded in the browser, imported by a worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to=mail_upload_to, max_length=300, blank=True)
    original_name = models.CharField(_("file"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress: how far into the file the importer has read.
    bytes_done = models.PositiveBigIntegerField(default=0)
    threaded = models.PositiveIntegerField(_("threaded"), default=0)
    unsorted = models.PositiveIntegerField(_("unsorted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    duplicates = models.PositiveIntegerField(_("already there"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # While waiting or importing: the time by which a worker must have taken the
    # import up (or renewed its claim); after it the import counts as stalled.
    # In the database, not the cache, so the beat's sweep sees it on every broker.
    lease_until = models.DateTimeField(null=True, blank=True)
    # The run holding the lease: a run whose import was taken over stops at its next batch.
    lease_holder = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("mail upload")
        verbose_name_plural = _("mail uploads")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="mail_upload_ws"),
            # The sweep reads only the imports under way.
            models.Index(
                fields=["lease_until"],
                condition=Q(status__in=["queued", "running"]),
                name="mail_upload_lease",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.bytes_done / self.size)) if self.size else 0

    @property
    def imported(self) -> int:
        return self.threaded + self.unsorted + self.rejected

    @classmethod
    def stalled_at(cls, now: datetime) -> Q:
        """Imports no worker holds at ``now``: their run stopped renewing its lease, or their task was lost."""
        return Q(status__in=[cls.Status.QUEUED, cls.Status.RUNNING]) & (
            Q(lease_until__lt=now) | Q(lease_until__isnull=True)
        )

    @property
    def is_stalled(self) -> bool:
        """Waiting or importing, but no worker has held it for longer than a lease."""
        return self.status in {self.Status.QUEUED, self.Status.RUNNING} and (
            self.lease_until is None or self.lease_until < timezone.now()
        )

    @property
    def can_retry(self) -> bool:
        """A failed or stalled import whose file is still kept can go on where it stopped."""
        return (self.status == self.Status.FAILED or self.is_stalled) and bool(self.file)


MAILBOX_PASSWORD_ENV_PREFIX = "IMAP_PASSWORD_"
_ENV_NAME_TAIL = re.compile(r"[A-Z0-9_]+")


class Mailbox(models.Model):
    """An IMAP mailbox a workspace's mail is polled from.

    The poll remembers UIDVALIDITY and the last UID it imported, so each
    message is read once; a changed UIDVALIDITY means the server renumbered
    the folder, and the Message-ID check keeps the re-read from duplicating.
    """

    class Security(models.TextChoices):
        SSL = "ssl", _("TLS (usually port 993)")
        STARTTLS = "starttls", _("STARTTLS (usually port 143)")
        NONE = "none", _("None (only on a trusted network)")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mailboxes")
    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(_("security"), max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(_("user name"), max_length=255)
    # Encrypted at rest (SECRET_KEY and SALT_KEY); or read from the environment.
    password = EncryptedCharField(_("password"), max_length=255, blank=True, null=True)
    password_env = models.CharField(
        _("password from environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of an environment variable of the server that holds the password."),
    )
    # The password crosses the network in clear with security "None": only when an owner said so.
    allow_unencrypted_login = models.BooleanField(
        _("allow an unencrypted login"), default=False, db_default=False
    )
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    delete_after_import = models.BooleanField(
        _("delete from the server after import"),
        default=False,
        help_text=_("Off: mail stays on the server and is only read."),
    )
    is_active = models.BooleanField(_("polling on"), default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    # The beat task polls mailboxes whose time has come, claiming each with a lease.
    next_poll_at = models.DateTimeField(default=timezone.now, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, editable=False)
    imported_count = models.PositiveIntegerField(_("imported"), default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="mailbox_ws_name"),
        ]
        indexes = [
            models.Index(fields=["next_poll_at"], name="mailbox_due", condition=Q(is_active=True)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def password_env_prefix(self) -> str:
        """How the name of every password variable of this workspace starts.

        The variables are the server's, shared by every workspace: the name
        carries the workspace's number, so no workspace can name another's.
        A number, not the slug: "acme" must not reach "acme-support"'s
        variables, and a number is never given again to a new workspace.
        """
        return f"{MAILBOX_PASSWORD_ENV_PREFIX}{self.workspace_id}_"

    @property
    def password_env_fits(self) -> bool:
        """Whether ``password_env`` names one of this workspace's variables."""
        prefix = self.password_env_prefix
        return self.password_env.startswith(prefix) and bool(
            _ENV_NAME_TAIL.fullmatch(self.password_env.removeprefix(prefix))
        )


class ExchangeQuerySet(models.QuerySet["Exchange"]):
    def mark_flagged(self) -> int:
        """Set ``flag_open`` of these exchanges from their flags (one UPDATE); returns how many rows."""
        open_flags = Flag.objects.filter(exchange=models.OuterRef("pk"), resolved_at=None)
        return self.update(flag_open=models.Exists(open_flags))

    def mark_engagement_open(self) -> int:
        """Set ``engagement_open`` of these exchanges from their engagements' status (one UPDATE)."""
        is_open = Engagement.objects.filter(
            pk=models.OuterRef("engagement_id"), status__in=Engagement.OPEN_STATUSES
        )
        return self.update(engagement_open=models.Exists(is_open))


class Exchange(models.Model):
    """One request and the reply that answered it, derived from the log.

    Rows are rewritten by ``exchanges_recompute`` whenever an engagement's log
    changes; the request message that opened an exchange is its identity.
    """

    # The flagging pass rewrites many exchanges at once, and every index is
    # written again on each such update (next_check_at is indexed, so none is
    # HOT): only indexes that serve a read are kept. Exchanges are read
    # through their engagement.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="exchanges", db_index=False
    )  # exchange_eng_time leads with it
    request_message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="opened_exchange")
    reply_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    requested_at = models.DateTimeField(_("requested"))
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    reply_due_at = models.DateTimeField(_("reply due"), null=True, blank=True)
    followups = models.PositiveIntegerField(_("follow-ups"), default=0)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    reply_seconds = models.PositiveBigIntegerField(_("reply time"), null=True, blank=True)
    reply_business_seconds = models.PositiveBigIntegerField(
        _("reply time in business hours"), null=True, blank=True
    )
    within_policy = models.BooleanField(_("within policy"), null=True, blank=True)
    # When a still-unanswered request turns ghosted: the last follow-up plus the
    # follow-up wait, once the policy's number of follow-ups went out.
    ghosted_due_at = models.DateTimeField(_("ghosted after"), null=True, blank=True)
    # 0 nothing raised, 1 reply overdue raised, 2 ghosted raised: the escalation ladder.
    escalation = models.PositiveSmallIntegerField(default=0)
    # The next instant the flagging pass must look at this exchange (indexed, like
    # Healthchecks' alert_after): NULL once nothing more can happen.
    next_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Whether an open (unresolved, snoozed or not) flag points here: stored so Needs
    # attention reads the unflagged open requests off one partial index instead of
    # testing each past-due request for a flag. ``engagements.flags`` keeps it true on
    # every raise, resolve and reopen (``ExchangeQuerySet.mark_flagged``); a flag
    # saved one at a time sets its exchange's too. Both defaults: COPY writes the
    # Python one, rows inserted in SQL take the database's.
    flag_open = models.BooleanField(default=False, db_default=False, editable=False)
    # Whether its engagement is open (not completed or cancelled): stored for the same
    # partial index, so that Needs attention's count and rows need not join every request
    # to its engagement to leave out the closed ones (at a million messages, most past-due
    # unanswered requests are of closed engagements). Set by ``exchanges_recompute`` and
    # by every status change (``services.resolve_flags_for_status``).
    engagement_open = models.BooleanField(default=True, db_default=True, editable=False)

    objects = ExchangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["engagement", "requested_at"], name="exchange_eng_time"),
            models.Index(
                fields=["next_check_at"],
                name="exchange_next_check",
                condition=Q(next_check_at__isnull=False),
            ),
            # The Needs attention page: a workspace's unanswered requests of open engagements
            # no open flag covers, by due time (its "Awaiting reply" and "Due soon" rows and counts).
            models.Index(
                fields=["workspace", "reply_due_at"],
                name="exchange_open_due",
                condition=Q(replied_at__isnull=True, flag_open=False, engagement_open=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engagement}: {self.requested_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.replied_at is None

    ESCALATION_NONE = 0
    ESCALATION_OVERDUE = 1
    ESCALATION_GHOSTED = 2


class Review(models.Model):
    """How an engagement went, told once it completed: the quality part of the reliability numbers."""

    RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]

    # A copy of the engagement's workspace, for the reliability queries' filters.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, related_name="review", verbose_name=_("engagement")
    )
    quality = models.PositiveSmallIntegerField(_("quality"), choices=RATING_CHOICES)
    communication = models.PositiveSmallIntegerField(_("communication"), choices=RATING_CHOICES)
    on_time = models.BooleanField(_("delivered on time"))
    would_hire_again = models.BooleanField(_("would hire again"))
    final_fee_amount = models.DecimalField(
        _("fee paid"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the work finally cost, in the engagement's currency; empty: the agreed fee."),
    )
    comment = models.TextField(_("comment"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    created_at = models.DateTimeField(_("reviewed"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [models.Index(fields=["workspace", "created_at"], name="review_ws_created")]
        constraints = [
            models.CheckConstraint(condition=Q(quality__gte=1, quality__lte=5), name="review_quality_1_5"),
            models.CheckConstraint(
                condition=Q(communication__gte=1, communication__lte=5), name="review_communication_1_5"
            ),
            models.CheckConstraint(
                condition=Q(final_fee_amount__isnull=True) | Q(final_fee_amount__gte=0),
                name="review_fee_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engagement}: {self.quality}/{self.communication}"


class MetricSnapshot(models.Model):
    """The reliability figures of a provider, or of the whole workspace, over a standard period.

    The leaderboard and the dashboard read these rather than every exchange: a
    task recomputes the providers whose data changed (every minute) and all of
    them regularly (unanswered requests keep waiting, rolling periods move on).
    The columns are what the leaderboard sorts by; ``payload`` holds the rest.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Empty: the whole workspace.
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    # Empty: all categories.
    category = models.CharField(max_length=30, choices=Category.choices, blank=True)
    period = models.CharField(max_length=4)
    computed_at = models.DateTimeField()
    score = models.FloatField(null=True)
    data_points = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    response_rate = models.FloatField(null=True)
    median_reply_seconds = models.FloatField(null=True)  # business time, Kaplan–Meier
    on_time_rate = models.FloatField(null=True)
    # Spend in the workspace's most used currency (the others are in the payload).
    spend = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "period", "category", "provider"],
                condition=Q(provider__isnull=False),
                name="snapshot_one_per_provider",
            ),
            models.UniqueConstraint(
                fields=["workspace", "period", "category"],
                condition=Q(provider__isnull=True),
                name="snapshot_one_per_workspace",
            ),
        ]
        indexes = [
            # When a period's figures were computed and how many rows it has (every reliability
            # page asks): read from the index alone, not from the rows and their JSON.
            models.Index(
                fields=["workspace", "period", "category"],
                include=["computed_at", "provider", "id"],
                name="snapshot_stamps",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id or 'workspace'} {self.category or 'all'} {self.period}"


class MetricsBacklog(models.Model):
    """A provider whose figures changed since its snapshots were computed (the refresh's queue)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.provider_id} since {self.since:%Y-%m-%d %H:%M}"


class Flag(models.Model):
    """Something that needs a person: a reply overdue, a delivery overdue, a ghosting.

    Flags are never deleted: resolved ones are the history the reliability
    numbers read.
    """

    class Kind(models.TextChoices):
        REPLY_OVERDUE = "reply_overdue", _("Reply overdue")
        DELIVERY_OVERDUE = "delivery_overdue", _("Delivery overdue")
        GHOSTED = "ghosted", _("Ghosted")
        # Our mail bounced: the provider may never have seen the request.
        BOUNCED = "bounced", _("Mail bounced")

    class Resolution(models.TextChoices):
        REPLIED = "replied", _("Replied")
        DELIVERED = "delivered", _("Delivered")
        DISMISSED = "dismissed", _("Dismissed")
        CLOSED = "closed", _("Engagement closed")
        ESCALATED = "escalated", _("Escalated to ghosted")
        # The log proved it wrong (a back-dated reply, a moved deadline): it never counts.
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # A copy of the engagement's workspace, for filtering by the partial index;
    # the engagement's key is the integrity check, and a database check per row
    # on the flagging pass's bulk inserts costs more than it guards.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="flags", db_index=False
    )  # flag_engagement leads with it
    exchange = models.ForeignKey(
        Exchange, on_delete=models.SET_NULL, null=True, blank=True, related_name="flags"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    due_at = models.DateTimeField(_("deadline"))
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=10, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # read only when a user is deleted
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)

    class Meta:
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        ordering = ["due_at", "id"]
        constraints = [
            # The last guard against a double raise, whatever runs concurrently.
            models.UniqueConstraint(
                fields=["exchange", "kind"],
                condition=Q(resolved_at__isnull=True, exchange__isnull=False),
                name="flag_one_open_per_exchange",
            ),
            models.UniqueConstraint(
                fields=["engagement", "kind"],
                condition=Q(resolved_at__isnull=True, exchange__isnull=True),
                name="flag_one_open_per_engagement",
            ),
        ]
        indexes = [
            # Open flags by deadline; snoozed_until included: the navigation's COUNT of the flags
            # not snoozed reads the index alone.
            models.Index(
                fields=["workspace", "due_at"],
                name="flag_ws_open",
                condition=Q(resolved_at__isnull=True),
                include=["snoozed_until"],
            ),
            # Open flags snoozed, the first to wake first (Needs attention's "Snoozed"): few of
            # them, so an index of their own; the one above made it a scan of every open flag
            # (11 ms at a million messages, for none snoozed).
            models.Index(
                fields=["workspace", "snoozed_until"],
                name="flag_ws_snoozed",
                condition=Q(resolved_at__isnull=True, snoozed_until__isnull=False),
            ),
            models.Index(fields=["engagement", "raised_at"], name="flag_engagement"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.engagement_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and keep the exchange's ``flag_open`` true to its flags.

        The services write flags in bulk through ``engagements.flags``, which marks
        the exchanges itself; this covers a flag created or edited one at a time.
        """
        super().save(*args, **kwargs)
        if self.exchange_id is not None:
            Exchange.objects.filter(pk=self.exchange_id).mark_flagged()

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Notification(models.Model):
    """An outbox row: one message to one recipient on one channel.

    Written in the same transaction as its flag; delivered by a task that
    retries. The idempotency key travels with the message (Message-ID,
    webhook header) so a retried delivery is recognisable as the same one.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        IN_APP = "in_app", _("In the app")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        DIGEST = "digest", _("Waiting for the daily digest")
        # Its flag was withdrawn before this went out: it never will.
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The flag's workspace, copied (see Flag.workspace).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # Outbox rows are made from their flag and the recipient's membership in
    # the same statement, so they cannot point nowhere; the per-row database
    # check at commit was a third of the flagging pass's cost. Deleting a flag
    # or a user still cascades (Django does it).
    flag = models.ForeignKey(
        Flag,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_constraint=False,
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_constraint=False,
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=300, blank=True)  # only for rows without a flag
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=100)
    # Tells someone who got the flag's alert that the flag was withdrawn.
    correction = models.BooleanField(default=False, db_default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim on a row; a claim that outlives this is a crashed worker's.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # The bell's unread count on every page: the workspace included, an index-only COUNT.
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread",
                condition=Q(channel="in_app", read_at__isnull=True),
                include=["workspace"],
            ),
            models.Index(
                fields=["workspace", "-created_at"],
                name="notification_failed",
                condition=Q(status="failed"),
            ),
        ]
        constraints = [
            # A constraint rather than unique=True: no extra pattern-ops index on PostgreSQL.
            models.UniqueConstraint(fields=["idempotency_key"], name="notification_idempotency_key"),
        ]

    def __str__(self) -> str:
        return self.headline

    # What a flag's notification says. Rendered when it is read or sent, so it
    # comes in the reader's language and the rows the flagging pass writes stay narrow.
    FLAG_TEXTS = {
        Flag.Kind.REPLY_OVERDUE: (
            _("Reply overdue: %(title)s (%(provider)s)"),
            _("%(provider)s has not answered your request on “%(title)s” in time."),
        ),
        Flag.Kind.GHOSTED: (
            _("Ghosted: %(title)s (%(provider)s)"),
            _("%(provider)s did not answer your request on “%(title)s”, nor your follow-ups."),
        ),
        Flag.Kind.DELIVERY_OVERDUE: (
            _("Delivery overdue: %(title)s (%(provider)s)"),
            _("The delivery of “%(title)s” by %(provider)s is past its due date."),
        ),
        Flag.Kind.BOUNCED: (
            _("Mail bounced: %(title)s (%(provider)s)"),
            _("A mail on “%(title)s” to %(provider)s could not be delivered."),
        ),
    }

    def _flag_text(self, which: int) -> str | None:
        flag = self.flag
        if flag is None:
            return None
        engagement = flag.engagement
        template = str(self.FLAG_TEXTS[Flag.Kind(flag.kind)][which])
        text = template % {"title": engagement.title, "provider": engagement.provider.name}
        if not self.correction:
            return text
        if which == 0:
            return str(_("Withdrawn: %(headline)s")) % {"headline": text}
        # The flag's reason says what the log showed (a reply in time, a moved deadline).
        return str(_("Please ignore the earlier alert. %(reason)s")) % {"reason": flag.reason}

    @property
    def headline(self) -> str:
        """The subject line (load with ``flag__engagement__provider``)."""
        text = self._flag_text(0)
        return self.subject if text is None else text[:300]

    @property
    def message(self) -> str:
        text = self._flag_text(1)
        return self.body if text is None else text

    @property
    def link(self) -> str:
        """Where the notification leads, a path on this site (load with ``workspace``)."""
        if self.flag is None:
            return self.url
        return reverse(
            "engagements:detail", kwargs={"ws": self.workspace.slug, "pk": self.flag.engagement_id}
        )


class TableImport(models.Model):
    """A spreadsheet someone uploaded or pasted, kept until (and after) it is imported.

    The bytes are stored as they came, so mapping, preview and import read the
    same file, and nothing the person sent is lost if a row needs fixing first.
    """

    class Kind(models.TextChoices):
        PROVIDERS = "providers", _("Providers")
        ENGAGEMENTS = "engagements", _("Engagements")
        MESSAGES = "messages", _("Message history")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("what it holds"), max_length=12, choices=Kind.choices)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    data = models.BinaryField(_("content"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    # What the import did, by outcome ({"created": 3, "updated": 1, "skipped": 0}).
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("spreadsheet import")
        verbose_name_plural = _("spreadsheet imports")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="tableimport_ws_created")]

    def __str__(self) -> str:
        return self.filename or str(self.get_kind_display())


class ImportMapping(models.Model):
    """Which spreadsheet header goes into which column, remembered per workspace and kind."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=TableImport.Kind.choices)
    columns = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind"], name="importmapping_ws_kind_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.kind}"


def archive_upload_to(instance: DataArchive, filename: str) -> str:
    return stored_name("archives", instance.workspace_id, filename)


class DataArchive(models.Model):
    """A complete export of a workspace (a zip built by a worker), or such a zip being imported into one.

    ``engagements.archive`` builds and reads them; the row carries the progress the page polls.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        IMPORT = "import", _("Import")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Working")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to=archive_upload_to, max_length=300, blank=True)
    original_name = models.CharField(_("file"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    percent = models.PositiveSmallIntegerField(default=0)
    # What the worker is at ("messages"), for the progress line.
    step = models.CharField(max_length=40, blank=True)
    # Rows per table, once done.
    counts = models.JSONField(default=dict, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # An export's file is deleted after this (engagements.archive.archives_sweep).
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("data archive")
        verbose_name_plural = _("data archives")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="archive_ws")]

    def __str__(self) -> str:
        return f"{self.kind} {self.workspace_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def is_downloadable(self) -> bool:
        return (
            self.kind == self.Kind.EXPORT
            and self.status == self.Status.DONE
            and bool(self.file)
            and (self.expires_at is None or self.expires_at > timezone.now())
        )


class CalendarFeed(models.Model):
    """A person's secret calendar address for one workspace; only the token's hash is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Only the engagements the person owns, or the whole workspace's.
    only_mine = models.BooleanField(_("only my engagements"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last read"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="calendar_feed_one_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.workspace_id}"


class CalendarEvent(models.Model):
    """What the calendar feeds last said about one event, so a moved event gets a new SEQUENCE.

    Calendar programs keep an event by its UID and take a changed one only
    when its SEQUENCE grows (or its DTSTAMP moves on): this row is the memory
    of what was last published and how often it changed.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    uid = models.CharField(max_length=100)
    # Its start and a digest of its words, as last published.
    fingerprint = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField(default=0)
    modified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "uid"], name="calendar_event_uid"),
        ]

    def __str__(self) -> str:
        return self.uid


class FollowupTemplate(models.Model):
    """A workspace's own text for follow-ups of one kind in one language.

    Without a row the shipped text is used (``engagements/followup/<lang>/<kind>.txt``).
    The body is plain text with ``{placeholder}`` fields (``engagements.followup_templates``),
    never a Django template: what a user typed is substituted, not run.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    # A flag kind, or "general" (no flag and nothing in the log says more).
    kind = models.CharField(_("kind"), max_length=20)
    # A language code ("en", "de", "fr", ...): the workspace may add any language.
    language = models.CharField(_("language"), max_length=10)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "language"], name="followup_template_one"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.language}"


class SavedView(models.Model):
    """A named filter of the engagement list or Needs attention: its page and query string.

    Private to its creator, or shared with the workspace. The query string is
    stored normalised (``engagements.saved_views.normalise``): only the page's
    known filter and sort keys, in one order, so the view a person is looking
    at can be recognised by comparing strings.
    """

    class Page(models.TextChoices):
        LIST = "list", _("Engagements")
        ATTENTION = "attention", _("Needs attention")

    NAME_MAX = 80

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("workspace")
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("created by"),
        db_index=False,  # the unique constraint below starts with the workspace; this reads by creator
    )
    name = models.CharField(_("name"), max_length=NAME_MAX)
    page = models.CharField(_("page"), max_length=10, choices=Page.choices)
    query = models.TextField(_("filters"), blank=True)
    shared = models.BooleanField(_("shared with the workspace"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            # One name once per person and page, whatever its case ("Overdue SEO" = "overdue seo").
            models.UniqueConstraint(
                "workspace", "creator", "page", Lower("name"), name="saved_view_name_unique"
            ),
        ]
        indexes = [
            # The bar's lookup: a page's shared views of the workspace …
            models.Index(
                fields=["workspace", "page", "name"], condition=Q(shared=True), name="saved_view_shared"
            ),
            # … and one person's own (private or shared) on that page.
            models.Index(fields=["creator", "workspace", "page"], name="saved_view_creator"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The page with the stored filters: opening a saved view is following this link."""
        base = reverse(f"engagements:{self.page}", kwargs={"ws": self.workspace.slug})
        return f"{base}?{self.query}" if self.query else base


class ReliabilityReport(models.Model):
    """A provider reliability report the workspace sends by e-mail, monthly or weekly, with a PDF.

    The settings only: what a report says is computed when it is sent or
    downloaded (``engagements.reports``). ``last_sent_period`` is the claim
    that makes sending idempotent: a run sends a period only after changing it
    from the previous value in one conditional update, so two beats at the same
    time never both send it.
    """

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        WEEKLY = "weekly", _("Weekly")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        GERMAN = "de", _("German")

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="reliability_reports", verbose_name=_("workspace")
    )
    name = models.CharField(_("name"), max_length=100)
    frequency = models.CharField(
        _("frequency"), max_length=8, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    client_name = models.CharField(
        _("client"),
        max_length=200,
        blank=True,
        help_text=_("Only the engagements for this client. Empty: every engagement of the workspace."),
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        help_text=_("Where a month or week starts and ends, and how times in the report are written."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("members who receive it")
    )
    extra_addresses = models.TextField(
        _("other addresses"),
        blank=True,
        help_text=_("One e-mail address per line, for people outside the workspace (your client, say)."),
    )
    enabled = models.BooleanField(_("send on schedule"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The last period sent on schedule ("2026-11" or "2026-W48"), and when.
    last_sent_period = models.CharField(max_length=10, blank=True, default="")
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    # How many addresses that sending reached (0: nobody); empty before the first one.
    last_sent_to = models.PositiveIntegerField(null=True, blank=True)
    # "Send now" in flight: its claim, taken by one conditional update so a double click sends once.
    sending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reliability report")
        verbose_name_plural = _("reliability reports")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "frequency"], name="report_due")]

    def __str__(self) -> str:
        return self.name

    def extra_address_list(self) -> list[str]:
        return [line.strip() for line in self.extra_addresses.splitlines() if line.strip()]


class AnswerLink(models.Model):
    """The personal link a mail to the provider carries to their answer page; only its hash is stored.

    One per mail sent from the app and per engagement it is about: it answers
    only that engagement's request. Acknowledging and reporting the delivery
    work once per link (a second try changes nothing); questions and date
    proposals may come several times, within the rate limits.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The request or follow-up the mail was (for the mail telling the provider of a decision on
    # their proposed date: the request they answered): its engagement is the only one it reaches.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="answer_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivery reported"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer link")
        verbose_name_plural = _("answer links")

    def __str__(self) -> str:
        return f"{self.message_id} until {self.expires_at:%Y-%m-%d}"


class DueDateProposal(models.Model):
    """A new delivery date the provider proposed on their answer page, for the owner to accept or decline."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="due_date_proposals", verbose_name=_("engagement")
    )
    # The inbound message the proposal was logged as.
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="due_date_proposal")
    proposed_on = models.DateField(_("proposed due date"))
    previous_due_on = models.DateField(_("due date when proposed"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    # Why the owner declined (optional): the mail telling the provider and their answer page say it.
    decline_reason = models.TextField(_("reason for declining"), blank=True, default="", db_default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)

    class Meta:
        verbose_name = _("proposed due date")
        verbose_name_plural = _("proposed due dates")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.engagement_id}: {self.proposed_on} ({self.state})"


class ChatSource(models.Model):
    """One chat (a WhatsApp conversation, a Telegram chat, a Slack channel) imported before.

    Remembers who its participants are — the provider, a member, or nobody to log — and the
    provider, so the next export of the same chat starts with the same choices.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(_("app"), max_length=10)
    key = models.CharField(_("chat"), max_length=255)
    title = models.CharField(_("title"), max_length=255, blank=True)
    provider = models.ForeignKey(Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Participant name → "provider", "member:<user id>" or "skip".
    participants = models.JSONField(default=dict, blank=True)
    # Participant name → the zone they live in (IANA name), as chosen on the mapping page.
    participant_zones = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "platform", "key"], name="chatsource_ws_key_unique")
        ]

    def __str__(self) -> str:
        return self.title or self.key


class ChatUpload(models.Model):
    """A chat export someone uploaded, kept for the mapping, preview and import steps."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    data = models.BinaryField(_("content"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    # What the last import did: {"imported": 120, "already": 3, "system": 2, "skipped": 0}.
    result = models.JSONField(default=dict, blank=True)

    class Status(models.TextChoices):
        NEW = "new", _("Not imported yet")
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    # A large export is imported by a worker: the page's choices are kept here for it.
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    options = models.JSONField(default=dict, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # Progress of a worker's import: messages logged so far of those to log (set at each batch).
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # When a worker last claimed or moved the import on: a queued or running import older than
    # CHAT_IMPORT_STALLED_MINUTES is stalled (its worker died, or its task was lost) and may be retried.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The run that claimed it: a run whose import was retried meanwhile stops at its next batch.
    run_id = models.CharField(max_length=16, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("chat import")
        verbose_name_plural = _("chat imports")
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="chatupload_ws_created"),
            # The beat's sweep for stalled imports reads only the imports under way.
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status__in=["queued", "running"]),
                name="chatupload_heartbeat",
            ),
        ]

    def __str__(self) -> str:
        return self.filename or str(self.pk)

    @classmethod
    def stalled_at(cls, now: datetime) -> Q:
        """Imports waiting or running whose worker has not been heard of for too long at ``now``."""
        since = now - timedelta(minutes=settings.CHAT_IMPORT_STALLED_MINUTES)
        return Q(status__in=[cls.Status.QUEUED, cls.Status.RUNNING]) & (
            Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True)
        )

    @property
    def is_stalled(self) -> bool:
        since = timezone.now() - timedelta(minutes=settings.CHAT_IMPORT_STALLED_MINUTES)
        return self.status in {self.Status.QUEUED, self.Status.RUNNING} and (
            self.heartbeat_at is None or self.heartbeat_at < since
        )

    @property
    def can_retry(self) -> bool:
        """A failed or stalled background import (its choices kept) can be queued again."""
        return (self.status == self.Status.FAILED or self.is_stalled) and bool(self.options)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0
