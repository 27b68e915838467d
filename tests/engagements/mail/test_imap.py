"""IMAP polling against a real Dovecot on loopback: reading, remembering, deleting, failing, claiming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone

from engagements.mail import imap, importer
from engagements.mail.imap_tasks import poll_mailbox, poll_mailboxes
from engagements.models import Engagement, InboundMail, Mailbox, Message
from outsourcing.celery import app as celery_app
from tests.engagements.mail.conftest import append, make_mail, make_mailbox
from tests.factories import EngagementFactory, ProviderFactory
from tests.realparts import BannerServer, free_port

pytestmark = pytest.mark.django_db

TOKEN = "k3y4landing9"


@pytest.fixture
def engagement(team) -> Engagement:
    provider = ProviderFactory(workspace=team.workspace, name="Vanessa VA")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Landing page copy"
    )
    Engagement.objects.filter(pk=engagement.pk).update(routing_token=TOKEN)
    return engagement


@pytest.fixture(autouse=True)
def _any_routing_domain(settings):
    settings.MAIL_ROUTING_DOMAIN = ""


def reply(**kwargs) -> bytes:
    """A reply addressed to the engagement's routing address: the importer threads it."""
    return make_mail(to=f"reply+{TOKEN}@tracker.example", **kwargs)


def stranger(**kwargs) -> bytes:
    """Mail nobody can place: it waits in Unsorted."""
    return make_mail(sender="someone@elsewhere.example", subject="Hello", **kwargs)


def on_server(dovecot, folder: str) -> dict[int, tuple[bytes, ...]]:
    """UID → flags of what the folder holds now."""
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}


def imported(workspace) -> int:
    return InboundMail.objects.filter(workspace=workspace, source=InboundMail.Source.IMAP).count()


# --- reading --------------------------------------------------------------------------------


def test_the_first_poll_imports_every_message_of_the_folder(team, engagement, dovecot, imap_folder):
    append(dovecot, imap_folder, reply(subject="Re: Landing page copy"), stranger(), stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    before = timezone.now()

    result = imap.mailbox_poll(mailbox)

    assert result.error == ""
    assert (result.counts.threaded, result.counts.unsorted, result.imported) == (1, 2, 3)
    logged = Message.objects.get(engagement=engagement)
    assert logged.direction == Message.Direction.INBOUND
    assert logged.subject == "Re: Landing page copy"
    assert InboundMail.objects.filter(status=InboundMail.Status.UNSORTED, source="imap").count() == 2
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3
    assert mailbox.uidvalidity is not None
    assert mailbox.imported_count == 3
    assert mailbox.last_error == ""
    assert mailbox.lease_until is None
    assert mailbox.last_polled_at is not None and mailbox.last_polled_at >= before
    assert mailbox.next_poll_at >= before + timedelta(minutes=5)


def test_a_second_poll_reads_nothing_again(team, engagement, dovecot, imap_folder):
    append(dovecot, imap_folder, reply(), stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    imap.mailbox_poll(mailbox)

    again = imap.mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))

    # Not even fetched and recognised as duplicates: UID 2:* is filtered to nothing.
    assert again.counts.total == 0
    assert imported(team.workspace) == 2
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.imported_count) == (2, 2)


def test_mail_appended_later_is_imported_by_the_next_poll(team, engagement, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    imap.mailbox_poll(mailbox)
    append(dovecot, imap_folder, reply(subject="Re: the second draft"), stranger())

    result = imap.mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))

    assert (result.counts.threaded, result.counts.unsorted, result.counts.duplicate) == (1, 1, 0)
    assert Message.objects.get(engagement=engagement).subject == "Re: the second draft"
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.imported_count) == (3, 3)


