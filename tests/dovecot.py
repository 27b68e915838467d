"""A private Dovecot IMAP server on loopback for the mailbox tests.

Everything it needs lives in one temporary directory: its configuration, a
passwd-file with one test user, the Maildir, the runtime sockets and a
self-signed certificate, so the server speaks plain IMAP, STARTTLS and
implicit TLS. Nothing of the machine's own Dovecot set-up is read or touched.
"""

from __future__ import annotations

import datetime
import getpass
import grp
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient

from tests.realparts import free_port, wait_for

BINARY = "/usr/sbin/dovecot"
USER = "tester"
PASSWORD = "s3cret-imap"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Failed logins are part of the tests: no delay after them, and no penalty for the next ones.
auth_failure_delay = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
default_internal_group = {internal_group}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
{chroot}}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{chroot}}}
"""


def installed() -> bool:
    return os.access(BINARY, os.X_OK)


@dataclass
class Dovecot:
    root: Path
    port: int  # plain IMAP, offering STARTTLS
    tls_port: int  # implicit TLS
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def cafile(self) -> Path:
        """The server's self-signed certificate, for a client that should trust it."""
        return self.root / "cert.pem"

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def client(self) -> IMAPClient:
        """A logged-in plain connection, to put messages in with APPEND and look at what is left."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        subprocess.run(
            [BINARY, "-c", str(self.config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if pid is not None and not wait_for(lambda: not _alive(pid), seconds=10):
            os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _write_certificate(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (root / "key.pem").chmod(0o600)


def start() -> Dovecot:
    """Start a Dovecot of its own and wait until it greets; ``stop()`` ends it and removes its files."""
    # Not pytest's tmp_path: that is private to the user running the tests, and
    # Dovecot's unprivileged processes must reach the sockets and the Maildir.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    _write_certificate(root)
    if os.geteuid() == 0:
        # As root, Dovecot drops to the package's users; it refuses mail access as root,
        # so the Maildir belongs to the package's "dovecot" user.
        account = pwd.getpwnam("dovecot")
        internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
        mail_uid, mail_gid = account.pw_uid, account.pw_gid
        os.chown(root / "mail", mail_uid, mail_gid)
        chroot = ""
    else:
        # Unprivileged, everything runs as the current user and nothing can chroot.
        internal_user = login_user = getpass.getuser()
        internal_group = grp.getgrgid(os.getgid()).gr_name
        mail_uid, mail_gid = os.getuid(), os.getgid()
        chroot = "  chroot =\n"
    server = Dovecot(root=root, port=free_port(), tls_port=free_port())
    server.config.write_text(
        CONFIG.format(
            root=root,
            port=server.port,
            tls_port=server.tls_port,
            internal_user=internal_user,
            internal_group=internal_group,
            login_user=login_user,
            mail_uid=mail_uid,
            mail_gid=mail_gid,
            chroot=chroot,
        )
    )
    # Output to a file, not a pipe: the daemon keeps its inherited descriptors open.
    with open(root / "start.log", "w+") as output:
        started = subprocess.run(
            [BINARY, "-c", str(server.config)], stdout=output, stderr=output, check=False
        )
        output.seek(0)
        messages = output.read()
    if started.returncode != 0 or not wait_for(server.accepts, seconds=20):
        messages += server.log()
        server.stop()
        raise RuntimeError(f"Dovecot did not start:\n{messages}")
    return server
