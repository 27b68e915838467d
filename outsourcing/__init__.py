"""Outsourcing Tracker project package: settings, URLs, Celery app, workspaces and access."""

from outsourcing.celery import app as celery_app

__all__ = ["celery_app"]
