"""`make load`'s account of where the CPU went (cluster/common.CpuMeter), checked against processes
that burn a known amount of CPU time: a server in its own session, and a waited-for child as locust is."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from cluster import common

# Burns SECONDS of its own CPU time, says so, then idles until killed (or ends, with "end").
BURNER = """
import sys, time
start = time.process_time()
while time.process_time() - start < float(sys.argv[1]):
    pass
print("burnt", flush=True)
if sys.argv[2:] != ["end"]:
    time.sleep(60)
"""


def test_a_server_and_the_load_generator_are_each_charged_the_cpu_they_burnt():
    server = subprocess.Popen(
        [sys.executable, "-c", BURNER, "0.6"], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        meter = common.CpuMeter({"web": server.pid})
        meter.start()
        assert server.stdout is not None and server.stdout.readline() == "burnt\n"
        subprocess.run([sys.executable, "-c", BURNER, "0.4", "end"], check=True, capture_output=True)
        cores = meter.stop()
    finally:
        server.kill()
        server.wait()
    # Each burnt its loop's CPU time, plus what starting Python costs (well under a tenth of it).
    assert cores["web"] * meter.seconds == pytest.approx(0.6, abs=0.15)
    assert cores["locust"] * meter.seconds == pytest.approx(0.4, abs=0.15)
    assert set(cores) >= {"web", "locust", "other", "idle"}
    assert all(used >= 0 for used in cores.values())


def test_the_cpu_shares_are_printed_by_name_in_cores():
    assert common.format_cpu({"web": 1.234, "idle": 0.5}) == "web 1.23, idle 0.50"


# A worker as gunicorn's: burns, waits for a line, burns again and ends.
WORKER = """
import sys, time
def burn(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
burn(0.5)
print("burnt", flush=True)
sys.stdin.readline()
burn(0.3)
"""

# Its master: starts the worker, passes its word and the line on, and says when it has ended.
MASTER = """
import subprocess, sys
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print(worker.stdout.readline(), end="", flush=True)
worker.stdin.write(sys.stdin.readline())
worker.stdin.flush()
worker.wait()
print("ended", flush=True)
sys.stdin.readline()
"""


def test_a_worker_that_ends_during_the_measure_is_charged_only_its_time_since_the_start():
    master = subprocess.Popen(
        [sys.executable, "-c", MASTER, WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert master.stdin is not None and master.stdout is not None
    try:
        assert master.stdout.readline() == "burnt\n"
        meter = common.CpuMeter({"web": master.pid})
        meter.start()
        master.stdin.write("\n")
        master.stdin.flush()
        assert master.stdout.readline() == "ended\n"
        cores = meter.stop()
    finally:
        master.kill()
        master.wait()
    # Its 0.3 s after the start; the 0.5 s before it count neither for nor against.
    assert cores["web"] * meter.seconds == pytest.approx(0.3, abs=0.1)


def log_line(ended: float, duration_ms: float) -> str:
    return json.dumps(
        {
            "time": time.strftime("%Y-%m-%d %H:%M:%S,", time.localtime(ended))
            + f"{round(ended % 1 * 1000):03d}",
            "logger": "ops.requests",
            "duration_ms": duration_ms,
        }
    )


def test_the_workers_busy_come_from_the_web_logs_request_lines(tmp_path):
    start = 1_800_000_000.0
    log = tmp_path / "web.log"
    log.write_text(
        "\n".join(
            [
                "[2027-01-15 08:00:00 +0000] [1] [INFO] Booting worker with pid: 2",
                log_line(start - 5, 100),  # before the window
                log_line(start + 0.5, 500),  # 0.0–0.5
                log_line(start + 0.75, 500),  # 0.25–0.75
                '{"time": "not a time", "duration_ms": 3}',
            ]
        )
        + "\n"
    )
    shares = common.workers_busy(log, start, start + 1.0, workers=3)
    assert shares == pytest.approx([0.25, 0.5, 0.25, 0.0])


def test_more_requests_at_once_than_workers_count_as_all_busy(tmp_path):
    start = 1_800_000_000.0
    log = tmp_path / "web.log"
    log.write_text("\n".join(log_line(start + 1.0, 1000) for _ in range(3)) + "\n")
    assert common.workers_busy(log, start, start + 2.0, workers=2) == pytest.approx([0.5, 0.0, 0.5])
