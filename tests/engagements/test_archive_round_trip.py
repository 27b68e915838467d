"""An export of a lived-in workspace, imported into a fresh one, gives the same rows and the same figures."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict
from typing import Any

import pytest

from engagements.archive.tables import PEOPLE, TABLES
from engagements.models import DataArchive, MetricsBacklog
from engagements.reliability.metrics import Period, Scope, compute
from outsourcing.models import Workspace
from providers.models import Provider
from tests.engagements.archive_helpers import (
    NOW,
    export_now,
    fresh_workspace_for,
    import_now,
    lived_in_workspace,
    zip_bytes,
)

pytestmark = pytest.mark.django_db

# Columns an import sets itself: when the row was written, tokens unique across workspaces,
# a mailbox paused until it gets a password, and where the files are stored now.
NOT_COMPARED = {"updated_at", "routing_token", "is_active", "password_env"}


def _tables(data: bytes) -> tuple[dict[str, list[dict[str, Any]]], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {
        name: json.loads(archive.read(f"json/{name}.json"))
        for name in [PEOPLE, *(t.name for t in TABLES if t.restore)]
    }, archive


def _comparable(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows with every id replaced by what it stands for: its row's place, or a person."""
    tables, archive = _tables(data)
    emails = {row["id"]: row["email"] for row in tables[PEOPLE]}
    places = {name: {row["id"]: i for i, row in enumerate(rows)} for name, rows in tables.items()}
    result: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        if not table.restore:
            continue
        rows = []
        for row in tables[table.name]:
            row = {k: v for k, v in row.items() if k not in NOT_COMPARED and k != "id"}
            for column, target in table.refs.items():
                if row.get(column) is not None:
                    row[column] = emails[row[column]] if target == PEOPLE else places[target][row[column]]
            for column in table.files:
                if row.get(column):
                    row[column] = hashlib.sha256(archive.read(row[column])).hexdigest()
            rows.append(row)
        result[table.name] = rows
    return result


def _figures(workspace: Workspace) -> list[Any]:
    """The engine's figures for the whole workspace and each provider, providers in the order made."""
    results = compute(Scope(workspace_id=workspace.pk), Period.standard("all", now=NOW), now=NOW)
    providers = list(Provider.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True))
    return [asdict(results[None])] + [asdict(results[pk]) for pk in providers if pk in results]


def test_an_export_imported_into_a_fresh_workspace_has_the_same_rows_and_the_same_figures():
    source = lived_in_workspace()
    exported = export_now(source)
    target = fresh_workspace_for(source)

    imported = import_now(target, zip_bytes(exported))

    assert imported.status == DataArchive.Status.DONE, imported.error
    again = export_now(target)
    before, after = _comparable(zip_bytes(exported)), _comparable(zip_bytes(again))
    for name, rows in before.items():
        assert after[name] == rows, name
    assert sum(len(rows) for rows in before.values()) > 500
    assert before["attachments"] and before["documents"] and before["message_versions"]
    assert before["flags"] and before["reviews"] and before["absences"]
    assert any(row["snoozed_until"] for row in before["flags"])
    figures = _figures(source)
    assert figures[0]["requests"] >= 100 and figures[0]["quality"]["n"] > 0
    assert _figures(target) == figures
    # The imported providers' snapshots are queued for the background refresh.
    assert (
        MetricsBacklog.objects.filter(workspace=target).count()
        == Provider.objects.filter(workspace=target).count()
    )


def test_the_zip_holds_csv_and_json_of_every_table_and_a_manifest_with_the_format_version():
    source = lived_in_workspace()

    exported = export_now(source)

    archive = zipfile.ZipFile(io.BytesIO(zip_bytes(exported)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "outsourcing-tracker-export"
    assert manifest["version"] == 1
    names = set(archive.namelist())
    for table in [*TABLES]:
        assert f"json/{table.name}.json" in names
        assert f"csv/{table.name}.csv" in names
        rows = json.loads(archive.read(f"json/{table.name}.json"))
        csv_lines = archive.read(f"csv/{table.name}.csv").decode().count("\n")
        assert manifest["tables"][table.name]["rows"] == len(rows)
        assert csv_lines >= len(rows) + 1
    people = json.loads(archive.read("json/people.json"))
    assert {"demo@example.com"} <= {p["email"] for p in people}
    assert any(name.startswith("files/documents/") for name in names)
    assert any(name.startswith("files/attachments/") for name in names)
    assert exported.counts["messages"] == manifest["tables"]["messages"]["rows"]
    # No secrets leave: mailbox passwords, the webhook's signing secret.
    assert b"webhook_secret" not in archive.read("manifest.json")
