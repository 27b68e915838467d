"""Reads that the engagement pages share, always scoped to one workspace."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from engagements import deadlines
from engagements.models import (
    Attachment,
    DueDateProposal,
    Engagement,
    Exchange,
    Flag,
    Message,
    Notification,
)
from outsourcing.models import User, Workspace
from outsourcing.statements import MAX_ID, Statement
from providers.models import Provider, ProviderEmail

# Sort keys offered in the list -> the field (or expression) they order by ("-key" reverses it).
SORTS: dict[str, str | Case] = {
    "created": "created_at",
    "due": "due_on",
    "title": "title",
    "provider": "provider__name",
    "status": "status",
    # Ascending = longest wait first: since when the word shown in "Whose turn" has been awaited,
    # the provider's reply or our answer (never both); rows waiting for neither come last.
    "silent": Case(
        When(deadlines.provider_reply_owed_q(), then=F("waiting_since")),
        When(deadlines.our_answer_owed_q(), then=F("our_turn_since")),
    ),
    "priority": "priority",
}
NULLABLE_SORTS = frozenset({"due", "silent"})
DEFAULT_SORT = "-created"
PROVIDER_TIMELINE_CAP = 50


def ordering_for(sort: str) -> tuple[OrderBy, OrderBy]:
    """The ORDER BY for a sort key like "due" or "-title"; unknown keys sort newest first."""
    key = sort.removeprefix("-")
    if key not in SORTS:
        return ordering_for(DEFAULT_SORT)
    descending = sort.startswith("-")
    field = SORTS[key]
    column = F(field) if isinstance(field, str) else field
    # Empty due dates and "not waiting" rows go last whichever way one sorts. Only
    # nullable columns say so: NULLS LAST on a descending NOT NULL column would
    # stop PostgreSQL from reading the (workspace, -created_at) index in order.
    nulls_last = True if key in NULLABLE_SORTS else None
    first = column.desc(nulls_last=nulls_last) if descending else column.asc(nulls_last=nulls_last)
    return first, F("id").desc() if descending else F("id").asc()


def workspace_members(workspace: Workspace) -> QuerySet[User]:
    """Users who belong to the workspace, by name."""
    return User.objects.filter(memberships__workspace=workspace).order_by("first_name", "last_name", "email")


def client_names(workspace: Workspace) -> list[str]:
    """Every client name the workspace's engagements carry, A→Z (whatever the case).

    A DISTINCT reads every engagement (at 100,000 engagements 2.9 ms at best, 51 ms cold);
    this skips from each name to the next along the index ``eng_ws_client``, one probe per
    name (0.55 ms for 8 names).
    """
    table, name, owner = (
        connection.ops.quote_name(part) for part in (Engagement._meta.db_table, "client_name", "workspace_id")
    )
    # Table and column names from the model, values as parameters.
    after = f"SELECT min({name}) FROM {table} WHERE {owner} = %s AND {name} <> '' AND {name} > "  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE names(name) AS ({after} '' UNION ALL "  # nosec B608
            f"SELECT ({after} names.name) FROM names WHERE names.name IS NOT NULL) "
            "SELECT name FROM names WHERE name IS NOT NULL",
            [workspace.pk, workspace.pk],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(names, key=lambda name: (name.casefold(), name))  # the same order every time


def assignable_providers(workspace: Workspace, current: Provider | None = None) -> QuerySet[Provider]:
    """Providers a task may be delegated to: active or paused (plus the current one when editing)."""
    wanted = Q(status__in=[Provider.Status.ACTIVE, Provider.Status.PAUSED])
    if current is not None:
        wanted |= Q(pk=current.pk)
    return Provider.objects.filter(wanted, workspace=workspace).order_by("name", "id")


def engagement_list(
    workspace: Workspace,
    *,
    user: User,
    statuses: list[str] | None = None,
    provider: Provider | None = None,
    owner: str = "",
    awaiting: str = "",
    category: str = "",
    q: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[Engagement]:
    """The workspace's engagements, filtered and sorted as the list page asks."""
    qs = Engagement.objects.filter(workspace=workspace).select_related("provider", "owner")
    if statuses:
        qs = qs.filter(status__in=statuses)
    if provider is not None:
        qs = qs.filter(provider=provider)
    if owner == "me":
        qs = qs.filter(owner=user)
    elif owner.isdigit():
        qs = qs.filter(owner_id=int(owner))
    if awaiting == "yes":
        qs = qs.filter(awaiting_reply=True)
    elif awaiting == "no":
        qs = qs.filter(awaiting_reply=False)
    if category:
        qs = qs.filter(category=category)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(client_name__icontains=q))
    return qs.order_by(*ordering_for(sort))


