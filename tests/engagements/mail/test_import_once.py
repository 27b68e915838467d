"""Importing once: mail without a (readable) Message-ID known by its fingerprint on every way in,
a reject stored once, and old mail of any date logged with its real date."""

from __future__ import annotations

import base64
import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engagements import services
from engagements.mail import imap, importer, upload, webhook
from engagements.models import Engagement, Exchange, InboundMail, Message
from tests.engagements.mail.conftest import append, make_mailbox
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
IMPORT = InboundMail.Source.IMPORT


def no_id_mail(
    *,
    sender: str = "stranger@elsewhere.example",
    subject: str = "Hello",
    body: str = "Some text.\n",
    when: datetime = SENT,
    message_id: str | None = None,
    in_reply_to: str = "",
) -> bytes:
    """A mail without a Message-ID (or with the one given, readable or not)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "alice@example.com"
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    if message_id is not None:
        m["Message-ID"] = message_id
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
    m.set_content(body)
    return bytes(m)


def run(team, *raws: bytes, source: str = IMPORT) -> importer.ImportCounts:
    return importer.mail_import_many(workspace=team.workspace, raws=list(raws), source=source)


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="vanessa@va-agency.example")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Copy"
    )
    return engagement


# --- Mail without a Message-ID -----------------------------------------------------------


@pytest.mark.parametrize("source", [IMPORT, InboundMail.Source.UPLOAD, InboundMail.Source.IMAP, "webhook"])
def test_mail_without_a_message_id_is_imported_once_however_often_it_comes(team, engagement, source):
    unsorted = no_id_mail()
    threaded = no_id_mail(sender="vanessa@va-agency.example", subject="Re: Copy")

    first = run(team, unsorted, threaded, source=source)
    again = run(team, unsorted, threaded, source=source)

    assert (first.unsorted, first.threaded) == (1, 1)
    assert (again.duplicate, again.imported) == (2, 0)
    assert InboundMail.objects.count() == 2
    assert Message.objects.filter(engagement=engagement).count() == 1


@pytest.mark.parametrize("message_id", ["", "not an id", "<>", "<<<"])
def test_mail_with_an_unreadable_message_id_is_imported_once(team, message_id):
    raw = no_id_mail(message_id=message_id)

    assert run(team, raw).unsorted == 1
    assert run(team, raw).duplicate == 1
    assert InboundMail.objects.get().fingerprint.startswith("m:")


def test_the_same_mail_twice_in_one_file_is_imported_once(team):
    assert (run(team, no_id_mail(), no_id_mail()).unsorted, InboundMail.objects.count()) == (1, 1)


def test_a_copy_with_other_line_endings_and_an_mbox_postmark_is_the_same_mail(team):
    raw = no_id_mail(body="Line one.\nLine two.\n")
    imap_copy = raw.replace(b"\n", b"\r\n")
    mbox_copy = b"From stranger@elsewhere.example Mon Nov 30 09:00:00 2026\n" + raw + b"\n"

    assert run(team, raw).unsorted == 1
    assert run(team, imap_copy, mbox_copy).duplicate == 2


@pytest.mark.parametrize(
    "other",
    [
        {"body": "Other text.\n"},
        {"subject": "Hello again"},
        {"sender": "someone@elsewhere.example"},
        {"when": SENT + timedelta(minutes=1)},
    ],
    ids=["body", "subject", "sender", "date"],
)
def test_mail_that_differs_in_sender_date_subject_or_body_is_another_mail(team, other):
    assert run(team, no_id_mail(), no_id_mail(**other)).unsorted == 2


def test_the_command_imports_a_folder_of_mail_without_message_ids_once(team, engagement, tmp_path):
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for i in range(3):
        box.add(no_id_mail(subject=f"Note {i}"))
    box.close()
    out, again = StringIO(), StringIO()

    call_command("import_mail", str(tmp_path / "archive.mbox"), workspace=team.workspace.slug, stdout=out)
    call_command("import_mail", str(tmp_path / "archive.mbox"), workspace=team.workspace.slug, stdout=again)

    assert "imported 3" in out.getvalue()
    assert "imported 0" in again.getvalue() and "already there 3" in again.getvalue()
    assert InboundMail.objects.count() == 3


def test_an_uploaded_file_of_mail_without_message_ids_imports_once_when_uploaded_twice(team, engagement):
    raw = no_id_mail() + b""
    for _ in range(2):
        item = upload.mail_upload_create(
            workspace=team.workspace, by=team.alice, file=SimpleUploadedFile("note.eml", raw)
        )
        upload.mail_upload_run(item.pk)
    item.refresh_from_db()

    assert (item.unsorted, item.duplicates) == (0, 1)
    assert InboundMail.objects.count() == 1


def test_a_mail_without_message_id_posted_to_the_webhook_twice_is_logged_once(team, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark:5ecret-pa55"}
    token = webhook.mail_token_ensure(team.workspace)
    payload = json.dumps(
        {
            "From": "stranger@elsewhere.example",
            "To": "alice@example.com",
            "Subject": "Hello",
            "Date": format_datetime(SENT),
            "TextBody": "Some text.",
            "Headers": [],
        }
    )
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"postmark:5ecret-pa55").decode()}
    url = reverse("mail_webhook_postmark", kwargs={"token": token})
    for _ in range(2):
        response = Client().post(url, payload, content_type="application/json", **auth)
        assert response.status_code == 200

    assert InboundMail.objects.filter(source=InboundMail.Source.WEBHOOK).count() == 1


def test_a_renumbered_imap_folder_of_mail_without_message_ids_is_not_imported_again(
    team, dovecot, imap_folder
):
    append(dovecot, imap_folder, no_id_mail(subject="One"), no_id_mail(subject="Two"))
    box = make_mailbox(team.workspace, dovecot, imap_folder)
    imap.mailbox_poll(box)
    with dovecot.client() as client:
        client.delete_folder(imap_folder)
        client.create_folder(imap_folder)
    append(dovecot, imap_folder, no_id_mail(subject="One"), no_id_mail(subject="Two"))

    result = imap.mailbox_poll(box)

    assert (result.counts.duplicate, result.counts.imported) == (2, 0)
    assert InboundMail.objects.count() == 2


# --- A reject stored once ---------------------------------------------------------------


def stored_files() -> list[str]:
    return [name for name in InboundMail.objects.values_list("raw", flat=True) if name]


def test_a_rejected_file_is_stored_once_however_often_it_is_imported(team, tmp_path):
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"this line is no header\n\nand this is no mail\n")

    counts = [run(team, garbage.read_bytes()) for _ in range(3)]

    assert [(c.rejected, c.duplicate) for c in counts] == [(1, 0), (0, 1), (0, 1)]
    assert InboundMail.objects.filter(status=InboundMail.Status.REJECTED).count() == 1
    assert len(stored_files()) == 1


def test_two_copies_of_a_reject_in_one_mbox_are_stored_once(team):
    garbage = b"this line is no header\n\nand this is no mail\n"

    assert (run(team, garbage, garbage).rejected, len(stored_files())) == (1, 1)


def test_a_mail_the_log_refused_is_stored_once_and_replaced_once_it_imports(
    team, engagement, monkeypatch, django_capture_on_commit_callbacks
):
    raw = no_id_mail(sender="vanessa@va-agency.example", subject="Re: Copy")
    check = services.message_check

    def refuse(message, now=None):
        raise ValidationError("The log refused it.")

    monkeypatch.setattr(services, "message_check", refuse)
    assert run(team, raw).rejected == 1
    assert run(team, raw).duplicate == 1
    (kept,) = stored_files()
    monkeypatch.setattr(services, "message_check", check)

    with django_capture_on_commit_callbacks(execute=True):
        fixed = run(team, raw)

    assert fixed.threaded == 1
    assert InboundMail.objects.get().status == InboundMail.Status.THREADED
    assert not default_storage.exists(kept)
    assert run(team, raw).duplicate == 1


# --- Old mail --------------------------------------------------------------------------


LONG_AGO = datetime(2009, 3, 2, 10, 0, tzinfo=UTC)


def imported_request(engagement: Engagement, when: datetime) -> Message:
    """Our request, from an archive imported earlier (the Sent folder)."""
    return services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=when,
        message_id="request@tracker.example",
        source=Message.Source.IMPORT,
    )


def test_mail_from_long_ago_threads_with_its_real_date_and_the_clock_counts_it(team, engagement):
    imported_request(engagement, LONG_AGO - timedelta(days=1))
    reply = no_id_mail(
        sender="vanessa@va-agency.example", in_reply_to="request@tracker.example", when=LONG_AGO
    )

    assert run(team, reply).threaded == 1

    logged = Message.objects.get(engagement=engagement, direction=Message.Direction.INBOUND)
    assert logged.occurred_at == LONG_AGO
    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.replied_at == LONG_AGO
    # Asked on a Sunday; answered on Monday at 11:00 in Berlin: two business hours.
    assert exchange.reply_business_seconds == 2 * 3600


def test_old_mail_in_unsorted_can_be_filed_whatever_its_date(team, engagement):
    result = importer.mail_import(workspace=team.workspace, raw=no_id_mail(when=LONG_AGO), source=IMPORT)
    assert result.outcome == importer.UNSORTED

    message = importer.inbound_assign(inbound=result.inbound, engagement=engagement)

    assert message.occurred_at == LONG_AGO
    assert InboundMail.objects.get().status == InboundMail.Status.THREADED


def test_a_request_answered_more_than_ten_years_later_is_counted_in_calendar_time(team, engagement):
    asked = datetime(2012, 1, 9, 9, 0, tzinfo=UTC)
    imported_request(engagement, asked)
    answered = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

    run(
        team,
        no_id_mail(sender="vanessa@va-agency.example", in_reply_to="request@tracker.example", when=answered),
    )

    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.replied_at == answered
    assert exchange.reply_business_seconds == (answered - asked).total_seconds()


def test_a_hand_typed_entry_is_still_refused_more_than_ten_years_back(engagement):
    with pytest.raises(ValidationError, match="ten years"):
        services.message_log(
            engagement=engagement,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.REPLY,
            occurred_at=LONG_AGO,
        )


def test_a_mail_dated_1970_by_a_mailers_zero_is_logged_as_now(team, engagement):
    raw = no_id_mail(
        sender="vanessa@va-agency.example", subject="Re: Copy", when=datetime(1970, 1, 1, tzinfo=UTC)
    )

    assert run(team, raw).threaded == 1
    assert Message.objects.get(engagement=engagement).occurred_at > timezone.now() - timedelta(minutes=1)
