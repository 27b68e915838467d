"""Full-text search (issue 15): the index each database engine keeps.

PostgreSQL: a stored, generated ``search_vector`` column (the text parsed by the
``simple``, English and German configurations, titles weighted above bodies) with
a GIN index, on messages, engagements and providers. The database keeps it in
step with every write, including the bulk loaders' COPY.

SQLite (the embedded default): an FTS5 table per searched table, with rowid =
the row's id, kept in step by triggers, so every write path (ORM, bulk loaders,
raw SQL) updates it.

Each half does nothing on the other engine. Neither column nor table is in the
models: only engagements.search reads them, in SQL.
"""

from django.db import migrations

CONFIGS = ("simple", "english", "german")

# table -> (column, weight) pairs; weight A ranks above B.
SEARCHED = {
    "engagements_message": (("subject", "A"), ("body", "B")),
    "engagements_engagement": (("title", "A"), ("client_name", "A"), ("brief", "B")),
    "providers_provider": (("name", "A"), ("company", "A"), ("notes", "B")),
}


def _pg_vector(columns):
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({column}, '')), '{weight}')"
        for column, weight in columns
        for config in CONFIGS
    )


def _sqlite_statements(table, columns):
    names = [column for column, _ in columns]
    fts = f"{table}_fts"
    new = ", ".join(f"new.{name}" for name in names)
    listed = ", ".join(names)
    return [
        # porter: English stems ("mailboxes" finds "mailbox"); remove_diacritics: "Mueller"/"Müller" stay apart but
        # "café" finds "cafe".
        f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, tokenize='porter unicode61 remove_diacritics 2')",
        f"INSERT INTO {fts}(rowid, {listed}) SELECT id, {listed} FROM {table}",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {listed} ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.id; "
        f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN DELETE FROM {fts} WHERE rowid = old.id; END",
    ]


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, columns in SEARCHED.items():
        if vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                f"GENERATED ALWAYS AS ({_pg_vector(columns)}) STORED"
            )
            schema_editor.execute(f"CREATE INDEX {table}_search ON {table} USING gin (search_vector)")
        elif vendor == "sqlite":
            for statement in _sqlite_statements(table, columns):
                schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in SEARCHED:
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
        elif vendor == "sqlite":
            for suffix in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            schema_editor.execute(f"DROP TABLE IF EXISTS {table}_fts")


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0020_archives_and_calendar_feeds"),
        ("providers", "0002_responsepolicy_provider_response_policy_and_more"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
