"""`make cluster-test`: the deployed shape on separate hosts, under load and faults (issue 16).

Each host is a network namespace on one bridge (10.77.0.0/24; root, ``ip netns``): PostgreSQL
(a private cluster from initdb, run as the postgres user), Redis, two web hosts (gunicorn, 3
workers each), two worker hosts, two beat hosts (the second must be harmless), a load host
(locust, and a probe asking both web hosts for a page twice a second) and a sink host (SMTP and
webhook, counting deliveries by idempotency key). Each worker host runs two workers, as the
Procfile does: one for the default queue (flag pass, delivery), one for the bulk queue
(refreshes, imports). Only the namespaces' addresses are used: the
machine's own PostgreSQL and Redis are never touched. Everything is torn down at the end, also on
failure, and leftovers of a crashed run are cleared first.

During the run: restart PostgreSQL, SIGKILL worker host 1 while it holds a flag or delivery
batch and start it again after a pause (as a supervisor would), cut Redis off for 30 s, kill
beat host 1. Then, once things settled: every due flag raised exactly once, every notification
delivered exactly once (the sinks' counts against the outbox), every uploaded message imported
once, every message people saw logged is in the database, web answered throughout except while
PostgreSQL was down and again within 10 s of it coming back. Nonzero exit if any count is off.

Environment: ``CLUSTER_SCALE`` (seed_demo --scale, default 5: about 2,000 messages; 2500 is the
benchmarks' million), ``CLUSTER_SECONDS`` (the loaded run with its faults, default 150),
``CLUSTER_USERS`` (default 4), ``LOAD_WAIT`` (default 0.5 s between a person's clicks),
``CLUSTER_RESTART_AFTER`` (seconds worker host 1 stays dead, default 10),
``CLUSTER_KILL_HOLDING`` (kill it only holding a batch whose log line names this, e.g.
"notifications"; default any batch).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cluster import common

PREFIX = "oc-"
BRIDGE = "ocbr0"
NET = "10.77.0"
HOSTS = {
    "pg": 2,
    "redis": 3,
    "web1": 11,
    "web2": 12,
    "worker1": 21,
    "worker2": 22,
    "beat1": 31,
    "beat2": 32,
    "load": 41,
    "sinks": 51,
}
PG_BIN = Path(os.environ.get("CLUSTER_PG_BIN", "/usr/lib/postgresql/15/bin"))
SCALE = int(os.environ.get("CLUSTER_SCALE", "5"))
SECONDS = int(os.environ.get("CLUSTER_SECONDS", "150"))
USERS = int(os.environ.get("CLUSTER_USERS", "4"))
REDIS_CUT = int(os.environ.get("CLUSTER_REDIS_CUT", "30"))
SETTLE = int(os.environ.get("CLUSTER_SETTLE", "150"))
RESTART_AFTER = float(os.environ.get("CLUSTER_RESTART_AFTER", "10"))
# Seconds after the beats start by which worker host 1 is killed, holding a batch or not: their first
# passes (an interval schedule runs first one interval after start) and deliveries come at ~60 s.
KILL_BY = 80
# Only a batch whose "Holding …" line names this ("notifications", "flag pass"); empty: any batch.
KILL_HOLDING = os.environ.get("CLUSTER_KILL_HOLDING", "")
# A worker's log line: "[time: LEVEL/process] text" (Celery's format, also for our loggers).
LOG_LINE = re.compile(r"^\[[^\]]*: \w+/(?P<process>[^\]]+)\] (?P<text>.*)$")
LEASE = "20"  # seconds: a killed worker's notifications and uploads are picked up again soon


def addr(host: str) -> str:
    return f"{NET}.{HOSTS[host]}"


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, text=True, capture_output=True)


def in_ns(host: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", PREFIX + host, *command]


def teardown() -> None:
    """Kill whatever runs in our namespaces, delete them and the bridge (also a crashed run's)."""
    names = [
        line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line.startswith(PREFIX)
    ]
    for name in names:
        for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.5)
    for name in names:
        sh("ip", "netns", "del", name, check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def network() -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "link", "set", BRIDGE, "up")
    for host, number in HOSTS.items():
        ns, veth = PREFIX + host, f"oc{number}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "master", BRIDGE)
        sh("ip", "link", "set", veth, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{NET}.{number}/24", "dev", "eth0")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")


