"""Error pages and error mails hide connection strings: settings, the environment runserver
copies into request.META, and the traceback's local variables."""

from __future__ import annotations

import os
import secrets
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, technical_500_response

from outsourcing.error_reports import mask_credentials

# Made up at run time: the page also shows the source around each frame, and no real
# password is ever written in the source.
RUN = secrets.token_hex(4)
SECRETS = [
    f"{where}-{RUN}" for where in ("db", "redis", "broker", "cache", "env", "local", "dict", "dsn", "environ")
]


def fail_while_connecting():
    dsn = f"host=db user=tracker password=dsn-{RUN} dbname=tracker"
    url = f"postgres://tracker:local-{RUN}@db:5432/tracker"
    conn_params = {"host": "db", "password": f"dict-{RUN}"}
    raise ConnectionError(f"could not connect to {url.split('@')[1]} ({len(dsn)}, {len(conn_params)})")


@pytest.fixture
def reports(settings, monkeypatch):
    """The debug page and the error mail's text for an error while connecting to the database."""
    settings.DEBUG = True
    settings.DATABASE_URL = f"postgres://tracker:db-{RUN}@db:5432/tracker"
    settings.REDIS_URL = f"redis://:redis-{RUN}@cache:6379/0"
    settings.CELERY_BROKER_URL = f"redis://:broker-{RUN}@cache:6379/0"
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:cache-{RUN}@cache:6379/1",
        },
    }
    monkeypatch.setenv("SENTRY_URL", f"https://key:environ-{RUN}@sentry.example/1")
    # runserver hands the whole environment to Django as request.META.
    request = RequestFactory().get(
        "/", DATABASE_URL=settings.DATABASE_URL, SMTP_URL=f"smtp://me:env-{RUN}@mail"
    )
    try:
        environ = dict(os.environ)  # a frame holding the environment
        fail_while_connecting()
    except ConnectionError:
        info = sys.exc_info()
    assert environ
    page = technical_500_response(request, *info).content.decode()
    text = ExceptionReporter(request, *info).get_traceback_text()
    return page, text


def test_the_debug_page_and_the_error_mail_show_no_password(reports):
    for report in reports:
        leaked = [secret for secret in SECRETS if secret in report]
        assert leaked == []
        assert "********************" in report


def test_what_is_not_secret_stays_readable(reports):
    page, text = reports
    for report in (page, text):
        assert "could not connect to db:5432/tracker" in report
        assert "smtp://me:********************@mail" in report
    # The page's local variables (the mail's text has none).
    assert "host=db user=tracker password=********************" in page
    assert "postgres://tracker:********************@db:5432/tracker" in page


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://tracker:s3cr@t@db:5432/t", "postgres://tracker:***@db:5432/t"),
        ("redis://:pw@h:6379/0,redis://:b@h2/0", "redis://:***@h:6379/0,redis://:***@h2/0"),
        ("amqp://guest:guest@localhost//", "amqp://guest:***@localhost//"),
        ("postgres://postgres@127.0.0.1:5432/db", "postgres://postgres@127.0.0.1:5432/db"),
        ("https://example.com:8080/user@x", "https://example.com:8080/user@x"),
        ("host=db password=abc dbname=x", "host=db password=*** dbname=x"),
        ("/login?user=a&password=abc&next=/", "/login?user=a&password=***&next=/"),
    ],
)
def test_passwords_are_masked_in_urls_and_pairs_and_nothing_else(text, masked):
    assert mask_credentials(text, substitute="***") == masked
