"""What `make load` and `make cluster-test` share: the servers' settings, locust, the tables, the checks."""

from __future__ import annotations

import csv
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
# The servers run from the environment that runs this (make's VENV: .venv, or another given as
# `make load VENV=/path`, e.g. one made with another build of Python).
VENV = Path(sys.executable).parent

# Pages people wait for; the floor and the form posts are reported apart.
FLOOR = "floor /healthz"
WRITES = ("log a message", "upload mail")


def server_env(database_url: str, redis_url: str, hosts: Sequence[str], **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) over plain HTTP on private addresses, mail to the sinks."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("LOAD_SECRET_KEY") or secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": ",".join(hosts),
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_TIMEOUT": "5",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
        # The floor page and the uploads come from one address: no per-address limit in the way.
        "RATE_LIMITS": "healthz_ip=1000000/m,mail_webhook_ip=1000000/m",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TESTING", None)
    env.update(extra)
    return env


def workers(name: str, concurrency: int) -> dict[str, list[str]]:
    """The worker processes of one host, as the Procfile starts them: ``name`` reads the default
    queue (the flag pass, notification delivery) with ``concurrency`` slots, ``name-bulk`` the bulk
    queue (reliability refreshes, imports) with one, so the first never waits behind the second."""
    celery = str(VENV / "celery")
    queues = {
        name: (os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"), concurrency),
        f"{name}-bulk": (os.environ.get("CELERY_BULK_QUEUE", "bulk"), 1),
    }
    return {
        process: [
            celery,
            "-A",
            "outsourcing",
            "worker",
            "-n",
            f"{process}@%h",
            "-Q",
            queue,
            "--concurrency",
            str(slots),
            "-l",
            "info",
        ]
        for process, (queue, slots) in queues.items()
    }


class CpuMeter:
    """Where the machine's CPU went between ``start`` and ``stop``, in cores (1.0: one core busy throughout).

    Our servers by name (each leads its own session, so a process counts with its workers), the
    machine's PostgreSQL and Redis by process name, locust as this process's waited-for children
    (it ends before ``stop``), and the rest of the machine's busy time as "other". Locust shares
    the cores with what it measures: its own share is part of the picture.

    Processes come and go (gunicorn's and Celery's workers, PostgreSQL's backends): an ended one's
    whole time moves to its parent's children's times, so each process is counted with those, and
    what an ended one had used before ``start`` is taken off again.
    """

    def __init__(self, servers: dict[str, int]) -> None:
        self.servers = {pid: name for name, pid in servers.items()}
        self.seconds = 0.0  # how long the last measure lasted

    def _sample(self) -> tuple[float, dict[int, tuple[str, float]], float, float]:
        processes: dict[int, tuple[str, float]] = {}
        for process in psutil.process_iter(["name"]):
            try:
                name = self.servers.get(os.getsid(process.pid)) or _SERVICES.get(process.info["name"] or "")
                if name:
                    times = process.cpu_times()
                    used = times.user + times.system + times.children_user + times.children_system
                    processes[process.pid] = (name, used)
            except (psutil.Error, ProcessLookupError):
                continue  # ended meanwhile
        machine = psutil.cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return time.monotonic(), processes, children.ru_utime + children.ru_stime, busy

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        """Cores used by each group, "locust", "other" and "idle" (of ``psutil.cpu_count()``)."""
        began, before, children_before, busy_before = self._start
        ended, after, children_after, busy_after = self._sample()
        seconds = self.seconds = max(ended - began, 1e-9)
        used: dict[str, float] = {}
        for pid, (name, now) in after.items():
            used[name] = used.get(name, 0.0) + now - before.get(pid, (name, 0.0))[1]
        for pid, (name, then) in before.items():
            if pid not in after:
                used[name] = used.get(name, 0.0) - then
        cores = {name: max(seconds_used, 0.0) / seconds for name, seconds_used in sorted(used.items())}
        cores["locust"] = (children_after - children_before) / seconds
        busy = (busy_after - busy_before) / seconds
        cores["other"] = max(busy - sum(cores.values()), 0.0)
        cores["idle"] = max((psutil.cpu_count() or 1) - busy, 0.0)
        return cores


_SERVICES = {"postgres": "PostgreSQL", "redis-server": "Redis"}


def format_cpu(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {used:.2f}" for name, used in cores.items())


def workers_busy(log: Path, start: float, end: float, workers: int) -> list[float]:
    """The share of ``start``–``end`` (epoch seconds) during which 0, 1, … ``workers`` requests were
    inside Django at once, from the web log's request lines (each ends at its time, after its
    duration). Bursts show as much time at both ends and little between.
    """
    changes: list[tuple[float, int]] = []
    with log.open(errors="replace") as lines:
        for line in lines:
            if not line.startswith("{") or '"duration_ms"' not in line:
                continue
            try:
                entry = json.loads(line)
                # Logging's asctime: this machine's local time, to the millisecond.
                seconds, _comma, millis = entry["time"].partition(",")
                ended = time.mktime(time.strptime(seconds, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
                began = ended - float(entry["duration_ms"]) / 1000
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # not a request line of ours
            if ended > start and began < end:
                changes += [(max(began, start), 1), (min(ended, end), -1)]
    spent = [0.0] * (workers + 1)
    inside, last = 0, start
    for moment, change in sorted(changes):
        spent[min(inside, workers)] += moment - last
        inside, last = inside + change, moment
    spent[min(inside, workers)] += end - last
    total = sum(spent) or 1.0
    return [share / total for share in spent]


def collectstatic(env: dict[str, str]) -> None:
    """The production manifest (`make static`), built once: compressing it takes minutes on this machine."""
    if (ROOT / "staticfiles" / "staticfiles.json").exists() and os.environ.get("LOAD_COLLECTSTATIC") != "1":
        return
    print("Collecting the static files (once; LOAD_COLLECTSTATIC=1 redoes it)", flush=True)
    subprocess.run(
        [str(VENV / "python"), "manage.py", "collectstatic", "--no-input", "-v", "0"],
        env=env,
        check=True,
        cwd=ROOT,
    )


def wait_for(url: str, seconds: float = 60) -> float:
    """Seconds until ``url`` answers 200; raises after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310 (http on our own address)
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def locust(
    host: str,
    plan: Path,
    record: Path,
    csv_prefix: Path,
    *,
    users: int,
    seconds: int,
    tags: Sequence[str] = (),
    prefix: Sequence[str] = (),
    max_requests: int = 0,
    pace: float = 0.0,
) -> int:
    """Run the scenario headless, bounded in time (and in requests when max_requests is set);
    with ``pace``, each person clicks that many times a second (cluster/locustfile.py's LOAD_PACE)."""
    env = {
        **os.environ,
        "LOAD_PLAN": str(plan),
        "LOAD_RECORD": str(record),
        "LOAD_MAX_REQUESTS": str(max_requests),
        "LOAD_PACE": str(pace),
        # The locustfile imports cluster.pacing; locust puts only the locustfile's own folder on the path.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        *prefix,
        str(VENV / "locust"),
        "-f",
        str(ROOT / "cluster" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(csv_prefix),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    if tags:
        command += ["--tags", *tags]
    with Path(f"{csv_prefix}.log").open("w") as log:
        return subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode


def read_stats(csv_prefix: Path) -> dict[str, dict[str, Any]]:
    """locust's per-page figures: requests, failures, req/s, p50/p95/p99 (ms)."""
    rows: dict[str, dict[str, Any]] = {}
    with Path(f"{csv_prefix}_stats.csv").open() as source:
        for row in csv.DictReader(source):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
            }
    return rows


def read_failures(csv_prefix: Path) -> dict[str, int]:
    """Errors by kind (locust's message, e.g. ``ConnectionRefusedError`` or ``HTTPError('502 …')``)."""
    kinds: dict[str, int] = {}
    path = Path(f"{csv_prefix}_failures.csv")
    if path.exists():
        with path.open() as source:
            for row in csv.DictReader(source):
                kind = row["Error"][:70]
                kinds[kind] = kinds.get(kind, 0) + int(row["Occurrences"])
    return kinds


def print_stats(stats: dict[str, dict[str, Any]], out: Any = sys.stdout) -> None:
    print(
        f"{'page':24} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}",
        file=out,
    )
    for name, row in sorted(stats.items(), key=lambda item: (item[0] == "Aggregated", item[0])):
        print(
            f"{name:24} {row['requests']:>9} {row['failures']:>7} {row['rps']:>7.1f} "
            f"{row['p50']:>7.0f} {row['p95']:>7.0f} {row['p99']:>7.0f}",
            file=out,
        )


def page_figures(stats: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The pages people read (not the floor, not the posts): their req/s and worst p95."""
    pages = {name: row for name, row in stats.items() if name not in (FLOOR, "Aggregated", *WRITES)}
    return {
        "rps": sum(row["rps"] for row in pages.values()),
        "p95": max((row["p95"] for row in pages.values()), default=0.0),
        "errors": sum(row["failures"] for name, row in stats.items() if name != "Aggregated"),
    }


def recorded(record: Path) -> dict[str, list[str]]:
    """What people saw succeed, by kind (``logged`` subjects, ``uploaded`` Message-IDs)."""
    kinds: dict[str, list[str]] = {"logged": [], "uploaded": []}
    if record.exists():
        for line in record.read_text().splitlines():
            kind, _sep, value = line.partition(" ")
            kinds.setdefault(kind, []).append(value)
    return kinds


def missing_writes(cursor: Any, record: Path, *, wait: float = 90) -> dict[str, tuple[int, int, int]]:
    """For each kind: (seen by people, found exactly once, found more than once), waiting for the imports."""
    kinds = recorded(record)
    deadline = time.monotonic() + wait
    while True:
        cursor.execute(
            "SELECT subject, count(*) FROM engagements_message WHERE subject = ANY(%s) GROUP BY subject",
            [kinds["logged"]],
        )
        logged = dict(cursor.fetchall())
        cursor.execute(
            "SELECT message_id, sum(n) FROM ("
            " SELECT message_id, count(*) AS n FROM engagements_message WHERE message_id = ANY(%s) GROUP BY 1"
            " UNION ALL"
            " SELECT message_id, count(*) FROM engagements_inboundmail WHERE message_id = ANY(%s) GROUP BY 1"
            ") AS found GROUP BY message_id",
            [kinds["uploaded"], kinds["uploaded"]],
        )
        uploaded = dict(cursor.fetchall())
        result = {
            "logged": (
                len(kinds["logged"]),
                sum(n == 1 for n in logged.values()),
                sum(n > 1 for n in logged.values()),
            ),
            "uploaded": (
                len(kinds["uploaded"]),
                sum(n == 1 for n in uploaded.values()),
                sum(n > 1 for n in uploaded.values()),
            ),
        }
        if all(seen == once for seen, once, _twice in result.values()) or time.monotonic() > deadline:
            return result
        time.sleep(2)


def flag_pass_lag(cursor: Any) -> float:
    """Now minus the oldest check the flagging pass still owes (the /metrics gauge): 0 is keeping up."""
    cursor.execute(
        "SELECT coalesce(extract(epoch FROM now() - min(next_check_at)), 0) FROM engagements_exchange"
        " WHERE next_check_at <= now()"
    )
    return float(cursor.fetchone()[0])


def wait_for_ns(namespace: str, url: str, seconds: float = 90) -> float:
    """Like wait_for, asked from inside a network namespace (curl)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        done = subprocess.run(
            ["ip", "netns", "exec", f"oc-{namespace}", "curl", "-sf", "-o", "/dev/null", "-m", "2", url],
            check=False,
        )
        if done.returncode == 0:
            return time.monotonic() - start
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")
