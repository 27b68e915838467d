"""The counts after a cluster run, read from its database and sinks (run on the load host).

Waits up to ``CHECK_SETTLE`` seconds for the system to settle (the flag pass caught up, the
outbox empty, the uploads imported), then prints one JSON line for cluster/netns.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg2

from cluster import common

OWED = "SELECT count(*) FROM engagements_exchange WHERE next_check_at <= now() - interval '90 seconds'"
UNSENT = (
    "SELECT count(*) FROM engagements_notification WHERE channel IN ('email', 'webhook')"
    " AND status IN ('pending', 'sending', 'failed')"
)
UPLOADS_OPEN = "SELECT count(*) FROM engagements_mailupload WHERE status NOT IN ('done', 'failed')"


def scalar(cursor: Any, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchone()[0])


def main() -> int:
    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    connection.autocommit = True
    cursor = connection.cursor()
    record = Path(os.environ["CHECK_RECORD"])
    deadline = time.monotonic() + int(os.environ.get("CHECK_SETTLE", "150"))
    while time.monotonic() < deadline:
        if not (scalar(cursor, OWED) or scalar(cursor, UNSENT) or scalar(cursor, UPLOADS_OPEN)):
            break
        time.sleep(3)
    writes = common.missing_writes(cursor, record, wait=max(5.0, deadline - time.monotonic()))
    with urllib.request.urlopen(os.environ["CHECK_SINKS"], timeout=10) as response:  # nosec B310 (the sink host)
        sinks: dict[str, dict[str, int]] = json.loads(response.read())
    counts: dict[str, Any] = {
        "messages": scalar(cursor, "SELECT count(*) FROM engagements_message"),
        "flags_raised": scalar(cursor, "SELECT count(*) FROM engagements_flag"),
        "flag_dupes": scalar(
            cursor,
            "SELECT count(*) FROM (SELECT 1 FROM engagements_flag WHERE exchange_id IS NOT NULL"
            " GROUP BY exchange_id, kind, due_at HAVING count(*) > 1) AS twice",
        ),
        "flags_owed": scalar(cursor, OWED),
        "unsent": scalar(cursor, UNSENT),
        "uploads_open": scalar(cursor, UPLOADS_OPEN),
        "writes": writes,
    }
    for channel in ("email", "webhook"):
        cursor.execute(
            "SELECT idempotency_key FROM engagements_notification WHERE channel = %s AND status = 'sent'",
            [channel],
        )
        expected = {row[0] for row in cursor.fetchall()}
        seen = sinks.get(channel, {})
        counts[f"{channel}_expected"] = len(expected)
        counts[f"{channel}_once"] = sum(1 for key in expected if seen.get(key) == 1)
        # The same key again: a receiver that honours the key drops it, but it is counted here.
        counts[f"{channel}_twice"] = sum(1 for n in seen.values() if n > 1)
        counts[f"{channel}_unexpected"] = sum(1 for key in seen if key not in expected)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
