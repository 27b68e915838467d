"""Seed a load-test database the way the benchmarks do, and write the plan locust reads.

``python -m cluster.prepare PLAN.json`` with ``DATABASE_URL`` (created if missing) and the
``SECRET_KEY`` the servers use (the sessions are signed with it). Seeds ``seed_demo --scale``
(``CLUSTER_SCALE``; 2500 is the benchmarks' million messages, bench/reliability.py) once (kept
as a dump under var/seeds/ for the next database of that scale), raises
the flags already due as bench/__main__.py does (so the beat's pass measures keeping up, not a
first backlog), and makes one session per member of the demo team who may log messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.__main__ import _prepare_database

SCALE = int(os.environ.get("CLUSTER_SCALE", "10"))


SEEDS = Path(__file__).resolve().parents[1] / "var" / "seeds"


def _seed_dump(scale: int) -> Path:
    """Where a seeded database of this scale is kept: named after what made it (the demo builder)."""
    made_by = hashlib.sha256((Path(__file__).resolve().parents[1] / "engagements" / "demo.py").read_bytes())
    return SEEDS / f"demo-{scale}-{made_by.hexdigest()[:12]}.dump"


def _has_demo(url: str) -> bool:
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('outsourcing_workspace') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT 1 FROM outsourcing_workspace WHERE slug = 'demo'")
        return cursor.fetchone() is not None


def seed(url: str, scale: int = SCALE, *, fresh: bool = False, flag: bool = True) -> None:
    """Create, migrate and seed the database (once: an existing demo workspace is kept).

    Seeding a million messages takes many minutes, restoring them a few: the first seed of a
    scale is dumped under var/seeds/ (pg_dump's custom format) and later databases, the cluster
    test's fresh one each run, are restored from it, then migrated to the code's schema.
    """
    _prepare_database(url, drop=fresh)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true"}
    manage = [sys.executable, "manage.py"]
    dump = _seed_dump(scale)
    restored = False
    if not _has_demo(url) and dump.exists():
        subprocess.run(
            ["pg_restore", "--no-owner", "--no-privileges", "--jobs=2", "--dbname", url, str(dump)],
            check=True,
        )
        restored = True
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True, env=env)
    if not restored and not _has_demo(url):
        subprocess.run([*manage, "seed_demo", "--scale", str(scale)], check=True, env=env)
        SEEDS.mkdir(parents=True, exist_ok=True)
        partial = dump.with_suffix(".partial")
        subprocess.run(["pg_dump", "--format=custom", "--file", str(partial), url], check=True)
        partial.rename(dump)
    if flag:
        subprocess.run(
            [*manage, "flag_overdue", "--no-deliver"], check=True, env=env, stdout=subprocess.DEVNULL
        )
    # As autovacuum leaves a live database: planner statistics, and visibility maps for index-only scans.
    subprocess.run(
        [*manage, "dbshell", "--", "-c", "VACUUM ANALYZE"], check=True, env=env, stdout=subprocess.DEVNULL
    )


def plan(out: Path) -> dict:
    """Sessions, engagements and search words for locust (needs django set up on the database)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from engagements import demo
    from engagements.models import Engagement
    from outsourcing.models import Membership, Role, Workspace

    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    sessions = []
    writers = Membership.objects.filter(workspace=workspace).select_related("user")
    for membership in writers:
        if not membership.has_role(Role.MEMBER):
            continue
        user = membership.user
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    engagements = list(
        Engagement.objects.filter(workspace=workspace)
        .order_by("-last_message_at")
        .values_list("pk", flat=True)[:500]
    )
    now = timezone.now()
    data = {
        "ws": workspace.slug,
        "sessions": sessions,
        "engagements": engagements,
        "words": ["invoice", "translation", "design", "review", "delivery", "logo", "draft"],
        # The log form's "when": an hour back, in the display time zone or not, never in the future.
        "now": timezone.localtime(now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "date": format_datetime(now - timedelta(minutes=5)),
    }
    out.write_text(json.dumps(data))
    return data


def main() -> int:
    out = Path(sys.argv[1])
    url = os.environ["DATABASE_URL"]
    # The cluster test leaves the due flags to its beats (CLUSTER_PREFLAG=0): they raise them under faults.
    seed(url, fresh=os.environ.get("LOAD_FRESH") == "1", flag=os.environ.get("CLUSTER_PREFLAG", "1") == "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    import django

    django.setup()
    from outsourcing.models import Workspace

    webhook = os.environ.get("CLUSTER_WEBHOOK_URL")
    if webhook:
        Workspace.objects.filter(slug="demo").update(webhook_url=webhook)
    plan(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
