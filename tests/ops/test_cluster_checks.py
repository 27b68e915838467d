"""The counting that `make cluster-test` and `make load` decide with (cluster/): each can fail."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from cluster import common, netns, sinks


def test_probe_failures_during_the_postgresql_restart_are_allowed_and_the_recovery_is_timed(tmp_path):
    probe = tmp_path / "probe.txt"
    probe.write_text(
        "100.0 http://a/ 200\n"
        "105.0 http://a/ 500\n"  # PostgreSQL down from 104 to 108
        "109.0 http://a/ 200\n"
        "150.0 http://a/ TimeoutError\n"  # outside the window: counted
    )
    web = netns.web_availability(probe, pg_down=104.0, pg_up=108.0)
    assert (web["answers"], web["errors"], web["errors_outside"]) == (4, 2, 1)
    assert web["recovery"] == 1.0


def test_a_web_host_that_never_answers_again_after_postgresql_never_recovers(tmp_path):
    probe = tmp_path / "probe.txt"
    probe.write_text("105.0 http://a/ 500\n130.0 http://a/ 500\n")
    assert netns.web_availability(probe, pg_down=104.0, pg_up=108.0)["recovery"] == float("inf")


def test_peoples_errors_outside_the_restart_are_counted_by_page_and_kind(tmp_path):
    record = tmp_path / "record.txt"
    record.write_text(
        "logged load abc\n"
        "error 105.00 engagement_list HTTPError\n"
        "error 140.00 upload_mail CatchResponseError\n"
        "error 141.00 upload_mail CatchResponseError\n"
    )
    assert netns.errors_outside(record, pg_down=104.0, pg_up=108.0) == {"upload_mail CatchResponseError": 2}
    assert common.recorded(record)["logged"] == ["load abc"]


def test_page_figures_leave_out_the_floor_and_the_posts_but_count_their_errors():
    row = {"requests": 10, "failures": 0, "rps": 2.0, "p50": 10.0, "p95": 20.0, "p99": 30.0}
    stats = {
        "engagement list": {**row, "p95": 300.0},
        "search": row,
        common.FLOOR: {**row, "rps": 100.0},
        "log a message": {**row, "failures": 1, "p95": 900.0},
        "Aggregated": {**row, "failures": 1},
    }
    assert common.page_figures(stats) == {"rps": 4.0, "p95": 300.0, "errors": 1}


def test_the_smtp_sink_counts_each_idempotency_key_so_a_second_send_shows():
    sinks.COUNTS["email"].clear()
    envelope = SimpleNamespace(
        original_content=b"Message-ID: <flag-7-user-3@outsourcing-tracker>\r\nSubject: x\r\n\r\nbody\r\n",
        content=None,
        rcpt_tos=["a@example.com"],
    )
    for _ in range(2):
        # In a thread of its own: a browser test earlier in this process may have left its loop running here.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, sinks.MailHandler().handle_DATA(None, None, envelope)).result()
    assert sinks.COUNTS["email"] == {"flag-7-user-3": 2}
