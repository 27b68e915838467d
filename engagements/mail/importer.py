"""One importer for every way mail comes in: the mailbox, the webhook, an upload, the command.

``mail_import`` reads the bytes (``engagements.mail.parse``), drops a message
it has seen before (same Message-ID in the workspace or, without a readable
one, the same fingerprint: ``fingerprints``), finds the engagement it belongs
to and logs it there through ``services.message_log``. What it cannot place
waits in the Unsorted inbox; what it cannot read is kept, raw, with the
reason, once (the same bytes rejected again are a duplicate). Nothing is
dropped and nothing raises for bad input.

Threading, in this order:
1. In-Reply-To / References naming a Message-ID logged in the workspace;
2. the routing token of a recipient address (``local+TOKEN@domain``);
3. the sender is a provider's address, with exactly one open engagement,
   or several of which exactly one has its title in the subject;
   for a platform's message notification (``platforms``), the provider is
   the one whose profile link or name it shows, never the platform's address;
4. otherwise Unsorted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import flags, services
from engagements.mail import fingerprints, platforms, sources
from engagements.mail.parse import MailRejected, ParsedMail, parse_message
from engagements.mail.platforms import PlatformNotice, ProviderIdentity
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

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"^[^@+]+\+([a-z0-9]{8,24})@(.+)$")
SNIPPET = 300


@dataclass(frozen=True)
class ImportResult:
    outcome: str  # THREADED, UNSORTED, REJECTED or DUPLICATE
    inbound: InboundMail | None = None
    message: Message | None = None
    how: str = ""  # which threading rule placed it


def routing_tokens(addresses: tuple[str, ...]) -> list[str]:
    """The tokens of ``local+TOKEN@domain`` addresses (on our routing domain, when one is set)."""
    domain = settings.MAIL_ROUTING_DOMAIN
    tokens = []
    for address in addresses:
        match = TOKEN.match(address.lower())
        if match and (not domain or match.group(2) == domain):
            tokens.append(match.group(1))
    return tokens


def _thread_ids(mail: ParsedMail) -> list[str]:
    """The ids a mail answers, nearest ancestor first: In-Reply-To, then the latest reference."""
    return [i for i in (mail.in_reply_to, *reversed(mail.references)) if i]


def _provider_addresses(mail: ParsedMail) -> tuple[str, ...]:
    """Whose provider the third rule looks for: the sender's, or for a bounce, the addresses that failed
    (a bounce comes from a mail system, about mail sent to the provider). A platform's address names
    no provider, even one a person entered as a contact: its mail is about many people."""
    if mail.is_bounce:
        return mail.failed_recipients
    if not mail.from_address or platforms.is_platform_sender(mail.from_address):
        return ()
    return (mail.from_address,)


def platform_identities(workspace_id: int) -> list[ProviderIdentity]:
    """The workspace's providers as a platform notification is matched against them, in one query."""
    return [
        ProviderIdentity(pk, name, company, tuple(str(link) for link in links or ()))
        for pk, name, company, links in Provider.objects.filter(workspace_id=workspace_id)
        .order_by("pk")
        .values_list("pk", "name", "company", "profile_links")
    ]


