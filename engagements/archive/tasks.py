"""Celery tasks of complete exports and imports: thin wrappers around ``services``."""

from __future__ import annotations

from celery import shared_task

from engagements.archive import services


@shared_task(name="engagements.tasks.build_export")
def build_export(archive_id: int) -> str:
    return services.archive_export_run(archive_id)


@shared_task(name="engagements.tasks.run_import")
def run_import(archive_id: int) -> str:
    return services.archive_import_run(archive_id)


@shared_task(name="engagements.tasks.sweep_archives")
def sweep_archives() -> int:
    return services.archives_sweep()
