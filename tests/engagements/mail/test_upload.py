"""Mail uploaded in the browser: checked and stored, imported by a worker through the one importer,
with progress written as it goes; a redelivered task never imports twice."""

from __future__ import annotations

import mailbox
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from engagements.mail import importer, sources, upload
from engagements.mail.upload_tasks import import_mail_upload
from engagements.models import Engagement, InboundMail, MailUpload, Message
from outsourcing.celery import app as celery_app
from outsourcing.redis_guard import BROKER
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

THREADED, UNSORTED, DUPLICATES, REJECTED = 120, 320, 50, 10  # 500 messages in all


def mail(*, sender: str, message_id: str, subject: str = "Hello", body: str = "Some text.\n") -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "alice@example.com"
    m["Subject"] = subject
    m["Date"] = format_datetime(timezone.now() - timedelta(days=1))
    m["Message-ID"] = f"<{message_id}>"
    m.set_content(body)
    return bytes(m)


def write_mbox(path: Path) -> Path:
    """500 messages: replies from the provider, strangers, copies of earlier ones, and garbage."""
    box = mailbox.mbox(path)
    for i in range(THREADED):
        box.add(mail(sender="vanessa@va-agency.example", message_id=f"reply-{i}@va-agency.example"))
    for i in range(UNSORTED):
        # Bodies with "From " lines: the mbox quotes them, and they must not split a message.
        body = f"Offer {i}\nFrom the desk of a stranger.\n"
        box.add(
            mail(sender=f"stranger{i}@elsewhere.example", message_id=f"s-{i}@elsewhere.example", body=body)
        )
    for i in range(DUPLICATES):
        box.add(mail(sender=f"stranger{i}@elsewhere.example", message_id=f"s-{i}@elsewhere.example"))
    for i in range(REJECTED):
        box.add(b"this line is no header\n\nand this is no mail " + str(i).encode() + b"\n")
    box.close()
    return path


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    return EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title="Copy")


@pytest.fixture
def mbox_file(tmp_path) -> Path:
    return write_mbox(tmp_path / "Inbox.mbox")


def upload_url() -> str:
    return reverse("mail:upload", kwargs={"ws": "acme"})


def status_url(pk: int) -> str:
    return reverse("mail:upload_status", kwargs={"ws": "acme", "pk": pk})


def as_upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


# --- Through the page ----------------------------------------------------------


def test_a_member_uploads_an_eml_and_it_is_logged_on_its_engagement(
    team, engagement, django_capture_on_commit_callbacks
):
    raw = mail(sender="vanessa@va-agency.example", message_id="one@va-agency.example", subject="Re: Copy")

    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.bob).post(
            upload_url(), {"mail_files": [SimpleUploadedFile("reply.eml", raw)]}
        )

    item = MailUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == status_url(item.pk)
    assert (item.status, item.threaded, item.unsorted, item.percent) == (MailUpload.Status.DONE, 1, 0, 100)
    assert (item.original_name, item.size, item.uploaded_by) == ("reply.eml", len(raw), team.bob)
    message = Message.objects.get(engagement=engagement)
    assert (message.message_id, message.source) == ("one@va-agency.example", Message.Source.IMPORT)
    assert InboundMail.objects.get().source == InboundMail.Source.UPLOAD


