"""Crash test: the worker importing an uploaded mbox dies mid-import, by SIGKILL or by a Ctrl-C
of `make run` (honcho sends SIGTERM; Celery's warm shutdown waits for the import, so honcho
sends SIGKILL five seconds later), on the on-disk broker (whose task message is gone once a
worker fetched it) and on Redis. Once the dead worker's lease ran out, the beat's sweep or the
Retry button has a new worker go on where the dead one stopped: nothing lost, nothing twice.

The kill lands at a known point: once the first batches are recorded the test takes the
engagement's row lock, so the worker blocks inside its next batch (uncommitted), and the test
kills it only once PostgreSQL shows it waiting for that lock.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import signal
import subprocess
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from engagements.mail import upload
from engagements.mail.upload_tasks import import_mail_upload, requeue_stalled_mail_uploads
from engagements.models import Engagement, InboundMail, MailUpload, Message
from outsourcing.broker import TRANSPORT as FILESYSTEM
from outsourcing.celery import app as celery_app
from outsourcing.settings import filesystem_broker_options
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory
from tests.realparts import Worker, database_url, wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

MESSAGES = 3000  # 15 batches
PROVIDER = "vanessa@va-agency.example"
LEASE_SECONDS = 3
HONCHO_KILL_WAIT = 5  # honcho.manager.KILL_WAIT


@pytest.fixture(autouse=True)
def _through_the_broker(_tasks_run_inline):
    celery_app.conf.task_always_eager = False


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email=PROVIDER)
    return EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Copy")


def write_mbox(path: Path) -> Path:
    """Every fourth message a reply from the provider, so every batch writes to the engagement."""
    box = mailbox.mbox(path)
    when = format_datetime(timezone.now() - timedelta(days=1))
    for i in range(MESSAGES):
        m = EmailMessage()
        m["From"] = PROVIDER if i % 4 == 0 else f"stranger{i}@elsewhere.example"
        m["To"] = "alice@example.com"
        m["Subject"] = f"Message {i}"
        m["Date"] = when
        m["Message-ID"] = f"<m-{i}@crash.example>"
        m.set_content(f"Text {i}.\n")
        box.add(m)
    box.close()
    return path


def broker_url(kind: str) -> str:
    if kind == "filesystem":
        return "filesystem://"
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL is not set, and CI never skips the Redis crash test: check .ci/run")
        pytest.skip("runs on Redis: set REDIS_URL")
    return url


def a_worker_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless told to read afresh.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def stop(worker: Worker, how: str) -> None:
    if how == "ctrl-c":
        # What honcho does to each process when `make run` gets Ctrl-C.
        worker.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(HONCHO_KILL_WAIT)
    if worker.process.poll() is None:
        worker.process.kill()
    worker.process.wait(10)
    # Killed in both cases: the warm shutdown did not get to finish the import.
    assert worker.process.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("broker", "how", "resume"),
    [
        pytest.param("filesystem", "ctrl-c", "sweep", id="on-disk broker, Ctrl-C of make run, the sweep"),
        pytest.param("redis", "sigkill", "sweep", id="Redis, SIGKILL, the sweep"),
        pytest.param("filesystem", "sigkill", "retry", id="on-disk broker, SIGKILL, the Retry button"),
    ],
)
def test_an_import_whose_worker_was_killed_goes_on_where_it_stopped_and_logs_nothing_twice(
    team, engagement, tmp_path, monkeypatch, broker, how, resume
):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database they can share: runs on PostgreSQL (as in CI)")
    url = broker_url(broker)
    var_dir = tmp_path / "var"
    options = filesystem_broker_options(var_dir) if broker == "filesystem" else {}
    # A queue of its own, so no other test's worker takes these tasks.
    queue = f"upload-crash-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # Its bulk queue too: this worker reads no other test's tasks, and no other worker these.
        "CELERY_BULK_QUEUE": queue,
        "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": default_storage.path(""),
        "MAIL_UPLOAD_LEASE_SECONDS": str(LEASE_SECONDS),
    }

    def publish(task, *args) -> None:
        with Connection(
            url, transport=FILESYSTEM if broker == "filesystem" else None, transport_options=options
        ) as conn:
            task.apply_async(args=args, queue=queue, connection=conn)

    # The pages queue the import on the workers' broker and queue (the sweep, run by a worker, does so itself).
    monkeypatch.setattr(upload, "_enqueue", lambda pk: publish(import_mail_upload, pk))
    mbox = write_mbox(tmp_path / "Inbox.mbox")
    client = team.client_for(team.bob)
    first = Worker(env)
    second = None
    try:
        first.wait_ready()
        client.post(
            reverse("mail:upload", kwargs={"ws": "acme"}),
            {"mail_files": [SimpleUploadedFile("Inbox.mbox", mbox.read_bytes())]},
        )
        item = MailUpload.objects.get()
        assert wait_for(lambda: MailUpload.objects.get(pk=item.pk).bytes_done > 0, 90), "".join(first.log)
        with transaction.atomic():
            Engagement.objects.select_for_update().get(pk=engagement.pk)
            assert wait_for(a_worker_waits_for_a_lock, 30), "".join(first.log)
            stop(first, how)

        stopped = MailUpload.objects.get(pk=item.pk)
        assert stopped.status == MailUpload.Status.RUNNING
        assert 0 < stopped.bytes_done < stopped.size
        assert 0 < stopped.threaded < MESSAGES // 4
        # The batch it was in was rolled back: the log holds what the upload says was imported.
        assert Message.objects.filter(engagement=engagement).count() == stopped.threaded
        assert stopped.duplicates == 0

        second = Worker(env)
        second.wait_ready()
        assert wait_for(lambda: MailUpload.objects.get(pk=item.pk).is_stalled, 30)
        status_url = reverse("mail:upload_status", kwargs={"ws": "acme", "pk": item.pk})
        if resume == "sweep":
            publish(requeue_stalled_mail_uploads)
        else:
            assert 'data-testid="retry-import"' in client.get(status_url).content.decode()
            client.post(reverse("mail:upload_retry", kwargs={"ws": "acme", "pk": item.pk}))
        assert wait_for(lambda: MailUpload.objects.get(pk=item.pk).status == MailUpload.Status.DONE, 120), (
            "".join(second.log)
        )
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()

    done = MailUpload.objects.get(pk=item.pk)
    # Went on after the last recorded batch: had it read the file again, the first batches would be duplicates.
    assert (done.threaded, done.unsorted, done.duplicates, done.rejected) == (
        MESSAGES // 4,
        MESSAGES * 3 // 4,
        0,
        0,
    )
    assert Message.objects.filter(engagement=engagement).count() == MESSAGES // 4
    assert InboundMail.objects.filter(status=InboundMail.Status.UNSORTED).count() == MESSAGES * 3 // 4
    assert Message.objects.values("message_id").distinct().count() == MESSAGES // 4
    assert (done.lease_until, done.file.name) == (None, "")
    # Nothing left for the next sweep.
    assert upload.mail_uploads_requeue_stalled() == 0
