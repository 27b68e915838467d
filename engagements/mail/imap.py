"""Polling IMAP mailboxes: connect, read what is new, import it, remember how far we got.

Each mailbox remembers the folder's UIDVALIDITY and the highest UID it has
imported. A poll asks for ``UID last_uid+1:*``, fetches ``BODY.PEEK[]`` (so
nothing is marked \\Seen for the person who reads the same mailbox) in
batches, and saves ``last_uid`` after each imported batch: a crash mid-poll
re-reads at most one batch, and the importer's Message-ID check makes that
re-read harmless. A folder that was renumbered (new UIDVALIDITY) is read
again from the start for the same reason. Mail stays on the server, opened
read-only, unless the mailbox says to delete what was imported.

Polls are claimed like the flagging pass claims its work: a conditional
UPDATE sets a lease, so two beat ticks or two workers never poll the same
mailbox at once. A poll renews the lease after each batch and releases it
at the end. Nothing a server does (refuses, times out, answers nonsense)
raises out of a poll: the reason is stored, readable, in ``last_error``,
and the next poll is scheduled as usual.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from imapclient import IMAPClient, imap4, tls
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from engagements.mail import importer
from engagements.models import InboundMail, Mailbox
from outsourcing.models import Membership, Role, Workspace
from outsourcing.network import PrivateAddressError, connect_public, private_address, resolves_to_private

logger = logging.getLogger(__name__)

# Messages fetched, imported and remembered together; and the most bytes
# fetched at once (one larger message is fetched alone).
BATCH = 100
BATCH_BYTES = 20 * 1024 * 1024
# How long a claimed poll may run before another worker may take the mailbox
# over; renewed after every batch, so only a stuck poll ever loses it.
LEASE = timedelta(minutes=10)
# A poll waits longer for a slow server than a person clicking "Test connection".
POLL_TIMEOUT = SocketTimeout(connect=20, read=120)
TEST_TIMEOUT = SocketTimeout(connect=10, read=20)

# What identifies the folder a mailbox reads: when one changes, the UIDs
# remembered belong to another folder and the next poll starts over.
LOCATION_FIELDS = ("host", "port", "username", "folder")
MAILBOX_FIELDS = (
    "name",
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "allow_unencrypted_login",
    "folder",
    "delete_after_import",
    "is_active",
)
# An owner's decisions about the password: which server variable holds it, and
# whether it may cross the network in clear. Only owners make them; and where a
# mailbox has one, only owners change where the password goes (DESTINATION_FIELDS):
# a manager could otherwise send the password to a server of their own.
OWNER_FIELDS = ("password_env", "allow_unencrypted_login")
DESTINATION_FIELDS = ("host", "port", "security", "username")


class MailboxError(Exception):
    """A poll or a test could not go on; the message is for people and already translated."""


@dataclass
class PollResult:
    counts: importer.ImportCounts = field(default_factory=importer.ImportCounts)
    deleted: int = 0
    error: str = ""

    @property
    def imported(self) -> int:
        return self.counts.imported

    def __str__(self) -> str:
        if self.error:
            return f"error: {self.error}"
        c = self.counts
        return (
            f"threaded {c.threaded}, unsorted {c.unsorted}, rejected {c.rejected}, "
            f"duplicate {c.duplicate}, deleted {self.deleted}"
        )


# --- password and connection -----------------------------------------------------------------


def _foreign_env_error(mailbox: Mailbox) -> str:
    # The same words whatever the name, set on the server or not: a workspace learns
    # nothing of variables that are not its own.
    return _(
        "The password's environment variable must be named %(prefix)s… (this workspace's number, "
        "then a name): an owner of the workspace has to change it."
    ) % {"prefix": mailbox.password_env_prefix}


def mailbox_password(mailbox: Mailbox) -> str:
    """The password to log in with: the environment variable's when one is named, else the stored one.

    Only a variable of the mailbox's own workspace is read (``Mailbox.password_env_fits``).
    """
    if mailbox.password_env:
        if not mailbox.password_env_fits:
            raise MailboxError(_foreign_env_error(mailbox))
        value = os.environ.get(mailbox.password_env)
        if value is None:
            # Only ever said of the workspace's own variables.
            raise MailboxError(
                _("The environment variable %(name)s is not set on the server.")
                % {"name": mailbox.password_env}
            )
        return value
    if not mailbox.password:
        raise MailboxError(_("No password is stored for this mailbox."))
    return mailbox.password


def _private_error(host: str) -> MailboxError:
    return MailboxError(
        _(
            "“%(host)s” is on a private network, and this server only connects to mail servers on "
            "the internet. Its operator can allow private addresses (MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES)."
        )
        % {"host": host}
    )


def _unencrypted_error() -> str:
    return _(
        "Without TLS or STARTTLS the password would cross the network unencrypted. Choose TLS or "
        "STARTTLS, or an owner of the workspace can allow an unencrypted login for this mailbox."
    )


def check_host(mailbox: Mailbox) -> None:
    """Refuse a server on a private network unless the operator allows it; raises SERVER_ERRORS.

    A workspace manager chooses the host: unchecked, they could make the
    worker connect inside the network it runs in.
    """
    if not settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES and resolves_to_private(mailbox.host, mailbox.port):
        raise _private_error(mailbox.host)


def _connect(host: str, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the mailbox's server, refused before the greeting is read (or a TLS
    handshake begins) when it reached a private address: a name whose answer changed since
    ``check_host`` resolved it (DNS rebinding) learns nothing, and no internal banner is echoed."""
    return connect_public((host, port), timeout, allow_private=settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES)


