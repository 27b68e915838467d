"""/metrics: the request counts and latencies, and our own gauges, each equal to what the
database says, behind a bearer token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from engagements import services
from engagements.models import Exchange, Mailbox, MailUpload, Notification
from ops.models import Heartbeat
from tests.factories import EngagementFactory, ProviderFactory

TOKEN = "s3cret-metrics-token-for-the-test"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_without_a_token_configured_there_are_no_metrics(client, db):
    assert client.get("/metrics").status_code == 404


def test_a_wrong_or_missing_token_is_refused(client, db, metrics_on):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_gauges_say_what_the_database_says(client, team, metrics_on, settings):
    provider = ProviderFactory(workspace=team.workspace)
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
    services.message_log(engagement=engagement, direction="out", kind="request", body="Please")
    exchange = Exchange.objects.get(engagement=engagement)
    Exchange.objects.filter(pk=exchange.pk).update(next_check_at=timezone.now() - timedelta(seconds=300))
    MailUpload.objects.create(workspace=team.workspace, original_name="a.mbox", status="queued")
    MailUpload.objects.create(workspace=team.workspace, original_name="b.mbox", status="done")
    Mailbox.objects.create(
        workspace=team.workspace, name="in", host="imap.example", username="u", last_error="refused"
    )
    Mailbox.objects.create(workspace=team.workspace, name="ok", host="imap.example", username="v")
    Heartbeat.objects.create(name="beat", seen_at=timezone.now())
    Notification.objects.create(
        workspace=team.workspace, recipient=team.alice, channel="email", idempotency_key="k1", status="failed"
    )
    Notification.objects.create(
        workspace=team.workspace,
        recipient=team.alice,
        channel="email",
        idempotency_key="k2",
        status="pending",
    )

    values = scrape(client)
    assert 300 <= values[("outsourcing_flag_pass_lag_seconds", ())] < 330
    due = Notification.objects.filter(
        status__in=["pending", "sending"], next_attempt_at__lte=timezone.now()
    ).count()
    assert values[("outsourcing_outbox_backlog", ())] == due >= 1
    assert values[("outsourcing_outbox_failed", ())] == 1
    assert values[("outsourcing_mail_import_queue", (("status", "queued"),))] == 1
    assert values[("outsourcing_mail_import_queue", (("status", "running"),))] == 0
    assert values[("outsourcing_imap_poll_errors", ())] == 1
    assert values[("outsourcing_beat_up", ())] == 1
    # Both queues the workers read, the default one and the bulk one.
    assert values[("outsourcing_task_queue_depth", (("queue", settings.CELERY_TASK_DEFAULT_QUEUE),))] >= 0
    assert values[("outsourcing_task_queue_depth", (("queue", settings.CELERY_BULK_QUEUE),))] >= 0


def test_a_pass_that_keeps_up_shows_no_lag(client, db, metrics_on):
    assert scrape(client)[("outsourcing_flag_pass_lag_seconds", ())] == 0


def test_requests_are_counted_by_view_and_status_and_timed(client, db, metrics_on):
    before = scrape(client)
    key = ("outsourcing_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "healthz")))
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page/")
    after = scrape(client)
    assert after[key] - before.get(key, 0) == 3
    missing = (
        "outsourcing_http_requests_total",
        (("method", "GET"), ("status", "404"), ("view", "<unresolved>")),
    )
    assert after[missing] - before.get(missing, 0) == 1
    timed = ("outsourcing_http_request_duration_seconds_count", (("view", "healthz"),))
    assert after[timed] - before.get(timed, 0) == 3


def test_an_invented_method_does_not_make_a_label_of_its_own(client, db, metrics_on):
    client.generic("BREW", "/healthz")
    assert not any("BREW" in str(labels) for (_name, labels) in scrape(client))


def test_a_scrape_costs_the_same_few_queries_however_much_data(
    client, team, metrics_on, django_assert_max_num_queries
):
    provider = ProviderFactory(workspace=team.workspace)
    for _ in range(5):
        engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice)
        services.message_log(engagement=engagement, direction="out", kind="request", body="Please")
    with django_assert_max_num_queries(9):
        scrape(client)
