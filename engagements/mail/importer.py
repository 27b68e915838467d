"""One importer for every way mail comes in: the mailbox, the webhook, an upload, the command.

``mail_import`` reads the bytes (``engagements.mail.parse``), drops a message
it has seen before (same Message-ID in the workspace), finds the engagement
it belongs to and logs it there through ``services.message_log``. What it
cannot place waits in the Unsorted inbox; what it cannot read is kept,
raw, with the reason. Nothing is dropped and nothing raises for bad input.

Threading, in this order:
1. In-Reply-To / References naming a Message-ID logged in the workspace;
2. the routing token of a recipient address (``local+TOKEN@domain``);
3. the sender is a provider's address, with exactly one open engagement,
   or several of which exactly one has its title in the subject;
4. otherwise Unsorted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import CharField, F, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import services
from engagements.mail.parse import MailRejected, ParsedMail, parse_message
from engagements.models import Engagement, InboundMail, Message
from outsourcing.models import Membership, User, Workspace
from outsourcing.uploads import check_upload
from providers.models import Provider, ProviderEmail

# How the importer's outcomes are counted (the command prints them).
THREADED, UNSORTED, REJECTED, DUPLICATE = "threaded", "unsorted", "rejected", "duplicate"

# How each way in is named in the log (an upload is an import made in the browser).
LOG_SOURCE: dict[str, str] = {
    InboundMail.Source.IMAP: Message.Source.IMAP,
    InboundMail.Source.WEBHOOK: Message.Source.WEBHOOK,
    InboundMail.Source.UPLOAD: Message.Source.IMPORT,
    InboundMail.Source.IMPORT: Message.Source.IMPORT,
}

TOKEN = re.compile(r"^[^@+]+\+([a-z0-9]{8,24})@(.+)$")
SNIPPET = 300


@dataclass(frozen=True)
class ImportResult:
    outcome: str  # THREADED, UNSORTED, REJECTED or DUPLICATE
    inbound: InboundMail | None = None
    message: Message | None = None
    how: str = ""  # which threading rule placed it


def _seen(workspace: Workspace, message_id: str) -> bool:
    if not message_id:
        return False
    return (
        Message.objects.filter(workspace=workspace, message_id=message_id).exists()
        or InboundMail.objects.filter(workspace=workspace, message_id=message_id).exists()
    )


def _by_references(workspace: Workspace, mail: ParsedMail) -> Engagement | None:
    ids = [i for i in (mail.in_reply_to, *reversed(mail.references)) if i]
    if not ids:
        return None
    found = dict(
        Message.objects.filter(workspace=workspace, message_id__in=ids, deleted_at=None).values_list(
            "message_id", "engagement_id"
        )
    )
    # The nearest ancestor wins: In-Reply-To, then the latest reference.
    engagement_id = next((found[i] for i in ids if i in found), None)
    return (
        None
        if engagement_id is None
        else Engagement.objects.select_related("workspace", "provider").get(pk=engagement_id)
    )


def routing_tokens(addresses: tuple[str, ...]) -> list[str]:
    """The tokens of ``local+TOKEN@domain`` addresses (on our routing domain, when one is set)."""
    domain = settings.MAIL_ROUTING_DOMAIN
    tokens = []
    for address in addresses:
        match = TOKEN.match(address.lower())
        if match and (not domain or match.group(2) == domain):
            tokens.append(match.group(1))
    return tokens


def _by_token(workspace: Workspace, mail: ParsedMail) -> Engagement | None:
    tokens = routing_tokens(mail.recipients)
    if not tokens:
        return None
    return (
        Engagement.objects.filter(workspace=workspace, routing_token__in=tokens)
        .select_related("workspace", "provider")
        .first()
    )


def _by_sender(workspace: Workspace, mail: ParsedMail) -> Engagement | None:
    if not mail.from_address:
        return None
    provider_ids = list(
        ProviderEmail.objects.filter(workspace=workspace, email__iexact=mail.from_address).values_list(
            "provider_id", flat=True
        )
    )
    if not provider_ids:
        return None
    open_ = list(
        Engagement.objects.filter(
            workspace=workspace, provider_id__in=provider_ids, status__in=Engagement.OPEN_STATUSES
        ).select_related("workspace", "provider")
    )
    if len(open_) == 1:
        return open_[0]
    subject = mail.subject.casefold()
    named = [e for e in open_ if e.title.casefold() in subject]
    return named[0] if len(named) == 1 else None


def find_engagement(workspace: Workspace, mail: ParsedMail) -> tuple[Engagement | None, str]:
    """The engagement a mail belongs to, and the rule that found it."""
    for how, rule in (("references", _by_references), ("token", _by_token), ("sender", _by_sender)):
        engagement = rule(workspace, mail)
        if engagement is not None:
            return engagement, how
    return None, ""


def _direction(workspace: Workspace, mail: ParsedMail) -> str:
    """Ours when one of the workspace's people sent it (a reply-all, the Sent folder), else theirs."""
    if (
        mail.from_address
        and Membership.objects.filter(workspace=workspace, user__email__iexact=mail.from_address).exists()
    ):
        return Message.Direction.OUTBOUND
    return Message.Direction.INBOUND