class _PlainIMAP4(imap4.IMAP4WithTimeout):
    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return _connect(self.host, self.port, timeout if timeout is not None else self._timeout)


class _TlsIMAP4(tls.IMAP4_TLS):
    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = _connect(self.host, self.port, timeout if timeout is not None else self._timeout)
        return tls.wrap_socket(sock, self.ssl_context, self.host)


class PublicIMAPClient(IMAPClient):
    """An IMAPClient whose connection is checked by ``_connect``: imapclient's own classes,
    with the socket opened our way (``_create_IMAP4`` is where imapclient makes them)."""

    def _create_IMAP4(self) -> imap4.IMAP4WithTimeout | tls.IMAP4_TLS:
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _TlsIMAP4(self.host, self.port, self.ssl_context, connect_timeout)
        return _PlainIMAP4(self.host, self.port, connect_timeout)


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's trusted authorities, and the host name too."""
    return ssl.create_default_context()


def _server_text(error: BaseException) -> str:
    """The server's own words from an imaplib error, without the bytes repr around them."""
    text = str(error).strip()
    match = re.fullmatch(r"b(['\"])(.*)\1", text)
    return match.group(2) if match else text


def describe(error: BaseException, mailbox: Mailbox) -> str:
    """A readable, translated sentence for what went wrong talking to the server."""
    if isinstance(error, MailboxError):
        return str(error)
    if isinstance(error, PrivateAddressError):
        return str(_private_error(mailbox.host))
    if isinstance(error, LoginError):
        return _("The server refused the login: %(reason)s") % {"reason": _server_text(error)}
    if isinstance(error, IMAPClientAbortError):
        return _("The server closed the connection: %(reason)s") % {"reason": _server_text(error)}
    if isinstance(error, IMAPClientError):
        return _("The server answered with an error: %(reason)s") % {"reason": _server_text(error)}
    if isinstance(error, socket.gaierror):
        return _("The server name “%(host)s” could not be found.") % {"host": mailbox.host}
    if isinstance(error, ConnectionRefusedError):
        return _("The server refused the connection on port %(port)d.") % {"port": mailbox.port}
    if isinstance(error, TimeoutError):
        return _("The server did not answer in time.")
    if isinstance(error, ssl.SSLCertVerificationError):
        return _("The server's certificate could not be verified: %(reason)s") % {
            "reason": error.verify_message or error.reason or str(error)
        }
    if isinstance(error, ssl.SSLError):
        return _("The secure connection failed: %(reason)s") % {"reason": error.reason or str(error)}
    if isinstance(error, OSError):
        return _("The connection failed: %(reason)s") % {"reason": error.strerror or str(error)}
    return _("Unexpected error: %(error)s") % {"error": type(error).__name__}


# What a conversation with a mail server may raise for reasons outside our code.
SERVER_ERRORS = (MailboxError, IMAPClientError, OSError)


