"""The full-text index's definition, for both engines (made by migration 0021_full_text_search).

PostgreSQL: a stored, generated ``search_vector`` column (the text parsed by the
``simple``, English and German configurations, titles weighted above bodies) with
a GIN index, on messages, engagements and providers. The database keeps it in
step with every write, including the bulk loaders' COPY.

SQLite (the embedded default): an FTS5 table per searched table, rowid = the
row's id, kept in step by triggers, so every write path (ORM, bulk loaders, raw
SQL) updates it. Django rebuilds a SQLite table to alter it, and the rebuild
drops its triggers: ``sqlite_index_ensure`` runs after every migrate and puts
back (and refills) what a later migration took away.
"""

from __future__ import annotations

from typing import Any

CONFIGS = ("simple", "english", "german")

# table -> (column, weight) pairs; weight A ranks above B. The FTS5 columns follow this order.
SEARCHED: dict[str, tuple[tuple[str, str], ...]] = {
    "engagements_message": (("subject", "A"), ("body", "B")),
    "engagements_engagement": (("title", "A"), ("client_name", "A"), ("brief", "B")),
    "providers_provider": (("name", "A"), ("company", "A"), ("notes", "B")),
}
TRIGGERS = ("insert", "update", "delete")


def _pg_vector(columns: tuple[tuple[str, str], ...]) -> str:
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({column}, '')), '{weight}')"
        for column, weight in columns
        for config in CONFIGS
    )


def _sqlite_triggers(table: str, columns: tuple[tuple[str, str], ...]) -> list[str]:
    names = ", ".join(column for column, _ in columns)
    new = ", ".join(f"new.{column}" for column, _ in columns)
    fts = f"{table}_fts"
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"  # nosec B608  # table and column names from our models, values as parameters
    delete = f"DELETE FROM {fts} WHERE rowid = old.id;"  # nosec B608  # table and column names from our models, values as parameters
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN {delete} {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
    ]


def sqlite_index_ensure(connection: Any) -> None:
    """Create, or after a table rebuild restore and refill, each FTS5 table and its triggers."""
    with connection.cursor() as cursor:
        for table, columns in SEARCHED.items():
            fts = f"{table}_fts"
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s AND name LIKE %s",
                [table, f"{fts}_%"],
            )
            if cursor.fetchone()[0] == len(TRIGGERS):
                continue
            names = ", ".join(column for column, _ in columns)
            # porter: English stems ("mailboxes" finds "mailbox"); remove_diacritics: "café" finds "cafe".
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, "
                "tokenize='porter unicode61 remove_diacritics 2')"
            )
            cursor.execute(f"DELETE FROM {fts}")  # nosec B608  # table and column names from our models, values as parameters
            cursor.execute(f"INSERT INTO {fts}(rowid, {names}) SELECT id, {names} FROM {table}")  # nosec B608  # table and column names from our models, values as parameters
            for statement in _sqlite_triggers(table, columns):
                cursor.execute(statement)


def sqlite_index_drop(connection: Any) -> None:
    with connection.cursor() as cursor:
        for table in SEARCHED:
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
            cursor.execute(f"DROP TABLE IF EXISTS {table}_fts")


def postgres_index_create(schema_editor: Any) -> None:
    for table, columns in SEARCHED.items():
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_pg_vector(columns)}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX {table}_search ON {table} USING gin (search_vector)")
        # Statistics on ten times the usual number of words: with the default, a rare word is
        # guessed to match thousands of rows, and the planner walks the primary key newest-first
        # through a million messages (seconds) instead of asking the GIN index (milliseconds).
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN search_vector SET STATISTICS 1000")


def postgres_index_drop(schema_editor: Any) -> None:
    for table in SEARCHED:
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")


def after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: on SQLite, put back what a table rebuild took away (once the index exists)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        made = "engagements_message_fts" in connection.introspection.table_names(cursor)
    if made:
        sqlite_index_ensure(connection)
