"""Log a chat export's messages on engagements: plan (the preview), then write in one batch.

``chat_import`` is the one entry point; the upload page and ``manage.py import_chat`` both
call it. Each participant is mapped to the provider (their lines are inbound), a member (ours,
outbound) or nothing (skipped). Each message gets a fingerprint — a hash of the chat, the
sender, the instant, the text and how often that same line came before it — stored on the
message with a per-workspace unique constraint: importing the same export again finds every
fingerprint logged and adds only the lines that are new. The rows go in through the log's
own batch service (``services.messages_log``), which derives the exchanges with the same pure
function as for e-mail, once per engagement.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import secrets
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import connection, transaction
from django.db.models import Q, QuerySet, signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements import jobs, services, sql
from engagements.chat.parsers import SLACK, TELEGRAM, WHATSAPP, Chat, ChatError, ChatMessage, read_export
from engagements.models import ChatSource, ChatUpload, Engagement, Message
from outsourcing import zones as zone_names
from outsourcing.models import Membership, Role, User, Workspace
from outsourcing.uploads import check_upload
from providers.models import Provider

logger = logging.getLogger(__name__)

PROVIDER, SKIP = "provider", "skip"
MEMBER_PREFIX = "member:"
CHANNELS = {
    WHATSAPP: Message.Channel.WHATSAPP,
    TELEGRAM: Message.Channel.TELEGRAM,
    SLACK: Message.Channel.SLACK,
}
# Fingerprints looked up per query when checking what is logged already.
LOOKUP_BATCH = 5000
# Messages a background import writes per transaction; its progress moves on after each.
WRITE_BATCH = 5000
# Stalled imports the beat's sweep queues again per pass (a few at most, in practice).
STALLED_SWEEP_LIMIT = 100


@dataclass(frozen=True)
class DateRange:
    """Messages dated ``start``…``end`` (both included, either open) go to ``engagement``."""

    engagement: Engagement
    start: date | None = None
    end: date | None = None

    def holds(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass
class ChatPlan:
    """What importing a chat does (or would do): the new rows and the counts of everything else."""

    new: list[Message] = field(default_factory=list)
    already: int = 0
    system: int = 0
    skipped: int = 0
    outside: int = 0
    rejected: int = 0
    applied: bool = False
    # A new message's files from the export (a WhatsApp zip's media), by its fingerprint.
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    # Each participant's zone: the one chosen, else their usual one.
    sender_zones: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "imported" if self.applied else "new": len(self.new),
            "already": self.already,
            "system": self.system,
            "skipped": self.skipped,
            "outside": self.outside,
            "rejected": self.rejected,
        }


def fingerprints(chat: Chat) -> list[str]:
    """A stable key per message: the same line of the same chat in any later export has the same one.

    The SHA-256 of the chat's platform and key, the sender, the instant, the text and how often
    that same line came before, joined by U+001F (the format every logged line's key has).
    """
    seen: dict[tuple[str, datetime, str], int] = {}
    prefix = f"{chat.platform}\x1f{chat.key}\x1f"
    sha256 = hashlib.sha256
    keys = []
    for message in chat.messages:
        line = (message.sender, message.sent_at, message.text)
        count = seen[line] = seen.get(line, 0) + 1
        raw = f"{prefix}{message.sender}\x1f{message.sent_at.isoformat()}\x1f{message.text}\x1f{count}"
        keys.append(sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
    return keys


def body_of(message: ChatMessage, kept: Iterable[str] = ()) -> str:
    """The text, then the files the line names that are not kept as attachments (not in the export)."""
    files = "\n".join(
        _("[file: %(name)s]") % {"name": name} for name in message.attachments if name not in kept
    )
    return "\n".join(part for part in (message.text, files) if part)


def _media_files(chat: Chat, message: ChatMessage) -> list[UploadedFile]:
    """The files a line names that the export holds and the upload rules accept (size, real type)."""
    files: list[UploadedFile] = []
    for name in message.attachments:
        size = chat.media_size(name)
        # Not unpacked at all when it is over the limit: check_upload would refuse it anyway.
        if size is None or size > settings.MAX_UPLOAD_SIZE:
            continue
        data = chat.media_bytes(name)
        if data is None:
            continue
        upload = SimpleUploadedFile(name, data)
        try:
            upload.content_type = check_upload(upload)
        except ValidationError:
            continue
        upload.seek(0)
        files.append(upload)
    return files


def _logged(workspace: Workspace, keys: list[str]) -> set[str]:
    """Which of ``keys`` the workspace's log holds (one array parameter per batch: fast to plan)."""
    found: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(keys), LOOKUP_BATCH):
            where, params = sql.id_in("chat_fingerprint", keys[start : start + LOOKUP_BATCH])
            cursor.execute(
                f"SELECT chat_fingerprint FROM {Message._meta.db_table} WHERE workspace_id = %s AND {where}",  # nosec B608
                [workspace.pk, *params],
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


def _members(workspace: Workspace) -> dict[int, User]:
    return {m.user_id: m.user for m in Membership.objects.filter(workspace=workspace).select_related("user")}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an import makes and writes its rows, then as it was.

    Each of its full passes walks every object alive, the import's 100,000 rows among them, and
    making them sets off many passes (a tenth of a large import's time); the rows form no cycles
    for it to find. Whatever else becomes garbage meanwhile is collected once it is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _MessageMaker:
    """Unsaved log rows of one import, made fast: a 100,000-line chat makes 100,000 of them.

    One row per engagement and author is made the ordinary way (``Message(...)``, then the
    relations through their descriptors, so ``message.engagement`` needs no query later); every
    other row is a copy of it with its own values, its fields and state set as that would set
    them, without ``Model.__init__``'s walk over the fields and the descriptors' checks, which
    cost more than the rest of the import's planning. With a receiver of Message's init signals
    connected every row is made the ordinary way, so it still hears of each.
    """

    def __init__(self, *, workspace: Workspace, channel: str) -> None:
        shared = Message(workspace_id=workspace.pk, channel=channel, source=Message.Source.CHAT)
        names = [f.attname for f in Message._meta.concrete_fields]
        # The defaults (``created_at``: now) worked out once: every row of the import has the same.
        self.base = [getattr(shared, name) for name in names]
        self.slots = {name: i for i, name in enumerate(names)}
        # The relations are set through the arguments only.
        self.names = frozenset(names) - {"engagement_id", "author_id"}
        self.ordinary = signals.pre_init.has_listeners(Message) or signals.post_init.has_listeners(Message)
        # By the ids of the engagement and the author: (the row copied, its state's own values, the
        # relations' cache, both objects, which keeps the ids from being reused).
        self.models: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any], dict[str, Any], object]] = {}

    def _ordinary(self, engagement: Engagement, author: User | None, values: dict[str, Any]) -> Message:
        row = self.base.copy()
        for name, value in values.items():
            row[self.slots[name]] = value
        # Every concrete field's value in order: no keyword matching (several times faster).
        message = Message(*row)  # type: ignore[misc]
        # Through the descriptors, so ``message.engagement`` needs no query later.
        message.engagement = engagement
        message.author = author
        return message

    def __call__(self, *, engagement: Engagement, author: User | None, **values: Any) -> Message:
        if not values.keys() <= self.names:
            raise TypeError(f"not a Message column: {sorted(values.keys() - self.names)}")
        if self.ordinary:
            return self._ordinary(engagement, author, values)
        found = self.models.get((id(engagement), id(author)))
        if found is None:
            model = self._ordinary(engagement, author, {})
            fields = {k: v for k, v in model.__dict__.items() if k != "_state"}
            state = {k: v for k, v in model._state.__dict__.items() if k != "fields_cache"}
            found = (fields, state, dict(model._state.fields_cache), (engagement, author))
            self.models[(id(engagement), id(author))] = found
        fields, state_values, cache, _kept = found
        message = Message.__new__(Message)
        message.__dict__.update(fields)
        message.__dict__.update(values)
        new_state = ModelState()
        new_state.__dict__.update(state_values)
        new_state.fields_cache = dict(cache)
        message._state = new_state
        return message


