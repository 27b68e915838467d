"""Helpers for the tests that run real servers and processes on loopback."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# One process, no chatter with other workers: the test knows what runs where.
WORKER_OPTIONS = (
    "--pool=solo",
    "--without-heartbeat",
    "--without-gossip",
    "--without-mingle",
    "--loglevel=info",
)


def free_port() -> int:
    """A port nobody listens on (aiosmtpd checks readiness by connecting: it needs a real one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def database_url() -> str:
    """The test database as a URL, for processes started by a test (PostgreSQL)."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """A `celery worker` process; its log is read as it comes, so we know when it is ready."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "outsourcing", "worker", *WORKER_OPTIONS],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if " ready." in line:
                self.ready.set()

    def wait_ready(self) -> None:
        # Publishing before the worker has bound its queue could lose the message on Redis.
        if not self.ready.wait(90):
            pytest.fail("the worker did not start:\n" + "".join(self.log))

    def stop(self) -> None:
        """Let a worker still running finish (the end of a test)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


class SmtpInbox:
    """An aiosmtpd handler keeping every envelope; addresses in ``refuse`` are turned away."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse: set[str] = set()
        # The client's address and port per message: one pair per SMTP connection.
        self.peers: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        return "250 OK"

    @property
    def connections(self) -> int:
        return len(set(self.peers))

    @property
    def messages(self) -> list[bytes]:
        return [e.content for e in self.envelopes]

    def mails(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]  # type: ignore[misc]


def smtp_settings(settings, port: int) -> None:
    """Point Django's default mailer at an SMTP server on loopback."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


class HttpReceiver:
    """A real HTTP server on loopback that records each POST; ``/moved`` answers with a redirect."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []  # (path, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((self.path, dict(self.headers), body))
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(204)
                self.end_headers()

            do_POST = do_GET = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def paths(self) -> list[str]:
        return [path for path, _headers, _body in self.received]


class BannerServer:
    """A loopback TCP service that greets whoever connects, as an internal server would, and
    records what the client sent before closing (b"" for nothing)."""

    def __init__(self, banner: bytes = b"* OK internal-banner\r\n") -> None:
        self.banner = banner
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.listener:
            conn, _ = self.listener.accept()
            with conn:
                conn.sendall(self.banner)
                conn.settimeout(5)
                try:
                    self.received.append(conn.recv(100))
                except ConnectionResetError:
                    # Closed with the greeting unread: the kernel resets instead of ending cleanly.
                    self.received.append(b"")

    def finished(self) -> list[bytes]:
        self.thread.join(10)
        return self.received


@dataclass
class SilentServer:
    port: int
    accepted: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    """A real socket that accepts and never answers, as a host behind a cut link does."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = SilentServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            server.accepted.append(client)  # held open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        for client in server.accepted:
            client.close()
        listener.close()


def caches_at(url: str) -> dict[str, dict[str, object]]:
    options = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}
    """The default and rate-limit caches at ``url``, with short timeouts."""
    return {
        "default": {"BACKEND": "outsourcing.cache.ForgivingRedisCache", "LOCATION": url, "OPTIONS": options},
        "ratelimit": {
            "BACKEND": "outsourcing.cache.GuardedRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "rl",
            "OPTIONS": options,
        },
    }
