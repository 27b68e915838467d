"""Bulk actions and the grouped Needs attention page on PostgreSQL (issue 15), as figures and ratios.

Seeds ``seed_demo --scale`` once into its own database (``BENCH_BULK_DATABASE_URL``,
default a throw-away ``outsourcing_bench_bulk``; ``BENCH_BULK_SCALE``, default 250:
~10,000 engagements, ~100,000 messages) and runs one flagging pass so Needs
attention has real rows. Then, each as the median of a few runs:

1. snoozing 500 open flags with the bulk service, against 500 single snoozes;
2. moving 500 engagements to another status with the bulk service (to in
   progress, and to on hold, which recomputes their response clocks), against
   single moves (a fifth of them timed, scaled to all);
3. the grouped Needs attention page through Django's test client, next to a
   minimal logged-in page, and its query count.

Every write runs in a transaction that is rolled back, so each run starts from
the same rows and the database can be reused.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from bench.__main__ import REPEAT, _getter, _median_ms, seed_demo_once

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_bulk"
SCALE = int(os.environ.get("BENCH_BULK_SCALE", "250"))
SELECTED = int(os.environ.get("BENCH_BULK_SELECTED", "500"))
RUNS = 5


class _Rollback(Exception):
    pass


def _rolled_back_ms(fn: Callable[[], object]) -> float:
    """How long ``fn`` takes inside a transaction that is then rolled back."""
    from django.db import transaction

    start = time.perf_counter()
    try:
        with transaction.atomic():
            fn()
            elapsed = (time.perf_counter() - start) * 1000
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


def _median_of(fn: Callable[[], object], runs: int = RUNS) -> float:
    _rolled_back_ms(fn)  # warm caches and connections
    return statistics.median(_rolled_back_ms(fn) for _ in range(runs))


def main() -> int:
    seed_demo_once(os.environ.get("BENCH_BULK_DATABASE_URL", DEFAULT_URL), SCALE)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from engagements import bulk, flags, services
    from engagements.models import Engagement, Flag
    from outsourcing.models import User, Workspace

    settings.ALLOWED_HOSTS = ["*"]
    workspace = Workspace.objects.get(slug="demo")
    user = User.objects.get(email="demo@example.com")
    now = timezone.now()
    until = now + timedelta(days=3)

    open_flags = list(Flag.objects.filter(workspace=workspace, resolved_at=None).order_by("id")[:SELECTED])
    flag_ids = [f.pk for f in open_flags]
    requested = list(
        Engagement.objects.filter(workspace=workspace, status=Engagement.Status.REQUESTED)
        .select_related("provider")
        .order_by("id")[:SELECTED]
    )
    engagement_ids = [e.pk for e in requested]
    print(
        f"Bulk actions, PostgreSQL, {Engagement.objects.filter(workspace=workspace).count():,} engagements, "
        f"{Flag.objects.filter(workspace=workspace, resolved_at=None).count():,} open flags; "
        f"median of {RUNS} rolled-back runs"
    )
    if len(flag_ids) < SELECTED or len(engagement_ids) < SELECTED:
        print(
            f"  (only {len(flag_ids)} open flags and {len(engagement_ids)} requested engagements to select)"
        )

    def bulk_snooze() -> None:
        bulk.flags_snooze(workspace=workspace, flag_ids=flag_ids, until=until, by=user)

    def single_snoozes() -> None:
        for flag in open_flags:
            flags.flag_snooze(flag=flag, until=until, by=user)

    ms_bulk, ms_single = _median_of(bulk_snooze), _median_of(single_snoozes, runs=3)
    print(
        f"(1) snooze {len(flag_ids)} flags:   bulk {ms_bulk:8.1f} ms   one at a time {ms_single:8.1f} ms   "
        f"{ms_single / ms_bulk:5.1f}× faster"
    )

    # One at a time is slow (a recompute per engagement for holds): a fifth is timed and scaled.
    sample = requested[: max(len(requested) // 5, 1)]
    for status in (Engagement.Status.IN_PROGRESS, Engagement.Status.ON_HOLD):

        def bulk_move(status: str = status) -> None:
            outcome = bulk.engagements_set_status(
                workspace=workspace, engagement_ids=engagement_ids, status=status, by=user
            )
            assert outcome.moved == len(engagement_ids), outcome

        def single_moves(status: str = status) -> None:
            for engagement in sample:
                services.engagement_set_status(engagement=engagement, status=status, by=user)

        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            _rolled_back_ms(bulk_move)
        ms_bulk = _median_of(bulk_move)
        ms_single = _median_of(single_moves, runs=1) * len(requested) / len(sample)
        print(
            f"(2) {len(engagement_ids)} engagements to {status:11}: bulk {ms_bulk:8.1f} ms "
            f"({len(captured)} queries)   one at a time ≈{ms_single:8.1f} ms   "
            f"{ms_single / ms_bulk:5.1f}× faster"
        )

    client = Client()
    client.force_login(user)
    ws = workspace.slug
    floor = _median_ms(_getter(client, reverse("home")))
    page = reverse("engagements:attention", kwargs={"ws": ws})
    html = client.get(page).content.decode()
    # The rows under the Overdue heading, and the provider headings they are grouped under.
    overdue_html = html.split('data-testid="overdue"', 1)[-1].split(
        'aria-labelledby="our-answers-heading"', 1
    )[0]
    rows, groups = (
        overdue_html.count('data-testid="flag-row"'),
        overdue_html.count('data-testid="provider-group"'),
    )
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        client.get(page)
    ms_page = _median_ms(_getter(client, page))
    print(
        f"(3) Needs attention, grouped: {rows} overdue rows under {groups} provider headings, {len(captured)} queries, median of {REPEAT}: {ms_page:.1f} ms "
        f"({ms_page / floor:.1f}× the {floor:.1f} ms floor)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