def _check_targets(workspace: Workspace, provider: Provider, targets: Iterable[Engagement]) -> None:
    if provider.workspace_id != workspace.pk:
        raise ValidationError(_("Choose a provider of this workspace."))
    for engagement in targets:
        if engagement.workspace_id != workspace.pk or engagement.provider_id != provider.pk:
            raise ValidationError(
                _("“%(title)s” is not an engagement of this provider.") % {"title": engagement.title}
            )


def _set_kinds(new: list[Message]) -> None:
    """Request or follow-up for our lines, by the log form's rule, on each engagement's whole log in time order.

    Ours opens an exchange when none is open (a request) and is a follow-up while one is; a
    reply from the provider closes it. Auto-replies and "not an answer" close nothing.
    """
    by_engagement: dict[int, list[Message]] = {}
    for message in new:
        by_engagement.setdefault(message.engagement_id, []).append(message)
    logged = Message.objects.filter(engagement_id__in=by_engagement, deleted_at=None).values_list(
        "engagement_id", "occurred_at", "direction", "is_auto_reply", "not_an_answer"
    )
    # (when, existing before new at the same instant, ours, closes an exchange, the new row or None)
    Entry = tuple[datetime, int, bool, bool, Message | None]
    timeline: dict[int, list[Entry]] = {pk: [] for pk in by_engagement}
    for pk, at, direction, auto, not_answer in logged:
        closes = direction == Message.Direction.INBOUND and not auto and not not_answer
        timeline[pk].append((at, 0, direction == Message.Direction.OUTBOUND, closes, None))
    for pk, messages in by_engagement.items():
        for m in messages:
            ours = m.direction == Message.Direction.OUTBOUND
            timeline[pk].append((m.occurred_at, 1, ours, not ours, m))
    for entries in timeline.values():
        awaiting = False
        for _at, _order, ours, closes, new_row in sorted(entries, key=lambda e: (e[0], e[1])):
            if ours:
                if new_row is not None:
                    new_row.kind = Message.Kind.FOLLOW_UP if awaiting else Message.Kind.REQUEST
                awaiting = True
            elif closes:
                awaiting = False


