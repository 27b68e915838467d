"""/healthz says the process answers; /readyz says whether it should get traffic: the database, the
migrations, the broker and its queue, and a beat seen within three minutes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.utils import OperationalError
from django.utils import timezone

from ops import health
from ops.models import Heartbeat
from outsourcing.celery import app as celery_app
from tests.realparts import ROOT, database_url, wait_for


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


@pytest.fixture
def beat_alive(db):
    Heartbeat.objects.create(name="beat", seen_at=timezone.now() - timedelta(seconds=30), host="beat-1")


def test_liveness_answers_without_a_login_and_without_asking_the_database(
    client, db, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"


def test_liveness_asks_nothing_of_the_database_even_with_a_logged_in_browsers_cookie(
    client, team, django_assert_num_queries
):
    client.force_login(team.alice)
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    # The person stays logged in: the probe neither read nor dropped their session.
    assert client.get("/w/acme/engagements/").status_code == 200


def test_readiness_reports_every_check_when_all_is_well(client, beat_alive, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert (body["database"], body["migrations"]) == ("ok", "ok")
    # Each queue the workers read, by name: the default one (flags, delivery) and the bulk one.
    assert set(body["broker_queue"]) == {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_BULK_QUEUE}
    assert all(isinstance(depth, int) for depth in body["broker_queue"].values())
    assert body["beat"] == "seen 30 s ago"


def test_a_beat_never_seen_or_silent_for_more_than_three_minutes_is_not_ready(client, db):
    assert client.get("/readyz").json()["beat"] == "never seen"
    assert client.get("/readyz").status_code == 503
    Heartbeat.objects.create(name="beat", seen_at=timezone.now() - timedelta(minutes=3, seconds=5))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["beat"] == "seen 185 s ago"


def test_a_broken_database_is_not_ready(client, beat_alive):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


def test_an_unreachable_broker_is_not_ready(client, beat_alive):
    with mock.patch.object(celery_app, "connection_for_read", side_effect=ConnectionError):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker_queue"] == "error: ConnectionError"


@pytest.mark.django_db(transaction=True)
def test_an_unapplied_migration_makes_it_not_ready_until_migrated(client):
    Heartbeat.objects.create(name="beat", seen_at=timezone.now())
    call_command("migrate", "ops", "zero", verbosity=0)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["migrations"] == "1 unapplied"
    finally:
        call_command("migrate", "ops", verbosity=0)
    Heartbeat.objects.create(name="beat", seen_at=timezone.now())
    assert client.get("/readyz").json()["migrations"] == "ok"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("which", ["default", "bulk"])
def test_a_queue_longer_than_allowed_is_not_ready(client, settings, through_the_broker, which):
    Heartbeat.objects.create(name="beat", seen_at=timezone.now())
    # Queues of their own that no worker reads: what waits there is what this test put there.
    settings.CELERY_TASK_DEFAULT_QUEUE = f"readyz-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BULK_QUEUE = f"readyz-bulk-{uuid.uuid4().hex[:8]}"
    full = settings.CELERY_TASK_DEFAULT_QUEUE if which == "default" else settings.CELERY_BULK_QUEUE
    settings.READY_MAX_QUEUE_DEPTH = 2
    for _ in range(3):
        celery_app.send_task("engagements.tasks.flag_overdue", queue=full)
    try:
        assert wait_for(
            lambda: health.queue_depth()[1] == {**dict.fromkeys(health.queues(), 0), full: 3}, 10
        ), health.queue_depth()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["broker_queue"][full] == 3
        settings.READY_MAX_QUEUE_DEPTH = 3
        assert client.get("/readyz").status_code == 200
    finally:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(full)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_process_marks_itself_seen(client, tmp_path, through_the_broker):
    if connection.vendor != "postgresql":
        pytest.skip("the beat process needs a database it can share: runs on PostgreSQL (as in CI)")
    assert client.get("/readyz").json()["beat"] == "never seen"
    queue = f"beat-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        "DATABASE_URL": database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_BULK_QUEUE": queue,
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "outsourcing", "beat", "-s", str(tmp_path / "schedule")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: Heartbeat.objects.filter(name="beat").exists(), 60), (
            "the beat wrote no heartbeat"
        )
        response = client.get("/readyz")
        assert response.json()["beat"].startswith("seen ")
        assert Heartbeat.objects.get(name="beat").host
    finally:
        beat.terminate()
        beat.wait(30)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
