"""Search reads: ranked ids from the engine's full-text index, then the rows in one query per page.

The index itself (a generated ``search_vector`` column with GIN on PostgreSQL, FTS5
tables on SQLite) is made by migration 0021_full_text_search and read only here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Model, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from engagements.models import Engagement, Message
from providers.models import Provider

MAX_QUERY_LENGTH = 200
# Counting stops here: "more than 1,000" is as useful as the exact number, and cheaper.
COUNT_CAP = 1000
# Above this many matches, walking the newest rows until COUNT_CAP of them match is cheaper
# than fetching every match to pick the newest (about sqrt(COUNT_CAP x rows) at a million rows).
PLENTY = 20_000
# How long "more than PLENTY" is remembered for one workspace's words: it picks a plan, never a
# result (both plans find the same rows, tested), and counting that far costs more than the search.
# While it is remembered, that kind's count is not asked either: more than PLENTY is past COUNT_CAP,
# so the count reads "more than 1,000" as it would (unless PLENTY - COUNT_CAP matches went in minutes).
PLENTY_SECONDS = 10 * 60
SNIPPET_CHARS = 160

# Words as both engines' tokenizers see them (letters and digits of any script).
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Kind:
    key: str
    model: type[Model]
    table: str
    title_fields: tuple[str, ...]
    body_field: str
    # FTS5 bm25 weights, one per indexed column, in the order of the FTS table's columns.
    weights: tuple[float, ...]


KINDS: dict[str, Kind] = {
    "messages": Kind("messages", Message, "engagements_message", ("subject",), "body", (10.0, 1.0)),
    "engagements": Kind(
        "engagements",
        Engagement,
        "engagements_engagement",
        ("title", "client_name"),
        "brief",
        (10.0, 10.0, 1.0),
    ),
    "providers": Kind(
        "providers", Provider, "providers_provider", ("name", "company"), "notes", (10.0, 10.0, 1.0)
    ),
}


def query_terms(text: str) -> list[str]:
    """The words of a query, lower-case, without duplicates (NUL and operators fall away)."""
    seen: dict[str, None] = {}
    for word in WORD.findall(text.replace("\x00", " ").lower()):
        seen.setdefault(word, None)
    return list(seen)


def _fts5_query(terms: Sequence[str]) -> str:
    """Every word quoted as an FTS5 string, so nothing a user types is FTS5 syntax; all must match."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _scope(kind: Kind) -> str:
    if kind.key == "messages":
        return "t.workspace_id = %s AND t.deleted_at IS NULL"
    return "t.workspace_id = %s"


@dataclass(frozen=True)
class _Sql:
    """The engine's pieces: FROM/WHERE of the matches, what each match carries, how to rank it."""

    where: str
    where_params: list[Any]
    doc: str  # a column of the candidates: PostgreSQL's stored vector, FTS5's bm25 score
    order: str  # ORDER BY over the candidates, best first
    order_params: list[Any]


def _sql(kind: Kind, terms: Sequence[str], workspace_id: int) -> _Sql:
    if connection.vendor == "postgresql":
        text = " ".join(terms)
        # The same words parsed by each configuration: any of them matching is a hit.
        tsquery = "(plainto_tsquery('simple', %s) || plainto_tsquery('english', %s) || plainto_tsquery('german', %s))"
        return _Sql(
            where=f"FROM {kind.table} t WHERE {_scope(kind)} AND t.search_vector @@ {tsquery}",
            where_params=[workspace_id, text, text, text],
            doc="t.search_vector",
            order=f"ORDER BY ts_rank(doc, {tsquery}) DESC, id DESC",
            order_params=[text, text, text],
        )
    fts = f"{kind.table}_fts"
    weights = ", ".join(str(w) for w in kind.weights)
    return _Sql(
        where=f"FROM {fts} JOIN {kind.table} t ON t.id = {fts}.rowid WHERE {fts} MATCH %s AND {_scope(kind)}",
        where_params=[_fts5_query(terms), workspace_id],
        doc=f"bm25({fts}, {weights})",
        order="ORDER BY doc, id DESC",  # bm25() is lower for better matches
        order_params=[],
    )


def match_count(kind: Kind, terms: Sequence[str], workspace_id: int, *, up_to: int = COUNT_CAP) -> int:
    """How many rows of the workspace match, up to ``up_to`` + 1."""
    if not terms:
        return 0
    sql = _sql(kind, terms, workspace_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 {sql.where} LIMIT %s) AS hits",  # nosec B608  # table and column names from our models, values as parameters
            [*sql.where_params, up_to + 1],
        )
        return int(cursor.fetchone()[0])