def chat_plan(
    *,
    workspace: Workspace,
    chat: Chat,
    provider: Provider,
    participants: dict[str, str],
    engagement: Engagement | None,
    ranges: Sequence[DateRange] = (),
    zone: tzinfo,
    sender_zones: dict[str, str] | None = None,
    with_files: bool = False,
) -> ChatPlan:
    """What importing ``chat`` would log, where; writes nothing.

    ``participants`` maps each sender to ``"provider"``, ``"member:<user id>"`` or ``"skip"``
    (an unmapped sender is skipped). A message goes to the first of ``ranges`` holding its
    date (in ``zone``), else to ``engagement``; with neither it is counted as outside.
    ``sender_zones`` (participant → zone name) is kept on each message for the log to show the
    sender's own wall-clock time; the instant is the export's either way. ``with_files``: the
    files a line names are read from the export (the import; a preview only names them).
    """
    _check_targets(workspace, provider, [r.engagement for r in ranges] + ([engagement] if engagement else []))
    members = _members(workspace)
    plan = ChatPlan(
        sender_zones=sender_zones_resolve(
            provider=provider, participants=participants, chosen=sender_zones or {}, members=members
        )
    )
    sender_zones = plan.sender_zones
    new_message = _MessageMaker(workspace=workspace, channel=CHANNELS[chat.platform])
    now = timezone.now()
    earliest = now - timedelta(days=services.MAX_BACKDATE_DAYS)
    latest = now + timedelta(minutes=1)
    outbound_values = {"direction": Message.Direction.OUTBOUND, "kind": Message.Kind.REQUEST}
    inbound_values = {"direction": Message.Direction.INBOUND, "kind": Message.Kind.REPLY}
    keys = fingerprints(chat)
    logged = _logged(workspace, keys)
    for message, key in zip(chat.messages, keys, strict=True):
        if message.is_system:
            plan.system += 1
            continue
        role = participants.get(message.sender, SKIP)
        author = None
        if role.startswith(MEMBER_PREFIX):
            author = members.get(int(role.removeprefix(MEMBER_PREFIX))) if role[7:].isdigit() else None
            if author is None:
                plan.skipped += 1
                continue
        elif role != PROVIDER:
            plan.skipped += 1
            continue
        if key in logged:
            plan.already += 1
            continue
        target = engagement
        if ranges:
            day = timezone.localtime(message.sent_at, zone).date()
            target = next((r.engagement for r in ranges if r.holds(day)), engagement)
        if target is None:
            plan.outside += 1
            continue
        # Never in the future (a minute's grace for clocks), never more than ten years back: as for the form.
        if message.sent_at > latest or message.sent_at < earliest:
            plan.rejected += 1
            continue
        outbound = author is not None
        kept: list[str] = []
        # Only lines naming a file reach here with work to do: the plain lines stay fast.
        if with_files and message.attachments and chat.media_paths:
            files = _media_files(chat, message)
            if files:
                plan.files[key] = files
                kept = [f.name or "" for f in files]
        plan.new.append(
            new_message(
                engagement=target,
                **(outbound_values if outbound else inbound_values),
                occurred_at=message.sent_at,
                # A line naming no file is its text (what body_of gives it, without the work).
                body=body_of(message, kept) if message.attachments else message.text,
                sender=message.sender[:300],
                author=author,
                chat_fingerprint=key,
                sender_time_zone=sender_zones.get(message.sender, ""),
            )
        )
    _set_kinds(plan.new)
    return plan