def _attachments(mail: ParsedMail) -> tuple[list[SimpleUploadedFile], list[str]]:
    """The attachments the upload rules accept, and the names of those they refuse."""
    kept, refused = [], list(mail.skipped_attachments)
    for part in mail.attachments:
        upload = SimpleUploadedFile(part.filename, part.data, content_type=part.content_type)
        try:
            check_upload(upload)
        except ValidationError:
            refused.append(part.filename)
            continue
        upload.seek(0)
        kept.append(upload)
    return kept, refused


def log_mail(*, engagement: Engagement, mail: ParsedMail, source: str) -> Message:
    """Log a parsed mail on an engagement (also used when a person assigns an unsorted one)."""
    direction = _direction(engagement.workspace, mail)
    if direction == Message.Direction.OUTBOUND:
        kind = Message.Kind.FOLLOW_UP if engagement.awaiting_reply else Message.Kind.REQUEST
    else:
        kind = Message.Kind.OTHER if (mail.is_auto_reply or mail.is_bounce) else Message.Kind.REPLY
    now = timezone.now()
    # A sender's clock may be wrong; the log never holds the future.
    occurred_at = min(mail.date or now, now)
    attachments, refused = _attachments(mail)
    body = mail.new_text
    if refused:
        body += "\n\n" + "\n".join(_("[attachment not kept: %(name)s]") % {"name": name} for name in refused)
    # The whole text, quotes and signature included, is kept to be shown on demand.
    quoted = mail.text if mail.text.strip() != mail.new_text.strip() else ""
    return services.message_log(
        engagement=engagement,
        direction=direction,
        kind=kind,
        occurred_at=occurred_at,
        channel=Message.Channel.EMAIL,
        subject=mail.subject,
        body=body,
        sender=mail.from_address,
        source=LOG_SOURCE[source],
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references),
        # Bounces never count as a reply either.
        is_auto_reply=mail.is_auto_reply or mail.is_bounce,
        attachments=attachments,
        quoted=quoted,
        html=mail.html,
        absence_until=mail.absence_until if direction == Message.Direction.INBOUND else None,
    )


def _record(workspace: Workspace, raw: bytes | None, **fields: object) -> InboundMail:
    inbound = InboundMail(workspace=workspace, **fields)
    if raw is not None:
        inbound.raw.save("mail.eml", ContentFile(raw), save=False)
    inbound.save()
    return inbound


def mail_import(*, workspace: Workspace, raw: bytes, source: str) -> ImportResult:
    """Import one message's bytes into the workspace; see the module's docstring."""
    try:
        mail = parse_message(
            raw, max_bytes=settings.MAIL_MAX_BYTES, max_attachment_bytes=settings.MAX_UPLOAD_SIZE
        )
    except MailRejected as rejected:
        inbound = _record(
            workspace,
            raw,
            status=InboundMail.Status.REJECTED,
            source=source,
            reason=str(rejected.reason)[:300],
        )
        return ImportResult(REJECTED, inbound=inbound)
    if _seen(workspace, mail.message_id):
        return ImportResult(DUPLICATE)
    summary = {
        "source": source,
        "message_id": mail.message_id[:998],
        "from_address": mail.from_address[:300],
        "subject": mail.subject[:300],
        "sent_at": mail.date,
        "snippet": " ".join(mail.new_text.split())[:SNIPPET],
    }
    engagement, how = find_engagement(workspace, mail)
    if engagement is None:
        return ImportResult(
            UNSORTED, inbound=_record(workspace, raw, status=InboundMail.Status.UNSORTED, **summary)
        )
    try:
        with transaction.atomic():
            message = log_mail(engagement=engagement, mail=mail, source=source)
            inbound = _record(
                workspace, None, status=InboundMail.Status.THREADED, logged_message=message, **summary
            )
    except ValidationError as error:
        # The log refused it (say, a date it cannot hold): keep it for a person to look at.
        reason = "; ".join(error.messages)[:300]
        inbound = _record(workspace, raw, status=InboundMail.Status.REJECTED, reason=reason, **summary)
        return ImportResult(REJECTED, inbound=inbound)
    return ImportResult(THREADED, inbound=inbound, message=message, how=how)