class _Threading:
    """What the threading rules need to know about a batch of mail, read in a few queries.

    The rules, in order: a referenced Message-ID, a routing token, the
    sender's one open engagement (or the one named in the subject); for a
    bounce, the failed recipient's. Mail
    placed earlier in the same batch counts as logged for the ones after it.
    """

    def __init__(
        self, workspace: Workspace, mails: list[ParsedMail], notices: dict[int, PlatformNotice]
    ) -> None:
        ids = {i for mail in mails for i in _thread_ids(mail)}
        self.by_message_id: dict[str, int] = dict(
            Message.objects.filter(workspace=workspace, message_id__in=ids, deleted_at=None).values_list(
                "message_id", "engagement_id"
            )
            if ids
            else ()
        )
        tokens = {t for mail in mails for t in routing_tokens(mail.recipients)}
        self.by_token: dict[str, int] = dict(
            Engagement.objects.filter(workspace=workspace, routing_token__in=tokens).values_list(
                "routing_token", "id"
            )
            if tokens
            else ()
        )
        senders = {address for mail in mails for address in _provider_addresses(mail)}
        providers_of: dict[str, set[int]] = {}
        if senders:
            for email, provider_id in (
                ProviderEmail.objects.filter(workspace=workspace)
                .annotate(address=Lower("email"))
                .filter(address__in=senders)
                .values_list("address", "provider_id")
            ):
                providers_of.setdefault(email, set()).add(provider_id)
        self.providers_of = providers_of
        # A platform notification's providers, by the mail's id(): its profile link's or its name's.
        self.platform_of: dict[int, list[int]] = {}
        if notices:
            identities = platform_identities(workspace.pk)
            for mail in mails:
                notice = notices.get(id(mail))
                if notice is not None:
                    handles = platforms.mail_handles(notice, mail)
                    self.platform_of[id(mail)] = platforms.match_providers(notice, handles, identities)
        self.open_of: dict[int, list[tuple[int, str]]] = {}
        provider_ids = {p for ids_ in providers_of.values() for p in ids_}
        provider_ids |= {p for ids_ in self.platform_of.values() for p in ids_}
        if provider_ids:
            for pk, provider_id, title in (
                Engagement.objects.filter(
                    workspace=workspace, provider_id__in=provider_ids, status__in=Engagement.OPEN_STATUSES
                )
                .order_by("pk")
                .values_list("pk", "provider_id", "title")
            ):
                self.open_of.setdefault(provider_id, []).append((pk, title.casefold()))

    def find(self, mail: ParsedMail, notice: PlatformNotice | None = None) -> tuple[int | None, str]:
        """The id of the engagement a mail belongs to, and the rule that found it."""
        for i in _thread_ids(mail):
            if i in self.by_message_id:
                return self.by_message_id[i], "references"
        for token in routing_tokens(mail.recipients):
            if token in self.by_token:
                return self.by_token[token], "token"
        providers = {p for address in _provider_addresses(mail) for p in self.providers_of.get(address, ())}
        how = "sender"
        if notice is not None:
            providers, how = set(self.platform_of.get(id(mail), ())), "platform"
        open_ = [e for p in sorted(providers) for e in self.open_of.get(p, [])]
        if len(open_) == 1:
            return open_[0][0], how
        subject = f"{mail.subject}\n{notice.topic if notice else ''}".casefold()
        named = [pk for pk, title in open_ if title in subject]
        return (named[0], how) if len(named) == 1 else (None, "")


def _member_addresses(workspace: Workspace) -> set[str]:
    return {
        email
        for email in Membership.objects.filter(workspace=workspace)
        .annotate(address=Lower("user__email"))
        .values_list("address", flat=True)
        if email
    }


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


def mail_log_item(
    *,
    engagement: Engagement,
    mail: ParsedMail,
    source: str,
    outbound: bool,
    awaiting_reply: bool,
    notice: PlatformNotice | None = None,
) -> services.LogItem:
    """The log entry for a mail: ours when a member sent it (a reply-all, the Sent folder), else theirs."""
    if notice is not None:
        return _platform_log_item(engagement=engagement, mail=mail, source=source, notice=notice)
    if outbound:
        direction = Message.Direction.OUTBOUND
        kind = Message.Kind.FOLLOW_UP if awaiting_reply else Message.Kind.REQUEST
    else:
        direction = Message.Direction.INBOUND
        kind = (
            Message.Kind.BOUNCE
            if mail.is_bounce
            else Message.Kind.OTHER
            if mail.is_auto_reply
            else Message.Kind.REPLY
        )
    now = timezone.now()
    attachments, refused = _attachments(mail)
    body = mail.new_text
    if refused:
        body += "\n\n" + "\n".join(_("[attachment not kept: %(name)s]") % {"name": name} for name in refused)
    message = Message(
        workspace_id=engagement.workspace_id,
        engagement=engagement,
        direction=direction,
        kind=kind,
        channel=Message.Channel.EMAIL,
        # A sender's clock may be wrong; the log never holds the future, and a date before
        # 1970 is a mailer's zero: either is read as "now", like a mail without a date.
        occurred_at=min(mail.date, now) if mail.date and mail.date >= services.EARLIEST_MAIL else now,
        subject=mail.subject,
        body=body,
        sender=mail.from_address,
        source=LOG_SOURCE[source],
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references),
        # Bounces never count as a reply either.
        is_auto_reply=mail.is_auto_reply or mail.is_bounce,
        # The whole text, quotes and signature included, is kept to be shown on demand.
        signature=mail.signature,
        quoted=mail.text if mail.text.strip() != mail.new_text.strip() else "",
        html=mail.html,
        failed_recipients=" ".join(mail.failed_recipients) if mail.is_bounce else "",
        absence_until=mail.absence_until if direction == Message.Direction.INBOUND else None,
    )
    return services.LogItem(message, attachments)


