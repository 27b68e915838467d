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
# Independent of the pass's own bookkeeping (next_check_at, escalation): straight from the
# deadlines, the log and the flags, at a moment the last pass has certainly seen (90 s back).
# A request typed in after its reply was due is looked at 10 minutes after it was typed in
# (engagements/deadlines.py, BACKDATE_GRACE); ghosting likewise after the last follow-up.
CUTOFF = "now() - interval '90 seconds'"
GRACE = "interval '10 minutes'"
OPEN_UNANSWERED = (
    "FROM engagements_exchange e JOIN engagements_engagement g ON g.id = e.engagement_id"
    " JOIN engagements_message r ON r.id = e.request_message_id"
    " WHERE e.replied_at IS NULL AND g.status NOT IN ('completed', 'cancelled')"
)
# (GREATEST ignores NULLs: a request without such a deadline must not count as past it.)
REPLY_DUE = f"e.reply_due_at IS NOT NULL AND GREATEST(e.reply_due_at, r.created_at + {GRACE}) < {CUTOFF}"
GHOSTED_DUE_AT = (
    "GREATEST(e.ghosted_due_at, (SELECT max(o.created_at) FROM engagements_message o"  # nosec B608 (constants)
    " WHERE o.engagement_id = e.engagement_id AND o.direction = 'out' AND o.deleted_at IS NULL"
    f" AND o.occurred_at >= e.requested_at) + {GRACE})"
)
DUE = f"SELECT count(*) {OPEN_UNANSWERED} AND {REPLY_DUE}"
DUE_UNFLAGGED = (
    f"{DUE} AND NOT EXISTS (SELECT 1 FROM engagements_flag f"  # nosec B608 (constants)
    " WHERE f.exchange_id = e.id AND f.kind IN ('reply_overdue', 'ghosted'))"
)
GHOSTED_DUE = (
    f"SELECT count(*) {OPEN_UNANSWERED} AND e.ghosted_due_at IS NOT NULL AND {GHOSTED_DUE_AT} < {CUTOFF}"
)
GHOSTED_UNFLAGGED = (
    f"{GHOSTED_DUE} AND NOT EXISTS (SELECT 1 FROM engagements_flag f"  # nosec B608 (constants)
    " WHERE f.exchange_id = e.id AND f.kind = 'ghosted')"
)
# A flag raised before its deadline, or for a request whose answer was already in the log.
FLAGGED_EARLY = "SELECT count(*) FROM engagements_flag f WHERE f.kind IN ('reply_overdue', 'ghosted') AND f.raised_at < f.due_at"
FLAGGED_AFTER_ANSWER = (
    "SELECT count(*) FROM engagements_flag f JOIN engagements_exchange e ON e.id = f.exchange_id"
    " JOIN engagements_message m ON m.id = e.reply_message_id"
    " WHERE f.kind = 'reply_overdue' AND e.replied_at <= f.due_at AND m.created_at < f.raised_at"
)
# Exchanges whose stored "an open flag points here" (Needs attention reads it) disagrees with the flags.
MARKER_WRONG = (
    "SELECT count(*) FROM engagements_exchange e WHERE e.flag_open <> EXISTS (SELECT 1 FROM engagements_flag f"
    " WHERE f.exchange_id = e.id AND f.resolved_at IS NULL)"
)
UPLOADS_OPEN = "SELECT count(*) FROM engagements_mailupload WHERE status NOT IN ('done', 'failed')"


def scalar(cursor: Any, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchone()[0])


def sent_keys(cursor: Any, channel: str) -> set[str]:
    cursor.execute(
        "SELECT idempotency_key FROM engagements_notification WHERE channel = %s AND status = 'sent'",
        [channel],
    )
    return {row[0] for row in cursor.fetchall()}


def main() -> int:
    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    connection.autocommit = True
    cursor = connection.cursor()
    record = Path(os.environ["CHECK_RECORD"])
    waiting = time.monotonic()
    deadline = waiting + int(os.environ.get("CHECK_SETTLE", "150"))
    settled = None  # seconds after the load until nothing was owed, queued or importing
    while time.monotonic() < deadline:
        if not (scalar(cursor, OWED) or scalar(cursor, UNSENT) or scalar(cursor, UPLOADS_OPEN)):
            settled = time.monotonic() - waiting
            break
        time.sleep(3)
    writes = common.missing_writes(cursor, record, wait=max(5.0, deadline - time.monotonic()))
    # The rows sent by now, read before the sinks (so a row sent meanwhile cannot count as sent
    # and unseen) and again after (so a message it reached them with cannot count as unexpected).
    sent_before = {channel: sent_keys(cursor, channel) for channel in ("email", "webhook")}
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
        "due": scalar(cursor, DUE),
        "due_unflagged": scalar(cursor, DUE_UNFLAGGED),
        "ghosted_due": scalar(cursor, GHOSTED_DUE),
        "ghosted_unflagged": scalar(cursor, GHOSTED_UNFLAGGED),
        "flagged_early": scalar(cursor, FLAGGED_EARLY),
        "flagged_after_answer": scalar(cursor, FLAGGED_AFTER_ANSWER),
        "flag_marker_wrong": scalar(cursor, MARKER_WRONG),
        "unsent": scalar(cursor, UNSENT),
        "uploads_open": scalar(cursor, UPLOADS_OPEN),
        "writes": writes,
        "settled": settled,
    }
    for channel in ("email", "webhook"):
        expected = sent_before[channel]
        sent_after = sent_keys(cursor, channel)
        seen = sinks.get(channel, {})
        counts[f"{channel}_expected"] = len(expected)
        counts[f"{channel}_once"] = sum(1 for key in expected if seen.get(key) == 1)
        # The same key again: a receiver that honours the key drops it, but it is counted here.
        counts[f"{channel}_twice"] = sum(1 for n in seen.values() if n > 1)
        counts[f"{channel}_unexpected"] = sum(1 for key in seen if key not in sent_after)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