class Cluster:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.events: list[tuple[float, str]] = []
        self.pgdata = work / "pgdata"

    def start(self, name: str, host: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.work / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            in_ns(host, *command),
            env=env,
            cwd=common.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def log_size(self, name: str) -> int:
        return (self.work / f"{name}.log").stat().st_size

    def held(self, name: str, since: int) -> dict[str, str]:
        """What each process of ``name`` holds, by its log from ``since``: the flag pass and delivery
        log "Holding …" once they claimed a batch, and Celery logs the task's end from the same process."""
        holding: dict[str, str] = {}
        with (self.work / f"{name}.log").open("rb") as source:
            source.seek(since)
            for raw in source:
                if not raw.endswith(b"\n"):
                    break  # a line still being written
                match = LOG_LINE.match(raw.decode(errors="replace").rstrip())
                if match is None:
                    continue
                process, text = match["process"], match["text"]
                if text.startswith("Holding "):
                    holding[process] = text[len("Holding ") :]
                elif text.lower().startswith("task "):
                    holding.pop(process, None)
        return holding

    def mid_batch(self, name: str, since: int, until: float) -> str:
        """Wait (until the monotonic ``until``) for a process of ``name`` to hold a flag or delivery
        batch (one whose log line names KILL_HOLDING); what it holds, or "nothing" when none came in time."""
        while True:
            holding = [what for what in self.held(name, since).values() if KILL_HOLDING in what]
            if holding or time.monotonic() >= until:
                return "; ".join(holding) or "nothing"
            time.sleep(0.02)

    def event(self, what: str) -> None:
        self.events.append((time.time(), what))
        print(f"  {time.strftime('%H:%M:%S')} {what}", flush=True)

    def pg(self, action: str) -> None:
        options = f"-c listen_addresses={addr('pg')} -c unix_socket_directories={self.pgdata} -c fsync=off"
        command = [
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-w",
            "-m",
            "fast",
            "-l",
            str(self.pgdata / "server.log"),
        ]
        if action == "start":
            command += ["-o", options]
        subprocess.run(
            in_ns("pg", "runuser", "-u", "postgres", "--", *command, action),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def postgres(self) -> None:
        self.pgdata.mkdir()
        shutil.chown(self.pgdata, "postgres", "postgres")
        os.chmod(self.work, 0o755)  # nosec B103 (the postgres user reaches its data folder inside)
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "initdb"),
                "-D",
                str(self.pgdata),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {NET}.0/24 trust\n")
        self.pg("start")


def main() -> int:
    if os.geteuid() != 0:
        print("make cluster-test needs root (network namespaces)", file=sys.stderr)
        return 2
    teardown()
    work = Path(tempfile.mkdtemp(prefix="outsourcing-cluster-"))
    cluster = Cluster(work)
    try:
        return run(cluster)
    finally:
        for process in cluster.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        teardown()
        if os.environ.get("CLUSTER_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"(logs kept in {work})")


def run(cluster: Cluster) -> int:
    work = cluster.work
    started = time.monotonic()
    network()
    cluster.postgres()
    cluster.start(
        "redis",
        "redis",
        [
            "redis-server",
            "--bind",
            addr("redis"),
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
    )
    database_url = f"postgres://postgres@{addr('pg')}:5432/outsourcing"
    redis_url = f"redis://{addr('redis')}:6379/0"
    web_hosts = [f"http://{addr('web1')}:8000", f"http://{addr('web2')}:8000"]
    env = common.server_env(
        database_url,
        redis_url,
        [addr("web1"), addr("web2")],
        EMAIL_HOST=addr("sinks"),
        EMAIL_PORT="2525",
        MEDIA_ROOT=str(work / "media"),
        VAR_DIR=str(work / "var"),
        NOTIFICATION_LEASE_SECONDS=LEASE,
        MAIL_UPLOAD_LEASE_SECONDS=LEASE,
        LOAD_SECRET_KEY="",
    )
    # One secret for every host (the sessions prepare makes are signed with it); the media
    # folder stands for shared storage (the uploads a web host keeps, a worker reads).
    env["SECRET_KEY"] = secrets.token_urlsafe(60)
    (work / "var").mkdir()
    common.collectstatic(env)
    cluster.start(
        "sinks", "sinks", [str(common.VENV / "python"), "-m", "cluster.sinks", addr("sinks"), "2525", "8025"]
    )

    print(f"Seeding {database_url} at scale {SCALE}", flush=True)
    plan = work / "plan.json"
    seed_env = {
        **env,
        "DEBUG": "true",
        "CLUSTER_SCALE": str(SCALE),
        # 1: the backlog already due is raised before the run (at a million messages its
        # notifications take longer to deliver than the run waits); 0: the beats raise it under faults.
        "CLUSTER_PREFLAG": os.environ.get("CLUSTER_PREFLAG", "0"),
        "CLUSTER_WEBHOOK_URL": f"http://{addr('sinks')}:8025/hook",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    subprocess.run(
        in_ns("load", str(common.VENV / "python"), "-m", "cluster.prepare", str(plan)),
        env=seed_env,
        cwd=common.ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sessions = json.loads(plan.read_text())["sessions"]

    python, celery = str(common.VENV / "python"), str(common.VENV / "celery")
    worker1 = list(common.workers("worker1", 2))
    for n in (1, 2):
        cluster.start(
            f"web{n}",
            f"web{n}",
            [
                str(common.VENV / "gunicorn"),
                "outsourcing.wsgi",
                "--bind",
                f"{addr(f'web{n}')}:8000",
                "--workers",
                "3",
            ],
            env,
        )
        for name, command in common.workers(f"worker{n}", 2).items():
            cluster.start(name, f"worker{n}", command, env)
    for url in web_hosts:
        common.wait_for_ns("load", f"{url}/healthz")
    # From here on worker host 1's log tells what it holds: the beats' first passes come at once.
    watched_from, beats_started = cluster.log_size("worker1"), time.monotonic()
    for n in (1, 2):
        cluster.start(
            f"beat{n}",
            f"beat{n}",
            [celery, "-A", "outsourcing", "beat", "-l", "info", "-s", str(work / f"beat{n}")],
            env,
        )
    cluster.event("cluster up: 2 web, 2 workers, 2 beats")

    record = work / "record.txt"
    probe_url = "/w/demo/engagements/"
    cluster.start(
        "probe",
        "load",
        [
            python,
            "-m",
            "cluster.probe",
            str(work / "probe.txt"),
            str(SECONDS + 20),
            sessions[0],
            *(u + probe_url for u in web_hosts),
        ],
    )
    load_env = {
        **os.environ,
        "LOAD_PLAN": str(plan),
        "LOAD_RECORD": str(record),
        "LOAD_HOSTS": ",".join(web_hosts),
        "LOAD_WAIT": os.environ.get("LOAD_WAIT", "0.5"),
    }
    cluster.start(
        "locust",
        "load",
        [
            str(common.VENV / "locust"),
            "-f",
            str(common.ROOT / "cluster" / "locustfile.py"),
            "--headless",
            "--only-summary",
            "--host",
            web_hosts[0],
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            f"{SECONDS}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(work / "mix"),
            "--exit-code-on-error",
            "0",
        ],
        load_env,
    )
    t0 = time.time()

    def at(second: float) -> None:
        time.sleep(max(0.0, t0 + second - time.time()))

    at(SECONDS * 0.12)
    cluster.event("PostgreSQL stopping")
    cluster.pg("stop")
    cluster.event("PostgreSQL down")
    time.sleep(3)
    cluster.pg("start")
    cluster.event("PostgreSQL up")
    pg_up = time.time()
    pg_down = next(t for t, what in cluster.events if what == "PostgreSQL stopping")
    # Worker host 1 dies holding a flag pass's or a delivery's batch (or, should it take none in
    # time, whatever it is doing then), and is started again after a pause, as a supervisor would.
    # The beats' first passes, and the deliveries they queue, come a minute after the beats started.
    seen = cluster.mid_batch("worker1", watched_from, beats_started + KILL_BY)
    for name in worker1:
        cluster.kill(name)
    # Read again now that it is dead: a batch it finished before the kill landed is not counted as held.
    held = "; ".join(cluster.held("worker1", watched_from).values())
    cluster.event(f"SIGKILL worker host 1 (holding {held or 'no batch'}; seen holding {seen})")
    time.sleep(RESTART_AFTER)
    for name, command in common.workers("worker1", 2).items():
        cluster.start(name, "worker1", command, env)
    cluster.event(f"worker host 1 started again after {RESTART_AFTER:.0f} s")
    at(SECONDS * 0.45)
    sh(*in_ns("redis", "ip", "link", "set", "eth0", "down"))
    cluster.event(f"Redis cut off ({REDIS_CUT} s)")
    time.sleep(REDIS_CUT)
    sh(*in_ns("redis", "ip", "link", "set", "eth0", "up"))
    cluster.event("Redis back")
    redis_down, redis_up = time.time() - REDIS_CUT, time.time()
    at(SECONDS * 0.75)
    cluster.kill("beat1")
    cluster.event("beat host 1 killed")
    cluster.processes["locust"].wait()
    cluster.event("load finished")
    cluster.processes["probe"].wait()

    return check(cluster, env, plan, record, pg_down, pg_up, redis_down, redis_up, started)


def check(
    cluster: Cluster,
    env: dict[str, str],
    plan: Path,
    record: Path,
    pg_down: float,
    pg_up: float,
    redis_down: float,
    redis_up: float,
    started: float,
) -> int:
    work = cluster.work
    env = {
        **env,
        "CHECK_RECORD": str(record),
        "CHECK_SETTLE": str(SETTLE),
        "CHECK_SINKS": f"http://{addr('sinks')}:8025/counts",
    }
    result = subprocess.run(
        in_ns("load", str(common.VENV / "python"), "-m", "cluster.verify"),
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        print(result.stdout, result.stderr, file=sys.stderr)
        return 1
    counts: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])

    stats = common.read_stats(work / "mix")
    failures = common.read_failures(work / "mix")
    web = web_availability(work / "probe.txt", pg_down, pg_up)
    load_errors = errors_outside(record, pg_down, pg_up)

    print(
        f"\nmake cluster-test: scale {SCALE} ({counts['messages']:,} messages), {USERS} users, {SECONDS} s, "
        f"2 web × 3 gunicorn workers, 2 workers, 2 beats\n"
    )
    common.print_stats(stats)
    print("\nerrors by kind:" + ("".join(f"\n  {n:>5} {kind}" for kind, n in failures.items()) or " none"))
    problems: list[str] = []

    def line(label: str, got: Any, expected: Any, ok: bool) -> None:
        print(f"{label:44} {got!s:>10} {expected!s:>10}  {'ok' if ok else 'OFF'}")
        if not ok:
            problems.append(label)

    print(f"\n{'check':44} {'got':>10} {'expected':>10}")
    line(
        "flags raised (open duplicates 0)",
        counts["flags_raised"],
        counts["flags_raised"] - counts["flag_dupes"],
        counts["flag_dupes"] == 0,
    )
    line("checks still owed after settling", counts["flags_owed"], 0, counts["flags_owed"] == 0)
    due, ghosted = counts["due"], counts["ghosted_due"]
    line("requests past due, flagged", due - counts["due_unflagged"], due, not counts["due_unflagged"])
    line(
        "requests past ghosting, flagged",
        ghosted - counts["ghosted_unflagged"],
        ghosted,
        not counts["ghosted_unflagged"],
    )
    line("flags raised before their deadline", counts["flagged_early"], 0, not counts["flagged_early"])
    line(
        "flags raised after the answer was in",
        counts["flagged_after_answer"],
        0,
        not counts["flagged_after_answer"],
    )
    line(
        "requests whose flag marker is wrong",
        counts["flag_marker_wrong"],
        0,
        not counts["flag_marker_wrong"],
    )
    line(
        "e-mail notifications sent once",
        counts["email_once"],
        counts["email_expected"],
        counts["email_once"] == counts["email_expected"] and not counts["email_twice"],
    )
    line("e-mails delivered more than once", counts["email_twice"], 0, not counts["email_twice"])
    line(
        "webhook notifications sent once",
        counts["webhook_once"],
        counts["webhook_expected"],
        counts["webhook_once"] == counts["webhook_expected"] and not counts["webhook_twice"],
    )
    line("webhooks delivered more than once", counts["webhook_twice"], 0, not counts["webhook_twice"])
    line("notifications not sent", counts["unsent"], 0, counts["unsent"] == 0)
    for kind in ("logged", "uploaded"):
        seen, once, twice = counts["writes"][kind]
        line(f"messages {kind} (seen by people → in DB once)", once, seen, once == seen and not twice)
    line("probe errors outside the PostgreSQL restart", web["errors_outside"], 0, web["errors_outside"] == 0)
    line("people's errors outside the PostgreSQL restart", sum(load_errors.values()), 0, not load_errors)
    for what, n in sorted(load_errors.items()):
        print(f"    {n:>4} {what}")
    line("web recovered after PostgreSQL (s)", f"{web['recovery']:.1f}", "≤ 10", web["recovery"] <= 10)
    print(
        f"\nPostgreSQL down {pg_up - pg_down:.1f} s; Redis cut {redis_up - redis_down:.0f} s; "
        f"probe answers {web['answers']}, failed {web['errors']} ({web['errors_outside']} outside the restart)"
    )
    settled = counts.get("settled")
    print(
        f"settled (nothing owed, queued or importing) {settled:.0f} s after the load"
        if settled is not None
        else f"not settled within CLUSTER_SETTLE ({SETTLE} s) after the load"
    )
    print(f"({time.monotonic() - started:.0f} s in all; logs in {work})")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def errors_outside(record: Path, pg_down: float, pg_up: float) -> dict[str, int]:
    """The requests that failed for the people (locust) outside the PostgreSQL window (+10 s), by page and kind."""
    kinds: dict[str, int] = {}
    for value in common.recorded(record).get("error", []):
        stamp, page, kind = value.split(" ", 2)
        if not (pg_down <= float(stamp) <= pg_up + 10):
            kinds[f"{page} {kind}"] = kinds.get(f"{page} {kind}", 0) + 1
    return kinds


def web_availability(probe: Path, pg_down: float, pg_up: float) -> dict[str, Any]:
    """Failed probe answers outside the PostgreSQL window (+10 s), and seconds to the first 200 after it."""
    answers = errors = outside = 0
    recovered: dict[str, float] = {}
    for line in probe.read_text().splitlines():
        stamp, url, status = line.split()
        when = float(stamp)
        answers += 1
        if status != "200":
            errors += 1
            if not (pg_down <= when <= pg_up + 10):
                outside += 1
        elif when >= pg_up and url not in recovered:
            recovered[url] = when - pg_up
    return {
        "answers": answers,
        "errors": errors,
        "errors_outside": outside,
        "recovery": max(recovered.values(), default=float("inf")),
    }


if __name__ == "__main__":
    raise SystemExit(main())