def with_open_request_deadlines(engagements: QuerySet[Engagement]) -> QuerySet[Engagement]:
    """Add the open request's reply and ghosted due times to each row, in the same query.

    What ``deadlines.mark_whose_turn`` needs to tell how the provider's silence stands.
    """
    open_request = Exchange.objects.filter(engagement=OuterRef("pk"), replied_at=None).order_by(
        "requested_at", "id"
    )
    return engagements.annotate(
        open_reply_due_at=Subquery(open_request.values("reply_due_at")[:1]),
        open_ghosted_due_at=Subquery(open_request.values("ghosted_due_at")[:1]),
    )


def _engagement(workspace_id: int, pk: int) -> QuerySet[Engagement]:
    return Engagement.objects.select_related("provider", "owner", "review__reviewer").filter(
        workspace_id=workspace_id, pk=pk
    )


# The engagement page and its log's queries: fixed shapes, compiled once per process.
_ENGAGEMENT: Statement[Engagement] = Statement(Engagement, _engagement, workspace_id=int, pk=int)


def engagement_for(workspace: Workspace, pk: int) -> Engagement:
    """One engagement of the workspace, or 404; its review (if any) comes in the same query.

    It knows its workspace without asking again (the links to it need the slug).
    """
    found = _ENGAGEMENT(workspace_id=workspace.pk, pk=pk) if 0 < pk <= MAX_ID else []
    if not found:
        raise Http404("No such engagement.")
    [engagement] = found
    engagement.workspace = workspace
    return engagement


def message_for(workspace: Workspace, pk: int) -> Message:
    """One message of the workspace (deleted ones too), or 404."""
    return get_object_or_404(
        Message.objects.select_related("engagement", "engagement__provider", "author", "deleted_by"),
        workspace=workspace,
        pk=pk,
    )


def attachment_for(workspace: Workspace, pk: int) -> Attachment:
    """One attachment of a message of the workspace, or 404."""
    return get_object_or_404(Attachment, message__workspace=workspace, pk=pk)


def timeline(engagement: Engagement) -> QuerySet[Message]:
    """The engagement's whole log, newest first, deleted entries included (shown struck through)."""
    return (
        Message.objects.filter(engagement=engagement)
        .select_related("author", "deleted_by", "not_an_answer_by")
        .prefetch_related("attachments")
        .order_by("-occurred_at", "-id")
    )


class _OwnRows[T]:
    """``build(engagement id)`` as a compiled statement whose rows know their engagement without a query."""

    def __init__(self, model: type[T], build: Callable[[int], QuerySet[Any]]) -> None:
        self.statement: Statement[T] = Statement(model, build, engagement_id=int)  # type: ignore[arg-type]

    def __call__(self, engagement: Engagement) -> list[T]:
        rows = self.statement(engagement_id=engagement.pk)
        for row in rows:
            row.engagement = engagement  # type: ignore[attr-defined]
        return rows


_TIMELINE = _OwnRows(Message, lambda engagement_id: timeline(Engagement(pk=engagement_id)))
_PROPOSALS = _OwnRows(
    DueDateProposal,
    lambda engagement_id: (
        DueDateProposal.objects.filter(engagement_id=engagement_id)
        .select_related("decided_by")
        .order_by("-created_at", "-id")[:20]
    ),
)
_EXCHANGES = _OwnRows(
    Exchange,
    lambda engagement_id: Exchange.objects.filter(engagement_id=engagement_id).order_by(
        "-requested_at", "-id"
    ),
)


def timeline_rows(engagement: Engagement) -> list[Message]:
    """``timeline(engagement)`` as a list, attachments included."""
    return _TIMELINE(engagement)


def due_date_proposals(engagement: Engagement) -> list[DueDateProposal]:
    """The dates the provider proposed on their answer page, the latest 20, newest first."""
    return _PROPOSALS(engagement)


def exchanges(engagement: Engagement) -> list[Exchange]:
    """The engagement's exchanges, newest request first."""
    return _EXCHANGES(engagement)


def provider_open_engagements(provider: Provider) -> QuerySet[Engagement]:
    """The provider's engagements that are still open, most recent first."""
    return (
        Engagement.objects.filter(
            workspace_id=provider.workspace_id, provider=provider, status__in=Engagement.OPEN_STATUSES
        )
        .select_related("owner", "provider")
        .order_by("-created_at", "-id")
    )