def _platform_log_item(
    *, engagement: Engagement, mail: ParsedMail, source: str, notice: PlatformNotice
) -> services.LogItem:
    """A platform's message notification, logged as what it carries: the freelancer's words, from them.

    The notification is the platform's mail, not the freelancer's: its headers
    saying a machine sent it (Auto-Submitted …) do not make their words an
    automatic reply, and its no-reply address is never the sender. The whole
    notification is kept folded away, as a mail's quoted history is.
    """
    now = timezone.now()
    when = notice.sent_at or mail.date
    message = Message(
        workspace_id=engagement.workspace_id,
        engagement=engagement,
        direction=Message.Direction.INBOUND,
        kind=Message.Kind.REPLY,
        channel=Message.Channel.PLATFORM,
        occurred_at=min(when, now) if when and when >= services.EARLIEST_MAIL else now,
        subject=mail.subject,
        body=notice.words,
        sender=notice.sender[:300],
        source=LOG_SOURCE[source],
        message_id=mail.message_id,
        quoted="\n\n".join(part for part in (notice.link, mail.text) if part),
    )
    return services.LogItem(message, [])


def _logged(messages: list[Message], bounces: set[int]) -> None:
    """What follows logging: a bounced mail flags its engagement."""
    for message in messages:
        if message.pk in bounces:
            flags.raise_bounced(message=message)


def log_mail(*, engagement: Engagement, mail: ParsedMail, source: str) -> Message:
    """Log one parsed mail on an engagement (a person assigning an unsorted one)."""
    item = mail_log_item(
        engagement=engagement,
        mail=mail,
        source=source,
        outbound=mail.from_address in _member_addresses(engagement.workspace),
        awaiting_reply=engagement.awaiting_reply,
        notice=platforms.recognise(mail),
    )
    message = services.messages_log([item])[0]
    _logged([message], {message.pk} if mail.is_bounce else set())
    return message


def _inbound(workspace: Workspace, raw: bytes | None, **fields: object) -> InboundMail:
    """An unsaved InboundMail row; the raw bytes are written to storage now when kept."""
    inbound = InboundMail(workspace=workspace, **fields)
    if raw is not None:
        inbound.raw.save("mail.eml", ContentFile(raw), save=False)
    return inbound


def _summary(
    mail: ParsedMail, source: str, fingerprint: str, notice: PlatformNotice | None = None
) -> dict[str, object]:
    """The fields of a parsed mail's row; ``fingerprint`` is what finds it again (see ``_key``).

    For a platform's notification: which platform, who wrote (the provider to
    suggest when none matched) and the user names it shows, and their words.
    """
    fields: dict[str, object] = {
        "source": source,
        "fingerprint": "" if fingerprint == mail.message_id else fingerprint,
        "message_id": mail.message_id[:998],
        "from_address": mail.from_address[:300],
        "subject": mail.subject[:300],
        "sent_at": mail.date,
        "snippet": " ".join(mail.new_text.split())[:SNIPPET],
    }
    if notice is not None:
        fields |= {
            "platform": notice.platform,
            "platform_sender": notice.sender[:200],
            "platform_handles": " ".join(sorted(platforms.mail_handles(notice, mail)))[:300],
            "snippet": " ".join(notice.words.split())[:SNIPPET],
        }
    return fields


def _key(mail: ParsedMail | MailRejected) -> str:
    """What says a parsed mail was imported before: its Message-ID, else its fingerprint ("" for a reject)."""
    if isinstance(mail, MailRejected):
        return ""
    return mail.message_id or fingerprints.mail_fingerprint(mail)