def chat_import(
    *,
    workspace: Workspace,
    chat: Chat,
    provider: Provider,
    participants: dict[str, str],
    engagement: Engagement | None,
    ranges: Sequence[DateRange] = (),
    zone: tzinfo,
    sender_zones: dict[str, str] | None = None,
    dry_run: bool = False,
    upload: ChatUpload | None = None,
    by: User | None = None,
    run: str = "",
) -> ChatPlan:
    """Log the chat's new lines and remember its participants; ``dry_run`` only plans.

    In the request, all in one transaction. A worker's import (``run``: the id its claim took)
    writes batches of ``WRITE_BATCH``, each in its own transaction with the upload's progress, and
    derives the exchanges once at the end: a worker that dies leaves whole batches (and exchanges
    behind the log until the retry), and a retry finds them by fingerprint and goes on.
    An ``engagement`` not saved yet (a new one named on the page) is created with them.
    """
    with collector_paused():
        plan = chat_plan(
            workspace=workspace,
            chat=chat,
            provider=provider,
            participants=participants,
            engagement=engagement,
            ranges=ranges,
            zone=zone,
            sender_zones=sender_zones,
            with_files=not dry_run,
        )
        if dry_run:
            return plan
        items = [services.LogItem(m, plan.files.get(m.chat_fingerprint, ())) for m in plan.new]
        if run and upload is not None:
            _write_batches(
                upload=upload, run=run, items=items, engagement=engagement, by=by, workspace=workspace
            )
        with transaction.atomic():
            if engagement is not None and engagement.pk is None:
                services.engagements_create(workspace=workspace, engagements=[engagement], created_by=by)
            if not run:
                services.messages_log(items, checked=True, copy=True)
            else:
                # Once, after the batches; every target, so a retry after a crash here still does it.
                targets = {e.pk: e for e in [engagement, *(r.engagement for r in ranges)] if e is not None}
                services.exchanges_recompute_many(engagements=list(targets.values()))
            source_remember(
                workspace=workspace,
                chat=chat,
                provider=provider,
                participants=participants,
                sender_zones=plan.sender_zones,
            )
            plan.applied = True
            if upload is not None:
                finished = ChatUpload.objects.filter(pk=upload.pk)
                if run:
                    finished = finished.filter(run_id=run)
                if not finished.update(
                    imported_at=timezone.now(),
                    result=plan.counts,
                    status=ChatUpload.Status.DONE,
                    done=len(plan.new),
                    total=len(plan.new),
                    heartbeat_at=timezone.now(),
                    run_id="",
                ):
                    raise RunTakenOver
        return plan


