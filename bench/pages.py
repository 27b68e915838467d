"""The pages of the load scenario (cluster/locustfile.py), one by one, with their queries (issue 16).

Logs in as the demo team's owner (the person cluster/prepare.py gives a session first) and
requests each page of the locust scenario ``BENCH_REPEAT`` times through Django's test client:
the engagement list, an engagement page (the 500 most recently active, in turn, as the load
picks them), Needs attention, the reliability dashboard, the leaderboard, search (the load's
words in turn), logging a message and uploading a .eml, next to the floor (``/healthz``).
Prints per page the median and p95 in ms, the median CPU time of the web process (what a busy
machine inflates least), the number of queries per request and the share of the time spent
waiting for the database.

Uses ``BENCH_DATABASE_URL`` (default: ``outsourcing_bench``, seeded once with ``seed_demo
--scale BENCH_SCALE`` as bench/__main__.py does). ``BENCH_WRITES=0`` leaves out the two
writes (they add messages to the database); ``BENCH_PAGES`` names the pages to time (all by default).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

from bench.__main__ import DEFAULT_URL, SCALE, seed_demo_once

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
WRITES = os.environ.get("BENCH_WRITES", "1") != "0"
# BENCH_PAGES="needs attention,floor /healthz": time only these pages (their labels, comma-separated).
ONLY = {label.strip() for label in os.environ.get("BENCH_PAGES", "").split(",") if label.strip()}
WORDS = ["invoice", "translation", "design", "review", "delivery", "logo", "draft"]

EML = (
    "From: Bench Provider <provider@bench.test>\r\nTo: team@bench.test\r\nSubject: Re: bench {token}\r\n"
    "Message-ID: <bench-{token}@bench.test>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nA reply uploaded by the bench ({token}).\r\n"
)


@dataclass
class Samples:
    times: list[float] = field(default_factory=list)  # wall clock, ms
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, ms
    queries: list[int] = field(default_factory=list)
    db: list[float] = field(default_factory=list)  # waiting for the database, ms


def _measure(request: Callable[[int], Any], repeat: int) -> Samples:
    """Times, CPU, query counts and database time of ``repeat`` requests, after one to warm up.

    The CPU time is the web process's own (the database's is not in it): on a busy machine
    the wall clock also counts waiting for a core, the CPU time much less so.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request(0)
    samples = Samples()
    for n in range(1, repeat + 1):
        with CaptureQueriesContext(connection) as captured:
            start, start_cpu = time.perf_counter(), time.process_time()
            request(n)
            samples.cpu.append((time.process_time() - start_cpu) * 1000)
            samples.times.append((time.perf_counter() - start) * 1000)
        samples.queries.append(len(captured.captured_queries))
        samples.db.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    return samples


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    seed_demo_once(url, SCALE)

    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from engagements import demo
    from engagements.models import Engagement, Message
    from outsourcing.models import User, Workspace

    settings.ALLOWED_HOSTS = ["*"]
    logging.getLogger("ops.requests").setLevel(logging.WARNING)  # a line per request would be timed too
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    ws = workspace.slug
    client = Client()
    client.force_login(User.objects.get(email="demo@example.com"))
    client.get(f"/w/{ws}/engagements/")  # the CSRF cookie is not checked by the test client
    recent = list(
        Engagement.objects.filter(workspace=workspace)
        .order_by("-last_message_at")
        .values_list("pk", flat=True)[:500]
    )
    when = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)

    def get(path: Callable[[int], str], ok: tuple[int, ...] = (200,)) -> Callable[[int], Any]:
        def request(n: int) -> Any:
            response = client.get(path(n))
            if response.status_code not in ok:
                raise SystemExit(f"{path(n)} answered {response.status_code}")
            return response

        return request

    def log_message(n: int) -> Any:
        response = client.post(
            f"/w/{ws}/engagements/{recent[n % len(recent)]}/messages/",
            {
                "direction": "out",
                "kind": "request",
                "channel": "email",
                "occurred_at": when.strftime("%Y-%m-%dT%H:%M"),
                "subject": f"bench {uuid.uuid4().hex}",
                "body": "Logged by the bench.",
            },
        )
        if response.status_code != 302:
            raise SystemExit(f"logging a message answered {response.status_code}")
        return response

    def upload(n: int) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        token = uuid.uuid4().hex
        eml = EML.format(token=token, date=format_datetime(timezone.now())).encode()
        response = client.post(
            f"/w/{ws}/mail/upload/",
            {"mail_files": SimpleUploadedFile(f"{token}.eml", eml, content_type="message/rfc822")},
        )
        if response.status_code != 302:
            raise SystemExit(f"uploading mail answered {response.status_code}")
        return response

    pages: dict[str, Callable[[int], Any]] = {
        "floor /healthz": get(lambda n: "/healthz"),
        "engagement list": get(lambda n: f"/w/{ws}/engagements/"),
        "engagement page": get(lambda n: f"/w/{ws}/engagements/{recent[n % len(recent)]}/"),
        "needs attention": get(lambda n: f"/w/{ws}/engagements/attention/"),
        "needs attention (least likely)": get(lambda n: f"/w/{ws}/engagements/attention/?order=never"),
        "reliability dashboard": get(lambda n: f"/w/{ws}/reliability/"),
        "leaderboard": get(lambda n: f"/w/{ws}/reliability/providers/"),
        "search": get(lambda n: f"/w/{ws}/search/?q={WORDS[n % len(WORDS)]}"),
    }
    if WRITES:
        pages["log a message"] = log_message
        pages["upload mail"] = upload
    if ONLY:
        pages = {label: request for label, request in pages.items() if label in ONLY}

    print(
        f"PostgreSQL, {Engagement.objects.filter(workspace=workspace).count():,} engagements, "
        f"{Message.objects.filter(workspace=workspace).count():,} messages; "
        f"load average {os.getloadavg()[0]:.2f}; {REPEAT} requests each\n"
    )
    print(f"{'page':30} {'median':>9} {'p95':>9} {'cpu':>9} {'queries':>8} {'db share':>9}")
    for label, request in pages.items():
        got = _measure(request, REPEAT)
        share = sum(got.db) / sum(got.times) if sum(got.times) else 0.0
        print(
            f"{label:30} {statistics.median(got.times):6.1f} ms {_p95(got.times):6.1f} ms "
            f"{statistics.median(got.cpu):6.1f} ms {statistics.median(got.queries):8.0f} {share:8.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
