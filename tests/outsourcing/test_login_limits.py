"""Failed log-ins are limited per address, and per account from that address: a stranger
failing on purpose locks out only themselves, never the account's owner."""

from __future__ import annotations

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from outsourcing.models import User

PASSWORD = "a-Long-enough-passw0rd"
STRANGER, OWNER = "203.0.113.7", "198.51.100.20"
TOO_MANY = "Too many failed login attempts"


@pytest.fixture
def ann(db) -> User:
    user = User.objects.create_user("ann@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def log_in(address: str, password: str, email: str = "ann@example.com"):
    return Client(REMOTE_ADDR=address).post(reverse("account_login"), {"login": email, "password": password})


@time_machine.travel(timezone.now(), tick=False)
def test_a_stranger_failing_on_purpose_does_not_lock_the_owner_out(ann):
    for _ in range(5):
        assert TOO_MANY not in log_in(STRANGER, "guess").content.decode()
    assert TOO_MANY in log_in(STRANGER, "guess").content.decode()

    response = log_in(OWNER, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