class RunTakenOver(Exception):
    """The import was retried while this run was slow: the newer run goes on, this one stops."""


def _write_batches(
    *,
    upload: ChatUpload,
    run: str,
    items: list[services.LogItem],
    engagement: Engagement | None,
    by: User | None,
    workspace: Workspace,
) -> None:
    """A worker's import: each batch and the progress after it in one transaction, claim checked."""
    held = ChatUpload.objects.filter(pk=upload.pk, run_id=run)
    if not held.update(done=0, total=len(items), heartbeat_at=timezone.now()):
        raise RunTakenOver
    for start in range(0, len(items), WRITE_BATCH):
        with transaction.atomic():
            if engagement is not None and engagement.pk is None:
                services.engagements_create(workspace=workspace, engagements=[engagement], created_by=by)
            # The exchanges are derived once at the end, not again after every batch.
            services.messages_log(
                items[start : start + WRITE_BATCH], checked=True, copy=True, recompute=False
            )
            if not held.update(done=min(start + WRITE_BATCH, len(items)), heartbeat_at=timezone.now()):
                raise RunTakenOver


def source_remember(
    *,
    workspace: Workspace,
    chat: Chat,
    provider: Provider,
    participants: dict[str, str],
    sender_zones: dict[str, str] | None = None,
) -> None:
    ChatSource.objects.update_or_create(
        workspace=workspace,
        platform=chat.platform,
        key=chat.key[:255],
        defaults={
            "title": chat.title[:255],
            "provider": provider,
            "participants": participants,
            "participant_zones": sender_zones or {},
        },
    )


def source_remembered(*, workspace: Workspace, chat: Chat) -> ChatSource | None:
    return ChatSource.objects.filter(workspace=workspace, platform=chat.platform, key=chat.key[:255]).first()


def participants_guess(
    *, workspace: Workspace, chat: Chat, provider: Provider | None, remembered: dict[str, str] | None = None
) -> dict[str, str]:
    """Who is who, as far as can be told: what the last import of this chat chose, else names that match.

    A sender called like a member (full name, or first name when only one member has it) is that
    member; one called like the provider is the provider; when exactly one sender is left and no
    one is the provider yet, it is the provider (a one-to-one chat). Anyone else is left to choose.
    """
    members = _members(workspace)
    by_name: dict[str, list[int]] = {}
    for pk, user in members.items():
        for name in {user.get_full_name(), user.first_name, user.display_name, user.email.split("@")[0]}:
            if name:
                by_name.setdefault(name.casefold(), []).append(pk)
    guess: dict[str, str] = {}
    for sender in chat.participants:
        if remembered and sender in remembered:
            guess[sender] = remembered[sender]
            continue
        ids = set(by_name.get(sender.casefold(), []))
        if len(ids) == 1:
            guess[sender] = f"{MEMBER_PREFIX}{ids.pop()}"
        elif provider is not None and sender.casefold() in {
            provider.name.casefold(),
            (provider.company or "").casefold(),
        }:
            guess[sender] = PROVIDER
    left = [s for s in chat.participants if s not in guess]
    if len(left) == 1 and PROVIDER not in guess.values():
        guess[left[0]] = PROVIDER
    return guess


def usual_zone(*, provider: Provider, role: str, members: dict[int, User]) -> str:
    """Where a participant lives unless someone says otherwise: the provider's zone, or the member's own.

    A member without a zone of their own sees the site's display zone: that is theirs then.
    Someone left out has none.
    """
    if role == PROVIDER:
        return provider.time_zone or ""
    pk = role.removeprefix(MEMBER_PREFIX)
    if role.startswith(MEMBER_PREFIX) and pk.isdigit() and int(pk) in members:
        return members[int(pk)].time_zone or settings.DISPLAY_TIME_ZONE
    return ""