def test_a_500_message_mbox_is_imported_with_progress_up_to_100_percent(
    team, engagement, mbox_file, monkeypatch
):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    stored = item.file.name
    assert default_storage.exists(stored)
    seen: list[tuple[int, int]] = []
    many = importer.mail_import_many

    def watched(**kwargs):
        on_batch = kwargs.pop("on_batch")

        def report(counts):
            on_batch(counts)
            row = MailUpload.objects.get(pk=item.pk)
            seen.append((row.bytes_done, row.percent))
            assert (row.status, row.threaded + row.unsorted + row.rejected + row.duplicates) == (
                MailUpload.Status.RUNNING,
                counts.total,
            )

        return many(**kwargs, on_batch=report)

    monkeypatch.setattr(importer, "mail_import_many", watched)

    assert upload.mail_upload_run(item.pk) == MailUpload.Status.DONE

    item.refresh_from_db()
    assert (item.status, item.threaded, item.unsorted, item.duplicates, item.rejected) == (
        MailUpload.Status.DONE,
        THREADED,
        UNSORTED,
        DUPLICATES,
        REJECTED,
    )
    # Batches of 200 messages: two reports on the way, the last at the end of the file.
    assert len(seen) == 3
    assert seen[0][0] < seen[1][0] < seen[2][0] == item.size
    assert 0 < seen[0][1] < seen[1][1] < 100
    assert (item.bytes_done, item.percent) == (item.size, 100)
    assert item.started_at is not None and item.finished_at is not None
    assert item.finished_at >= item.started_at
    assert Message.objects.filter(engagement=engagement).count() == THREADED
    assert InboundMail.objects.filter(status=InboundMail.Status.UNSORTED).count() == UNSORTED
    assert InboundMail.objects.filter(status=InboundMail.Status.REJECTED).count() == REJECTED
    # The mail is in the log and the inbox now; the uploaded file is gone.
    assert item.file.name == ""
    assert not default_storage.exists(stored)


def test_the_reader_finds_the_same_messages_as_pythons_mailbox_without_reading_the_file_whole(mbox_file):
    box = mailbox.mbox(mbox_file)
    # Python's mailbox leaves the ">From " quoting in; the reader takes it off, as mail clients do.
    expected = [box.get_bytes(key).rstrip(b"\n").replace(b"\n>From ", b"\nFrom ") for key in box.iterkeys()]
    assert len(expected) == 500
    with mbox_file.open("rb") as f:
        reader = sources.MailFileReader(f, mbox=True)
        found = [m.rstrip(b"\n") for m in reader]
    assert found == expected
    assert reader.position == mbox_file.stat().st_size


def test_the_reader_cuts_a_message_larger_than_the_importer_takes(settings):
    settings.MAIL_MAX_BYTES = 1000
    data = b"From a@b Thu Jan  1 00:00:00 2026\n" + b"Subject: big\n\n" + (b"y" * 99 + b"\n") * 100
    data += b"\nFrom a@b Thu Jan  1 00:00:00 2026\nSubject: small\n\nok\n"
    found = list(sources.MailFileReader(BytesIO(data), mbox=True))
    assert [len(m) > 1000 for m in found] == [True, False]
    assert len(found[0]) < 1000 + sources.LINE_PIECE


def test_several_files_at_once_go_to_the_list_of_uploads(team, engagement, mbox_file):
    raw = mail(sender="vanessa@va-agency.example", message_id="two@va-agency.example")

    response = team.client_for(team.alice).post(
        upload_url(), {"mail_files": [SimpleUploadedFile("a.eml", raw), as_upload(mbox_file)]}
    )

    assert response.status_code == 302
    assert response["Location"] == upload_url()
    assert sorted(MailUpload.objects.values_list("original_name", flat=True)) == ["Inbox.mbox", "a.eml"]


def test_the_script_gets_the_status_page_as_json(team, engagement):
    raw = mail(sender="vanessa@va-agency.example", message_id="three@va-agency.example")

    response = team.client_for(team.bob).post(
        upload_url(), {"mail_files": [SimpleUploadedFile("r.eml", raw)]}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 200
    assert response.json() == {"url": status_url(MailUpload.objects.get().pk)}


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a mail file"),
        ("notes.txt", b"Shopping list\nmilk\n", "is not a mail file"),
        ("reply.eml", b"", "is empty"),
        ("huge.mbox", b"From a@b Thu Jan  1 00:00:00 2026\n" + b"x" * 3000, "is too large"),
    ],
)
def test_a_file_that_is_too_big_or_no_mail_is_a_form_error_and_nothing_is_queued(
    team, settings, name, content, error, django_capture_on_commit_callbacks
):
    settings.MAIL_UPLOAD_MAX_BYTES = 2000

    with django_capture_on_commit_callbacks() as queued:
        response = team.client_for(team.bob).post(
            upload_url(), {"mail_files": [SimpleUploadedFile(name, content)]}
        )

    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["mail_files"])
    assert queued == []
    assert not MailUpload.objects.exists()


