"""Helpers for the tests that run real servers and processes on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from django.db import connection


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