def sender_zones_resolve(
    *, provider: Provider, participants: dict[str, str], chosen: dict[str, str], members: dict[int, User]
) -> dict[str, str]:
    """Each participant's zone: the one chosen (a known zone name), else their usual one."""
    resolved = {}
    for name, role in participants.items():
        zone = chosen.get(name, "")
        resolved[name] = (
            zone
            if zone and zone_names.is_known(zone)
            else usual_zone(provider=provider, role=role, members=members)
        )
    return {name: zone for name, zone in resolved.items() if zone}


def sender_zones_guess(
    *, provider: Provider | None, guess: dict[str, str], remembered: dict[str, str], members: list[User]
) -> dict[str, str]:
    """The zones the mapping page starts with: what the last import of this chat chose, else the usual one."""
    by_pk = {user.pk: user for user in members}
    found = {}
    for name, role in guess.items():
        zone = remembered.get(name) or (
            usual_zone(provider=provider, role=role, members=by_pk) if provider is not None else ""
        )
        if zone:
            found[name] = zone
    return found


def default_zone_name(*, workspace: Workspace, user: User | None) -> str:
    """The zone WhatsApp's wall-clock times are read in unless someone says otherwise.

    The importing member's own zone; else the workspace owner's (who usually made the export);
    else the site's display zone.
    """
    if user is not None and user.time_zone:
        return user.time_zone
    owner_zone = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER)
        .exclude(user__time_zone="")
        .order_by("joined_at")
        .values_list("user__time_zone", flat=True)
        .first()
    )
    return owner_zone or settings.DISPLAY_TIME_ZONE


def provider_guess(*, workspace: Workspace, chat: Chat) -> Provider | None:
    """The workspace's one provider called like a participant (or like the chat), if there is exactly one."""
    names = {n.casefold() for n in [*chat.participants, chat.title]}
    found = [
        p
        for p in Provider.objects.filter(workspace=workspace).only("pk", "name", "workspace_id")
        if p.name.casefold() in names
    ]
    return found[0] if len(found) == 1 else None


def upload_store(*, workspace: Workspace, data: bytes, filename: str, by: User | None) -> ChatUpload:
    """Keep an uploaded export for the mapping, preview and import steps."""
    return ChatUpload.objects.create(workspace=workspace, data=data, filename=filename[:255], created_by=by)


# --- Large exports: imported by a worker with the choices made on the page ------------------------


def _enqueue(upload_id: int) -> None:
    try:
        jobs.send_now("engagements.tasks.import_chat_upload", upload_id)
    except Exception as error:  # the broker is away: say so on the upload, not with a 500
        logger.exception("Chat upload %s could not be queued", upload_id)
        ChatUpload.objects.filter(pk=upload_id, status=ChatUpload.Status.QUEUED).update(
            status=ChatUpload.Status.FAILED, error=str(error)[:500]
        )


def upload_queue(*, upload: ChatUpload, options: dict[str, Any]) -> bool:
    """Keep the page's choices on the upload and queue its import; False if one is queued or running."""
    with transaction.atomic():
        queued = (
            ChatUpload.objects.filter(pk=upload.pk)
            .exclude(status__in=[ChatUpload.Status.QUEUED, ChatUpload.Status.RUNNING])
            .update(
                status=ChatUpload.Status.QUEUED,
                options=options,
                error="",
                done=0,
                total=0,
                heartbeat_at=timezone.now(),
                run_id="",
            )
        )
        if queued:
            transaction.on_commit(partial(_enqueue, upload.pk))
    return bool(queued)


def upload_retry(*, upload: ChatUpload) -> bool:
    """Queue a failed or stalled background import again with the choices it was queued with.

    One conditional UPDATE decides: of two clicks, or a click and a worker taking it up, one
    wins; False for the other, or when there is nothing to retry (running fine, done, never queued).
    What the stopped run logged stays and is found again by fingerprint.
    """
    now = timezone.now()
    retryable = Q(status=ChatUpload.Status.FAILED) | ChatUpload.stalled_at(now)
    with transaction.atomic():
        return _requeue(ChatUpload.objects.filter(retryable), upload.pk, now)


