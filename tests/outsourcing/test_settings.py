"""Settings read from the environment: links in e-mails follow where `make run` serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from outsourcing.settings import site_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"HOST": "localhost", "PORT": "9000"}, "http://localhost:9000"),
        # Honcho renumbers PORT per process (the worker gets 8200): make run's WEB_PORT wins.
        ({"HOST": "127.0.0.1", "PORT": "8200", "WEB_PORT": "8100"}, "http://127.0.0.1:8100"),
        # Listening everywhere: a link cannot name 0.0.0.0, this machine's address reaches it.
        ({"HOST": "0.0.0.0", "PORT": "8001"}, "http://127.0.0.1:8001"),
        ({"HOST": "::1", "PORT": "8001"}, "http://[::1]:8001"),
        ({"SITE_URL": "https://tracker.example.com/", "PORT": "8123"}, "https://tracker.example.com"),
    ],
)
def test_the_site_url_follows_host_and_port_unless_set(environ, expected):
    assert site_url(environ) == expected


@pytest.mark.parametrize("port", ["eighty", "0", "70000", "-1"])
def test_a_bad_port_stops_start_up_naming_the_variable(port):
    with pytest.raises(ImproperlyConfigured, match="PORT must be a port number"):
        site_url({"PORT": port})


def test_the_settings_module_uses_host_and_port_when_site_url_is_unset():
    environ = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "WEB_PORT", "ALLOWED_HOSTS"}}
    environ.update(
        {
            "HOST": "tracker.local",
            "PORT": "8123",
            "DEBUG": "true",
            "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        }
    )
    code = "from django.conf import settings; print(settings.SITE_URL, settings.ALLOWED_HOSTS)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "http://tracker.local:8123 ['127.0.0.1', 'localhost', 'tracker.local']"