def test_the_script_gets_the_errors_as_json(team, settings):
    settings.MAIL_UPLOAD_MAX_BYTES = 10
    response = team.client_for(team.bob).post(
        upload_url(),
        {"mail_files": [SimpleUploadedFile("r.eml", b"Subject: hi\n\nlong enough")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["r.eml is too large (24\xa0bytes); the limit is 10\xa0bytes."]


def test_posting_no_file_asks_for_one(team):
    response = team.client_for(team.bob).post(upload_url(), {})
    assert response.context["form"].errors["mail_files"] == ["Choose one or more files."]


@pytest.mark.parametrize(
    ("name", "content", "stored_as"),
    [
        ("Inbox", b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\nSubject: x\n\nx\n", ".mbox"),
        ("message.txt", b"Return-Path: <a@b>\nSubject: x\n\nx\n", ".eml"),
        ("odd.eml", b"whatever the importer makes of it", ".eml"),
        ("folder.mbox", b"\n\nFrom a@b Thu Jan  1 00:00:00 2026\nSubject: x\n\nx\n", ".mbox"),
    ],
)
def test_a_mail_file_is_known_by_its_name_or_its_content(team, name, content, stored_as):
    item = upload.mail_upload_create(
        workspace=team.workspace, by=team.bob, file=SimpleUploadedFile(name, content)
    )
    assert item.file.name.endswith(stored_as)
    assert item.original_name == name


# --- Running the import --------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_an_uploaded_mbox(
    team, engagement, mbox_file, through_the_broker, finished_tasks
):
    client = team.client_for(team.bob)
    client.get(upload_url())  # the session is written now, not while the worker writes
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        response = client.post(upload_url(), {"mail_files": [as_upload(mbox_file)]})
        assert finished_tasks.wait_for("engagements.tasks.import_mail_upload")

    item = MailUpload.objects.get()
    assert response["Location"] == status_url(item.pk)
    assert (item.threaded, item.unsorted, item.duplicates, item.rejected, item.percent) == (
        THREADED,
        UNSORTED,
        DUPLICATES,
        REJECTED,
        100,
    )
    assert Message.objects.filter(engagement=engagement, source=Message.Source.IMPORT).count() == THREADED


def test_a_redelivered_task_does_not_import_twice(team, engagement, mbox_file):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))

    assert import_mail_upload.apply(args=[item.pk]).get() == MailUpload.Status.DONE
    assert import_mail_upload.apply(args=[item.pk]).get() == "skipped"

    item.refresh_from_db()
    assert (item.threaded, item.unsorted, item.duplicates) == (THREADED, UNSORTED, DUPLICATES)
    assert Message.objects.count() == THREADED


def test_a_copy_delivered_while_the_import_runs_leaves_it_alone(team, mbox_file):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    MailUpload.objects.filter(pk=item.pk).update(
        status=MailUpload.Status.RUNNING,
        started_at=timezone.now(),
        lease_until=timezone.now() + timedelta(minutes=1),
        lease_holder="the run on it",
    )

    assert upload.mail_upload_run(item.pk) == "skipped"

    assert not InboundMail.objects.exists()
    assert MailUpload.objects.get(pk=item.pk).status == MailUpload.Status.RUNNING


def assert_imported_once(item: MailUpload) -> None:
    """The whole file is in, counted right, and nothing from before the stop was imported twice."""
    item.refresh_from_db()
    assert item.status == MailUpload.Status.DONE
    assert (item.threaded, item.unsorted, item.duplicates, item.rejected) == (
        THREADED,
        UNSORTED,
        DUPLICATES,
        REJECTED,
    )
    assert Message.objects.count() == THREADED
    assert InboundMail.objects.filter(status=InboundMail.Status.UNSORTED).count() == UNSORTED


def after_the_lease(seconds: float = 1) -> datetime:
    """A moment just past the lease a claim taken now holds."""
    return timezone.now() + timedelta(seconds=settings.MAIL_UPLOAD_LEASE_SECONDS + seconds)


class WorkerDied(BaseException):
    """What a killed worker looks like from inside: nothing after it runs (not even ``except Exception``)."""


def stop_after_the_first_batch(monkeypatch, error: BaseException):
    """Make the importer raise ``error`` once its first batch is in and recorded; returns the real one."""
    many = importer.mail_import_many

    def stops(**kwargs):
        on_batch = kwargs.pop("on_batch")

        def report(counts):
            on_batch(counts)
            raise error

        return many(**kwargs, on_batch=report)

    monkeypatch.setattr(importer, "mail_import_many", stops)
    return many


def test_an_import_whose_worker_died_is_taken_over_and_resumed(team, engagement, mbox_file, monkeypatch):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    many = stop_after_the_first_batch(monkeypatch, WorkerDied())
    with pytest.raises(WorkerDied):
        upload.mail_upload_run(item.pk)
    half = MailUpload.objects.get(pk=item.pk)
    assert half.status == MailUpload.Status.RUNNING
    assert 0 < half.bytes_done < half.size
    assert half.threaded + half.unsorted + half.rejected + half.duplicates == upload.UPLOAD_BATCH
    # A redelivered copy leaves it alone while the dead worker's lease holds, and takes it over after.
    assert upload.mail_upload_run(item.pk) == "skipped"

    monkeypatch.setattr(importer, "mail_import_many", many)
    with time_machine.travel(after_the_lease()):
        assert upload.mail_upload_run(item.pk) == MailUpload.Status.DONE

    assert_imported_once(item)


def died_after_the_first_batch(team, mbox_file, monkeypatch) -> MailUpload:
    """An upload whose worker died after recording its first batch: importing, its lease still held."""
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    many = stop_after_the_first_batch(monkeypatch, WorkerDied())
    with pytest.raises(WorkerDied):
        upload.mail_upload_run(item.pk)
    monkeypatch.setattr(importer, "mail_import_many", many)
    return MailUpload.objects.get(pk=item.pk)


def test_the_sweep_queues_a_stalled_import_again_once_its_lease_ran_out_and_it_resumes(
    team, engagement, mbox_file, monkeypatch, django_capture_on_commit_callbacks
):
    item = died_after_the_first_batch(team, mbox_file, monkeypatch)
    assert (item.status, item.is_stalled) == (MailUpload.Status.RUNNING, False)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert upload.mail_uploads_requeue_stalled() == 0
    assert queued == []

    with time_machine.travel(after_the_lease()):
        assert MailUpload.objects.get(pk=item.pk).is_stalled
        with django_capture_on_commit_callbacks(execute=True):
            assert upload.mail_uploads_requeue_stalled() == 1

    assert_imported_once(item)
    assert (item.lease_until, item.lease_holder) == (None, "")


def test_a_waiting_import_whose_task_was_lost_is_queued_again_by_the_sweep(
    team, engagement, mbox_file, django_capture_on_commit_callbacks
):
    # The task was fetched by a worker that died before it started (the on-disk broker keeps no copy).
    with django_capture_on_commit_callbacks(execute=False):
        item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    assert upload.mail_uploads_requeue_stalled() == 0

    with time_machine.travel(after_the_lease()), django_capture_on_commit_callbacks(execute=True):
        assert upload.mail_uploads_requeue_stalled() == 1

    assert_imported_once(item)


def test_an_import_left_running_before_leases_were_stored_counts_as_stalled(
    team, engagement, mbox_file, django_capture_on_commit_callbacks
):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    MailUpload.objects.filter(pk=item.pk).update(status=MailUpload.Status.RUNNING, lease_until=None)

    with django_capture_on_commit_callbacks(execute=True):
        assert upload.mail_uploads_requeue_stalled() == 1

    assert_imported_once(item)


def test_the_sweep_leaves_imports_under_way_finished_and_failed_alone(
    team, mbox_file, monkeypatch, django_capture_on_commit_callbacks
):
    running = died_after_the_first_batch(team, mbox_file, monkeypatch)
    with django_capture_on_commit_callbacks(execute=False):
        waiting = upload.mail_upload_create(
            workspace=team.workspace, by=team.bob, file=SimpleUploadedFile("w.eml", b"Subject: w\n\nw")
        )
    done = upload.mail_upload_create(
        workspace=team.workspace, by=team.bob, file=SimpleUploadedFile("d.eml", b"Subject: d\n\nd")
    )
    upload.mail_upload_run(done.pk)
    failed = failed_halfway(team, mbox_file, monkeypatch)
    before = {row.pk: row.status for row in MailUpload.objects.all()}
    assert set(before.values()) == {"running", "queued", "done", "failed"}

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert upload.mail_uploads_requeue_stalled() == 0

    assert queued == []
    assert {row.pk: row.status for row in MailUpload.objects.all()} == before
    # Once the leases ran out, only the two that no worker holds are queued again.
    with time_machine.travel(after_the_lease()), django_capture_on_commit_callbacks(execute=False) as queued:
        assert upload.mail_uploads_requeue_stalled() == 2
    assert len(queued) == 2
    assert MailUpload.objects.get(pk=failed.pk).status == MailUpload.Status.FAILED
    assert MailUpload.objects.get(pk=done.pk).status == MailUpload.Status.DONE
    assert {running.pk, waiting.pk} == set(
        MailUpload.objects.filter(status=MailUpload.Status.QUEUED).values_list("pk", flat=True)
    )


def test_the_beat_runs_the_sweep_every_minute():
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("stalled_mail_uploads")
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= 60
    assert entries[0]["task"] in celery_app.tasks


def test_a_run_whose_import_was_taken_over_stops_at_its_next_batch_and_leaves_it_to_the_other(
    team, mbox_file, monkeypatch
):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    many = importer.mail_import_many
    batches: list[int] = []

    def slow(**kwargs):
        on_batch = kwargs.pop("on_batch")

        def report(counts):
            batches.append(counts.total)
            # This run was too slow: its lease ran out and another run took the import over.
            MailUpload.objects.filter(pk=item.pk).update(lease_holder="another run")
            on_batch(counts)

        return many(**kwargs, on_batch=report)

    monkeypatch.setattr(importer, "mail_import_many", slow)

    assert upload.mail_upload_run(item.pk) == "skipped"

    row = MailUpload.objects.get(pk=item.pk)
    assert batches == [upload.UPLOAD_BATCH]
    assert (row.status, row.lease_holder, row.bytes_done, row.error) == (
        MailUpload.Status.RUNNING,
        "another run",
        0,
        "",
    )
    assert default_storage.exists(row.file.name)


def test_an_unexpected_error_fails_the_upload_with_a_readable_reason(team, mbox_file, monkeypatch):
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))

    def broken(**kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(importer, "mail_import_many", broken)

    assert upload.mail_upload_run(item.pk) == MailUpload.Status.FAILED
    item.refresh_from_db()
    assert (item.status, item.error) == (MailUpload.Status.FAILED, "OSError: disk on fire")
    assert item.finished_at is not None
    page = team.client_for(team.alice).get(status_url(item.pk)).content.decode()
    assert "The import stopped with an error" in page and "disk on fire" in page


def retry_url(pk: int) -> str:
    return reverse("mail:upload_retry", kwargs={"ws": "acme", "pk": pk})


def failed_halfway(team, mbox_file, monkeypatch) -> MailUpload:
    """An upload whose import failed after its first batch was imported."""
    item = upload.mail_upload_create(workspace=team.workspace, by=team.alice, file=as_upload(mbox_file))
    many = stop_after_the_first_batch(monkeypatch, OSError("disk full"))
    assert upload.mail_upload_run(item.pk) == MailUpload.Status.FAILED
    monkeypatch.setattr(importer, "mail_import_many", many)
    return MailUpload.objects.get(pk=item.pk)


def test_a_failed_import_is_tried_again_and_goes_on_where_it_stopped(
    team, engagement, mbox_file, monkeypatch, django_capture_on_commit_callbacks
):
    item = failed_halfway(team, mbox_file, monkeypatch)
    assert 0 < item.bytes_done < item.size
    page = team.client_for(team.bob).get(status_url(item.pk)).content.decode()
    assert "try again to import the rest" in page and 'data-testid="retry-import"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.bob).post(retry_url(item.pk), follow=True)

    assert response.redirect_chain == [(status_url(item.pk), 302)]
    assert "The import was queued again; it goes on where it stopped." in response.content.decode()
    assert_imported_once(item)
    assert MailUpload.objects.get(pk=item.pk).error == ""
    assert InboundMail.objects.filter(status=InboundMail.Status.UNSORTED).count() == UNSORTED


def test_only_a_failed_import_with_its_file_can_be_tried_again(team, mbox_file, monkeypatch):
    done = upload.mail_upload_create(
        workspace=team.workspace, by=team.alice, file=SimpleUploadedFile("a.eml", b"Subject: a\n\nb")
    )
    upload.mail_upload_run(done.pk)
    failed = failed_halfway(team, mbox_file, monkeypatch)
    default_storage.delete(failed.file.name)
    MailUpload.objects.filter(pk=failed.pk).update(file="")

    for item in (done, failed):
        response = team.client_for(team.alice).post(retry_url(item.pk), follow=True)

        assert (
            "Only a failed or stalled import whose file is still kept can be tried again."
            in response.content.decode()
        )
        assert 'data-testid="retry-import"' not in response.content.decode()
    assert MailUpload.objects.get(pk=done.pk).status == MailUpload.Status.DONE
    assert MailUpload.objects.get(pk=failed.pk).status == MailUpload.Status.FAILED


def test_a_stalled_import_shows_why_and_try_again_goes_on_where_it_stopped(
    team, engagement, mbox_file, monkeypatch, django_capture_on_commit_callbacks
):
    item = died_after_the_first_batch(team, mbox_file, monkeypatch)
    page = team.client_for(team.bob).get(status_url(item.pk)).content.decode()
    assert 'data-testid="stalled"' not in page and 'data-testid="retry-import"' not in page
    assert not upload.mail_upload_retry(upload=item)  # its worker may still be on it

    with time_machine.travel(after_the_lease()):
        page = team.client_for(team.bob).get(status_url(item.pk)).content.decode()
        assert "The worker importing this file stopped." in page
        assert 'data-testid="retry-import"' in page and ">Stalled<" in page
        viewer_page = team.client_for(team.vera).get(status_url(item.pk)).content.decode()
        assert 'data-testid="stalled"' in viewer_page and "retry-import" not in viewer_page
        assert ">Stalled<" in team.client_for(team.bob).get(upload_url()).content.decode()

        with django_capture_on_commit_callbacks(execute=True):
            response = team.client_for(team.bob).post(retry_url(item.pk), follow=True)

    assert "The import was queued again; it goes on where it stopped." in response.content.decode()
    assert_imported_once(item)


def test_owner_and_member_try_again_the_viewer_may_not_and_the_outsider_sees_nothing(
    team, mbox_file, monkeypatch
):
    item = failed_halfway(team, mbox_file, monkeypatch)
    assert "retry-import" not in team.client_for(team.vera).get(status_url(item.pk)).content.decode()
    assert team.client_for(team.vera).post(retry_url(item.pk)).status_code == 403
    assert team.client_for(team.charlie).post(retry_url(item.pk)).status_code == 404
    assert MailUpload.objects.get(pk=item.pk).status == MailUpload.Status.FAILED
    assert team.client_for(team.alice).get(retry_url(item.pk)).status_code == 405
    for user in (team.alice, team.bob):
        MailUpload.objects.filter(pk=item.pk).update(status=MailUpload.Status.FAILED)
        assert team.client_for(user).post(retry_url(item.pk)).status_code == 302
        assert MailUpload.objects.get(pk=item.pk).status == MailUpload.Status.QUEUED


def test_an_upload_that_cannot_be_queued_is_kept_and_queued_by_the_next_sweep(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(import_mail_upload, "delay", broker_down)
    raw = mail(sender="x@example.net", message_id="q@example.net")

    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.bob).post(
            upload_url(), {"mail_files": [SimpleUploadedFile("q.eml", raw)]}
        )

    assert response.status_code == 302
    item = MailUpload.objects.get()
    # Nobody has to press Retry: its lease ended, so the beat's sweep for stalled imports takes it.
    assert (item.status, item.error, item.is_stalled) == (MailUpload.Status.QUEUED, "", True)
    monkeypatch.undo()
    BROKER.reset()  # the broker is back, and the pause after the failure is over
    with django_capture_on_commit_callbacks(execute=True):
        assert upload.mail_uploads_requeue_stalled(timezone.now()) == 1
    item.refresh_from_db()
    assert item.status == MailUpload.Status.DONE
    assert InboundMail.objects.filter(message_id="q@example.net").count() == 1


# --- The pages -----------------------------------------------------------------


def test_owner_and_member_upload_the_viewer_may_not_and_the_outsider_sees_nothing(team):
    raw = mail(sender="x@example.net", message_id="access@example.net")
    for user in (team.alice, team.bob):
        client = team.client_for(user)
        assert client.get(upload_url()).status_code == 200
        response = client.post(upload_url(), {"mail_files": [SimpleUploadedFile("a.eml", raw)]})
        assert response.status_code == 302
    viewer = team.client_for(team.vera)
    assert viewer.get(upload_url()).status_code == 403
    assert viewer.post(upload_url(), {"mail_files": [SimpleUploadedFile("a.eml", raw)]}).status_code == 403
    outsider = team.client_for(team.charlie)
    assert outsider.get(upload_url()).status_code == 404
    assert outsider.post(upload_url(), {"mail_files": [SimpleUploadedFile("a.eml", raw)]}).status_code == 404
    assert MailUpload.objects.count() == 2


def test_the_status_page_is_for_the_workspace_only(team):
    item = upload.mail_upload_create(
        workspace=team.workspace, by=team.bob, file=SimpleUploadedFile("a.eml", b"Subject: a\n\nb")
    )
    theirs = upload.mail_upload_create(
        workspace=team.other_workspace, by=team.charlie, file=SimpleUploadedFile("b.eml", b"Subject: a\n\nb")
    )
    for user in (team.alice, team.bob, team.vera):
        assert team.client_for(user).get(status_url(item.pk)).status_code == 200
    assert team.client_for(team.charlie).get(status_url(item.pk)).status_code == 404
    assert team.client_for(team.alice).get(status_url(theirs.pk)).status_code == 404


def test_the_status_page_polls_while_the_import_runs_and_stops_when_done(team, django_assert_num_queries):
    item = upload.mail_upload_create(
        workspace=team.workspace, by=team.bob, file=SimpleUploadedFile("a.mbox", b"From a@b\nSubject: a\n\nb")
    )
    MailUpload.objects.filter(pk=item.pk).update(
        status=MailUpload.Status.RUNNING, bytes_done=item.size // 2, unsorted=3
    )
    client = team.client_for(team.alice)
    client.get(status_url(item.pk))  # the first page of a session remembers the workspace in it

    # Session, user, membership, the upload.
    with django_assert_num_queries(4):
        response = client.get(status_url(item.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'data-percent="50"' in html
    assert "<html" not in html  # only the partial
    assert reverse("mail:unsorted", kwargs={"ws": "acme"}) in html

    MailUpload.objects.filter(pk=item.pk).update(status=MailUpload.Status.DONE, unsorted=0)
    html = client.get(status_url(item.pk), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html
    assert 'data-percent="100"' in html
    assert reverse("mail:unsorted", kwargs={"ws": "acme"}) not in html

    page = client.get(status_url(item.pk))
    assert page.status_code == 200
    assert b"mail_upload.js" in page.content


def test_the_list_of_uploads_takes_as_many_queries_for_many_uploads_as_for_one(
    team, django_assert_num_queries
):
    client = team.client_for(team.bob)
    client.get(upload_url())  # the first page of a session remembers the workspace in it
    upload.mail_upload_create(
        workspace=team.workspace, by=team.alice, file=SimpleUploadedFile("0.eml", b"Subject: a\n\nb")
    )
    # Session, user, membership, the uploads with their uploaders; the navigation's two counts and workspaces.
    with django_assert_num_queries(5) as one:
        client.get(upload_url())
    for i in range(1, 12):
        upload.mail_upload_create(
            workspace=team.workspace, by=team.bob, file=SimpleUploadedFile(f"{i}.eml", b"Subject: a\n\nb")
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(upload_url())
    assert response.content.decode().count('data-testid="upload-row"') == 12
