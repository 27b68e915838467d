"""A real Celery worker sends a report's "Send now": clicked twice, it goes out once."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse

from engagements.models import ReliabilityReport
from outsourcing.celery import app as celery_app
from tests.engagements.reports_data import make_report, month_of_history

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

TASK = "engagements.tasks.send_report_now"


def test_a_real_worker_sends_a_report_clicked_twice_once(team, through_the_broker, finished_tasks):
    month_of_history(team)
    report = make_report(team, extra_addresses="client@globex.example")
    report.members.set([team.bob])
    client = team.client_for(team.alice)
    url = reverse("reports:send", kwargs={"ws": "acme", "pk": report.pk})

    # Both clicks are in before a worker takes anything: only a claim can keep the second from queuing.
    first = client.post(url, follow=True)
    second = client.post(url, follow=True)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        assert finished_tasks.wait_for(TASK), finished_tasks.results
        # A second queued task would be taken now.
        assert not finished_tasks.wait_for(TASK, count=2, seconds=3), finished_tasks.results

    assert "is being sent; it will appear under" in first.content.decode()
    assert "This report is being sent already" in second.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "client@globex.example"]
    report = ReliabilityReport.objects.get(pk=report.pk)
    assert (report.sending_since, report.last_sent_to) == (None, 2)
    assert report.last_sent_at is not None