def test_many_messages_are_read_in_batches_in_order(team, engagement, dovecot, imap_folder, monkeypatch):
    monkeypatch.setattr(imap, "BATCH", 2)
    append(dovecot, imap_folder, *[stranger(body=f"Number {n}\n") for n in range(5)])
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    saved = []
    real = importer.mail_import_many

    def spy(**kwargs):
        raws = list(kwargs.pop("raws"))
        counts = real(raws=raws, **kwargs)
        saved.append((len(raws), Mailbox.objects.get(pk=mailbox.pk).last_uid))
        return counts

    monkeypatch.setattr(importer, "mail_import_many", spy)

    assert imap.mailbox_poll(mailbox).imported == 5

    # Each batch is imported before last_uid moves past it.
    assert saved == [(2, 0), (2, 2), (1, 4)]
    snippets = list(InboundMail.objects.order_by("pk").values_list("snippet", flat=True))
    assert snippets == [f"Number {n}" for n in range(5)]


def test_messages_stay_on_the_server_and_unread_by_default(team, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger(), stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)

    assert imap.mailbox_poll(mailbox).deleted == 0

    flags = on_server(dovecot, imap_folder)
    assert sorted(flags) == [1, 2]
    assert all(b"\\Seen" not in f and b"\\Deleted" not in f for f in flags.values())


def test_a_renumbered_folder_is_read_again_without_duplicates(team, engagement, dovecot, imap_folder):
    first, second = reply(message_id="first"), stranger(message_id="second")
    append(dovecot, imap_folder, first, second)
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    imap.mailbox_poll(mailbox)
    mailbox.refresh_from_db()
    old_validity = mailbox.uidvalidity
    # Deleted and created again: the server numbers the folder afresh.
    with dovecot.client() as client:
        client.delete_folder(imap_folder)
        client.create_folder(imap_folder)
    append(dovecot, imap_folder, first, second, stranger(message_id="third"))

    result = imap.mailbox_poll(mailbox)

    assert (result.counts.duplicate, result.counts.unsorted, result.counts.threaded) == (2, 1, 0)
    assert imported(team.workspace) == 3
    assert Message.objects.filter(engagement=engagement).count() == 1
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert (mailbox.last_uid, mailbox.imported_count) == (3, 3)


def test_with_delete_after_import_the_imported_messages_are_expunged(team, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger(), stranger(), stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, delete_after_import=True)

    result = imap.mailbox_poll(mailbox)

    assert (result.imported, result.deleted) == (3, 3)
    assert on_server(dovecot, imap_folder) == {}
    append(dovecot, imap_folder, stranger())
    assert imap.mailbox_poll(Mailbox.objects.get(pk=mailbox.pk)).deleted == 1
    assert imported(team.workspace) == 4


def test_a_poll_that_stops_midway_deletes_only_what_it_imported_and_resumes_there(
    team, dovecot, imap_folder, monkeypatch
):
    monkeypatch.setattr(imap, "BATCH", 1)
    append(dovecot, imap_folder, stranger(body="One\n"), stranger(body="Two\n"))
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, delete_after_import=True)
    real = importer.mail_import_many
    calls = []

    def dies_on_the_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real(**kwargs)

    monkeypatch.setattr(importer, "mail_import_many", dies_on_the_second_batch)

    broken = imap.mailbox_poll(mailbox)

    assert broken.error  # recorded, not raised
    assert list(on_server(dovecot, imap_folder)) == [2]  # the first was imported, so deleted
    mailbox.refresh_from_db()
    assert (mailbox.last_uid, mailbox.imported_count, mailbox.lease_until) == (1, 1, None)
    assert mailbox.last_error == broken.error

    monkeypatch.setattr(importer, "mail_import_many", real)
    resumed = imap.mailbox_poll(mailbox)

    assert (resumed.error, resumed.imported, resumed.deleted) == ("", 1, 1)
    assert list(InboundMail.objects.order_by("pk").values_list("snippet", flat=True)) == ["One", "Two"]
    assert on_server(dovecot, imap_folder) == {}
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


@pytest.mark.parametrize("security", [Mailbox.Security.SSL, Mailbox.Security.STARTTLS])
def test_it_polls_over_tls_and_starttls(team, dovecot, imap_folder, trust_dovecot, security):
    append(dovecot, imap_folder, stranger())
    port = dovecot.tls_port if security == Mailbox.Security.SSL else dovecot.port
    mailbox = make_mailbox(
        team.workspace, dovecot, imap_folder, host="localhost", port=port, security=security
    )

    result = imap.mailbox_poll(mailbox)

    assert (result.error, result.imported) == ("", 1)


