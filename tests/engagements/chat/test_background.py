"""A background chat import: progress at each batch, the status partial, Retry for a failed or stalled one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.chat import importer
from engagements.models import ChatUpload, Message
from tests.engagements.chat.conftest import ANDROID_EN, FIXTURES

pytestmark = pytest.mark.django_db


def _url(name: str, pk: int, ws: str = "acme") -> str:
    return reverse(f"chat:{name}", kwargs={"ws": ws, "pk": pk})


def _queued(team, anna, landing, **fields) -> ChatUpload:
    options = {
        "chat": "Anna Design",
        "time_zone": "Europe/Berlin",
        "date_order": "auto",
        "provider": anna.pk,
        "participants": {"Anna Design": "provider", "Max Owner": f"member:{team.alice.pk}"},
        "engagement": landing.pk,
        "by": team.alice.pk,
    }
    return ChatUpload.objects.create(
        workspace=team.workspace,
        filename=ANDROID_EN,
        data=(FIXTURES / ANDROID_EN).read_bytes(),
        created_by=team.alice,
        **{"options": options, "status": ChatUpload.Status.QUEUED, "heartbeat_at": timezone.now(), **fields},
    )


def test_the_worker_writes_in_batches_and_records_its_progress_after_each(team, anna, landing, monkeypatch):
    monkeypatch.setattr(importer, "WRITE_BATCH", 2)
    upload = _queued(team, anna, landing)
    seen = []
    real = services.messages_log

    def spy(items, **kwargs):
        row = ChatUpload.objects.get(pk=upload.pk)
        seen.append((row.done, row.total, len(items)))
        return real(items, **kwargs)

    monkeypatch.setattr(services, "messages_log", spy)
    assert importer.upload_run(upload.pk) == "done"
    total = landing.messages.count()
    assert [s[2] for s in seen] == [2, 2, total - 4]
    assert [s[0] for s in seen] == [0, 2, 4] and {s[1] for s in seen} == {total}
    upload.refresh_from_db()
    assert (upload.status, upload.done, upload.total, upload.run_id) == (
        ChatUpload.Status.DONE,
        total,
        total,
        "",
    )
    # The exchanges were derived once after the last batch: deriving them again changes nothing.
    derived = list(landing.exchanges.values_list("requested_at", "replied_at"))
    services.exchanges_recompute_many(engagements=[landing])
    assert derived and derived == list(landing.exchanges.values_list("requested_at", "replied_at"))


def test_the_status_partial_shows_the_figures_and_polls_while_running(team, anna, landing):
    upload = _queued(team, anna, landing, status=ChatUpload.Status.RUNNING, done=40, total=160)
    page = team.client_for(team.vera).get(_url("status", upload.pk))
    html = page.content.decode()
    assert page.status_code == 200 and "40 of 160 messages logged" in html
    assert 'data-percent="25"' in html and "hx-trigger" in html
    assert 'data-testid="chat-retry"' not in html, "a running import is not retried"


def test_a_stalled_import_offers_retry_and_stops_polling(team, anna, landing, settings):
    old = timezone.now() - timedelta(minutes=settings.CHAT_IMPORT_STALLED_MINUTES + 1)
    upload = _queued(team, anna, landing, status=ChatUpload.Status.RUNNING, heartbeat_at=old)
    html = team.client_for(team.bob).get(_url("status", upload.pk)).content.decode()
    assert 'data-testid="chat-retry"' in html and "hx-trigger" not in html
    viewer = team.client_for(team.vera).get(_url("status", upload.pk)).content.decode()
    assert 'data-testid="chat-retry"' not in viewer


def test_two_retries_of_a_failed_import_queue_it_once(
    team, anna, landing, monkeypatch, django_capture_on_commit_callbacks
):
    upload = _queued(team, anna, landing, status=ChatUpload.Status.FAILED, error="boom")
    queued: list[int] = []
    monkeypatch.setattr(importer, "_enqueue", queued.append)
    client = team.client_for(team.bob)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(_url("retry", upload.pk))
        second = client.post(_url("retry", upload.pk))
    assert first.status_code == second.status_code == 302 and first.url == _url("mapping", upload.pk)
    assert queued == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == ChatUpload.Status.QUEUED and upload.error == ""
    assert importer.upload_run(upload.pk) == "done"
    assert importer.upload_run(upload.pk) == "not queued", "the queued run happens once"
    assert landing.messages.count() == 5


def test_a_retried_stalled_run_stops_at_its_next_batch_and_the_new_one_finishes(
    team, anna, landing, settings
):
    old = timezone.now() - timedelta(minutes=settings.CHAT_IMPORT_STALLED_MINUTES + 1)
    upload = _queued(
        team, anna, landing, status=ChatUpload.Status.RUNNING, heartbeat_at=old, run_id="deadbeef"
    )
    assert importer.upload_retry(upload=upload)
    with pytest.raises(importer.RunTakenOver):
        importer._write_batches(
            upload=upload, run="deadbeef", items=[], engagement=landing, by=None, workspace=team.workspace
        )
    assert importer.upload_run(upload.pk) == "done"
    assert landing.messages.count() == 5


def test_an_import_running_fine_or_done_is_not_retried(team, anna, landing):
    running = _queued(team, anna, landing, status=ChatUpload.Status.RUNNING)
    done = _queued(team, anna, landing, status=ChatUpload.Status.DONE)
    assert not importer.upload_retry(upload=running) and not importer.upload_retry(upload=done)
    response = team.client_for(team.alice).post(_url("retry", running.pk), follow=True)
    assert "Only a failed or stalled import can be tried again." in response.content.decode()


def test_a_viewer_may_not_retry_and_an_outsider_finds_nothing(team, anna, landing):
    upload = _queued(team, anna, landing, status=ChatUpload.Status.FAILED)
    assert team.client_for(team.vera).post(_url("retry", upload.pk)).status_code == 403
    outsider = team.client_for(team.charlie)
    assert outsider.post(_url("retry", upload.pk)).status_code == 404
    assert outsider.get(_url("status", upload.pk)).status_code == 404
    assert outsider.post(_url("retry", upload.pk, ws="other")).status_code == 404
    assert outsider.get(_url("status", upload.pk, ws="other")).status_code == 404
    upload.refresh_from_db()
    assert upload.status == ChatUpload.Status.FAILED and not Message.objects.exists()


def test_the_beats_sweep_queues_a_stalled_import_again_once_and_it_finishes(
    team, anna, landing, settings, monkeypatch, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(minutes=settings.CHAT_IMPORT_STALLED_MINUTES + 1)
    stalled = _queued(
        team, anna, landing, status=ChatUpload.Status.RUNNING, heartbeat_at=old, run_id="deadbeef"
    )
    lost = _queued(team, anna, landing, status=ChatUpload.Status.QUEUED, heartbeat_at=old)
    fine = _queued(team, anna, landing, status=ChatUpload.Status.RUNNING, run_id="cafe")
    failed = _queued(team, anna, landing, status=ChatUpload.Status.FAILED, heartbeat_at=old, error="boom")
    never = _queued(team, anna, landing, status=ChatUpload.Status.QUEUED, heartbeat_at=old, options={})
    queued: list[int] = []
    monkeypatch.setattr(importer, "_enqueue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert importer.uploads_requeue_stalled() == 2
        assert importer.uploads_requeue_stalled() == 0, "queued again means heard of now: not stalled"
    assert queued == [stalled.pk, lost.pk]
    states = dict(ChatUpload.objects.values_list("pk", "status"))
    assert states[fine.pk] == ChatUpload.Status.RUNNING, "a worker is on it"
    assert states[failed.pk] == ChatUpload.Status.FAILED, "a failure waits for a person"
    assert states[never.pk] == ChatUpload.Status.QUEUED, "nothing to queue it with"

    with pytest.raises(importer.RunTakenOver):  # the old run, only slow, stops at its next batch
        importer._write_batches(
            upload=stalled, run="deadbeef", items=[], engagement=landing, by=None, workspace=team.workspace
        )
    assert importer.upload_run(stalled.pk) == "done"
    assert importer.upload_run(lost.pk) == "done"
    assert landing.messages.count() == 5, "the second import of the same chat adds nothing"


def test_the_sweep_runs_every_minute_from_the_beat(settings):
    from outsourcing.celery import app

    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "chat_uploads" in e["task"]]
    assert entry == {"task": "engagements.tasks.requeue_stalled_chat_uploads", "schedule": 60.0}
    assert entry["task"] in app.tasks
