"""Reliability reports: the PDF's figures against the pages', the e-mail, the schedule, the form, access."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from engagements.models import ReliabilityReport
from engagements.reports import periods, services
from engagements.templatetags.reliability_tags import business_hours, interval_range, percent
from tests.engagements.reports_data import BERLIN, CLIENT, NOVEMBER, NOW, make_report, month_of_history


def url(name: str, ws: str = "acme", **kwargs) -> str:
    return reverse(f"reports:{name}", kwargs={"ws": ws, **kwargs})


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def custom_dates(**extra) -> dict[str, str]:
    return {"period": "custom", "start": NOVEMBER[0].isoformat(), "end": NOVEMBER[1].isoformat(), **extra}


@pytest.fixture
def history(team):
    # The pages' custom dates are read in the reader's zone: the report's, for the same days.
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    return month_of_history(team)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        yield


def expected_line(row_name: str, m, language: str) -> str:
    """A provider's row as the PDF's text holds it, written by the pages' own filters."""
    with translation.override(language):
        median = business_hours(m.business.median if m.business else None)
        return f"{row_name} {m.requests} {percent(m.response_rate.point)} ({interval_range(m.response_rate)}) {median}"


# --- The PDF holds the pages' figures --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "quick_line"),
    [("en", "Quick Quinn 8 88 % (53–98 %) 4.0 h"), ("de", "Quick Quinn 8 88 % (53–98 %) 4,0 Std.")],
)
def test_the_pdf_shows_for_each_provider_what_the_leaderboard_and_scorecard_show(
    team, history, language, quick_line
):
    report = make_report(team, language=language)
    client = team.client_for(team.alice)
    response = client.get(url("download", pk=report.pk), {"period": "2026-11"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="reliability-acme-2026-11.pdf"'
    text = pdf_text(response.content)

    board = client.get(reverse("reliability:leaderboard", kwargs={"ws": "acme"}), custom_dates()).context[
        "board"
    ]
    shown = {row.provider.name: row.m for row in board.rows}
    assert sorted(shown) == ["New Nora", "Quick Quinn", "Slow Sam"], "October's provider is not in November"
    for name, m in shown.items():
        assert expected_line(name, m, language) in text, name
        card = client.get(
            reverse("reliability:scorecard", kwargs={"ws": "acme", "pk": history[_key(name)].pk}),
            custom_dates(),
        ).context["m"]
        assert (card.requests, card.replies, card.response_rate, card.business.median) == (
            m.requests,
            m.replies,
            m.response_rate,
            m.business.median,
        ), name
    # The known month written out: Quick Quinn answered 7 of 8 requests, after 2, 5, 8 … hours.
    assert quick_line in text
    assert "Slow Sam 6 33 %" in text
    assert "October Otto" not in text
    totals = "All providers 15 67 %" if language == "en" else "Alle Dienstleister 15 67 %"
    assert totals in text
    assert ("Too few requests this period: New Nora." if language == "en" else "New Nora") in text


def _key(name: str) -> str:
    return {"Quick Quinn": "quick", "Slow Sam": "slow", "New Nora": "new"}[name]


@pytest.mark.django_db
def test_the_german_pdf_is_written_in_german(team, history):
    text = pdf_text(
        team.client_for(team.alice).get(url("download", pk=make_report(team, language="de").pk)).content
    )
    assert "Antwortquote" in text and "November 2026" in text
    assert "Response rate" not in text
    # The section heading is not the column header's word again.
    assert "Dienstleister im Überblick" in text and "\nDienstleister\n" not in f"\n{text}\n"


@pytest.mark.django_db
def test_the_english_pdfs_section_heading_is_not_the_column_header_again(team, history):
    text = pdf_text(team.client_for(team.alice).get(url("download", pk=make_report(team).pk)).content)
    assert "Providers at a glance" in text and "\nProviders\n" not in f"\n{text}\n"


@pytest.mark.django_db
def test_a_client_report_counts_only_that_clients_engagements_as_the_leaderboard_filtered_to_it_does(
    team, history
):
    report = make_report(team, client_name=CLIENT)
    client = team.client_for(team.alice)
    text = pdf_text(client.get(url("download", pk=report.pk), {"period": "2026-11"}).content)
    board = client.get(
        reverse("reliability:leaderboard", kwargs={"ws": "acme"}), custom_dates(client=CLIENT)
    ).context["board"]
    assert sorted(row.provider.name for row in board.rows) == ["New Nora", "Quick Quinn"]
    for row in board.rows:
        assert expected_line(row.provider.name, row.m, "en") in text
    assert "Slow Sam" not in text
    assert "All providers 9 89 %" in text
    assert f"client {CLIENT}" in text


@pytest.mark.django_db
def test_a_period_that_is_malformed_unfinished_or_of_the_other_frequency_is_a_404(team, history):
    report = make_report(team)
    client = team.client_for(team.alice)
    for bad in ("2026-12", "2027-01", "2026-W47", "nonsense", "2026-13", "1999-01"):
        assert client.get(url("download", pk=report.pk), {"period": bad}).status_code == 404, bad


@pytest.mark.django_db
def test_a_weekly_report_covers_monday_to_sunday_and_names_the_week(team, history):
    report = make_report(team, frequency="weekly", language="de")
    response = team.client_for(team.alice).get(url("download", pk=report.pk), {"period": "2026-W45"})
    assert response["Content-Disposition"] == 'attachment; filename="reliability-acme-2026-W45.pdf"'
    text = pdf_text(response.content)
    assert "KW 45, 2026 (2. Nov. 2026 – 8. Nov. 2026)" in text
    board = (
        team.client_for(team.alice)
        .get(
            reverse("reliability:leaderboard", kwargs={"ws": "acme"}),
            {"period": "custom", "start": "2026-11-02", "end": "2026-11-08"},
        )
        .context["board"]
    )
    assert board.rows, "the known month has requests that week"
    for row in board.rows:
        assert expected_line(row.provider.name, row.m, "de") in text


# --- Periods -------------------------------------------------------------------------------------


def test_the_last_whole_month_and_week_are_those_of_the_reports_zone():
    # 23:30 UTC on New Year's Eve is already 1 January in Berlin: December has ended there.
    eve = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert periods.last_complete("monthly", eve, BERLIN).key == "2026-12"
    assert periods.last_complete("monthly", eve, UTC).key == "2026-11"
    week = periods.last_complete("weekly", datetime(2026, 12, 3, 12, tzinfo=UTC), BERLIN)
    assert (week.key, week.first, week.last) == ("2026-W48", date(2026, 11, 23), date(2026, 11, 29))
    # ISO week 53 of 2026 reaches into January.
    assert periods.containing("weekly", date(2027, 1, 2)).key == "2026-W53"


# --- The e-mail ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_now_mails_each_recipient_once_with_the_charts_inline_and_the_pdf_attached(
    team, history, django_capture_on_commit_callbacks
):
    report = make_report(team, extra_addresses="client@globex.example\nBOB@example.com")
    report.members.set([team.bob, team.alice])
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client_for(team.alice).post(url("send", pk=report.pk))
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com",
        "bob@example.com",
        "client@globex.example",
    ]
    assert all(len(m.to) == 1 for m in mail.outbox), "recipients never see each other"

    message = mail.outbox[0]
    assert message.subject == "Provider reliability, Acme Marketing: November 2026"
    assert "Quick Quinn" in message.body and "88 %" in message.body
    html = message.alternatives[0].content
    parsed = message.message()
    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    cids = {part["Content-ID"].strip("<>") for part in images}
    assert cids == {"response-rate@report", "distribution@report", "within-policy@report", "overdue@report"}
    for cid in cids:
        assert f'src="cid:{cid}"' in html
    assert all(part.get_content().startswith(b"\x89PNG") for part in images)
    pdfs = [part for part in parsed.walk() if part.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in pdfs] == ["reliability-acme-2026-11.pdf"]
    assert expected_line("Quick Quinn", _quick(team, history), "en") in pdf_text(pdfs[0].get_content())


