"""Four OS processes run the flagging pass at once over 2,000 due engagements on
PostgreSQL: exactly 2,000 flags, exactly one e-mail notification each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from engagements.models import Engagement, Exchange, Flag, Message, Notification
from tests.factories import ProviderFactory
from tests.realparts import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
N = 2000

# Each process waits for the same start instant, then runs one pass in small
# batches so their claims interleave.
SCRIPT = """
import json, os, sys, time
import django
django.setup()
from engagements.flagging import flag_pass
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
report = flag_pass(batch_size=50)
print(json.dumps({"raised": report.raised_overdue, "notifications": report.notifications}))
"""


def _due_engagements(team, count: int) -> None:
    provider = ProviderFactory(workspace=team.workspace, time_zone="UTC", country="")
    now = timezone.now()
    engagements = Engagement.objects.bulk_create(
        Engagement(
            workspace=team.workspace,
            provider=provider,
            owner=team.alice,
            title=f"Task {i}",
            status=Engagement.Status.REQUESTED,
            awaiting_reply=True,
        )
        for i in range(count)
    )
    messages = Message.objects.bulk_create(
        Message(
            workspace=team.workspace,
            engagement=e,
            direction="out",
            kind="request",
            occurred_at=now - timedelta(days=10),
        )
        for e in engagements
    )
    Exchange.objects.bulk_create(
        Exchange(
            workspace=team.workspace,
            engagement=e,
            request_message=m,
            requested_at=m.occurred_at,
            reply_due_at=now - timedelta(days=5),
            next_check_at=now - timedelta(days=5),
        )
        for e, m in zip(engagements, messages, strict=True)
    )


def test_four_concurrent_passes_raise_each_flag_exactly_once(team):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED claims are a PostgreSQL feature; SQLite serialises writers instead")
    _due_engagements(team, N)
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "outsourcing.settings"}
    start = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(start)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        reports.append(json.loads(out.strip().splitlines()[-1]))

    print("raised per process:", [r["raised"] for r in reports])  # noqa: T201 - shown with -s
    assert sum(r["raised"] for r in reports) == N
    assert Flag.objects.filter(kind=Flag.Kind.REPLY_OVERDUE).count() == N
    emails = Notification.objects.filter(channel=Notification.Channel.EMAIL)
    assert emails.count() == N
    assert emails.values("flag_id").distinct().count() == N
