"""/healthz: the database and broker checks load balancers rely on."""

from __future__ import annotations

from unittest import mock

from django.db.utils import OperationalError


def test_it_reports_the_database_and_the_default_broker_as_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_it_needs_no_login(client, db):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert response.status_code == 200


def test_a_broken_database_is_a_503(client, db):
    with mock.patch("outsourcing.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"
    assert response.json()["status"] == "error"


def test_an_unreachable_broker_is_a_503(client, db):
    with mock.patch("outsourcing.views.celery_app.connection_for_write", side_effect=ConnectionError):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "error: ConnectionError"
