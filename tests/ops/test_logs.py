"""One JSON line per request and per task: route, status, time and workspace, never a body,
a path's token or a search."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from pythonjsonlogger.json import JsonFormatter

from engagements import services
from engagements.ical import feed as feeds
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import ROOT


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record))


@pytest.mark.parametrize(
    ("debug", "log_format", "expected"),
    [("true", None, "text"), ("false", None, "json"), ("true", "json", "json"), ("true", "xml", "error")],
)
def test_production_logs_are_json_and_development_logs_text_unless_asked(debug, log_format, expected):
    environ = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    environ.update({"DEBUG": debug, "DJANGO_SETTINGS_MODULE": "outsourcing.settings", "TESTING": "true"})
    if log_format:
        environ["LOG_FORMAT"] = log_format
    code = (
        "import logging; from django.conf import settings; import django; django.setup(); "
        "print(type(logging.getLogger().handlers[0].formatter).__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    if expected == "error":
        assert "LOG_FORMAT must be json or text" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == {"json": "JsonFormatter", "text": "Formatter"}[expected]


def test_a_request_is_one_line_with_its_route_status_and_workspace(team, caplog):
    client = team.client_for(team.alice)
    with caplog.at_level(logging.INFO, logger="ops.requests"):
        client.get("/w/acme/engagements/?q=secret+words")
    (record,) = [r for r in caplog.records if r.name == "ops.requests"]
    line = as_json(record)
    assert line["route"] == "w/<slug:ws>/engagements/"
    assert (line["method"], line["status"]) == ("GET", 200)
    assert line["workspace_id"] == team.workspace.pk and line["user_id"] == team.alice.pk
    assert line["duration_ms"] >= 0
    assert "secret" not in json.dumps(line)


def test_a_token_in_the_path_is_not_logged(team, caplog):
    _feed, token = feeds.calendar_feed_create(workspace=team.workspace, user=team.alice, only_mine=False)
    with caplog.at_level(logging.INFO, logger="ops.requests"):
        team.client_for(team.alice).get(f"/calendar/{token}.ics")
    (record,) = [r for r in caplog.records if r.name == "ops.requests"]
    line = as_json(record)
    assert line["status"] == 200 and line["route"] == "calendar/<str:token>.ics"
    assert token not in json.dumps(line)


@pytest.mark.django_db(transaction=True)
def test_a_task_is_one_line_with_its_name_state_and_no_message_body(team, caplog):
    provider = ProviderFactory(workspace=team.workspace)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    with caplog.at_level(logging.INFO, logger="ops.tasks"):
        services.message_log(
            engagement=engagement, direction="out", kind="request", body="Confidential brief"
        )
    lines = [as_json(r) for r in caplog.records if r.name == "ops.tasks"]
    assert lines, "the tasks queued on commit logged nothing"
    assert all(line["state"] == "SUCCESS" and line["task"].startswith("engagements.") for line in lines)
    assert all(line["duration_ms"] is not None for line in lines)
    assert "Confidential" not in json.dumps(lines)