# --- failing --------------------------------------------------------------------------------


def test_a_wrong_password_is_recorded_and_the_next_poll_still_scheduled(team, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, password="not-it")
    before = timezone.now()

    result = imap.mailbox_poll(mailbox)

    assert result.error.startswith("The server refused the login:")
    assert "Authentication failed" in result.error
    mailbox.refresh_from_db()
    assert mailbox.last_error == result.error
    assert mailbox.next_poll_at >= before + timedelta(minutes=5)
    assert mailbox.last_polled_at is not None and mailbox.last_polled_at >= before
    assert (mailbox.lease_until, mailbox.last_uid) == (None, 0)
    assert imported(team.workspace) == 0


def test_a_missing_folder_is_a_readable_error(team, dovecot):
    mailbox = make_mailbox(team.workspace, dovecot, "No-Such-Folder")

    error = imap.mailbox_poll(mailbox).error

    assert error.startswith("The folder “No-Such-Folder” could not be opened:")


def test_a_closed_port_is_a_readable_error(team):
    mailbox = make_mailbox(team.workspace, host="127.0.0.1", port=free_port())

    assert imap.mailbox_poll(mailbox).error == (f"The server refused the connection on port {mailbox.port}.")


def test_an_untrusted_certificate_is_a_readable_error(team, dovecot, imap_folder):
    mailbox = make_mailbox(
        team.workspace, dovecot, imap_folder, port=dovecot.tls_port, security=Mailbox.Security.SSL
    )

    error = imap.mailbox_poll(mailbox).error

    assert error.startswith("The server's certificate could not be verified:")


def test_a_password_the_protocol_cannot_carry_is_a_readable_error(team, dovecot, imap_folder):
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, password="Grüße")

    assert imap.mailbox_poll(mailbox).error == (
        "The server cannot take a user name or password with characters outside ASCII."
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "192.168.0.10",
        "169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "fec0::1",  # site-local
    ],
)
def test_a_server_on_a_private_network_is_refused_unless_allowed(team, settings, host):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = False
    mailbox = make_mailbox(team.workspace, host=host, port=free_port())

    result = imap.mailbox_poll(mailbox)
    count, tested = imap.mailbox_test(mailbox)

    refusal = (
        f"“{host}” is on a private network, and this server only connects to mail servers on the internet."
    )
    assert result.error.startswith(refusal)
    assert count is None and tested.startswith(refusal)
    assert Mailbox.objects.get(pk=mailbox.pk).last_error.startswith(refusal)


def test_a_server_on_a_private_network_is_polled_when_allowed(
    team, engagement, dovecot, imap_folder, settings
):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = True
    append(dovecot, imap_folder, reply())

    result = imap.mailbox_poll(make_mailbox(team.workspace, dovecot, imap_folder))

    assert (result.error, result.counts.threaded) == ("", 1)


def test_a_name_that_resolves_elsewhere_by_the_time_it_connects_is_refused_before_logging_in(
    team, dovecot, imap_folder, settings, monkeypatch
):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = False
    append(dovecot, imap_folder, reply())
    # The check's lookup saw a public address; the connection then reached loopback (DNS rebinding).
    monkeypatch.setattr(imap, "resolves_to_private", lambda host, port: False)
    logins = []

    class Recording(imap.PublicIMAPClient):
        def login(self, username, password):
            logins.append(username)
            return super().login(username, password)

    monkeypatch.setattr(imap, "PublicIMAPClient", Recording)

    result = imap.mailbox_poll(make_mailbox(team.workspace, dovecot, imap_folder))

    assert "is on a private network" in result.error
    assert logins == []
    assert not InboundMail.objects.exists()


def test_an_address_form_of_loopback_is_refused_too(team, settings):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = False
    for host in ["::1", "::ffff:127.0.0.1", "0.0.0.0"]:
        mailbox = make_mailbox(team.workspace, host=host, port=free_port(), name=host)

        assert "is on a private network" in imap.mailbox_poll(mailbox).error, host


