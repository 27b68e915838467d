"""The Dockerfile and compose.yaml describe the deployed shape (web, worker, beat, PostgreSQL,
Redis) from the same pinned files `make` uses. No Docker engine runs here, so these read them:
a service missing, an unpinned install or a Python other than ours fails. So do the Procfile
(`make run`) and compose.yaml if their workers leave a queue unread, or let bulk work share the
flag pass's worker."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_image_installs_the_pinned_requirements_and_the_locked_front_end():
    assert "pip install -r requirements.txt" in DOCKERFILE
    assert "npm ci" in DOCKERFILE and "COPY package.json package-lock.json" in DOCKERFILE
    assert "collectstatic" in DOCKERFILE and "compilemessages" in DOCKERFILE


def test_the_image_runs_the_python_the_project_selects():
    wanted = ".".join((ROOT / ".python-version").read_text().strip().split(".")[:2])
    assert re.search(rf"^FROM python:{re.escape(wanted)}-", DOCKERFILE, re.MULTILINE)


def test_the_image_does_not_run_as_root():
    assert re.search(r"^USER app$", DOCKERFILE, re.MULTILINE)


def test_compose_runs_web_worker_and_beat_over_postgresql_and_redis_after_migrating():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "bulk-worker", "beat"}
    assert services["worker"]["command"][:4] == ["celery", "-A", "outsourcing", "worker"]
    assert services["bulk-worker"]["command"][:4] == ["celery", "-A", "outsourcing", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "outsourcing", "beat"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    for name in ("web", "worker", "bulk-worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"]
    assert services["postgres"]["image"].startswith("postgres:15")


def test_compose_keeps_no_secret_in_the_file():
    text = (ROOT / "compose.yaml").read_text()
    assert "SECRET_KEY" not in text
    assert "${POSTGRES_PASSWORD:?" in text


def _queues(command: list[str]) -> str:
    return command[command.index("-Q") + 1]


def test_compose_gives_the_default_queue_workers_of_its_own_and_reads_the_bulk_queue_too():
    services = COMPOSE["services"]
    assert _queues(services["worker"]["command"]) == "${CELERY_TASK_DEFAULT_QUEUE:-celery}"
    assert _queues(services["bulk-worker"]["command"]) == "${CELERY_BULK_QUEUE:-bulk}"


def test_make_runs_one_worker_for_the_default_queue_and_one_for_the_bulk_queue():
    processes = {
        name: shlex.split(command)
        for name, command in (line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    }
    workers = {name: command for name, command in processes.items() if command[3:4] == ["worker"]}
    assert {name: _queues(command) for name, command in workers.items()} == {
        "worker": "${CELERY_TASK_DEFAULT_QUEUE:-celery}",
        "bulk": "${CELERY_BULK_QUEUE:-bulk}",
    }
