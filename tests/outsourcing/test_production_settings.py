"""With DEBUG off (the default) the settings are production's: `check --deploy` finds nothing,
and a start with a guessable key or a mail backend that delivers nothing is refused, naming
the variable. Each runs the settings in a fresh process, as a server starts."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def production(**extra: str) -> dict[str, str]:
    """The least a production server is given: a key, its host name and an SMTP server."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "tracker.example.com",
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        **extra,
    }


def run(tmp_path: Path, args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python args`` with only ``environ`` (no DEBUG, no TESTING, no database or broker of the tests)."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        "VAR_DIR": str(tmp_path / "var"),
        **environ,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = run(tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production())

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"System check identified no issues \(\d+ silenced\)\.", result.stdout.strip())
    # Silenced: django-ratelimit's own cache checks (outsourcing/settings.py says why) and, on the
    # embedded SQLite default only, the covering indexes' W040; no deploy check.
    silenced = run(
        tmp_path,
        ["-c", "from django.conf import settings; print(' '.join(settings.SILENCED_SYSTEM_CHECKS))"],
        production(),
    )
    assert silenced.stdout.split() == ["django_ratelimit.E003", "django_ratelimit.W001", "models.W040"]
    on_postgresql = run(
        tmp_path,
        ["-c", "from django.conf import settings; print(' '.join(settings.SILENCED_SYSTEM_CHECKS))"],
        production(DATABASE_URL="postgres://postgres@127.0.0.1:5432/outsourcing"),
    )
    assert on_postgresql.stdout.split() == ["django_ratelimit.E003", "django_ratelimit.W001"]


def test_with_debug_unset_the_site_is_https_only(tmp_path):
    names = [
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "ALLOWED_HOSTS",
    ]
    code = f"import json; from django.conf import settings; print(json.dumps([getattr(settings, n) for n in {names}]))"
    result = run(tmp_path, ["-c", code], production())

    assert result.returncode == 0, result.stderr
    assert dict(zip(names, json.loads(result.stdout), strict=True)) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "ALLOWED_HOSTS": ["tracker.example.com"],
    }


def test_each_https_default_can_be_set_by_its_variable(tmp_path):
    environ = production(
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )
    names = list(environ)[4:]
    code = f"from django.conf import settings; print([getattr(settings, n) for n in {names}])"

    result = run(tmp_path, ["-c", code], environ)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[False, 3600, False, False, False, False]"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is false"),
        ({"SECRET_KEY": "abcdefghij" * 4 + "abcdefgh"}, "SECRET_KEY must be at least 50 characters long"),
        (
            {"SECRET_KEY": "ab" * 40},
            "SECRET_KEY must be at least 50 characters long, with at least 5 different",
        ),
        ({"SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "SECRET_KEY is one of Django's insecure"),
        ({"SECRET_KEY_FALLBACKS": "old-and-short"}, "SECRET_KEY_FALLBACKS must be at least 50 characters"),
        ({"EMAIL_BACKEND": ""}, "EMAIL_BACKEND must deliver mail when DEBUG is false, not "),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            "EMAIL_BACKEND must deliver mail",
        ),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
            "EMAIL_BACKEND must deliver mail",
        ),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
            "EMAIL_BACKEND must deliver mail",
        ),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
            "EMAIL_BACKEND must deliver mail",
        ),
    ],
)
def test_a_start_without_debug_is_refused_naming_the_variable(tmp_path, change, message):
    environ = production(**change)
    if "EMAIL_BACKEND" in change and not change["EMAIL_BACKEND"]:
        del environ["EMAIL_BACKEND"]  # unset: the console, the development default

    result = run(tmp_path, ["manage.py", "check"], environ)

    assert result.returncode != 0
    assert "ImproperlyConfigured: " + message in result.stderr


def test_the_development_key_generated_into_var_is_refused_in_production(tmp_path):
    # With DEBUG on, as for `make run`, nothing else is needed: the key is generated.
    assert run(tmp_path, ["manage.py", "check"], {"DEBUG": "true"}).returncode == 0
    development_key = (tmp_path / "var" / "secret_key").read_text().strip()

    result = run(tmp_path, ["manage.py", "check"], production(SECRET_KEY=development_key))

    assert result.returncode != 0
    assert "SECRET_KEY is the development key generated into" in result.stderr


FILE_MODES = """
import json, os, sqlite3
from pathlib import Path
import django
django.setup()
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
with connection.cursor() as cursor:  # a write: SQLite creates the WAL beside the database
    cursor.execute("CREATE TABLE t (x int)")
    cursor.execute("INSERT INTO t VALUES (1)")
default_storage.save("documents/2026/contract.pdf", ContentFile(b"%PDF"))
var = Path(os.environ["VAR_DIR"])
paths = ["", "secret_key", "db.sqlite3", "db.sqlite3-wal", "broker", "broker/out", "broker/processed",
         "broker/control", "media", "media/documents", "media/documents/2026", "media/documents/2026/contract.pdf"]
print(json.dumps({p: oct((var / p).stat().st_mode & 0o777) for p in paths}))
"""


def test_what_the_app_creates_under_var_is_readable_by_its_user_only(tmp_path):
    code = "import os; os.umask(0o022)\n" + FILE_MODES

    result = run(tmp_path, ["-c", code], {"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    modes = json.loads(result.stdout)
    assert {path for path, mode in modes.items() if mode != "0o700"} == {
        "secret_key",
        "db.sqlite3",
        "db.sqlite3-wal",
        "media/documents/2026/contract.pdf",
    }
    assert {
        modes[p] for p in ("secret_key", "db.sqlite3", "db.sqlite3-wal", "media/documents/2026/contract.pdf")
    } == {"0o600"}


@pytest.mark.django_db
def test_the_health_check_answers_over_plain_http_while_the_site_redirects_to_https():
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"
