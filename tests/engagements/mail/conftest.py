"""Fixtures for the mailbox tests: a real Dovecot on loopback, a fresh folder per test, mail to put in it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.utils import timezone

from engagements.mail import imap
from engagements.models import Mailbox
from outsourcing.models import Role
from tests import dovecot as dovecot_server
from tests.factories import MembershipFactory


@pytest.fixture
def manager(team):
    """Maria, a manager of alice's workspace: she manages mailboxes, but not what only owners decide."""
    return MembershipFactory(
        workspace=team.workspace, role=Role.MANAGER, user__email="maria@example.com"
    ).user


@pytest.fixture(scope="session")
def dovecot() -> Iterator[dovecot_server.Dovecot]:
    """One private Dovecot per test process (pytest-xdist starts one per worker)."""
    if not dovecot_server.installed():
        if os.environ.get("CI"):
            pytest.fail("Dovecot is not installed, and CI never skips the IMAP tests: check .ci/run")
        pytest.skip("Dovecot is not installed: apt-get install dovecot-imapd")
    server = dovecot_server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _loopback_mail_servers(settings):
    """The test servers listen on loopback, which production refuses for mailboxes;
    the tests of that refusal switch this back off."""
    settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def imap_folder(dovecot) -> Iterator[str]:
    """A folder of its own for each test, so the session's one server starts every test empty."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    with dovecot.client() as client:
        client.create_folder(name)
    yield name
    with dovecot.client() as client:
        if client.folder_exists(name):
            client.delete_folder(name)


@pytest.fixture
def trust_dovecot(dovecot, monkeypatch):
    """Let the code under test trust the test server's self-signed certificate."""
    monkeypatch.setattr(imap, "tls_context", dovecot.tls_context)


def make_mail(
    *,
    subject: str = "Re: Landing page copy",
    sender: str = "vanessa@va-agency.example",
    to: str = "alice@example.com",
    body: str = "Here is the draft.\n",
    message_id: str | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(timezone.now() - timedelta(hours=1))
    m["Message-ID"] = f"<{message_id or uuid.uuid4().hex}@mail.example>"
    m.set_content(body)
    return bytes(m)


def append(dovecot, folder: str, *raws: bytes) -> None:
    """Put messages into the server the way a mail server would: IMAP APPEND."""
    with dovecot.client() as client:
        for raw in raws:
            client.append(folder, raw)


def make_mailbox(workspace, dovecot=None, folder: str = "INBOX", **fields) -> Mailbox:
    """A mailbox on the test server; without one, on a server that is never contacted."""
    values = {
        "name": f"Support {folder}",
        "host": dovecot.host if dovecot else "imap.example.com",
        "port": dovecot.port if dovecot else 993,
        "security": Mailbox.Security.NONE if dovecot else Mailbox.Security.SSL,
        # The test server's plain port: as if an owner had allowed it (a network one trusts).
        "allow_unencrypted_login": bool(dovecot),
        "username": dovecot.user if dovecot else "support@example.com",
        "password": dovecot.password if dovecot else "not-used",
        "folder": folder,
        **fields,
    }
    return Mailbox.objects.create(workspace=workspace, **values)