def _requeue(rows: QuerySet[ChatUpload], pk: int, now: datetime) -> bool:
    """Queue upload ``pk`` again if it is still among ``rows`` (a conditional UPDATE decides)."""
    queued = (
        rows.filter(pk=pk)
        .exclude(options={})
        .update(status=ChatUpload.Status.QUEUED, error="", heartbeat_at=now, run_id="")
    )
    if queued:
        transaction.on_commit(partial(_enqueue, pk))
    return bool(queued)


def uploads_requeue_stalled(now: datetime | None = None) -> int:
    """Queue again every background import whose worker went silent (the beat's sweep); how many.

    A failed import is left for a person to retry: it stopped for a reason. A stalled run that
    was only slow finds its run id gone at its next batch and stops (``RunTakenOver``).
    """
    now = now or timezone.now()
    stalled = ChatUpload.objects.filter(ChatUpload.stalled_at(now)).exclude(options={})
    requeued = 0
    for pk in stalled.order_by("pk").values_list("pk", flat=True)[:STALLED_SWEEP_LIMIT]:
        # Conditional: a batch written, or a Try again, since the read wins.
        with transaction.atomic():
            if _requeue(stalled, pk, now):
                logger.warning("Chat upload %s stalled (its worker stopped); queued again", pk)
                requeued += 1
    return requeued


def _engagement_of(workspace: Workspace, pk: Any) -> Engagement:
    return Engagement.objects.get(workspace=workspace, pk=pk)


def upload_run(upload_id: int) -> str:
    """The worker's side of ``upload_queue``: claimed once (a redelivered task finds it taken), then imported."""
    run = secrets.token_hex(8)
    if not ChatUpload.objects.filter(pk=upload_id, status=ChatUpload.Status.QUEUED).update(
        status=ChatUpload.Status.RUNNING, run_id=run, heartbeat_at=timezone.now()
    ):
        return "not queued"
    upload = ChatUpload.objects.select_related("workspace").get(pk=upload_id)
    workspace, options = upload.workspace, upload.options
    try:
        zone = zoneinfo.ZoneInfo(options["time_zone"])
        chats = read_export(bytes(upload.data), upload.filename, zone=zone, date_order=options["date_order"])
        chat = next(c for c in chats if c.key == options["chat"])
        provider = Provider.objects.get(workspace=workspace, pk=options["provider"])
        by = User.objects.filter(pk=options.get("by")).first()
        engagement = None
        if options.get("engagement"):
            engagement = _engagement_of(workspace, options["engagement"])
        elif options.get("new_title"):
            engagement = Engagement(
                workspace=workspace, provider=provider, owner=by, title=options["new_title"]
            )
        ranges = [
            DateRange(
                _engagement_of(workspace, r["engagement"]),
                date.fromisoformat(r["start"]) if r.get("start") else None,
                date.fromisoformat(r["end"]) if r.get("end") else None,
            )
            for r in options.get("ranges", [])
        ]
        chat_import(
            workspace=workspace,
            chat=chat,
            provider=provider,
            participants=options["participants"],
            engagement=engagement,
            ranges=ranges,
            zone=zone,
            sender_zones=options.get("zones", {}),
            upload=upload,
            by=by,
            run=run,
        )
    except RunTakenOver:
        logger.warning("Chat upload %s was retried while this run went on; this one stops", upload_id)
        return "taken over"
    except (ChatError, ValidationError, ObjectDoesNotExist, KeyError, StopIteration, ValueError) as error:
        message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        ChatUpload.objects.filter(pk=upload_id, run_id=run).update(
            status=ChatUpload.Status.FAILED, error=message[:500], run_id=""
        )
        return "failed"
    except Exception as error:  # shown on the upload's page, with Retry, rather than lost in a log
        logger.exception("Chat upload %s failed", upload_id)
        ChatUpload.objects.filter(pk=upload_id, run_id=run).update(
            status=ChatUpload.Status.FAILED, error=f"{type(error).__name__}: {error}"[:500], run_id=""
        )
        return "failed"
    return "done"
