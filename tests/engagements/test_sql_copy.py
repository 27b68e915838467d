"""Bulk loads by COPY: the text made column by column is the text made value by value, and loads back as it was."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, models
from django.utils.functional import lazystr

from engagements import sql
from engagements.models import ChatSource, Message

pytestmark = pytest.mark.django_db

AWARE = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
BERLIN_NOON = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
NASTY = "tab\there\nnew line\\ back slash\r return \\N not null"


def _by_value(field: models.Field, value: object) -> str:
    """What ``copy_objects`` wrote for one value before it worked column by column (the reference)."""
    if isinstance(field, models.JSONField):
        return sql.copy_text(None if value is None else json.dumps(value))
    if value is not None and type(value) not in sql.PLAIN:
        value = field.get_db_prep_save(value, connection)
    return sql.copy_text(value)


def _field(name: str, model: type[models.Model] = Message) -> models.Field:
    return model._meta.get_field(name)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("model", "name", "values"),
    [
        (Message, "deleted_at", [None, None]),
        (Message, "occurred_at", [AWARE, BERLIN_NOON, AWARE]),
        (Message, "deleted_at", [None, AWARE, None, BERLIN_NOON]),
        (Message, "absence_until", [date(2026, 1, 2), None]),
        (Message, "is_auto_reply", [True, False, True]),
        (Message, "is_auto_reply", [True, None, False]),
        (Message, "version", [1, 2, 300000]),
        (Message, "author_id", [None, 7, None]),
        (Message, "body", ["plain", "", "ünïcødé ✓"]),
        (Message, "body", ["plain", NASTY, "", "\\"]),
        (Message, "sender", ["x", None, "a\tb"]),
        (Message, "direction", [Message.Direction.OUTBOUND, Message.Direction.INBOUND]),
        (Message, "kind", [Message.Kind.REQUEST, "reply", None]),
        (Message, "subject", [lazystr("lazy\ttext"), "plain"]),
        (Message, "subject", [lazystr("lazy\ttext"), None]),
        (Message, "version", [Decimal("1.50"), 2.5, 3]),
        (Message, "body", [time(9, 5), "text", 4]),
        (ChatSource, "participants", [{"Anna\tDesign": "provider", "list": [1, "two\n", None]}, None, []]),
    ],
)
def test_a_column_turns_into_the_same_text_as_each_value_on_its_own(model, name, values):
    field = _field(name, model)
    assert sql.column_texts(field, connection)(values) == [_by_value(field, v) for v in values]
    assert [sql.column_text(field, connection)(v) for v in values] == [_by_value(field, v) for v in values]


def test_special_characters_are_escaped_and_the_rest_left_alone():
    field = _field("body")
    assert sql.column_texts(field, connection)([NASTY, "fine"]) == [
        "tab\\there\\nnew line\\\\ back slash\\r return \\\\N not null",
        "fine",
    ]
    assert sql.column_texts(_field("deleted_at"), connection)([None]) == ["\\N"]


def _messages(engagement, bodies: list[str]) -> list[Message]:
    rows = []
    for i, body in enumerate(bodies):
        rows.append(
            Message(
                workspace_id=engagement.workspace_id,
                engagement=engagement,
                direction=Message.Direction.OUTBOUND if i % 2 else Message.Direction.INBOUND,
                kind=Message.Kind.REQUEST if i % 2 else Message.Kind.REPLY,
                occurred_at=BERLIN_NOON if i % 3 else AWARE,
                body=body,
                sender="Anna\tDesign" if i % 2 else "",
                is_auto_reply=bool(i % 2),
                absence_until=date(2026, 8, 1) if i == 1 else None,
                chat_fingerprint=f"fp{i}",
            )
        )
    return rows


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_rows_written_by_copy_read_back_exactly_as_they_were_made(team, engagement, monkeypatch):
    # Batches of two: the text is made in several pieces, as for a long chat.
    monkeypatch.setattr(sql, "COPY_BATCH", 2)
    bodies = [NASTY, "plain", "", "ünïcødé ✓\n\n", "\\N", "end\\"]
    rows = _messages(engagement, bodies)
    for row, pk in zip(rows, sql.reserve_ids(Message, len(rows)), strict=True):
        row.pk = pk
    sql.copy_objects(Message, rows)
    stored = {m.pk: m for m in Message.objects.filter(pk__in=[r.pk for r in rows])}
    columns = [f.attname for f in Message._meta.concrete_fields if not f.generated]
    for row in rows:
        back = stored[row.pk]
        assert {c: getattr(back, c) for c in columns} == {c: getattr(row, c) for c in columns}
    # auto_now was set on the instance while its line was made, as saving does.
    assert all(row.updated_at is not None for row in rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_json_written_by_copy_reads_back_as_it_was(team, provider):
    participants = {"Anna\tDesign": "provider", 'Max "Owner"\\': ["member:1", None, 2.5, {"n": "\n"}]}
    source = ChatSource(
        workspace=team.workspace,
        platform="whatsapp",
        key="k\tey",
        title="T",
        provider=provider,
        participants=participants,
        participant_zones={},
    )
    (source.pk,) = sql.reserve_ids(ChatSource, 1)
    sql.copy_objects(ChatSource, [source])
    back = ChatSource.objects.get(pk=source.pk)
    assert (back.participants, back.participant_zones, back.key) == (participants, {}, "k\tey")


def test_copy_lines_are_the_same_in_one_batch_or_many(team, engagement, monkeypatch):
    rows = _messages(engagement, ["a", NASTY, "c", "d", "e"])
    for i, row in enumerate(rows, start=1):
        row.pk = i
        # Fixed, so that both runs of pre_save (auto_now) are not what differs.
        row.created_at = AWARE
    whole = "".join(sql.copy_lines(Message, rows))
    monkeypatch.setattr(sql, "COPY_BATCH", 2)
    pieces = list(sql.copy_lines(Message, rows))
    assert len(pieces) == 3
    joined = "".join(pieces)
    assert joined.count("\n") == len(rows) and all(
        line.count("\t") == len(Message._meta.concrete_fields) - 1 for line in joined.splitlines()
    )
    # Only updated_at (auto_now: the time of making) may differ between the two runs.
    updated = _field("updated_at")
    index = list(Message._meta.concrete_fields).index(updated)

    def without_updated(text: str) -> list[list[str]]:
        return [line.split("\t")[:index] + line.split("\t")[index + 1 :] for line in text.splitlines()]

    assert without_updated(joined) == without_updated(whole)


def test_the_line_reader_hands_out_the_lines_in_any_chunk_size():
    lines = [f"line {i}\t{'x' * (i % 7)}\n" for i in range(50)]
    text = "".join(lines)
    for size in (1, 3, 8, 64, 10_000):
        reader = sql.LineReader(lines)
        chunks = []
        while chunk := reader.read(size):
            assert len(chunk) <= size
            chunks.append(chunk)
        assert "".join(chunks) == text
    assert sql.LineReader(lines).read() == text
    assert sql.LineReader(iter(lines)).read(None) == text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_reserved_ids_are_new_and_the_sequence_goes_on_after_them(team, engagement, message):
    ids = sql.reserve_ids(Message, 3)
    assert len(set(ids)) == 3 and min(ids) > message.pk
    later = Message.objects.create(
        workspace=team.workspace, engagement=engagement, direction="out", kind="request", occurred_at=AWARE
    )
    assert later.pk > max(ids)


def test_the_line_reader_makes_only_the_lines_a_read_needs():
    pulled = []

    def lines():
        for i in range(100):
            pulled.append(i)
            yield f"{i:09d}\n"  # ten characters

    reader = sql.LineReader(lines())
    assert reader.read(25) == "000000000\n000000001\n00000"
    assert len(pulled) == 3
    assert reader.read(5) == "0002\n" and len(pulled) == 3
    reader.read(10)
    assert len(pulled) == 4
