"""Flagging-pass benchmarks on PostgreSQL (issue 3), printed as figures and ratios.

1. 20,000 open engagements of which 9,000 just became overdue: one pass,
   flags and outbox rows included (target ≤ 1 s).
2. Open engagements none of which is due: one pass at 100,000 and at
   1,000,000 (target ≤ 20 ms, and no growth with the number of rows).
3. The same work as (1) done by one hand-written SQL statement (the same
   index scan, the update and the flag insert): the ratio shows our overhead.

Rows are made with INSERT … SELECT generate_series, in a throw-away database.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_flags"
RUNS = 5


def main() -> int:
    from bench.__main__ import _fresh_workspace

    workspace, user = _fresh_workspace(os.environ.get("BENCH_FLAGS_DATABASE_URL", DEFAULT_URL))
    from django.db import connection

    from engagements.flagging import flag_pass
    from providers.models import Provider

    provider = Provider.objects.create(workspace=workspace, name="P", time_zone="UTC")
    ids = {"ws": workspace.pk, "user": user.pk, "provider": provider.pk}

    def fill(total: int, due: int) -> None:
        with connection.cursor() as c:
            c.execute(
                "TRUNCATE engagements_notification, engagements_flag, engagements_exchange, "
                "engagements_message, engagements_engagement CASCADE"
            )
            c.execute(
                """
                INSERT INTO engagements_engagement (workspace_id, provider_id, owner_id, title, brief, category,
                    priority, fee_currency, status, client_name, created_at, updated_at, awaiting_reply,
                    waiting_since)
                SELECT %(ws)s, %(provider)s, %(user)s, 'Task ' || g, '', '', 2, '', 'requested', '',
                    now(), now(), true, now() - interval '10 days'
                FROM generate_series(1, %(n)s) g
                """,
                {**ids, "n": total},
            )
            c.execute(
                """
                INSERT INTO engagements_message (workspace_id, engagement_id, direction, kind, channel,
                    occurred_at, subject, body, sender, source, message_id, in_reply_to, "references",
                    is_auto_reply, version, created_at, updated_at)
                SELECT %(ws)s, e.id, 'out', 'request', 'email', now() - interval '10 days', '', '', '',
                    'manual', '', '', '', false, 1, now(), now()
                FROM engagements_engagement e
                """,
                ids,
            )
            c.execute(
                """
                INSERT INTO engagements_exchange (workspace_id, engagement_id, request_message_id,
                    requested_at, reply_due_at, followups, escalation, next_check_at)
                SELECT %(ws)s, m.engagement_id, m.id, m.occurred_at,
                    CASE WHEN row_number() OVER (ORDER BY m.id) <= %(due)s
                         THEN now() - interval '1 minute' ELSE now() + interval '3 days' END,
                    0, 0,
                    CASE WHEN row_number() OVER (ORDER BY m.id) <= %(due)s
                         THEN now() - interval '1 minute' ELSE now() + interval '3 days' END
                FROM engagements_message m
                """,
                {**ids, "due": due},
            )
            c.execute("ANALYZE")
            # Flush the fill's writes now, so the timing is not shared with that
            # background work (needs a superuser, as in this set-up).
            c.execute("CHECKPOINT")

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000

    print("Flagging pass, PostgreSQL")
    # A worker runs pass after pass: its URL resolver and translations are warm.
    from django.urls import reverse

    reverse("engagements:detail", kwargs={"ws": "x", "pk": 1})
    report = None

    def run_pass() -> None:
        nonlocal report
        report = flag_pass()

    sql = """
        WITH due AS (
            SELECT id FROM engagements_exchange
            WHERE next_check_at IS NOT NULL AND next_check_at <= now()
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE engagements_exchange x SET escalation = 1, next_check_at = NULL
            FROM due WHERE x.id = due.id
            RETURNING x.id, x.workspace_id, x.engagement_id, x.reply_due_at
        )
        INSERT INTO engagements_flag (workspace_id, engagement_id, exchange_id, kind, due_at, raised_at,
            resolution, reason)
        SELECT workspace_id, engagement_id, id, 'reply_overdue', reply_due_at, now(), '', '' FROM claimed
    """

    def run_sql() -> None:
        with connection.cursor() as c:
            c.execute(sql)

    # Each run needs a fresh table (the pass changes what it reads): fill, then
    # time once; the median of RUNS such runs evens out a busy machine.
    pass_samples, sql_samples = [], []
    for _ in range(RUNS):
        fill(20_000, 9_000)
        pass_samples.append(timed(run_pass))
        fill(20_000, 9_000)
        sql_samples.append(timed(run_sql))
    ms_pass, ms_sql = statistics.median(pass_samples), statistics.median(sql_samples)
    print(
        f"(1) 20,000 open, 9,000 due: one pass (median of {RUNS}) {ms_pass:8.1f} ms  ({report})  "
        f"target <= 1000 ms; runs: {', '.join(f'{x:.0f}' for x in pass_samples)}"
    )
    print(
        f"(3) the same claim + flags in one SQL statement   {ms_sql:8.1f} ms  "
        f"pass / SQL = {ms_pass / ms_sql:.1f}× (the pass also writes {report.notifications if report else 0} "
        "outbox rows)"
    )

    for total in (100_000, 1_000_000):
        fill(total, 0)
        samples = [timed(flag_pass) for _ in range(11)]
        print(
            f"(2) {total:>9,} open, none due: one pass (median of 11) {statistics.median(samples):6.2f} ms"
            "  target <= 20 ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