def ranked_ids(
    kind: Kind, terms: Sequence[str], workspace_id: int, *, offset: int, limit: int, plenty: bool = False
) -> list[int]:
    """The ids of one page of matches, best first.

    Ranked among the COUNT_CAP newest matches: a word in most of a million
    messages would otherwise have every one of them scored for each page, and
    in a log the newest matches are the likeliest wanted (docs/search.md).

    How PostgreSQL finds those is chosen here, not left to the planner, whose
    guess of a word's frequency can be wrong by thousands of rows: with
    ``plenty`` of matches, walk the primary key newest-first until enough match;
    otherwise (``id + 0`` hides that index) fetch every match from the GIN index.
    """
    if not terms:
        return []
    sql = _sql(kind, terms, workspace_id)
    newest = "t.id" if plenty or connection.vendor != "postgresql" else "t.id + 0"
    query = (
        f"SELECT id FROM (SELECT t.id AS id, {sql.doc} AS doc {sql.where} ORDER BY {newest} DESC LIMIT %s) AS hits "  # nosec B608  # table and column names from our models, values as parameters
        f"{sql.order} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*sql.where_params, COUNT_CAP, *sql.order_params, limit, offset])
        return [row[0] for row in cursor.fetchall()]


def _rows(kind: Kind, ids: Sequence[int]) -> QuerySet[Any]:
    manager = kind.model._default_manager
    if kind.key == "messages":
        return manager.filter(pk__in=ids).select_related("engagement__provider")
    if kind.key == "engagements":
        return manager.filter(pk__in=ids).select_related("provider")
    return manager.filter(pk__in=ids)


def highlight(text: str, terms: Sequence[str]) -> SafeString:
    """``text`` escaped, then every word starting with a query term wrapped in <mark>.

    Marking happens on the escaped text, word by word, so nothing the user wrote
    is ever trusted as HTML. A prefix match also marks stemmed forms ("mailboxes").
    """
    if not terms:
        return escape(text)
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*",
        re.IGNORECASE,
    )
    out: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        out.append(escape(text[last : found.start()]))
        out.append("<mark>" + escape(text[found.start() : found.end()]) + "</mark>")
        last = found.end()
    out.append(escape(text[last:]))
    # Every piece of user text above went through escape(); only our <mark> tags are added.
    return mark_safe("".join(out))  # nosec B308 B703  # every piece of user text is escaped above


def snippet(text: str, terms: Sequence[str], *, size: int = SNIPPET_CHARS) -> SafeString:
    """About ``size`` characters of ``text`` around its first matching word, highlighted."""
    text = " ".join(text.split())
    lowered = text.lower()
    positions = [p for p in (lowered.find(t) for t in terms) if p >= 0]
    start = max(0, min(positions) - size // 3) if positions else 0
    piece = text[start : start + size]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(text) else ""
    return mark_safe(escape(prefix) + highlight(piece, terms) + escape(suffix))  # nosec B308 B703  # escaped here and in highlight()


@dataclass
class Hit:
    kind: str
    obj: Any
    title: SafeString
    snippet: SafeString


class Results:
    """One kind's matches as the Paginator wants them: a (capped) count and slices of hits."""

    def __init__(
        self, kind: Kind, terms: Sequence[str], workspace_id: int, *, count: int | None = None
    ) -> None:
        self.kind = kind
        self.terms = list(terms)
        self.workspace_id = workspace_id
        # The count search_counts() already made, if any: saves asking again.
        self._count = None if count is None else min(count, COUNT_CAP)

    def count(self) -> int:
        if self._count is None:
            self._count = min(match_count(self.kind, self.terms, self.workspace_id), COUNT_CAP)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def plenty(self) -> bool:
        """More than PLENTY matches (asked of PostgreSQL only, and only past COUNT_CAP)."""
        if connection.vendor != "postgresql" or self.count() < COUNT_CAP:
            return False
        known = cache.get(_plenty_key(self.kind, self.terms, self.workspace_id))
        if known is None:  # the default cache forgives an outage: a miss, so counted again
            known = match_count(self.kind, self.terms, self.workspace_id, up_to=PLENTY) > PLENTY
            cache.set(_plenty_key(self.kind, self.terms, self.workspace_id), known, timeout=PLENTY_SECONDS)
        return bool(known)

    def __getitem__(self, page: slice) -> list[Hit]:
        start = page.start or 0
        ids = ranked_ids(
            self.kind,
            self.terms,
            self.workspace_id,
            offset=start,
            limit=(page.stop or start) - start,
            plenty=self.plenty(),
        )
        rows = {row.pk: row for row in _rows(self.kind, ids)}
        return [self._hit(rows[pk]) for pk in ids if pk in rows]

    def _hit(self, row: Any) -> Hit:
        title = " · ".join(str(getattr(row, f)) for f in self.kind.title_fields if getattr(row, f))
        return Hit(
            kind=self.kind.key,
            obj=row,
            title=highlight(title or str(row), self.terms),
            snippet=snippet(getattr(row, self.kind.body_field), self.terms),
        )


def _plenty_key(kind: Kind, terms: Sequence[str], workspace_id: int) -> str:
    words = hashlib.sha256("\x00".join(terms).encode()).hexdigest()[:16]
    return f"search-plenty-{workspace_id}-{kind.key}-{words}"


def search_counts(workspace_id: int, terms: Sequence[str]) -> dict[str, int]:
    """Matches per kind (each capped at COUNT_CAP + 1).

    A kind remembered to have more than PLENTY matches (``Results.plenty``) is past the cap
    without counting again: on words in every twentieth message of a million, that count
    alone scanned 37,000 rows (20 ms) on each search.
    """
    remembered = cache.get_many([_plenty_key(kind, terms, workspace_id) for kind in KINDS.values()])
    return {
        key: COUNT_CAP + 1
        if remembered.get(_plenty_key(kind, terms, workspace_id))
        else match_count(kind, terms, workspace_id)
        for key, kind in KINDS.items()
    }