def provider_timeline(provider: Provider) -> QuerySet[Message]:
    """Every live message with the provider, across engagements, newest first."""
    return (
        Message.objects.filter(
            workspace_id=provider.workspace_id, engagement__provider=provider, deleted_at=None
        )
        .select_related("engagement", "author", "not_an_answer_by")
        .prefetch_related("attachments")
        .order_by("-occurred_at", "-id")
    )


# --- Needs attention --------------------------------------------------------

# The overdue, due-soon and snoozed sections are short by nature; past this many
# rows the page says so instead of growing without bound. Each row carries its
# action forms, so this also bounds the page's rendering time: at 50 a section, a busy
# workspace's page held 175 rows and 149 forms (435 KB); 25, the size of every list's page,
# is more than one sitting works through.
ATTENTION_CAP = 25
DUE_SOON = timedelta(hours=24)
# Long texts of the joined rows that the attention rows never show: not worth fetching by the hundred.
ATTENTION_UNUSED = ("engagement__brief", "engagement__provider__notes")
# What Needs attention's rows read of an engagement's provider and owner (the name, and
# ``User.display_name``), and of the engagement: its link, title and status, when we last
# wrote (``flag_followed_up_at``). Only these are read: the page builds some hundred rows,
# and each column more is one more value to convert and set on every one of them.
# A column left out and read after all costs a query per row: the query-count tests catch it.
_ROW_PEOPLE = ("provider__name", "owner__first_name", "owner__last_name", "owner__email")
_ROW_ENGAGEMENT = ("title", "status", "last_outbound_at", *_ROW_PEOPLE)


def _not_snoozed(now: datetime) -> Q:
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)


def _count(rows: QuerySet) -> Coalesce:
    """How many of one workspace's ``rows`` there are, as a scalar subquery: several counts, one query."""
    counted = rows.order_by().values("workspace").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class _CountUpTo(Subquery):
    """How many rows a sliced queryset holds, as a scalar subquery: ``count(*)`` over its first rows."""

    template = "(SELECT count(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()


def _count_up_to(rows: QuerySet, cap: int | None) -> Coalesce | _CountUpTo:
    """``_count``, or with ``cap`` no more than ``cap + 1`` rows read: a badge that says "99+"
    need not read forty thousand flags on every page to say so."""
    return _count(rows) if cap is None else _CountUpTo(rows.order_by().values("pk")[: cap + 1])


def _our_answers_overdue(workspace: Workspace, now: datetime) -> QuerySet[Engagement]:
    return Engagement.objects.filter(deadlines.our_answer_overdue_q(now), workspace=workspace)


def attention_count(workspace: Workspace, now: datetime | None = None) -> int:
    """What Needs attention counts: open unsnoozed flags and our overdue answers (one query)."""
    return nav_counts(workspace, now=now, cap=None)[0]


# The navigation's badges say "99+" beyond this: the exact figure is the page's to show.
NAV_COUNT_CAP = 99


def nav_counts(
    workspace: Workspace,
    unread: QuerySet[Notification] | None = None,
    *,
    now: datetime | None = None,
    cap: int | None = NAV_COUNT_CAP,
) -> tuple[int, int]:
    """The navigation's two numbers in one query: ``attention_count``'s, and how many ``unread`` rows
    (the person's unread notifications of this workspace) there are (0 without them).

    Each counts at most ``cap + 1`` rows (over the ``flag_ws_open``, ``eng_ws_our_answer_due``
    and ``notification_unread`` partial indexes), so a page's badges cost the same at a
    million messages as at ten; ``cap=None`` counts them all.
    """
    query = nav_counts_query(workspace, unread, now=now or timezone.now(), cap=cap)
    flagged, ours, *rest = query.get()
    return flagged + ours, rest[0] if rest else 0


def nav_counts_query(
    workspace: Workspace, unread: QuerySet[Notification] | None, *, now: datetime, cap: int | None
) -> QuerySet[Workspace, tuple[int, ...]]:
    """``nav_counts``' one row: open unsnoozed flags, our overdue answers and (with them) ``unread``."""
    flags = Flag.objects.filter(_not_snoozed(now), workspace=workspace, resolved_at=None)
    counts = [_count_up_to(flags, cap), _count_up_to(_our_answers_overdue(workspace, now), cap)]
    if unread is not None:
        counts.append(_count_up_to(unread, cap))
    return Workspace.objects.filter(pk=workspace.pk).values_list(*counts)


