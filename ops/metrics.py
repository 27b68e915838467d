"""Our Prometheus metrics: the request counters and latencies (ops.middleware) and gauges read
from the database at each scrape, each one indexed query; a scrape never writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from ops import health


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


class OutsourcingCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Imported here: the collector is registered while apps are still loading.
        from engagements.models import (
            Exchange,
            Mailbox,
            MailUpload,
            MetricsBacklog,
            MetricSnapshot,
            Notification,
        )

        now = timezone.now()
        oldest_due = Exchange.objects.filter(next_check_at__lte=now).aggregate(m=Min("next_check_at"))["m"]
        yield GaugeMetricFamily(
            "outsourcing_flag_pass_lag_seconds",
            "Now minus the oldest check the flagging pass still owes (0: it is keeping up).",
            value=_age(now, oldest_due),
        )
        outbox = Notification.objects.aggregate(
            due=Count("pk", filter=Q(status__in=["pending", "sending"], next_attempt_at__lte=now)),
            failed=Count("pk", filter=Q(status="failed")),
        )
        yield GaugeMetricFamily(
            "outsourcing_outbox_backlog",
            "Notifications due to be sent and not yet sent.",
            value=outbox["due"],
        )
        yield GaugeMetricFamily(
            "outsourcing_outbox_failed", "Notifications that failed for good.", value=outbox["failed"]
        )
        uploads = GaugeMetricFamily(
            "outsourcing_mail_import_queue", "Mail uploads waiting for or in import.", labels=["status"]
        )
        counts = dict(
            MailUpload.objects.filter(status__in=["queued", "running"])
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in ("queued", "running"):
            uploads.add_metric([status], counts.get(status, 0))
        yield uploads
        yield GaugeMetricFamily(
            "outsourcing_snapshot_age_seconds",
            "Age of the oldest reliability snapshot.",
            value=_age(now, MetricSnapshot.objects.aggregate(m=Min("computed_at"))["m"]),
        )
        yield GaugeMetricFamily(
            "outsourcing_metrics_backlog_age_seconds",
            "How long the oldest provider has waited for its figures to be recomputed.",
            value=_age(now, MetricsBacklog.objects.aggregate(m=Min("since"))["m"]),
        )
        yield GaugeMetricFamily(
            "outsourcing_imap_poll_errors",
            "Active mailboxes whose last poll failed.",
            value=Mailbox.objects.filter(is_active=True).exclude(last_error="").count(),
        )
        _ok, depths = health.queue_depth()
        queue_depth = GaugeMetricFamily(
            "outsourcing_task_queue_depth",
            "Tasks waiting in each of the workers' queues (-1: the broker did not answer).",
            labels=["queue"],
        )
        for queue in health.queues():
            queue_depth.add_metric([queue], depths.get(queue, -1) if isinstance(depths, dict) else -1)
        yield queue_depth
        beat_ok, _detail = health.beat()
        yield GaugeMetricFamily(
            "outsourcing_beat_up", "1 if the beat was seen within 3 minutes.", value=int(beat_ok)
        )


def exposition() -> tuple[bytes, str]:
    """The text Prometheus reads: the request metrics (summed over gunicorn's workers when
    PROMETHEUS_MULTIPROC_DIR is set) and our gauges, read once per scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OutsourcingCollector())
        return generate_latest(registry), CONTENT_TYPE_LATEST
    # The process-wide registry, with ours added once.
    registry = CollectorRegistry()
    registry.register(_ProcessCollector())
    registry.register(OutsourcingCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ProcessCollector(Collector):
    """Everything in the default registry (the request metrics, the process's own), as one collector."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()
