"""Full-text search (issue 15): the index each engine keeps (engagements/search/index.py).

PostgreSQL: stored generated ``search_vector`` columns with GIN indexes; SQLite:
FTS5 tables kept in step by triggers. Each half does nothing on the other engine.
Neither column nor table is in the models: only engagements.search reads them, in SQL.
"""

from django.db import migrations

from engagements.search import index


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        index.postgres_index_create(schema_editor)
    elif schema_editor.connection.vendor == "sqlite":
        index.sqlite_index_ensure(schema_editor.connection)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        index.postgres_index_drop(schema_editor)
    elif schema_editor.connection.vendor == "sqlite":
        index.sqlite_index_drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0022_inbound_mail_fingerprint"),
        ("providers", "0002_responsepolicy_provider_response_policy_and_more"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