def mailbox_connect(mailbox: Mailbox, *, timeout: SocketTimeout = POLL_TIMEOUT) -> IMAPClient:
    """A logged-in connection (TLS, STARTTLS or plain, as the mailbox says). Raises SERVER_ERRORS.

    Use it in a ``with`` block: that logs out, or closes a connection that broke.
    """
    password = mailbox_password(mailbox)
    if mailbox.security == Mailbox.Security.NONE and not mailbox.allow_unencrypted_login:
        raise MailboxError(_unencrypted_error())
    check_host(mailbox)
    secure = mailbox.security == Mailbox.Security.SSL
    client = PublicIMAPClient(
        mailbox.host,
        mailbox.port,
        ssl=secure,
        ssl_context=tls_context() if secure else None,
        timeout=timeout,
    )
    try:
        if mailbox.security == Mailbox.Security.STARTTLS:
            try:
                client.starttls(tls_context())
            except CapabilityError as error:
                raise MailboxError(
                    _("The server does not offer STARTTLS on this port: choose TLS or another port.")
                ) from error
        try:
            client.login(mailbox.username, password)
        except UnicodeError as error:
            raise MailboxError(
                _("The server cannot take a user name or password with characters outside ASCII.")
            ) from error
    except BaseException:
        with suppress(*SERVER_ERRORS):
            client.shutdown()
        raise
    return client


def _select(client: IMAPClient, mailbox: Mailbox, *, readonly: bool) -> dict[bytes, Any]:
    try:
        return client.select_folder(mailbox.folder, readonly=readonly)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as error:
        raise MailboxError(
            _("The folder “%(folder)s” could not be opened: %(reason)s")
            % {"folder": mailbox.folder, "reason": _server_text(error)}
        ) from error


def mailbox_test(mailbox: Mailbox) -> tuple[int | None, str]:
    """Log in and open the folder: (how many messages it holds, "") or (None, what went wrong)."""
    try:
        with mailbox_connect(mailbox, timeout=TEST_TIMEOUT) as client:
            selected = _select(client, mailbox, readonly=True)
    except SERVER_ERRORS as error:
        return None, describe(error, mailbox)
    return int(selected.get(b"EXISTS", 0)), ""


# --- claiming -------------------------------------------------------------------------------


def mailboxes_claim(now: datetime) -> list[tuple[int, datetime]]:
    """Claim every active mailbox whose poll is due; returns (pk, lease) for each one claimed here.

    Each is taken with a conditional UPDATE that only succeeds while the lease
    is free or expired, so of two concurrent callers exactly one wins each.
    """
    due = Q(is_active=True, next_poll_at__lte=now)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    lease = now + LEASE
    claimed = []
    for pk in Mailbox.objects.filter(due & free).order_by("next_poll_at").values_list("pk", flat=True):
        if Mailbox.objects.filter(due & free, pk=pk).update(lease_until=lease) == 1:
            claimed.append((pk, lease))
    return claimed