def _open_flags(workspace: Workspace, owner: User | None) -> QuerySet[Flag]:
    flags = (
        Flag.objects.filter(workspace=workspace, resolved_at=None)
        # The exchange: when its request was last followed up.
        .select_related("engagement__provider", "engagement__owner", "exchange")
        .only(
            "engagement_id",
            "exchange__last_followup_at",
            "kind",
            "due_at",
            "resolved_at",
            "resolution",
            "reason",
            "snoozed_until",
            *(f"engagement__{name}" for name in _ROW_ENGAGEMENT),
        )
    )
    return flags if owner is None else flags.filter(engagement__owner=owner)


def attention_overdue(workspace: Workspace, *, now: datetime, owner: User | None = None) -> QuerySet[Flag]:
    """Open, unsnoozed flags, the most overdue (oldest deadline) first."""
    return _open_flags(workspace, owner).filter(_not_snoozed(now)).order_by("due_at", "id")


def attention_snoozed(workspace: Workspace, *, now: datetime, owner: User | None = None) -> QuerySet[Flag]:
    """Open flags hidden until a later moment, the first to come back first."""
    return _open_flags(workspace, owner).filter(snoozed_until__gt=now).order_by("snoozed_until", "id")


def attention_our_answers(
    workspace: Workspace, *, now: datetime, owner: User | None = None
) -> QuerySet[Engagement]:
    """Engagements whose answer we owe past our allowance, the longest overdue first.

    The rule is ``deadlines.obligations``' (see ``deadlines.our_answer_overdue_q``).
    """
    rows = (
        _our_answers_overdue(workspace, now)
        .select_related("provider", "owner")
        # And what ``deadlines.whose_turn`` reads (the provider's zone: the delivery's deadline).
        .only(
            *_ROW_ENGAGEMENT,
            "awaiting_reply",
            "waiting_since",
            "due_on",
            "our_turn_since",
            "our_answer_due_at",
            "provider__time_zone",
        )
        .order_by("our_answer_due_at", "id")
    )
    return rows if owner is None else rows.filter(owner=owner)


def _waiting_exchanges(workspace: Workspace, now: datetime, owner: User | None) -> QuerySet[Exchange]:
    """Unanswered requests of open engagements that no open flag (snoozed or not) already covers.

    ``flag_open`` and ``engagement_open`` are stored: the rows and their count come off
    the ``exchange_open_due`` partial index in due order, without testing each past-due
    request for a flag or joining it to its engagement to leave out the closed ones.
    """
    exchanges = (
        Exchange.objects.filter(
            workspace=workspace,
            replied_at=None,
            flag_open=False,
            engagement_open=True,
        )
        .select_related("engagement__provider", "engagement__owner")
        .only(
            "engagement_id",
            "requested_at",
            "replied_at",
            "reply_due_at",
            "followups",
            "last_followup_at",
            "within_policy",
            "ghosted_due_at",
            *(f"engagement__{name}" for name in _ROW_ENGAGEMENT),
        )
        # Time left until the reply is due (negative once past): the page shows it as a duration.
        .annotate(due_in=F("reply_due_at") - Value(now, output_field=DateTimeField()))
    )
    return exchanges if owner is None else exchanges.filter(engagement__owner=owner)


def attention_due_soon(
    workspace: Workspace, *, now: datetime, owner: User | None = None, soon: datetime | None = None
) -> QuerySet[Exchange]:
    """Unflagged open requests whose reply falls due within the next 24 hours (until ``soon``), soonest first."""
    return (
        _waiting_exchanges(workspace, now, owner)
        .filter(reply_due_at__gt=now, reply_due_at__lte=soon if soon is not None else now + DUE_SOON)
        .order_by("reply_due_at", "id")
    )


def attention_awaiting(
    workspace: Workspace, *, now: datetime, owner: User | None = None
) -> QuerySet[Exchange]:
    """Every other unflagged open request, soonest due first.

    Mostly those due later than 24 hours; also the rare one already past due
    whose flag was dismissed or is about to be raised by the next pass, so that
    nothing still waiting drops off the page.
    """
    later = Q(reply_due_at__isnull=True) | Q(reply_due_at__lte=now) | Q(reply_due_at__gt=now + DUE_SOON)
    return (
        _waiting_exchanges(workspace, now, owner)
        .filter(later)
        .order_by(F("reply_due_at").asc(nulls_last=True), "id")
    )


