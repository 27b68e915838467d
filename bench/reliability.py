"""Reliability pages on PostgreSQL at agency scale (issue 4), as figures and ratios to the floor.

Seeds ``seed_demo --scale 2500`` once (1,000 providers, 100,000 engagements,
about a million messages) into its own throw-away database, then times the
dashboard, the providers leaderboard and a provider's scorecard as the median
of repeated requests, next to a minimal logged-in page on the same stack.
Targets: dashboard and scorecard ≤ 150 ms, leaderboard ≤ 300 ms. Also times
one full recomputation of the workspace's snapshots (the background job).

``BENCH_RELIABILITY_RESEED=1`` drops and seeds the database again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.__main__ import REPEAT, _getter, _median_ms, _prepare_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_reliability"
SCALE = int(os.environ.get("BENCH_RELIABILITY_SCALE", "2500"))
TARGETS = {"dashboard": 150.0, "leaderboard": 300.0, "scorecard": 150.0}


def main() -> int:
    url = os.environ.get("BENCH_RELIABILITY_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    _prepare_database(url, drop=os.environ.get("BENCH_RELIABILITY_RESEED") == "1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], check=True)
    subprocess.run([*manage, "seed_demo", "--scale", str(SCALE)], check=True)

    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from engagements.models import Engagement, Exchange, Message
    from engagements.reliability import snapshots
    from outsourcing.models import User, Workspace
    from providers.models import Provider

    settings.ALLOWED_HOSTS = ["*"]
    workspace = Workspace.objects.get(slug="demo")
    client = Client()
    client.force_login(User.objects.get(email="demo@example.com"))
    # A typical provider: the one with the median number of engagements.
    busy = list(
        Provider.objects.filter(workspace=workspace)
        .annotate(n=Count("engagements"))
        .order_by("n", "pk")
        .values_list("pk", "n")
    )
    provider_pk, provider_engagements = busy[len(busy) // 2]

    started = time.perf_counter()
    rows = snapshots.snapshots_refresh(workspace_id=workspace.pk)
    refresh_s = time.perf_counter() - started

    ws = workspace.slug
    pages = {
        "floor (logged-in redirect home)": reverse("home"),
        "dashboard": reverse("reliability:dashboard", kwargs={"ws": ws}),
        "leaderboard": reverse("reliability:leaderboard", kwargs={"ws": ws}),
        "leaderboard, by median, one category": reverse("reliability:leaderboard", kwargs={"ws": ws})
        + "?sort=median&category=seo",
        "scorecard": reverse("reliability:scorecard", kwargs={"ws": ws, "pk": provider_pk}),
    }
    counts = (
        Provider.objects.filter(workspace=workspace).count(),
        Engagement.objects.filter(workspace=workspace).count(),
        Message.objects.filter(workspace=workspace).count(),
        Exchange.objects.filter(workspace=workspace).count(),
    )
    print("Reliability pages, PostgreSQL")
    print(
        f"{counts[0]:,} providers, {counts[1]:,} engagements, {counts[2]:,} messages, {counts[3]:,} requests; "
        f"the scorecard's provider has {provider_engagements} engagements"
    )
    print(f"full snapshot refresh (background job): {refresh_s:.1f} s for {rows:,} rows")
    print(f"median of {REPEAT} requests each\n")
    floor = None
    for label, path in pages.items():
        ms = _median_ms(_getter(client, path))
        floor = floor or ms
        target = next((t for key, t in TARGETS.items() if label.startswith(key)), None)
        verdict = (
            "" if target is None else f"  target <= {target:.0f} ms: {'met' if ms <= target else 'NOT met'}"
        )
        print(f"{label:40} {ms:8.1f} ms   {ms / floor:6.1f}× floor{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