class _Known:
    """What a batch's mail was before, read in three queries: imported (or logged), or rejected.

    A mail imported before (same Message-ID, or same fingerprint without one)
    is a duplicate. A mail rejected before (same bytes) and rejected again is a
    duplicate too: the reject is stored once. A mail rejected before that
    imports now (a parser or a rule was fixed) replaces its old reject.
    """

    def __init__(self, workspace: Workspace, keys: list[str], rejects: list[str]) -> None:
        self.workspace = workspace
        ids = {k for k in keys if k and not k.startswith(fingerprints.MAIL)}
        prints = {k for k in keys if k.startswith(fingerprints.MAIL)}
        self.imported: set[str] = set()
        if ids:
            self.imported |= set(
                Message.objects.filter(workspace=workspace, message_id__in=ids).values_list(
                    "message_id", flat=True
                )
            )
        rows = InboundMail.objects.filter(workspace=workspace).order_by()
        self.imported |= set(
            # Each with its partial index's condition spelled out: the planner cannot prove
            # it from a long IN list alone.
            rows.filter(message_id__in=ids)
            .exclude(message_id="")
            .exclude(status=InboundMail.Status.REJECTED)
            .values_list("message_id", flat=True)
            if ids
            else ()
        )
        self.rejects: dict[str, list[int]] = {}
        for pk, status, fingerprint in (
            rows.filter(fingerprint__in=prints | set(rejects))
            .exclude(fingerprint="")
            .values_list("pk", "status", "fingerprint")
        ):
            if status != InboundMail.Status.REJECTED:
                self.imported.add(fingerprint)
            elif fingerprint.startswith(fingerprints.REJECT):
                self.rejects.setdefault(fingerprint, []).append(pk)
        self.stale: list[int] = []

    def rejected(self, reject: str) -> bool:
        """Whether these bytes were rejected before (in an earlier run or this batch); remember them if not."""
        if reject in self.rejects:
            return True
        self.rejects[reject] = []
        return False

    def replaced(self, reject: str) -> None:
        """The mail of these bytes imported: its earlier reject goes."""
        self.stale += self.rejects.pop(reject, [])

    def forget_replaced(self) -> None:
        """Delete the rejects that imported this time, and their stored bytes once this commits."""
        if not self.stale:
            return
        rows = InboundMail.objects.filter(
            pk__in=self.stale, workspace=self.workspace, status=InboundMail.Status.REJECTED
        )
        stored = [name for name in rows.values_list("raw", flat=True) if name]
        rows.delete()
        storage = InboundMail._meta.get_field("raw").storage  # type: ignore[attr-defined]

        def delete_stored() -> None:
            for name in stored:
                storage.delete(name)

        transaction.on_commit(delete_stored)


