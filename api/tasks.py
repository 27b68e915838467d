"""The API's housekeeping: stored answers to idempotent POSTs do not pile up for ever."""

from __future__ import annotations

from celery import shared_task

from api import services


@shared_task(name="api.tasks.purge_idempotent_requests")
def purge_idempotent_requests() -> int:
    return services.idempotent_requests_purge()
