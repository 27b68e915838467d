"""Reliability reports in Chromium: set up, edited, sent and deleted by clicking; the PDF's figures are the engine's."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
import time_machine
from django.utils import translation
from playwright.sync_api import expect

from engagements.models import ReliabilityReport
from engagements.reliability import pages
from engagements.reports import periods, services
from engagements.templatetags.reliability_tags import business_hours, interval_range, percent
from outsourcing import formats
from tests.browser.test_attention import _log_in
from tests.engagements.reports_data import BERLIN, NOW, month_of_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_sets_up_a_german_report_and_downloads_novembers_pdf_with_the_pages_figures(
    page, console, team, live_server
):
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    history = month_of_history(team)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=True):
        _log_in(page, live_server, team.alice)
        page.goto("/w/acme/reliability/")
        page.get_by_test_id("reliability-nav").get_by_role("link", name="Reports").click()
        page.get_by_test_id("new-report").click()
        form = page.get_by_test_id("report-form")
        form.get_by_label("Name").fill("Monatsbericht")
        form.get_by_label("Language").select_option("de")
        form.get_by_label("bob@example.com").check()
        form.get_by_label("Other addresses").fill("kunde@globex.example")
        form.get_by_role("button", name="Save").click()
        page.wait_for_url("**/w/acme/reports/")
        row = page.get_by_test_id("report-row")
        assert "Monatsbericht" in row.inner_text()
        row.get_by_label("Period").select_option("2026-11")
        with page.expect_download() as info:
            row.get_by_test_id("download-pdf").click()
        download = info.value
        assert download.suggested_filename == "reliability-acme-2026-11.pdf"
        with open(download.path(), "rb") as handle:
            text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(handle.read())).pages)

        november = periods.parse("monthly", "2026-11", now=NOW, zone=BERLIN)
        board = pages.leaderboard(team.workspace, november.metrics_period(BERLIN), now=NOW)
    assert ReliabilityReport.objects.get().members.get() == team.bob
    assert "Antwortquote" in text and "November 2026" in text
    with translation.override("de"):
        for row in board.rows:
            m = row.m
            line = (
                f"{row.provider.name} {m.requests} {percent(m.response_rate.point)} "
                f"({interval_range(m.response_rate)}) {business_hours(m.business.median if m.business else None)}"
            )
            assert line in text, line
    assert re.search(r"Quick Quinn 8 88 % \(53–98 %\) 4,0 Std\.", text)
    assert history["old"].name not in text
    assert console.errors == []


def test_a_manager_creates_edits_sends_and_deletes_a_report_by_clicking(
    page, console, team, live_server, monkeypatch
):
    from django.core import mail

    from outsourcing.celery import app

    month_of_history(team)
    # The worker is held back until the page has shown "Sending…", then runs the task, as a
    # worker would a moment later; the page must see the outcome without being reloaded.
    held: list[tuple[str, tuple]] = []
    monkeypatch.setattr(services.jobs, "later", lambda name, *args: held.append((name, args)))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=True):
        _log_in(page, live_server, team.alice)
        page.goto("/w/acme/reliability/")
        page.get_by_test_id("reliability-nav").get_by_role("link", name="Reports").click()
        expect(page.get_by_test_id("empty-state")).to_be_visible()
        page.get_by_test_id("new-report").click()
        form = page.get_by_test_id("report-form")
        form.get_by_label("Name").fill("Provider review")
        form.get_by_label("bob@example.com").check()
        form.get_by_label("Other addresses").fill("kunde@globex.example")
        form.get_by_role("button", name="Save").click()
        page.wait_for_url("**/w/acme/reports/")
        row = page.get_by_test_id("report-row")
        expect(row).to_contain_text("Monthly · English")

        # Edit: weekly, in German.
        row.get_by_role("link", name="Edit").click()
        form = page.get_by_test_id("report-form")
        form.get_by_label("Frequency").select_option("weekly")
        form.get_by_label("Language").select_option("de")
        form.get_by_role("button", name="Save").click()
        page.wait_for_url("**/w/acme/reports/")
        expect(page.locator("#messages")).to_contain_text("Report “Provider review” saved.")
        row = page.get_by_test_id("report-row")
        expect(row).to_contain_text("Weekly · German")
        expect(row.get_by_test_id("report-sent")).to_have_text("—")

        row.get_by_test_id("send-now").click()
        page.wait_for_url("**/w/acme/reports/")
        week = periods.last_complete("weekly", NOW, BERLIN)
        expect(page.locator("#messages")).to_contain_text(
            f"The report for {week.label} is being sent; it will appear under “Sent” in a moment."
        )
        sent = page.get_by_test_id("report-sent")
        expect(sent).to_have_text("Sending…")
        assert mail.outbox == [] and [name for name, _ in held] == [services.SEND_NOW_TASK]
        (name, args), *_ = held
        app.tasks[name].apply(args=args, throw=True)
        expect(sent).to_contain_text("to 2 addresses", timeout=10_000)
        report = ReliabilityReport.objects.get()
        assert (report.frequency, report.language, report.last_sent_to) == ("weekly", "de", 2)
        with translation.override("de"), formats.override(formats.DE):
            subject = f"Dienstleister-Zuverlässigkeit, Acme Marketing: {week.label}"
        assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
            ("bob@example.com", subject),
            ("kunde@globex.example", subject),
        ]
        assert "Antwortquote" in mail.outbox[0].body

        page.get_by_test_id("report-row").get_by_role("link", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete the report “Provider review”?")).to_be_visible()
        page.get_by_test_id("confirm-delete").get_by_role("button", name="Delete report").click()
        page.wait_for_url("**/w/acme/reports/")
        expect(page.locator("#messages")).to_contain_text("Report “Provider review” deleted.")
        expect(page.get_by_test_id("report-row")).to_have_count(0)
        expect(page.get_by_test_id("empty-state")).to_be_visible()
    assert not ReliabilityReport.objects.exists()
    assert console.errors == []
