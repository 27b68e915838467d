"""The export reads one snapshot: what is logged while it runs is not half in it; its progress shows meanwhile."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import pytest
from django.db import connection

from engagements import services
from engagements.archive import build
from engagements.models import DataArchive, Message
from tests.engagements.archive_helpers import export_now, zip_bytes
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Two connections writing and reading at once: SQLite's shared-cache in-memory test database
    # locks whole tables between connections (a file in WAL mode, as the app runs it, does not).
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL in CI)"
    ),
]


def in_another_thread(work) -> None:
    """Run ``work`` on a connection of its own, as a web request would while the worker exports."""
    failure: list[BaseException] = []

    def run():
        try:
            work()
        except Exception as error:  # noqa: BLE001 - raised again in the test's thread
            failure.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]


def test_a_message_logged_while_the_export_runs_is_in_neither_its_messages_nor_its_exchanges(
    team, monkeypatch
):
    provider = ProviderFactory(workspace=team.workspace)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(engagement=engagement, direction="out", kind="request", body="First")
    real_rows = build._table_rows
    seen: list[str] = []

    def rows_then_log(table, workspace):
        if table.name == "messages":
            in_another_thread(
                lambda: services.message_log(
                    engagement=engagement, direction="out", kind="request", body="Late"
                )
            )
        if table.name == "exchanges":
            # The page's view of the progress (the export's snapshot would not show it).
            in_another_thread(lambda: seen.append(DataArchive.objects.values_list("step", flat=True).get()))
        return real_rows(table, workspace)

    monkeypatch.setattr(build, "_table_rows", rows_then_log)
    monkeypatch.setattr(build, "CHUNK", 1)

    exported = export_now(team.workspace)

    monkeypatch.undo()
    archive = zipfile.ZipFile(io.BytesIO(zip_bytes(exported)))
    messages = json.loads(archive.read("json/messages.json"))
    exchanges = json.loads(archive.read("json/exchanges.json"))
    assert [m["body"] for m in messages] == ["First"]
    assert {e["request_message_id"] for e in exchanges} == {messages[0]["id"]}
    assert Message.objects.filter(body="Late").exists()
    assert seen == ["attachments"]  # the last table written before the exchanges


def test_the_import_shows_how_far_its_load_has_got_while_its_transaction_is_open(team, monkeypatch):
    from engagements.archive import restore
    from tests.engagements.archive_helpers import import_now
    from tests.factories import MembershipFactory, WorkspaceFactory

    provider = ProviderFactory(workspace=team.workspace)
    for n in range(3):
        engagement = EngagementFactory(workspace=team.workspace, provider=provider, title=f"Task {n}")
        services.message_log(engagement=engagement, direction="out", kind="request", body=f"Ask {n}")
    data = zip_bytes(export_now(team.workspace))
    fresh = WorkspaceFactory(slug="fresh")
    MembershipFactory(workspace=fresh, user=team.alice, role="owner")
    real_insert = restore._insert
    seen: list[tuple[str, int]] = []

    def insert_and_look(table, batch, ids):
        if table.name == "exchanges":
            in_another_thread(
                lambda: seen.append(
                    DataArchive.objects.filter(workspace=fresh).values_list("step", "percent").get()
                )
            )
        real_insert(table, batch, ids)

    monkeypatch.setattr(restore, "_insert", insert_and_look)

    imported = import_now(fresh, data)

    assert imported.status == DataArchive.Status.DONE, imported.error
    step, percent = seen[0]
    assert step == "attachments" and 50 < percent < 100