def test_send_now_queues_the_sending_and_the_page_shows_it_sending_and_then_sent(
    team, history, django_capture_on_commit_callbacks
):
    report = make_report(team, extra_addresses="client@globex.example")
    client = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url("send", pk=report.pk), follow=True)
    page = response.content.decode()
    assert "The report for November 2026 is being sent; it will appear under “Sent” in a moment." in page
    assert "Sending…" in page
    assert mail.outbox == [], "the request itself sends nothing"

    for callback in queued:  # the commit: the task runs (eagerly here)
        callback()
    report.refresh_from_db()
    assert (report.sending_since, report.last_sent_to) == (None, 1)
    assert report.last_sent_at == timezone.now()
    assert report.last_sent_period == "", "the schedule is left alone"
    page = client.get(url("list")).content.decode()
    assert "Sending…" not in page and "to 1 address" in page
    assert [m.to for m in mail.outbox] == [["client@globex.example"]]


@pytest.mark.django_db
def test_the_sent_cell_asks_again_every_two_seconds_while_sending_and_stops_once_sent(
    team, history, django_capture_on_commit_callbacks
):
    report = make_report(team, extra_addresses="client@globex.example")
    client = team.client_for(team.vera)  # a viewer sees the list, so the cell too
    with django_capture_on_commit_callbacks(execute=False) as queued:
        team.client_for(team.alice).post(url("send", pk=report.pk))
    cell = client.get(url("sent", pk=report.pk)).content.decode()
    assert "Sending…" in cell
    assert f'hx-get="{url("sent", pk=report.pk)}" hx-trigger="every 2s"' in cell
    assert f'hx-get="{url("sent", pk=report.pk)}"' in client.get(url("list")).content.decode()

    for callback in queued:
        callback()
    cell = client.get(url("sent", pk=report.pk)).content.decode()
    assert "to 1 address" in cell and "Sending…" not in cell
    assert "hx-get" not in cell, "nothing to wait for: the cell stops asking"


@pytest.mark.django_db
def test_a_double_click_on_send_now_sends_the_report_once(team, history, django_capture_on_commit_callbacks):
    report = make_report(team, extra_addresses="client@globex.example")
    report.members.set([team.bob])
    client = team.client_for(team.alice)
    # Both clicks land before the first sending is done: the second finds the claim taken.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("send", pk=report.pk))
        second = client.post(url("send", pk=report.pk), follow=True)
    assert "This report is being sent already" in second.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "client@globex.example"]
    # Once sent, the next click sends again.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("send", pk=report.pk))
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_a_claim_whose_worker_died_expires_and_a_redelivered_task_sends_nothing(
    team, history, django_capture_on_commit_callbacks
):
    report = make_report(team, extra_addresses="client@globex.example")
    november = periods.parse("monthly", "2026-11", now=NOW, zone=BERLIN)
    stale = timezone.now() - services.SEND_CLAIM_EXPIRES - timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        assert services.report_send_request(report=report, period=november, now=stale)
    with django_capture_on_commit_callbacks(execute=False):
        assert not services.report_send_request(
            report=report, period=november, now=stale + timedelta(minutes=1)
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.report_send_request(report=report, period=november)
    assert len(mail.outbox) == 1
    # The dead worker's task delivered late: its claim is gone, so it sends nothing.
    assert (
        services.report_send_claimed(report_id=report.pk, period_key="2026-11", claimed_at=stale.isoformat())
        == -1
    )
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_send_now_that_could_not_be_built_gives_its_claim_back_and_says_it_went_to_nobody(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    report = make_report(team, extra_addresses="client@globex.example")

    def broken(**kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(services, "report_render", broken)
    client = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("send", pk=report.pk))
    report.refresh_from_db()
    assert (report.sending_since, report.last_sent_to, mail.outbox) == (None, 0, [])
    assert "to nobody" in client.get(url("list")).content.decode()


@pytest.mark.django_db
def test_send_now_with_nobody_to_send_to_queues_nothing_and_says_so(team, history):
    report = make_report(team, enabled=False)
    response = team.client_for(team.alice).post(url("send", pk=report.pk), follow=True)
    assert "The report has nobody to go to" in response.content.decode()
    report.refresh_from_db()
    assert report.sending_since is None


@pytest.mark.django_db
def test_send_now_is_404_for_an_outsider_and_forbidden_to_members_and_viewers(team, history):
    report = make_report(team, extra_addresses="client@globex.example")
    assert team.client_for(team.charlie).post(url("send", pk=report.pk)).status_code == 404
    assert team.client_for(team.charlie).post(url("send", ws="other", pk=report.pk)).status_code == 404
    for user in (team.bob, team.vera):
        assert team.client_for(user).post(url("send", pk=report.pk)).status_code == 403
    report.refresh_from_db()
    assert report.sending_since is None and mail.outbox == []


def _quick(team, history):
    from engagements.reliability import pages

    period = periods.parse("monthly", "2026-11", now=NOW, zone=BERLIN).metrics_period(BERLIN)
    board = pages.leaderboard(team.workspace, period, now=NOW + timedelta(minutes=1))
    return next(row.m for row in board.rows if row.provider == history["quick"])


@pytest.mark.django_db
def test_send_now_is_refused_after_too_many_sends_in_an_hour(
    team, history, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {"report_send_workspace": "1/h"}
    report = make_report(team, extra_addresses="client@globex.example")
    client = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("send", pk=report.pk))
    response = client.post(url("send", pk=report.pk), follow=True)
    assert "Reports were sent often in a short time" in response.content.decode()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_german_report_mails_in_german(team, history):
    report = make_report(team, language="de", extra_addresses="kunde@example.de")
    services.report_send(report=report, period=periods.parse("monthly", "2026-11", now=NOW, zone=BERLIN))
    assert mail.outbox[0].subject == "Dienstleister-Zuverlässigkeit, Acme Marketing: November 2026"
    assert "Antwortquote" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_member_who_left_the_workspace_gets_no_more_reports(team, history):
    report = make_report(team)
    report.members.set([team.bob])
    team.bob.memberships.all().delete()
    assert services.recipients(report) == []


# --- The schedule --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schedule_sends_each_period_once_however_often_it_runs(team, history):
    report = make_report(team, extra_addresses="client@globex.example", last_sent_period="2026-10")
    assert services.send_due_reports(now=NOW) == 1
    assert services.send_due_reports(now=NOW) == 0
    assert services.send_due_reports(now=NOW + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1
    report.refresh_from_db()
    assert report.last_sent_period == "2026-11"
    # December's goes out once January has begun in Berlin.
    assert services.send_due_reports(now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_disabled_report_is_not_sent_and_a_new_one_waits_for_the_period_running_now(team, history):
    make_report(team, extra_addresses="a@example.org", enabled=False)
    services.report_create(
        workspace=team.workspace,
        by=team.alice,
        members=[team.alice],
        now=NOW,
        name="New",
        frequency="weekly",
        client_name="",
        language="en",
        time_zone="Europe/Berlin",
        extra_addresses="",
        enabled=True,
    )
    assert services.send_due_reports(now=NOW) == 0
    assert mail.outbox == []
    assert services.send_due_reports(now=datetime(2026, 12, 7, 12, tzinfo=UTC)) == 1


@pytest.mark.django_db
def test_a_report_that_could_not_be_built_is_tried_again_on_the_next_pass(team, history, monkeypatch):
    report = make_report(team, extra_addresses="a@example.org", last_sent_period="2026-10")

    def broken(**kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(services, "report_render", broken)
    assert services.send_due_reports(now=NOW) == 0
    report.refresh_from_db()
    assert report.last_sent_period == "2026-10"
    monkeypatch.undo()
    assert services.send_due_reports(now=NOW) == 1


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_the_same_time_send_a_period_once(team, monkeypatch):
    make_report(team, extra_addresses="client@globex.example", last_sent_period="2026-10")
    both_read = threading.Barrier(2, timeout=20)
    real = periods.last_complete

    def after_both_read(*args, **kwargs):
        both_read.wait()  # each pass has read the report as not yet sent
        return real(*args, **kwargs)

    monkeypatch.setattr(services.periods, "last_complete", after_both_read)
    results: list[int] = []

    def one_pass():
        try:
            results.append(services.send_due_reports(now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1


# --- The form ------------------------------------------------------------------------------------


def form_data(**values) -> dict[str, object]:
    return {
        "name": "For Globex",
        "frequency": "monthly",
        "client_name": CLIENT,
        "language": "de",
        "time_zone": "Europe/Berlin",
        "extra_addresses": "",
        "enabled": "on",
        **values,
    }


@pytest.mark.django_db
def test_bad_addresses_are_named_and_nothing_typed_is_lost(team):
    client = team.client_for(team.alice)
    response = client.post(
        url("create"),
        form_data(extra_addresses="ceo@globex.example\nnot-an-address\nalso-bad@x", members=[team.bob.pk]),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not an e-mail address: not-an-address, also-bad@x." in page
    assert "ceo@globex.example" in page and "For Globex" in page
    assert re.search(rf'value="{team.bob.pk}"[^>]*checked', page)
    assert not ReliabilityReport.objects.exists()


@pytest.mark.django_db
def test_a_report_with_nobody_to_send_to_is_refused(team):
    response = team.client_for(team.alice).post(url("create"), form_data())
    assert response.status_code == 400
    assert "Choose at least one member or write an address" in response.content.decode()


@pytest.mark.django_db
def test_a_manager_creates_edits_and_deletes_a_report(team):
    client = team.client_for(team.alice)
    response = client.post(
        url("create"),
        form_data(extra_addresses="ceo@globex.example, cfo@globex.example", members=[team.bob.pk]),
    )
    assert response.status_code == 302
    report = ReliabilityReport.objects.get()
    assert (report.workspace, report.client_name, report.language) == (team.workspace, CLIENT, "de")
    assert report.extra_address_list() == ["ceo@globex.example", "cfo@globex.example"]
    assert list(report.members.all()) == [team.bob]
    assert report.last_sent_period == "2026-11", "the first scheduled mail is December's"

    assert (
        client.post(
            url("edit", pk=report.pk), form_data(name="Renamed", extra_addresses="x@globex.example")
        ).status_code
        == 302
    )
    report.refresh_from_db()
    assert report.name == "Renamed" and list(report.members.all()) == []

    assert client.get(url("delete", pk=report.pk)).status_code == 200
    assert client.post(url("delete", pk=report.pk)).status_code == 302
    assert not ReliabilityReport.objects.exists()


@pytest.mark.django_db
def test_the_form_offers_only_this_workspaces_members(team):
    page = team.client_for(team.alice).get(url("create")).content.decode()
    assert "bob@example.com" in page
    assert "charlie@example.com" not in page
    response = team.client_for(team.alice).post(
        url("create"), form_data(members=[team.charlie.pk], extra_addresses="a@example.org")
    )
    assert response.status_code == 400
    assert not ReliabilityReport.objects.exists()


@pytest.mark.django_db
def test_a_german_report_is_dated_in_german_whatever_date_format_the_sender_reads(team, history):
    from outsourcing import formats

    report = make_report(team, language="de", frequency="weekly", extra_addresses="kunde@example.de")
    week = periods.parse("weekly", "2026-W48", now=NOW, zone=BERLIN)
    with formats.override(formats.US):  # the manager who clicked "Send now" reads "Nov 23, 2026"
        services.report_send(report=report, period=week)
        _content, pdf = services.report_render(report=report, period=week)
    assert mail.outbox[0].subject.endswith("KW 48, 2026 (23. Nov. 2026 – 29. Nov. 2026)")
    assert "23. Nov. 2026" in pdf_text(pdf)


# --- Access and the page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_and_viewers_download_but_only_managers_see_the_buttons_that_change_things(team, history):
    report = make_report(team)
    for user in (team.bob, team.vera):
        client = team.client_for(user)
        page = client.get(url("list")).content.decode()
        assert "Download PDF" in page and "Send now" not in page and "New report" not in page
        assert client.get(url("download", pk=report.pk)).status_code == 200
        assert client.post(url("send", pk=report.pk)).status_code == 403
    page = team.client_for(team.alice).get(url("list")).content.decode()
    assert "Send now" in page and "New report" in page
    assert team.client_for(team.charlie).get(url("download", pk=report.pk)).status_code == 404
    assert team.client_for(team.charlie).get(url("download", ws="other", pk=report.pk)).status_code == 404


@pytest.mark.django_db
def test_the_reports_pages_query_count_does_not_grow_with_reports(team):
    client = team.client_for(team.alice)
    make_report(team, extra_addresses="a@example.org").members.set([team.bob])
    client.get(url("list"))  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get(url("list"))
    for i in range(5):
        make_report(team, name=f"R{i}", frequency="weekly").members.set([team.alice, team.bob])
    with CaptureQueriesContext(connection) as six:
        response = client.get(url("list"))
    assert response.content.decode().count('data-testid="report-row"') == 6
    assert len(six) == len(one), [q["sql"] for q in six.captured_queries]