def _capped_section(section: Callable[..., QuerySet[Any]], model: type[Model]) -> Statement[Any]:
    """A Needs attention section's first ``ATTENTION_CAP`` rows and one more, compiled once per process.

    Its four sections' queries (joins, ``select_related``, an annotation) cost more to compile
    than to run: about a fifth of the page's CPU at a million messages.
    """

    def build(workspace_id: int, now: datetime, soon: datetime, owner_id: int | None) -> QuerySet[Any]:
        owner = None if owner_id is None else User(pk=owner_id)
        return section(Workspace(pk=workspace_id), now=now, soon=soon, owner=owner)[: ATTENTION_CAP + 1]

    return Statement(model, build, workspace_id=int, now=datetime, soon=datetime, owner_id=int)


ATTENTION_SECTIONS: dict[str, Statement[Any]] = {
    "overdue": _capped_section(
        lambda ws, now, soon, owner: attention_overdue(ws, now=now, owner=owner), Flag
    ),
    "our_answers": _capped_section(
        lambda ws, now, soon, owner: with_open_request_deadlines(
            attention_our_answers(ws, now=now, owner=owner)
        ),
        Engagement,
    ),
    "due_soon": _capped_section(
        lambda ws, now, soon, owner: attention_due_soon(ws, now=now, owner=owner, soon=soon), Exchange
    ),
    "snoozed": _capped_section(
        lambda ws, now, soon, owner: attention_snoozed(ws, now=now, owner=owner), Flag
    ),
}


def attention_section(
    name: str, workspace: Workspace, *, now: datetime, owner: User | None = None
) -> tuple[list[Any], bool]:
    """A Needs attention section (``ATTENTION_SECTIONS``): its first ``ATTENTION_CAP`` rows, and whether there are more.

    The rows ``attention_overdue`` and the others give, in one query.
    """
    rows = ATTENTION_SECTIONS[name](
        workspace_id=workspace.pk, now=now, soon=now + DUE_SOON, owner_id=None if owner is None else owner.pk
    )
    return rows[:ATTENTION_CAP], len(rows) > ATTENTION_CAP


@dataclass(frozen=True)
class ProviderFlags:
    """One provider's overdue flags on Needs attention, the most overdue first."""

    provider: Provider
    flags: list[Flag]

    @property
    def oldest_due_at(self) -> datetime:
        return min(flag.due_at for flag in self.flags)

    @property
    def followable(self) -> list[int]:
        """The flags one follow-up mail can cover (a bounce is resent on its own)."""
        return [flag.pk for flag in self.flags if flag.kind != Flag.Kind.BOUNCED]


def by_provider(rows: Iterable[Flag]) -> list[ProviderFlags]:
    """Flags (loaded with ``engagement__provider``) grouped by provider, in the order they came.

    From ``attention_overdue``: the provider with the most overdue flag first, each
    group's flags most overdue first. No query: the rows are grouped as they are.
    """
    groups: dict[int, list[Flag]] = {}
    for flag in rows:
        groups.setdefault(flag.engagement.provider_id, []).append(flag)
    return [ProviderFlags(provider=group[0].engagement.provider, flags=group) for group in groups.values()]


def flag_followed_up_at(flag: Flag) -> datetime | None:
    """When the provider was last chased about a flag, or None while nobody has.

    A reply or ghosted flag: the last follow-up on its request. A delivery or
    bounce flag has no request of its own: the last message to the provider
    since its deadline (or the bounce). Reads only what the attention queries
    load with the flag.
    """
    if flag.exchange_id is not None and flag.exchange is not None:
        return flag.exchange.last_followup_at
    last = flag.engagement.last_outbound_at
    return last if last is not None and last >= flag.due_at else None


_FLAGS = _OwnRows(
    Flag,
    lambda engagement_id: (
        Flag.objects.filter(engagement_id=engagement_id)
        .select_related("resolved_by", "exchange")
        .order_by("-raised_at", "-id")
    ),
)


def engagement_flags(engagement: Engagement) -> list[Flag]:
    """All the engagement's flags, open and resolved, the latest raised first."""
    return _FLAGS(engagement)


def flag_for(workspace: Workspace, pk: int) -> Flag:
    """One flag of the workspace, or 404."""
    # The engagement's workspace too: Flag.workspace is a copy without a database constraint.
    return get_object_or_404(
        Flag.objects.select_related("engagement__provider", "engagement__owner", "resolved_by", "exchange"),
        workspace=workspace,
        engagement__workspace=workspace,
        pk=pk,
    )


