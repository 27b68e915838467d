"""`make bench`: page timings on PostgreSQL at demo scale, as ratios to the framework's floor.

Uses ``BENCH_DATABASE_URL`` (default: a throw-away ``outsourcing_bench``
database on the local PostgreSQL), seeds it once with ``seed_demo --scale``
(``BENCH_SCALE``, default 250: ~10,000 engagements and ~100,000 messages),
then times each page as the median of repeated requests through Django's test
client, next to a minimal logged-in page on the same stack.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench"
SCALE = int(os.environ.get("BENCH_SCALE", "250"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))


def _prepare_database(url: str, *, drop: bool = False) -> None:
    name = url.rsplit("/", 1)[-1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        if drop:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def seed_demo_once(url: str, scale: int) -> None:
    """Migrate the database at ``url`` and load the demo at ``scale`` unless it has a workspace; flag and ANALYZE."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    _prepare_database(url)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True)
    subprocess.run([*manage, "seed_demo", "--scale", str(scale), "--if-empty"], check=True)
    subprocess.run([*manage, "flag_overdue", "--no-deliver"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*manage, "dbshell", "--", "-c", "ANALYZE"], check=True, stdout=subprocess.DEVNULL)


def _fresh_workspace(url: str) -> tuple[Any, Any]:
    """A new, migrated throw-away database with one workspace and its owner."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    _prepare_database(url, drop=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from outsourcing.models import Membership, Role, User, Workspace

    workspace = Workspace.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench@example.com", "x")
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return workspace, user


def _getter(client: object, path: str) -> Callable[[], object]:
    """A request that fails the benchmark loudly rather than timing an error page."""

    def request() -> object:
        response = client.get(path)  # type: ignore[attr-defined]
        if response.status_code not in (200, 302):
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    return request


def _median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm caches and connections
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    _prepare_database(url)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True)
    subprocess.run([*manage, "seed_demo", "--scale", str(SCALE)], check=True)
    # The demo's stored due times raise its flags: the attention page has real rows.
    subprocess.run([*manage, "flag_overdue", "--no-deliver"], check=True)
    subprocess.run([*manage, "dbshell", "--", "-c", "ANALYZE"], check=True, stdout=subprocess.DEVNULL)

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from engagements.models import Engagement, Message
    from outsourcing.models import User, Workspace
    from providers.models import Provider

    settings.ALLOWED_HOSTS = ["*"]
    workspace = Workspace.objects.get(slug="demo")
    client = Client()
    client.force_login(User.objects.get(email="demo@example.com"))
    engagement = Engagement.objects.filter(workspace=workspace).order_by("-last_message_at").first()
    provider = Provider.objects.filter(workspace=workspace).order_by("id").first()
    assert engagement is not None and provider is not None

    def get(path: str) -> Callable[[], object]:
        return _getter(client, path)

    ws = workspace.slug
    pages = {
        "floor (logged-in redirect home)": reverse("home"),
        "engagement list": reverse("engagements:list", kwargs={"ws": ws}),
        "engagement list, awaiting reply": reverse("engagements:list", kwargs={"ws": ws}) + "?awaiting=yes",
        "engagement page": reverse("engagements:detail", kwargs={"ws": ws, "pk": engagement.pk}),
        "provider list": reverse("providers:list", kwargs={"ws": ws}),
        "provider page": reverse("providers:detail", kwargs={"ws": ws, "pk": provider.pk}),
        "needs attention": reverse("engagements:attention", kwargs={"ws": ws}),
        "notifications": reverse("notifications:list", kwargs={"ws": ws}),
    }
    counts = (
        Provider.objects.filter(workspace=workspace).count(),
        Engagement.objects.filter(workspace=workspace).count(),
        Message.objects.filter(workspace=workspace).count(),
    )
    print(f"PostgreSQL, {counts[0]:,} providers, {counts[1]:,} engagements, {counts[2]:,} messages")
    print(f"median of {REPEAT} requests each\n")
    floor = None
    for label, path in pages.items():
        ms = _median_ms(get(path))
        floor = floor or ms
        print(f"{label:34} {ms:8.1f} ms   {ms / floor:6.1f}× floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
