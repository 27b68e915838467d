"""Small helpers for the few statements written in SQL (the flagging pass and its outbox, bulk loads)."""

from __future__ import annotations

import io
import itertools
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute


def id_in(column: str, ids: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: one array parameter on PostgreSQL, which parses and
    plans far faster than thousands of placeholders; a plain list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


# What COPY's text format takes as Python gives it (``copy_text``).
PLAIN = frozenset({str, int, bool, float, Decimal, datetime, date, time})
NULL = "\\N"


def _escaped(text: str) -> str:
    """Text with COPY's special characters escaped (most text has none: four scans in C, no copy)."""
    if "\\" in text or "\n" in text or "\t" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return text


def copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        value = json.dumps(value)
    return _escaped(str(value))


def _bool_text(value: bool) -> str:
    return "t" if value else "f"


def _null_text(value: None) -> str:
    return NULL


# ``copy_text`` for the exact types a column's values usually have, without its chain of checks.
_BY_TYPE: dict[type, Callable[[Any], str]] = {
    type(None): _null_text,
    str: _escaped,
    int: int.__str__,
    bool: _bool_text,
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _returns_str_as_is(field: models.Field[Any, Any]) -> bool:
    """Whether saving hands a ``str`` (or a subclass: a choices member) to the database unchanged.

    Django's CharField and TextField do; a subclass with conversions of its own may not.
    """
    kind = type(field)
    return (
        kind.get_db_prep_save is models.Field.get_db_prep_save
        and kind.get_db_prep_value is models.Field.get_db_prep_value
        and kind.get_prep_value in (models.CharField.get_prep_value, models.TextField.get_prep_value)
        and kind.to_python in (models.CharField.to_python, models.TextField.to_python)
    )


def column_text(field: models.Field[Any, Any], db: BaseDatabaseWrapper) -> Callable[[Any], str]:
    """What turns one column's value (as on the instance) into COPY text: chosen once per column.

    The same text as saving the value would store: a JSON field's value as JSON; a value of a plain
    type as it is (``copy_text``); any other through the field's ``get_db_prep_save`` first. The
    choice per value type is remembered, so a million values cost a dictionary look-up each.
    """
    if isinstance(field, models.JSONField):
        return lambda value: NULL if value is None else _escaped(json.dumps(value))
    by_type = dict(_BY_TYPE)
    as_is = _returns_str_as_is(field)

    def prepared(value: Any) -> str:
        return copy_text(field.get_db_prep_save(value, db))

    def convert(value: Any) -> str:
        kind = type(value)
        text = by_type.get(kind)
        if text is None:
            if kind in PLAIN:
                text = copy_text
            elif as_is and isinstance(value, str):
                text = _str_escaped
            else:
                text = prepared
            by_type[kind] = text
        return text(value)

    return convert


def _str_escaped(value: str) -> str:
    return _escaped(str(value))


_NONE = type(None)
_SPECIAL = ("\\", "\n", "\t", "\r")
_BOOL_TEXT = {True: "t", False: "f", None: NULL}
# ``copy_text`` of these types, done in C.
_C_TEXT: dict[type, Callable[[Any], str]] = {
    int: int.__str__,
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _escaped_all(texts: list[str]) -> list[str]:
    """``_escaped`` on each, with one scan of them all when none has a special character (the usual case)."""
    joined = "".join(texts)
    if any(special in joined for special in _SPECIAL):
        return [_escaped(text) for text in texts]
    return texts


def column_texts(
    field: models.Field[Any, Any], db: BaseDatabaseWrapper
) -> Callable[[Sequence[Any]], list[str]]:
    """What turns a column's values (as on the instances) into COPY text: ``column_text`` on each,
    the same text, but for a column of one plain type (nulls aside) with C doing the work per value.
    """
    one = column_text(field, db)
    as_is = _returns_str_as_is(field)
    if isinstance(field, models.JSONField):
        return lambda values: [one(value) for value in values]

    def convert(values: Sequence[Any]) -> list[str]:
        kinds = set(map(type, values))
        nulls = _NONE in kinds
        kinds.discard(_NONE)
        if len(kinds) > 1:
            return [one(value) for value in values]
        kind = kinds.pop() if kinds else None
        if kind is None:  # nulls only
            return [NULL] * len(values)
        if kind is bool:
            return list(map(_BOOL_TEXT.__getitem__, values))
        if kind is str or (as_is and issubclass(kind, str)):
            # A choices member is saved as its str(): its value.
            strings = [value if type(value) is str else str(value) for value in values if value is not None]
            escaped = iter(_escaped_all(strings))
            return [NULL if value is None else next(escaped) for value in values] if nulls else list(escaped)
        text = _C_TEXT.get(kind)
        if text is None:
            return [one(value) for value in values]
        if nulls:
            return [NULL if value is None else text(value) for value in values]
        return list(map(text, values))

    return convert


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids from the table's sequence (PostgreSQL), for rows written with COPY."""
    with connection.cursor() as cursor:
        # The sequence's name first: looked up for every row, it costs ten times the nextval.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in cursor.fetchall()]


# Descriptors that read an instance's value from its __dict__ (once loaded) and nothing else.
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


# Rows made into COPY text at a time: enough for C to do most of the work, few enough for the
# server to start storing while the rest are made.
COPY_BATCH = 1000


def copy_lines(model: type[models.Model], objects: Iterable[models.Model]) -> Iterator[str]:
    """The instances as COPY text, their concrete fields in order, ``COPY_BATCH`` lines at a time.

    Each column's value is what saving would store (``pre_save``: auto_now, files). A batch is
    turned into text column by column (``column_texts``), which lets C do most of the work.
    """
    fields = list(model._meta.concrete_fields)
    db = connections[DEFAULT_DB_ALIAS]
    converters = [column_texts(f, db) for f in fields]
    # Only these need the field's own hand; every other value is read as it is.
    by_field = [
        (i, f)
        for i, f in enumerate(fields)
        if getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
        or isinstance(f, models.FileField)
    ]
    names = [f.attname for f in fields]
    # One C call per row for the values an instance holds in its __dict__, where Django's own
    # descriptors would find them; a field with a descriptor of its own is read through it.
    plain = all(type(getattr(model, name, None)) in _PLAIN_DESCRIPTORS for name in names)
    values_of = operator.itemgetter(*names)
    for batch in itertools.batched(objects, COPY_BATCH):
        rows = []
        for obj in batch:
            try:
                values = list(values_of(obj.__dict__)) if plain else [getattr(obj, name) for name in names]
            except KeyError:  # a deferred field: through its descriptor, which loads it
                values = [getattr(obj, name) for name in names]
            for i, field in by_field:
                values[i] = field.pre_save(obj, add=True)
            rows.append(values)
        columns = [
            convert(column) for convert, column in zip(converters, zip(*rows, strict=True), strict=True)
        ]
        yield "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class LineReader(io.TextIOBase):
    """A text file whose content is ``lines``, made as it is read.

    COPY reads it in chunks: the server stores the first rows while the next are being made
    (the two run side by side on two cores), and the whole text is never held at once.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        # Made but not read yet: ``_left`` from ``_at`` on (read by moving ``_at``, not by copying).
        self._left = ""
        self._at = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            text = self._left[self._at :] + "".join(self._lines)
            self._left, self._at = "", 0
            return text
        # Only as many lines as this read needs: what was made stays small.
        while len(self._left) - self._at < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._left = self._left[self._at :] + line
            self._at = 0
        text = self._left[self._at : self._at + size]
        self._at += len(text)
        return text


# Characters COPY reads at a time (psycopg2's default is 8,192: more round trips through ``read``).
COPY_CHUNK = 1 << 16


def copy_objects(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Write model instances whose ids are set with one COPY (PostgreSQL): bulk_create's work without its
    per-value cost. Each column's value is what saving would store (``pre_save``: auto_now, files)."""
    db = connections[DEFAULT_DB_ALIAS]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in model._meta.concrete_fields)
    with db.cursor() as cursor:
        cursor.cursor.copy_expert(  # type: ignore[attr-defined]
            f"COPY {db.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN",
            LineReader(copy_lines(model, objects)),
            size=COPY_CHUNK,
        )


# Fewer rows than this go in with bulk_create: COPY's extra round trip for the ids is not worth it.
COPY_FROM = 500


def insert_many(model: type[models.Model], objects: list[Any]) -> list[Any]:
    """Insert new instances (ids set on them): COPY with reserved ids on PostgreSQL for many, else
    bulk_create. Relations saved after the instance was made are followed, as bulk_create does."""
    if connection.vendor != "postgresql" or len(objects) < COPY_FROM:
        return model._default_manager.bulk_create(objects, batch_size=1000)
    relations = [f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
    for obj, pk in zip(objects, reserve_ids(model, len(objects)), strict=True):
        obj.pk = pk
        values = obj.__dict__
        for field in relations:
            # Read from the instance's dict where it is (always, for a new one): the descriptor's
            # way there costs more than the rest of this loop.
            value = values[field.attname] if field.attname in values else getattr(obj, field.attname)
            if value is None and field.is_cached(obj):
                related = field.get_cached_value(obj)
                setattr(obj, field.attname, related.pk if related is not None else None)
    copy_objects(model, objects)
    alias = connection.alias
    for obj in objects:
        obj._state.adding, obj._state.db = False, alias
    return objects


def skip_locked[T: models.QuerySet[Any]](queryset: T) -> T:
    """Lock the rows a claim reads, skipping those another transaction holds (where the database can).

    SKIP LOCKED lets concurrent runs (two beats, several workers) share the work instead of
    queueing on each other's rows; OF self: only the claimed table's rows are locked.
    """
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset
