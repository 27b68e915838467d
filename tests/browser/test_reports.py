"""A reliability report as a manager sets it up and downloads it in Chromium: the PDF's figures are the engine's."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
import time_machine
from django.utils import translation

from engagements.models import ReliabilityReport
from engagements.reliability import pages
from engagements.reports import periods
from engagements.templatetags.reliability_tags import business_hours, interval_range, percent
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