@pytest.mark.parametrize("security", [Mailbox.Security.SSL, Mailbox.Security.STARTTLS])
def test_a_name_rebound_to_an_internal_service_learns_nothing_of_it(team, settings, monkeypatch, security):
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = False
    # The check's lookup saw a public address; the connection then reached an internal service.
    monkeypatch.setattr(imap, "resolves_to_private", lambda host, port: False)
    internal = BannerServer(b"SSH-2.0-OpenSSH_9.2p1 build-7.corp.internal\r\n")
    mailbox = make_mailbox(team.workspace, host="127.0.0.1", port=internal.port, security=security)

    result = imap.mailbox_poll(mailbox)

    assert result.error.startswith("“127.0.0.1” is on a private network")
    assert "internal" not in result.error and "SSH" not in result.error
    # Refused before the greeting was read or a TLS handshake began: not a byte went out.
    assert internal.finished() == [b""]


@pytest.mark.parametrize("sizes", ["told", "understated"])
def test_a_message_larger_than_the_limit_is_rejected_without_being_downloaded(
    team, engagement, dovecot, imap_folder, settings, monkeypatch, sizes
):
    settings.MAIL_MAX_BYTES = 4000
    large = reply(subject="Re: the huge file", body=("y" * 76 + "\n") * 200)
    append(dovecot, imap_folder, reply(subject="Re: small"), large, stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)
    fetched: list[int] = []
    real_fetch = imap.IMAPClient.fetch

    def spy(client, messages, data, *args, **kwargs):
        response = real_fetch(client, messages, data, *args, **kwargs)
        if sizes == "understated" and data == ["RFC822.SIZE"]:
            # A server that claims every message is tiny gets no further than an honest one.
            return {uid: {**item, b"RFC822.SIZE": 1} for uid, item in response.items()}
        fetched.extend(
            len(value) for item in response.values() for key, value in item.items() if key.startswith(b"BODY")
        )
        return response

    monkeypatch.setattr(imap.IMAPClient, "fetch", spy)

    result = imap.mailbox_poll(mailbox)

    assert (result.error, result.counts.threaded, result.counts.unsorted, result.counts.rejected) == (
        "",
        1,
        1,
        1,
    )
    assert len(large) > 15000
    assert max(fetched) == 4001  # only the part the importer needs to refuse it
    rejected = InboundMail.objects.get(status=InboundMail.Status.REJECTED)
    assert rejected.reason.startswith("The file is larger than")
    assert rejected.raw.size == 4001
    assert Mailbox.objects.get(pk=mailbox.pk).last_uid == 3


def test_an_error_is_cleared_by_the_next_good_poll(team, dovecot, imap_folder):
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, password="not-it")
    imap.mailbox_poll(mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(password=dovecot.password)

    imap.mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))

    assert Mailbox.objects.get(pk=mailbox.pk).last_error == ""


# --- passwords ------------------------------------------------------------------------------


def test_the_password_can_come_from_the_environment(team, dovecot, imap_folder, monkeypatch):
    variable = f"IMAP_PASSWORD_{team.workspace.pk}_SUPPORT"
    monkeypatch.setenv(variable, dovecot.password)
    append(dovecot, imap_folder, stranger())
    # A stored password, wrong on purpose: the environment's wins.
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, password="stale", password_env=variable)

    result = imap.mailbox_poll(mailbox)

    assert (result.error, result.imported) == ("", 1)


def test_a_missing_environment_variable_of_the_workspace_is_a_clear_error(team, monkeypatch):
    variable = f"IMAP_PASSWORD_{team.workspace.pk}_GONE"
    monkeypatch.delenv(variable, raising=False)
    mailbox = make_mailbox(team.workspace, password="", password_env=variable)

    assert (
        imap.mailbox_poll(mailbox).error == f"The environment variable {variable} is not set on the server."
    )


def test_only_variables_named_for_the_workspaces_mailbox_passwords_are_read(team, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "the-real-secret-key")
    mailbox = make_mailbox(team.workspace, password="", password_env="SECRET_KEY")

    with pytest.raises(imap.MailboxError, match=f"must be named IMAP_PASSWORD_{team.workspace.pk}_…"):
        imap.mailbox_password(mailbox)
    assert f"IMAP_PASSWORD_{team.workspace.pk}_" in imap.mailbox_poll(mailbox).error