def mailbox_claim(pk: int, now: datetime) -> datetime | None:
    """Claim one mailbox now, due or not ("Poll now"); None while another poll holds it."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    lease = now + LEASE
    return lease if Mailbox.objects.filter(free, pk=pk).update(lease_until=lease) == 1 else None


def mailbox_poll_claimed(*, pk: int, lease: datetime | None) -> PollResult | None:
    """Poll a mailbox under the lease its claim returned; without one, claim it first.

    None when there is nothing to do here: the mailbox is gone, another poll
    holds it, or this lease expired and someone else took it over.
    """
    if lease is None:
        lease = mailbox_claim(pk, timezone.now())
        if lease is None:
            return None
    mailbox = Mailbox.objects.select_related("workspace").filter(pk=pk, lease_until=lease).first()
    if mailbox is None:
        return None
    return mailbox_poll(mailbox)


# --- polling --------------------------------------------------------------------------------


def _sized_batches(client: IMAPClient, uids: list[int]) -> Iterator[dict[int, int]]:
    """UID → size in ascending order, in batches of at most BATCH messages and about BATCH_BYTES.

    A message larger than the importer takes counts as the part of it that is fetched.
    """
    cap = settings.MAIL_MAX_BYTES + 1
    for start in range(0, len(uids), BATCH):
        chunk = uids[start : start + BATCH]
        sizes = client.fetch(chunk, ["RFC822.SIZE"])
        batch: dict[int, int] = {}
        total = 0
        for uid in chunk:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if batch and total + min(size, cap) > BATCH_BYTES:
                yield batch
                batch, total = {}, 0
            batch[uid] = size
            total += min(size, cap)
        if batch:
            yield batch


def _fetch(client: IMAPClient, sizes: dict[int, int]) -> list[bytes]:
    """The raw messages, in UID order; one expunged meanwhile by someone else is simply absent.

    Each is fetched as at most its first MAIL_MAX_BYTES + 1 bytes, whatever size
    the server claimed: a larger one arrives cut, which the importer rejects
    (saying why, keeping that part), and the rest is never downloaded.
    """
    found = client.fetch(list(sizes), [f"BODY.PEEK[]<0.{settings.MAIL_MAX_BYTES + 1}>"])
    return [found[uid][b"BODY[]<0>"] for uid in sizes if uid in found and b"BODY[]<0>" in found[uid]]


def _delete_imported(client: IMAPClient, last_uid: int) -> int:
    """Delete what was imported (every UID up to ``last_uid`` under this UIDVALIDITY)."""
    if last_uid < 1:
        return 0
    uids = client.search(["UID", f"1:{last_uid}", "NOT", "DELETED"])
    if not uids:
        return 0
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # Without UIDPLUS an EXPUNGE also removes what others marked deleted: that was their intent.
        client.expunge()
    return len(uids)


def _read_new(client: IMAPClient, mailbox: Mailbox, result: PollResult) -> None:
    """Import what is new in the selected folder, remembering progress after each batch."""
    selected = _select(client, mailbox, readonly=not mailbox.delete_after_import)
    if b"UIDVALIDITY" not in selected:
        raise MailboxError(_("The server does not number the folder's messages reliably (no UIDVALIDITY)."))
    uidvalidity = int(selected[b"UIDVALIDITY"])
    if mailbox.uidvalidity != uidvalidity:
        # Renumbered (or never read): start over; the Message-ID check skips what we have.
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
    if mailbox.delete_after_import:
        # What an earlier poll imported but could not delete (it stopped in between).
        result.deleted += _delete_imported(client, mailbox.last_uid)
    # "N:*" always matches the highest UID, even one below N: keep only the new ones.
    uids = sorted(
        uid for uid in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if uid > mailbox.last_uid
    )
    for sizes in _sized_batches(client, uids):
        batch = list(sizes)
        counts = importer.mail_import_many(
            workspace=mailbox.workspace, raws=_fetch(client, sizes), source=InboundMail.Source.IMAP
        )
        for name in ("threaded", "unsorted", "rejected", "duplicate"):
            setattr(result.counts, name, getattr(result.counts, name) + getattr(counts, name))
        mailbox.last_uid = batch[-1]
        # update(), not save(): a mailbox deleted mid-poll is 0 rows, which ends the poll.
        still_there = Mailbox.objects.filter(pk=mailbox.pk).update(
            last_uid=batch[-1],
            imported_count=F("imported_count") + counts.imported,
            lease_until=timezone.now() + LEASE,
        )
        if not still_there:
            return
        if mailbox.delete_after_import:
            result.deleted += _delete_imported(client, mailbox.last_uid)


def mailbox_poll(mailbox: Mailbox) -> PollResult:
    """Import the folder's new mail into the mailbox's workspace; never raises for the server's faults."""
    result = PollResult()
    try:
        with mailbox_connect(mailbox) as client:
            _read_new(client, mailbox, result)
    except SERVER_ERRORS as error:
        result.error = describe(error, mailbox)
    except Exception as error:
        # A bug of ours, or the database: logged in full; the mailbox shows that polling failed.
        logger.exception("Polling mailbox %s failed", mailbox.pk)
        result.error = describe(error, mailbox)
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=now,
        last_error=result.error[:500],
        next_poll_at=now + timedelta(minutes=settings.MAIL_POLL_MINUTES),
        lease_until=None,
    )
    mailbox.last_polled_at, mailbox.last_error = now, result.error[:500]
    if result.error:
        logger.info("Mailbox %s: %s", mailbox.pk, result.error)
    return result


# --- managing mailboxes ------------------------------------------------------------------------