def _import_batch(
    workspace: Workspace, raws: list[bytes], source: str, members: set[str]
) -> list[ImportResult]:
    """Import a batch in one transaction: a few queries for the batch, one INSERT per table."""
    parsed: list[ParsedMail | MailRejected] = []
    for raw in raws:
        try:
            parsed.append(
                parse_message(
                    raw, max_bytes=settings.MAIL_MAX_BYTES, max_attachment_bytes=settings.MAX_UPLOAD_SIZE
                )
            )
        except MailRejected as rejected:
            parsed.append(rejected)
    mails = [m for m in parsed if isinstance(m, ParsedMail)]
    notices = {id(m): n for m in mails if (n := platforms.recognise(m)) is not None}
    keys = [_key(mail) for mail in parsed]
    rejects = [fingerprints.reject_fingerprint(raw) for raw in raws]
    known = _Known(workspace, keys, rejects)
    threading = _Threading(workspace, mails, notices)
    wanted = set(threading.by_message_id.values()) | set(threading.by_token.values())
    wanted |= {pk for open_ in threading.open_of.values() for pk, _title in open_}
    engagements = Engagement.objects.select_related("workspace", "provider").in_bulk(wanted)
    awaiting = {pk: e.awaiting_reply for pk, e in engagements.items()}

    results: list[ImportResult | None] = []
    items: list[tuple[int, services.LogItem, ParsedMail, str]] = []  # (position, item, mail, how)
    inbound: list[tuple[int, InboundMail]] = []
    now = timezone.now()
    for position, (raw, mail) in enumerate(zip(raws, parsed, strict=True)):
        key, reject = keys[position], rejects[position]
        if isinstance(mail, MailRejected):
            if known.rejected(reject):
                results.append(ImportResult(DUPLICATE))
                continue
            row = _inbound(
                workspace,
                raw,
                status=InboundMail.Status.REJECTED,
                source=source,
                reason=str(mail.reason)[:300],
                fingerprint=reject,
            )
            inbound.append((position, row))
            results.append(ImportResult(REJECTED, inbound=row))
            continue
        if key in known.imported:
            results.append(ImportResult(DUPLICATE))
            continue
        known.imported.add(key)
        notice = notices.get(id(mail))
        engagement_id, how = threading.find(mail, notice)
        if engagement_id is None:
            row = _inbound(
                workspace, raw, status=InboundMail.Status.UNSORTED, **_summary(mail, source, key, notice)
            )
            inbound.append((position, row))
            results.append(ImportResult(UNSORTED, inbound=row))
            known.replaced(reject)
            continue
        outbound = notice is None and mail.from_address in members
        item = mail_log_item(
            engagement=engagements[engagement_id],
            mail=mail,
            source=source,
            outbound=outbound,
            awaiting_reply=awaiting[engagement_id],
            notice=notice,
        )
        try:
            services.message_check(item.message, now)
        except ValidationError as error:
            # The log refused it (say, an over-long field): keep it for a person to look at.
            known.imported.discard(key)
            if known.rejected(reject):
                results.append(ImportResult(DUPLICATE))
                continue
            row = _inbound(
                workspace,
                raw,
                status=InboundMail.Status.REJECTED,
                reason="; ".join(error.messages)[:300],
                **_summary(mail, source, reject, notice),
            )
            inbound.append((position, row))
            results.append(ImportResult(REJECTED, inbound=row))
            continue
        if outbound:
            awaiting[engagement_id] = True
        elif item.message.kind == Message.Kind.REPLY:
            awaiting[engagement_id] = False
        if mail.message_id:
            # A later mail in this batch may answer this one.
            threading.by_message_id[mail.message_id] = engagement_id
        items.append((position, item, mail, how))
        results.append(None)

    with transaction.atomic():
        logged, failed = _log_batch(items)
        for (position, _item, mail, how), message in logged:
            row = InboundMail(
                workspace=workspace,
                status=InboundMail.Status.THREADED,
                logged_message=message,
                **_summary(mail, source, keys[position], notices.get(id(mail))),  # type: ignore[arg-type]
            )
            inbound.append((position, row))
            results[position] = ImportResult(THREADED, inbound=row, message=message, how=how)
            known.replaced(rejects[position])
        for (position, _item, mail, _how), reason in failed:
            if known.rejected(rejects[position]):
                results[position] = ImportResult(DUPLICATE)
                continue
            row = _inbound(
                workspace,
                raws[position],
                status=InboundMail.Status.REJECTED,
                reason=reason[:300],
                **_summary(mail, source, rejects[position], notices.get(id(mail))),
            )
            inbound.append((position, row))
            results[position] = ImportResult(REJECTED, inbound=row)
        InboundMail.objects.bulk_create([row for _p, row in sorted(inbound, key=lambda pair: pair[0])])
        known.forget_replaced()
    return cast(list[ImportResult], results)


# A batch entry: (position in the batch, log item, parsed mail, threading rule).
_Entry = tuple[int, services.LogItem, ParsedMail, str]


def _log_batch(items: list[_Entry]) -> tuple[list[tuple[_Entry, Message]], list[tuple[_Entry, str]]]:
    """Log a batch's messages together; should that fail, each on its own, so one bad message fails alone.

    Returns the logged entries with their messages, and the failed ones with
    the reason they are kept as rejected.
    """
    try:
        with transaction.atomic():
            messages = services.messages_log([item for _p, item, _m, _h in items], checked=True)
            _logged(messages, {m.pk for m, entry in zip(messages, items, strict=True) if entry[2].is_bounce})
        return list(zip(items, messages, strict=True)), []
    except Exception:
        logger.exception("A mail batch could not be logged as a whole; logging its messages one by one")
    logged: list[tuple[_Entry, Message]] = []
    failed: list[tuple[_Entry, str]] = []
    for entry in items:
        message = entry[1].message
        # As if new: the failed attempt was rolled back, but not the objects it touched.
        message.pk = None
        message._state.adding = True
        message.engagement = Engagement.objects.select_related("workspace", "provider").get(
            pk=message.engagement_id
        )
        try:
            with transaction.atomic():
                services.messages_log([entry[1]], checked=True)
                _logged([message], {message.pk} if entry[2].is_bounce else set())
        except ValidationError as error:
            failed.append((entry, "; ".join(error.messages)))
        except Exception:
            logger.exception("A mail could not be logged; kept as rejected")
            failed.append((entry, _("It could not be logged (an error, recorded in the server log).")))
        else:
            logged.append((entry, message))
    return logged, failed


def mail_import(*, workspace: Workspace, raw: bytes, source: str) -> ImportResult:
    """Import one message's bytes into the workspace; see the module's docstring."""
    return _import_batch(workspace, [raw], source, _member_addresses(workspace))[0]


