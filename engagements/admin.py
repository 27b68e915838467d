from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from engagements.backlog import backlog_add_for_engagement
from engagements.exchanges import SUMMARY_FIELDS
from engagements.models import (
    Attachment,
    Engagement,
    Exchange,
    InboundMail,
    Mailbox,
    MailUpload,
    Message,
    MessageVersion,
    Review,
    StatusChange,
)


class ViewOnly:
    """For the log and what is derived from it: changed in the app, where each change keeps
    its history (versions, status changes) and moves due times, flags and figures; an edit
    here would skip all of that."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ViewOnlyAdmin(ViewOnly, admin.ModelAdmin):
    pass


class ViewOnlyInline(ViewOnly, admin.TabularInline):
    extra = 0


class StatusChangeInline(ViewOnlyInline):
    model = StatusChange
    readonly_fields = ["from_status", "to_status", "changed_at", "changed_by"]


@admin.register(Engagement)
class EngagementAdmin(ViewOnlyAdmin):
    list_display = ["title", "provider", "owner", "status", "due_on", "awaiting_reply", "workspace"]
    list_filter = ["status", "priority", "awaiting_reply"]
    search_fields = ["title", "provider__name", "client_name"]
    list_select_related = ["provider", "owner", "workspace"]
    raw_id_fields = ["workspace", "provider", "owner"]
    readonly_fields = [*SUMMARY_FIELDS, "our_answer_due_at"]
    inlines = [StatusChangeInline]


class AttachmentInline(ViewOnlyInline):
    model = Attachment


class MessageVersionInline(ViewOnlyInline):
    model = MessageVersion
    readonly_fields = [
        "version",
        "direction",
        "kind",
        "channel",
        "occurred_at",
        "subject",
        "body",
        "replaced_at",
        "replaced_by",
    ]


@admin.register(Message)
class MessageAdmin(ViewOnlyAdmin):
    list_display = [
        "__str__",
        "engagement",
        "direction",
        "kind",
        "channel",
        "occurred_at",
        "source",
        "deleted_at",
    ]
    list_filter = ["direction", "kind", "channel", "source"]
    search_fields = ["subject", "body", "message_id"]
    list_select_related = ["engagement"]
    raw_id_fields = ["workspace", "engagement", "author", "deleted_by"]
    inlines = [AttachmentInline, MessageVersionInline]


@admin.register(Exchange)
class ExchangeAdmin(ViewOnlyAdmin):
    list_display = ["engagement", "requested_at", "replied_at", "reply_due_at", "followups", "reply_seconds"]
    list_select_related = ["engagement"]
    raw_id_fields = ["workspace", "engagement", "request_message", "reply_message"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = [
        "engagement",
        "quality",
        "communication",
        "on_time",
        "would_hire_again",
        "final_fee_amount",
        "reviewer",
        "created_at",
    ]
    list_filter = ["quality", "communication", "on_time", "would_hire_again"]
    search_fields = ["engagement__title", "engagement__provider__name", "comment"]
    list_select_related = ["engagement", "reviewer"]
    raw_id_fields = ["engagement", "reviewer"]
    readonly_fields = ["workspace", "created_at", "updated_at"]
    date_hierarchy = "created_at"

    def save_model(self, request: HttpRequest, obj: Review, form: Any, change: bool) -> None:
        """Keep the workspace copy true to the engagement, and queue its provider's figures."""
        obj.workspace_id = obj.engagement.workspace_id
        super().save_model(request, obj, form, change)
        backlog_add_for_engagement(obj.engagement)


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    """Imported mail, for looking into a rejected one; sorting happens in the Unsorted inbox."""

    list_display = ["received_at", "status", "source", "from_address", "subject", "reason"]
    list_filter = ["status", "source"]
    search_fields = ["from_address", "subject", "message_id"]
    raw_id_fields = ["logged_message"]
    readonly_fields = ["workspace", "message_id", "received_at", "sent_at", "raw"]
    date_hierarchy = "received_at"


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """IMAP mailboxes; the password is write-only (the workspace's Mailboxes page is the usual place)."""

    list_display = [
        "name",
        "workspace",
        "host",
        "username",
        "folder",
        "is_active",
        "last_polled_at",
        "last_error",
    ]
    list_filter = ["is_active", "security"]
    search_fields = ["name", "host", "username"]
    raw_id_fields = ["workspace"]
    exclude = ["password"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_error", "imported_count"]


@admin.register(MailUpload)
class MailUploadAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "original_name", "status", "threaded", "unsorted", "rejected"]
    list_filter = ["status"]
    raw_id_fields = ["workspace", "uploaded_by"]
    readonly_fields = [
        "bytes_done",
        "threaded",
        "unsorted",
        "rejected",
        "duplicates",
        "started_at",
        "finished_at",
    ]