def _check_owner_fields(mailbox: Mailbox, before: dict[str, Any], by: Membership) -> None:
    """Refuse a change only an owner may make: OWNER_FIELDS, and DESTINATION_FIELDS of a mailbox
    whose password an owner decided about (so a manager cannot redirect it to their own server)."""
    if by.workspace_id == mailbox.workspace_id and by.role == Role.OWNER:
        return
    locked = set(OWNER_FIELDS)
    if any(before[name] for name in OWNER_FIELDS):
        locked |= set(DESTINATION_FIELDS)
    refused = {
        name: _("Only an owner of the workspace can change this.")
        for name in sorted(locked)
        if getattr(mailbox, name) != before[name]
    }
    if refused:
        raise ValidationError(refused)


def _check_password(mailbox: Mailbox) -> None:
    if mailbox.password_env and not mailbox.password_env_fits:
        prefix = mailbox.password_env_prefix
        raise ValidationError(
            {
                "password_env": _(
                    "Use a name that starts with %(prefix)s, followed by capital letters, digits and "
                    "underscores (for example %(example)s)."
                )
                % {"prefix": prefix, "example": f"{prefix}SUPPORT"}
            }
        )
    if not mailbox.password_env and not mailbox.password:
        raise ValidationError(
            {"password": _("Enter the password, or the environment variable that holds it.")}
        )
    if mailbox.security == Mailbox.Security.NONE and not mailbox.allow_unencrypted_login:
        raise ValidationError({"security": _unencrypted_error()})


def _check_host_address(mailbox: Mailbox) -> None:
    """An IP address typed as the host is checked at once; a name is checked when it is resolved."""
    try:
        private = not settings.MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES and private_address(mailbox.host.strip("[]"))
    except ValueError:
        return  # a name, not an address
    if private:
        raise ValidationError({"host": str(_private_error(mailbox.host))})


@transaction.atomic
def mailbox_save(
    *,
    workspace: Workspace,
    by: Membership,
    mailbox: Mailbox | None = None,
    password: str = "",
    **fields: Any,
) -> Mailbox:
    """Add a mailbox (``mailbox`` None) or change one, as the member ``by``; a blank ``password``
    keeps the stored one.

    ``fields`` are MAILBOX_FIELDS; OWNER_FIELDS are an owner's to change (see
    ``_check_owner_fields``). Pointing a mailbox at another server, account or
    folder forgets how far it had read; any change brings its next poll
    forward to the next beat tick.
    """
    unknown = set(fields) - set(MAILBOX_FIELDS)
    if unknown:
        raise TypeError(f"mailbox_save() got unexpected fields: {sorted(unknown)}")
    if mailbox is None:
        target = Mailbox(workspace=workspace)
    else:
        # Read afresh and locked: the caller's instance may carry a form's unsaved values.
        found = Mailbox.objects.select_for_update().filter(pk=mailbox.pk, workspace=workspace).first()
        if found is None:
            raise ValidationError(_("This mailbox was deleted in the meantime."))
        target = found
    before = {name: getattr(target, name) for name in MAILBOX_FIELDS}
    for name, value in fields.items():
        setattr(target, name, value)
    if target.security != Mailbox.Security.NONE:
        # The permission means nothing over TLS; kept, it would outlive the setting it was given for.
        target.allow_unencrypted_login = False
    _check_owner_fields(target, before, by)
    if not 1 <= (target.port or 0) <= 65535:
        raise ValidationError({"port": _("Enter a port between 1 and 65535.")})
    taken = Mailbox.objects.filter(workspace=workspace, name=target.name).exclude(pk=target.pk)
    if target.name and taken.exists():
        raise ValidationError({"name": _("A mailbox with this name already exists.")})
    changed = {name for name in MAILBOX_FIELDS if before[name] != getattr(target, name)}
    if password:
        target.password = password
        changed.add("password")
    target.full_clean()
    _check_password(target)
    _check_host_address(target)
    target.next_poll_at = timezone.now()
    if mailbox is None:
        target.save()
        return target
    if changed & set(LOCATION_FIELDS):
        target.uidvalidity, target.last_uid = None, 0
        changed |= {"uidvalidity", "last_uid"}
    target.save(update_fields=[*sorted(changed), "next_poll_at"])
    return target


def mailbox_delete(*, mailbox: Mailbox) -> None:
    """Stop polling a mailbox and forget it; the mail it brought in stays in the log."""
    mailbox.delete()