def open_exchange(engagement: Engagement) -> Exchange | None:
    """The engagement's request still waiting for a reply, with its message (at most one is open)."""
    return (
        Exchange.objects.filter(engagement=engagement, replied_at=None)
        .select_related("request_message")
        .order_by("-requested_at", "-id")
        .first()
    )


def latest_request(engagement: Engagement) -> Message | None:
    """The engagement's latest live request, answered or not."""
    return (
        Message.objects.filter(
            engagement=engagement,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.REQUEST,
            deleted_at=None,
        )
        .order_by("-occurred_at", "-id")
        .first()
    )


def followup_request(engagement: Engagement) -> Message | None:
    """The request a follow-up chases: the open exchange's, else the latest live request."""
    waiting = open_exchange(engagement)
    return waiting.request_message if waiting is not None else latest_request(engagement)


def followup_flag(engagement: Engagement, pk: str | None) -> Flag | None:
    """The flag a follow-up answers (``?flag=`` of the follow-up links), or None when none is named.

    Only a flag of this very engagement (and so of its workspace): any other id is a 404.
    """
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404("No such flag.")
    return get_object_or_404(
        Flag.objects.select_related("exchange__request_message"),
        workspace_id=engagement.workspace_id,
        engagement=engagement,
        pk=int(pk),
    )


def bounced_addresses(engagement: Engagement) -> frozenset[str]:
    """The addresses the engagement's logged bounces say our mail could not reach, lower-cased.

    A bounce logged before bounces kept their failed addresses is read for the
    provider's addresses it names (what the importer threaded it by).
    """
    failed: set[str] = set()
    unrecorded: list[str] = []
    for recorded, *texts in Message.objects.filter(
        engagement=engagement, kind=Message.Kind.BOUNCE, deleted_at=None
    ).values_list("failed_recipients", "subject", "body", "quoted"):
        if recorded:
            failed.update(recorded.split())
        else:
            unrecorded.append("\n".join(texts).lower())
    if unrecorded:
        for address in ProviderEmail.objects.filter(provider_id=engagement.provider_id).values_list(
            "email", flat=True
        ):
            if any(address.lower() in text for text in unrecorded):
                failed.add(address.lower())
    return frozenset(failed)


@dataclass(frozen=True)
class FollowupFacts:
    """What a follow-up can truthfully say about an engagement (``forms.followup_initial`` writes it)."""

    # The flag it answers, while that is still open.
    flag: Flag | None
    # The request still unanswered: the flag's, else the engagement's open one.
    waiting: Exchange | None
    # The request the follow-up is about: the unanswered one, else the latest.
    request: Message | None
    # For a bounce: where our mail did not arrive.
    bounced: frozenset[str] = frozenset()


def followup_facts(
    engagement: Engagement, flag: Flag | None = None, *, bounced: frozenset[str] | None = None
) -> FollowupFacts:
    """Read what a follow-up on ``engagement`` (answering ``flag``, if given) may say.

    ``bounced``: the engagement's ``bounced_addresses`` when the caller has read them already.
    """
    if flag is not None and not flag.is_open:
        flag = None  # resolved meanwhile: the engagement as it is now decides the text
    waiting = flag.exchange if flag is not None and flag.exchange is not None else None
    if waiting is None or waiting.replied_at is not None:
        waiting = open_exchange(engagement)
    request = waiting.request_message if waiting is not None else latest_request(engagement)
    if flag is None or flag.kind != Flag.Kind.BOUNCED:
        bounced = frozenset()
    elif bounced is None:
        bounced = bounced_addresses(engagement)
    return FollowupFacts(flag=flag, waiting=waiting, request=request, bounced=bounced)


def attention_summary(workspace: Workspace, *, now: datetime) -> dict[str, int]:
    """The Needs attention page in a few numbers, for the dashboard (three queries).

    Open unsnoozed flags by kind, our own overdue answers, and unflagged requests due within 24 hours.
    """
    by_kind = dict(
        Flag.objects.filter(_not_snoozed(now), workspace=workspace, resolved_at=None)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "reply_overdue": by_kind.get(Flag.Kind.REPLY_OVERDUE, 0),
        "ghosted": by_kind.get(Flag.Kind.GHOSTED, 0),
        "delivery_overdue": by_kind.get(Flag.Kind.DELIVERY_OVERDUE, 0),
        "bounced": by_kind.get(Flag.Kind.BOUNCED, 0),
        "our_answers": _our_answers_overdue(workspace, now).count(),
        "due_soon": attention_due_soon(workspace, now=now).count(),
    }
