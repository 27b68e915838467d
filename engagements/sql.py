"""Small helpers for the few statements written in SQL (the flagging pass and its outbox, bulk loads)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


def id_in(column: str, ids: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: one array parameter on PostgreSQL, which parses and
    plans far faster than thousands of placeholders; a plain list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


# What COPY's text format takes as Python gives it (``copy_text``).
PLAIN = frozenset({str, int, bool, float, Decimal, datetime, date, time})


def copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        value = json.dumps(value)
    text = str(value)
    if "\\" in text or "\n" in text or "\t" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return text


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids from the table's sequence (PostgreSQL), for rows written with COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_objects(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Write model instances whose ids are set with one COPY (PostgreSQL): bulk_create's work without its
    per-value cost. Each column's value is what saving would store (``pre_save``: auto_now, files)."""
    fields = list(model._meta.concrete_fields)
    db = connections[DEFAULT_DB_ALIAS]
    # Only these need the field's own hand; every other value is written as it is.
    by_field = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
        or isinstance(f, models.FileField)
    }
    buffer = io.StringIO()
    for obj in objects:
        values = []
        for field in fields:
            value = (
                field.pre_save(obj, add=True) if field.attname in by_field else getattr(obj, field.attname)
            )
            if isinstance(field, models.JSONField):
                value = None if value is None else json.dumps(value)
            elif value is not None and type(value) not in PLAIN:
                value = field.get_db_prep_save(value, db)
            values.append(copy_text(value))
        buffer.write("\t".join(values))
        buffer.write("\n")
    buffer.seek(0)
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    with db.cursor() as cursor:
        cursor.cursor.copy_expert(  # type: ignore[attr-defined]
            f"COPY {db.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN", buffer
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
        for field in relations:
            if getattr(obj, field.attname) is None and field.is_cached(obj):
                related = field.get_cached_value(obj)
                setattr(obj, field.attname, related.pk if related is not None else None)
    copy_objects(model, objects)
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
    return objects


def skip_locked[T: models.QuerySet[Any]](queryset: T) -> T:
    """Lock the rows a claim reads, skipping those another transaction holds (where the database can).

    SKIP LOCKED lets concurrent runs (two beats, several workers) share the work instead of
    queueing on each other's rows; OF self: only the claimed table's rows are locked.
    """
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset
