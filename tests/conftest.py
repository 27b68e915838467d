"""Shared fixtures: one workspace with an owner (alice), a member (bob), a viewer
(vera), and charlie, who belongs to another workspace and must see nothing."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client
from django.test.utils import override_settings

from outsourcing.celery import app as celery_app
from outsourcing.models import Membership, Role, User, Workspace
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

# The processes tests start (workers, concurrent flag passes) load the settings as this one
# did: DEBUG off, without the production rules (outsourcing/settings.py, PRODUCTION).
os.environ.setdefault("TESTING", "true")


@dataclass
class Team:
    workspace: Workspace
    alice: User  # owner
    bob: User  # member
    vera: User  # viewer
    charlie: User  # outsider: owner of another workspace
    other_workspace: Workspace

    def client_for(self, user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(workspace=self.workspace, user=user)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Real hashers take most of a second per user; the tests check flows, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _own_cache_database(worker_id, tmp_path_factory):
    """Redis's cache.clear() is FLUSHDB: in the broker's database it would drop the
    tasks another test process has queued, and it would wipe the leases and counters
    other processes' tests are holding. Each test process caches in a database of its
    own, apart from the broker's. Without Redis the rate-limit counters are files:
    each test process keeps them in a folder of its own, not in var/."""
    cache_settings = django_settings.CACHES["default"]
    limits_settings = django_settings.CACHES["ratelimit"]
    if not cache_settings["BACKEND"].endswith("RedisCache"):
        folder = tmp_path_factory.mktemp("ratelimit")
        with override_settings(
            CACHES={"default": cache_settings, "ratelimit": {**limits_settings, "LOCATION": str(folder)}}
        ):
            yield
        return
    url = urlsplit(cache_settings["LOCATION"])
    # Counted from the broker's database: a run against another one (REDIS_URL=…/8) keeps to its own.
    number = int(url.path.strip("/") or 0) + 1
    number += int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    location = url._replace(path=f"/{number}").geturl()
    with override_settings(
        CACHES={
            "default": {**cache_settings, "LOCATION": location},
            "ratelimit": {**limits_settings, "LOCATION": location},
        }
    ):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth and django-ratelimit keep rate limits in the caches: one test's sign-ups must not
    throttle the next."""
    for alias in ("default", "ratelimit"):
        caches[alias].clear()
    yield
    for alias in ("default", "ratelimit"):
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _tasks_run_inline():
    """Tasks queued on commit run in the test process instead of piling up in the
    development broker; the worker tests switch this off to use real workers.

    Set on the Celery app itself: it keeps the first value it read from the
    Django settings, so overriding those would not reach it."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _redis_breakers_closed():
    """A test that made Redis look away must not leave the next one skipping it."""
    from outsourcing.redis_guard import BROKER, CACHE

    yield
    CACHE.reset()
    BROKER.reset()


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def team(db) -> Team:
    workspace = WorkspaceFactory(name="Acme Marketing", slug="acme")
    other = WorkspaceFactory(name="Other Co", slug="other")
    alice = MembershipFactory(workspace=workspace, role=Role.OWNER, user__email="alice@example.com").user
    bob = MembershipFactory(workspace=workspace, role=Role.MEMBER, user__email="bob@example.com").user
    vera = MembershipFactory(workspace=workspace, role=Role.VIEWER, user__email="vera@example.com").user
    charlie = MembershipFactory(workspace=other, role=Role.OWNER, user__email="charlie@example.com").user
    return Team(workspace=workspace, alice=alice, bob=bob, vera=vera, charlie=charlie, other_workspace=other)


@pytest.fixture
def user(db) -> User:
    return UserFactory()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd) that Django's mail goes to."""
    from aiosmtpd.controller import Controller

    from tests.realparts import SmtpInbox, free_port, smtp_settings

    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_settings(settings, port)
    yield inbox
    controller.stop()


@pytest.fixture
def silent_redis():
    """A Redis that accepts connections and never answers (realparts.silent_server)."""
    from tests.realparts import silent_server

    with silent_server() as server:
        yield server


@pytest.fixture
def smtp_down(settings):
    """Django's mail goes to a port nobody listens on: the connection is refused."""
    from tests.realparts import free_port, smtp_settings

    smtp_settings(settings, free_port())


@pytest.fixture
def http_receiver():
    """A real HTTP server on loopback recording what is posted to it (see realparts.HttpReceiver)."""
    from tests.realparts import HttpReceiver

    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def through_the_broker(_tasks_run_inline):
    """Tasks go through the real broker, to a real worker the test starts.

    The queue starts and ends empty: a task a previous test left behind
    (say a beat tick that found nothing to do) must not run first, against
    this test's database.
    """
    import fcntl

    # Parallel test processes share the broker (Redis, or the on-disk folder):
    # one real worker at a time, or one could take another test's tasks and
    # run them against the wrong database.
    with open(Path(tempfile.gettempdir()) / "outsourcing-tests-celery-worker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        celery_app.conf.task_always_eager = False
        celery_app.control.purge()
        try:
            yield
        finally:
            celery_app.control.purge()
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def finished_tasks():
    """Names of the tasks a real worker has finished, with an event set after each.

    Waiting for this rather than polling the database: with SQLite's shared
    in-memory test database, a read from the test thread can lock a table the
    worker thread is writing.
    """
    import threading

    from celery.signals import task_postrun

    done: list[str] = []
    event = threading.Event()

    returned: list[tuple[str, object]] = []

    def record(sender=None, retval=None, **kwargs):
        done.append(sender.name)
        returned.append((sender.name, retval))
        event.set()

    task_postrun.connect(record, weak=False)

    class Finished:
        names = done
        # What each task returned, for the message of a failing wait.
        results = returned

        def wait_for(self, name: str, count: int = 1, seconds: float = 120) -> bool:
            from tests.realparts import wait_for

            return wait_for(lambda: done.count(name) >= count, seconds)

    yield Finished()
    task_postrun.disconnect(record)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print what tests recorded for people to read (the reply corpus's accuracy per set), also under xdist."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == "reply_corpus" and report.when == "call":
                terminalreporter.write_sep("-", "reply text: corpus accuracy per set")
                terminalreporter.write_line(str(value))


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The model (its label) of each query Django compiles from now on (``SQLCompiler.as_sql``)."""
    from django.db.models.sql.compiler import SQLCompiler

    compiled: list[str] = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model._meta.label if self.query.model else "")
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return compiled
