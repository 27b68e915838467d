"""The Client filter's choices: every client name of the workspace once, A→Z, read name by name."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import Engagement
from engagements.queries import client_names
from tests.factories import EngagementFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_each_client_name_comes_once_in_alphabetical_order_whatever_the_case_and_only_this_workspaces(team):
    names = [
        "globex",
        "Acme",
        "Globex",
        "Zürich AG",
        "acme",
        "Ünal & Co",
        "Acme",
        "",
        "",
        "b",
        "B ",
        "Ärzte eG",
    ]
    for name in names:
        EngagementFactory(workspace=team.workspace, client_name=name)
    EngagementFactory(workspace=WorkspaceFactory(), client_name="Another workspace's client")

    with CaptureQueriesContext(connection) as queries:
        got = client_names(team.workspace)

    expected = sorted({n for n in names if n}, key=lambda n: (n.casefold(), n))
    assert got == expected
    assert len(queries) == 1
    stored = set(
        Engagement.objects.filter(workspace=team.workspace)
        .exclude(client_name="")
        .values_list("client_name", flat=True)
    )
    assert set(got) == stored


def test_a_workspace_without_clients_offers_none(team):
    EngagementFactory(workspace=team.workspace, client_name="")
    assert client_names(team.workspace) == []