@dataclass
class ImportCounts:
    """What a run of the importer did, by outcome."""

    threaded: int = 0
    unsorted: int = 0
    rejected: int = 0
    duplicate: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def imported(self) -> int:
        return self.threaded + self.unsorted

    @property
    def total(self) -> int:
        return self.threaded + self.unsorted + self.rejected + self.duplicate


# Messages per transaction: the threading queries and the recompute of each
# touched engagement are paid once per batch, not once per message. A batch
# also closes at BATCH_BYTES of raw mail, so big messages keep memory flat.
BATCH = 1000
BATCH_BYTES = 32 * 1024 * 1024


def _batches(raws: Iterable[bytes], size: int, max_bytes: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    held = 0
    for raw in raws:
        batch.append(raw)
        held += len(raw)
        if len(batch) >= size or held >= max_bytes:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def mail_import_many(
    *,
    workspace: Workspace,
    raws: Iterable[bytes],
    source: str,
    on_batch: Callable[[ImportCounts], None] | None = None,
    batch_size: int = BATCH,
) -> ImportCounts:
    """Import a stream of messages (an mbox, a mailbox poll, an upload); memory stays flat.

    ``on_batch`` is called with the running counts after every batch has
    been committed, for progress reports and for remembering how far a
    source has been read.
    """
    counts = ImportCounts()
    members = _member_addresses(workspace)
    for batch in _batches(raws, batch_size, BATCH_BYTES):
        for result in _import_batch(workspace, batch, source, members):
            counts.add(result.outcome)
        if on_batch is not None:
            on_batch(counts)
    return counts


@dataclass(frozen=True)
class PathResult:
    """What importing one file or Maildir did: its counts, or why nothing was read ("empty", skipped …)."""

    path: Path
    counts: ImportCounts | None = None
    note: str = ""


def mail_import_paths(*, workspace: Workspace, paths: Iterable[Path], source: str) -> Iterator[PathResult]:
    """Import files, mbox files, Maildirs and folders of them; one result for everything found.

    A file that holds no message is "empty"; one that is no mail, or cannot
    be read, is skipped with the reason; nothing is passed over silently.
    """
    for path in paths:
        for found in sources.mail_sources(path):
            if found.skipped:
                yield PathResult(found.path, note=found.skipped)
                continue
            try:
                counts = mail_import_many(workspace=workspace, raws=sources.read(found), source=source)
            except OSError as error:
                yield PathResult(found.path, note=f"could not be read ({error.strerror or error})")
                continue
            yield PathResult(found.path, counts, "empty" if not counts.total else "")


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
        title=(
            inbound.subject
            or _("Mail from %(sender)s") % {"sender": inbound.platform_sender or inbound.from_address or "?"}
        )[:200],
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
    For a platform's notification the sender is the provider whose profile link
    or name it shows, when exactly one is (never the platform's address).
    """
    provider = None
    if inbound.platform in platforms.RULE_BY_KEY:
        provider = platform_provider(inbound)
    elif inbound.from_address and not platforms.is_platform_sender(inbound.from_address):
        provider = (
            Provider.objects.filter(
                workspace_id=inbound.workspace_id, emails__email__iexact=inbound.from_address
            )
            .order_by("pk")
            .first()
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


def platform_provider(inbound: InboundMail) -> Provider | None:
    """The one provider an unsorted platform notification names, by profile link or name; else None."""
    rule = platforms.RULE_BY_KEY[inbound.platform]
    notice = platforms.PlatformNotice(
        platform=rule.key,
        label=rule.label,
        name=inbound.platform_sender,
        handle="",
        words="",
        topic="",
        link="",
        sent_at=None,
    )
    found = platforms.match_providers(
        notice, set(inbound.platform_handles.split()), platform_identities(inbound.workspace_id)
    )
    return Provider.objects.filter(pk=found[0]).first() if len(found) == 1 else None


def platform_new_provider(inbound: InboundMail) -> dict[str, str]:
    """What the provider form is prefilled with for a platform sender no provider matches ({} for others):
    the name the notification showed, and the profile links its user names make."""
    if inbound.platform not in platforms.RULE_BY_KEY or not inbound.platform_sender:
        return {}
    links = platforms.profile_links(inbound.platform, inbound.platform_handles.split())
    return {"name": inbound.platform_sender, "profile_links": "\n".join(links)}