def test_the_password_is_stored_encrypted(team):
    mailbox = make_mailbox(team.workspace, password="correct horse battery")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT password FROM {Mailbox._meta.db_table} WHERE id = %s", [mailbox.pk])
        (stored,) = cursor.fetchone()

    assert stored
    assert "correct horse" not in stored
    assert Mailbox.objects.get(pk=mailbox.pk).password == "correct horse battery"


# --- claiming -------------------------------------------------------------------------------


def test_a_claimed_mailbox_is_not_claimed_again_until_the_lease_expires(team):
    mailbox = make_mailbox(team.workspace)
    now = timezone.now()

    claimed = imap.mailboxes_claim(now)

    assert claimed == [(mailbox.pk, now + imap.LEASE)]
    assert imap.mailboxes_claim(now + timedelta(seconds=1)) == []
    assert imap.mailbox_claim(mailbox.pk, now + timedelta(seconds=1)) is None
    later = now + imap.LEASE + timedelta(seconds=1)
    assert imap.mailboxes_claim(later) == [(mailbox.pk, later + imap.LEASE)]


def test_only_active_mailboxes_whose_poll_is_due_are_claimed(team):
    now = timezone.now()
    due = make_mailbox(team.workspace, name="Due", next_poll_at=now)
    make_mailbox(team.workspace, name="Off", is_active=False)
    make_mailbox(team.workspace, name="Later", next_poll_at=now + timedelta(minutes=1))

    assert [pk for pk, _lease in imap.mailboxes_claim(now)] == [due.pk]


def test_a_poll_whose_lease_was_taken_over_does_nothing(team, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger())
    now = timezone.now()
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, next_poll_at=now - timedelta(hours=1))
    [(_pk, stale)] = imap.mailboxes_claim(now - imap.LEASE - timedelta(minutes=1))
    [(_pk, current)] = imap.mailboxes_claim(now)

    assert imap.mailbox_poll_claimed(pk=mailbox.pk, lease=stale) is None
    assert imported(team.workspace) == 0
    assert imap.mailbox_poll_claimed(pk=mailbox.pk, lease=current).imported == 1


def test_poll_now_waits_for_a_poll_in_progress(team, dovecot, imap_folder):
    append(dovecot, imap_folder, stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder, is_active=False)
    imap.mailbox_claim(mailbox.pk, timezone.now())

    assert poll_mailbox(mailbox.pk) == "skipped"
    assert imported(team.workspace) == 0

    Mailbox.objects.filter(pk=mailbox.pk).update(lease_until=None)
    # "Poll now" works on a mailbox whose polling is off too: a person asked for it.
    assert poll_mailbox(mailbox.pk).startswith("threaded 0, unsorted 1")


def test_the_beat_task_polls_every_due_mailbox_once(team, engagement, dovecot, imap_folder):
    append(dovecot, imap_folder, reply())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)

    assert poll_mailboxes() == 1
    # Polled, so no longer due.
    assert poll_mailboxes() == 0

    assert Message.objects.filter(engagement=engagement).count() == 1
    mailbox.refresh_from_db()
    assert (mailbox.imported_count, mailbox.lease_until, mailbox.last_error) == (1, None, "")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_polls_the_due_mailboxes(
    team, engagement, dovecot, imap_folder, through_the_broker, finished_tasks
):
    append(dovecot, imap_folder, reply(), stranger())
    mailbox = make_mailbox(team.workspace, dovecot, imap_folder)

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        poll_mailboxes.delay()
        assert finished_tasks.wait_for("engagements.tasks.poll_mailbox"), finished_tasks.results
        # A second beat tick finds nothing due: nothing is read twice.
        poll_mailboxes.delay()
        assert finished_tasks.wait_for("engagements.tasks.poll_mailboxes", count=2)

    assert finished_tasks.names.count("engagements.tasks.poll_mailbox") == 1
    mailbox.refresh_from_db()
    assert (mailbox.imported_count, mailbox.last_uid, mailbox.last_error) == (2, 2, "")
    assert Message.objects.filter(engagement=engagement).count() == 1
    assert imported(team.workspace) == 2