@transaction.atomic
def inbound_assign(*, inbound: InboundMail, engagement: Engagement) -> Message:
    """Log an unsorted mail on the engagement a person chose (the Unsorted inbox's one click)."""
    locked = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    if locked.status != InboundMail.Status.UNSORTED:
        raise ValidationError(_("This mail was already sorted."))
    if engagement.workspace_id != locked.workspace_id:
        raise ValidationError(_("Choose an engagement of this workspace."))
    with locked.raw.open("rb") as f:
        raw = f.read()
    message = log_mail(
        engagement=engagement,
        mail=parse_message(
            raw, max_bytes=settings.MAIL_MAX_BYTES, max_attachment_bytes=settings.MAX_UPLOAD_SIZE
        ),
        source=locked.source,
    )
    stored, storage = locked.raw.name or "", locked.raw.storage
    locked.status = InboundMail.Status.THREADED
    locked.logged_message = message
    locked.raw = ""  # type: ignore[assignment]
    locked.save(update_fields=["status", "logged_message", "raw"])
    # The log holds the mail now; the raw copy goes once this commits.
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))
    inbound.status, inbound.logged_message = locked.status, message
    return message


@transaction.atomic
def inbound_assign_new(*, inbound: InboundMail, provider: Provider, by: User) -> Message:
    """Start an engagement with the provider from an unsorted mail, and log the mail on it."""
    if provider.workspace_id != inbound.workspace_id:
        raise ValidationError(_("Choose a provider of this workspace."))
    engagement = services.engagement_create(
        workspace=provider.workspace,
        provider=provider,
        owner=by,
        title=(inbound.subject or _("Mail from %(sender)s") % {"sender": inbound.from_address or "?"})[:200],
        created_by=by,
        status=Engagement.Status.REQUESTED,
    )
    return inbound_assign(inbound=inbound, engagement=engagement)


def unsorted(workspace: Workspace) -> QuerySet[InboundMail]:
    """The Unsorted inbox, newest first (the ``inbound_unsorted`` partial index)."""
    return InboundMail.objects.filter(workspace=workspace, status=InboundMail.Status.UNSORTED).order_by(
        "-received_at", "-id"
    )


# The Unsorted inbox offers at most this many engagements as one-click targets.
SUGGESTIONS = 8


def suggestions(inbound: InboundMail) -> tuple[list[Engagement], Provider | None]:
    """Open engagements an unsorted mail likely belongs to, and the sender's provider if known.

    The sender's open engagements first, then any whose title is in the subject.
    """
    provider = (
        Provider.objects.filter(workspace_id=inbound.workspace_id, emails__email__iexact=inbound.from_address)
        .order_by("pk")
        .first()
        if inbound.from_address
        else None
    )
    open_ = Engagement.objects.filter(
        workspace_id=inbound.workspace_id, status__in=Engagement.OPEN_STATUSES
    ).select_related("provider")
    found: list[Engagement] = []
    if provider is not None:
        found = list(open_.filter(provider=provider).order_by("-created_at")[:SUGGESTIONS])
    if inbound.subject and len(found) < SUGGESTIONS:
        named = (
            open_.annotate(subject=Value(inbound.subject, output_field=CharField()))
            .filter(subject__icontains=F("title"))
            .exclude(pk__in=[e.pk for e in found])
            .order_by("-created_at")[: SUGGESTIONS - len(found)]
        )
        found += list(named)
    return found, provider
