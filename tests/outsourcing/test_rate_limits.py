"""Rate limits (django-ratelimit): sign-ups, logins, password resets, invitations and the pages
anyone may open; the 429 page; where the counts are kept. Sending mail, the flag webhook's test
and the inbound mail webhook are tested beside their features."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from outsourcing import limits
from outsourcing.models import Invitation, User
from outsourcing.settings import rate_limits
from tests.factories import UserFactory
from tests.outsourcing.conftest import url

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-Long-enough-passw0rd"


def sign_up(client: Client, email: str, **extra):
    data = {
        "first_name": "Jana",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "Müller Marketing",
    }
    return client.post(reverse("account_signup"), data, **extra)


# --- Accounts ---------------------------------------------------------------------------


def test_sign_ups_from_one_address_are_limited(db, settings):
    settings.RATE_LIMITS = {"signup_ip": "2/h"}
    client = Client()
    assert sign_up(client, "one@example.com").status_code == 302
    assert sign_up(Client(), "two@example.com").status_code == 302

    refused = sign_up(Client(), "three@example.com")

    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()
    assert not User.objects.filter(email="three@example.com").exists()
    # Someone elsewhere signs up as usual; opening the page is never counted.
    assert sign_up(Client(), "four@example.com", REMOTE_ADDR="198.51.100.4").status_code == 302
    assert Client().get(reverse("account_signup")).status_code == 200


def test_password_resets_for_one_address_are_limited(db, settings):
    settings.RATE_LIMITS = {"password_reset_address": "2/h"}
    user = UserFactory(email="ann@example.com", verified=True)
    for n in range(2):
        response = Client().post(
            reverse("account_reset_password"), {"email": "Ann@example.com"}, REMOTE_ADDR=f"198.51.100.{n}"
        )
        assert response.status_code == 302
    sent = len(mail.outbox)

    refused = Client().post(
        reverse("account_reset_password"), {"email": user.email}, REMOTE_ADDR="203.0.113.9"
    )

    assert refused.status_code == 429
    assert len(mail.outbox) == sent == 2


def test_password_resets_from_one_address_are_limited(db, settings):
    settings.RATE_LIMITS = {"password_reset_ip": "2/h"}
    for n in range(2):
        Client().post(reverse("account_reset_password"), {"email": f"nobody{n}@example.com"})
    refused = Client().post(reverse("account_reset_password"), {"email": "nobody9@example.com"})
    assert refused.status_code == 429


def test_guessing_one_accounts_password_is_limited_per_address_and_account(db, settings):
    settings.RATE_LIMITS = {"login_ip_account": "3/h"}
    # allauth's own lock-out per account would answer first: this test is about ours.
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": None}
    user = UserFactory(email="ann@example.com", verified=True)
    client = Client()
    for _n in range(3):
        client.post(reverse("account_login"), {"login": user.email, "password": "guess"})

    refused = client.post(reverse("account_login"), {"login": user.email, "password": "password"})

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    # The owner of the account, elsewhere, still logs in.
    elsewhere = Client()
    response = elsewhere.post(
        reverse("account_login"), {"login": user.email, "password": "password"}, REMOTE_ADDR="198.51.100.8"
    )
    assert response.status_code == 302
    assert elsewhere.session["_auth_user_id"] == str(user.pk)


def test_logins_from_one_address_are_limited_whatever_the_account(db, settings):
    settings.RATE_LIMITS = {"login_ip": "3/h"}
    client = Client()
    for n in range(3):
        client.post(reverse("account_login"), {"login": f"user{n}@example.com", "password": "guess"})
    assert (
        client.post(reverse("account_login"), {"login": "x@example.com", "password": "y"}).status_code == 429
    )


# --- Invitations --------------------------------------------------------------------------


def test_invitations_over_the_limit_are_a_form_error_and_send_nothing(
    team, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {"invite_user": "2/h"}
    client = team.client_for(team.alice)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            response = client.post(
                url("members"), {"invite-email": f"x{n}@example.com", "invite-role": "viewer"}
            )
            assert response.status_code == 302

        refused = client.post(url("members"), {"invite-email": "x9@example.com", "invite-role": "viewer"})

    assert refused.status_code == 200
    assert "Too many invitations" in str(refused.context["invite_form"].errors["email"])
    assert 'value="x9@example.com"' in refused.content.decode()
    assert not Invitation.objects.filter(email="x9@example.com").exists()
    assert len(mail.outbox) == 2


def test_the_workspace_has_an_invitation_limit_of_its_own(team, settings):
    settings.RATE_LIMITS = {"invite_workspace": "1/d"}
    bob = team.membership(team.bob)
    bob.role = "manager"
    bob.save(update_fields=["role"])
    team.client_for(team.alice).post(
        url("members"), {"invite-email": "a@example.com", "invite-role": "viewer"}
    )

    refused = team.client_for(team.bob).post(
        url("members"), {"invite-email": "b@example.com", "invite-role": "viewer"}
    )

    assert refused.status_code == 200
    assert not Invitation.objects.filter(email="b@example.com").exists()
    # charlie's workspace is not affected.
    other = team.client_for(team.charlie).post(
        url("members", ws="other"), {"invite-email": "c@example.com", "invite-role": "viewer"}
    )
    assert other.status_code == 302


def test_opening_invitation_links_is_limited_per_address(team, settings):
    settings.RATE_LIMITS = {"invitation_ip": "2/h"}
    client = Client()
    for n in range(2):
        assert client.get(reverse("invitation_accept", args=[f"guess-{n}"])).status_code == 404
    assert client.get(reverse("invitation_accept", args=["guess-3"])).status_code == 429


def test_the_health_check_is_limited_per_address(db, settings):
    settings.RATE_LIMITS = {"healthz_ip": "1/m"}
    Client().get(reverse("healthz"))
    assert Client().get(reverse("healthz")).status_code == 429
    assert Client().get(reverse("healthz"), REMOTE_ADDR="198.51.100.1").status_code != 429


# --- The 429 page -------------------------------------------------------------------------


def test_the_429_page_speaks_german_too(db, settings):
    settings.RATE_LIMITS = {"signup_ip": "1/h"}
    sign_up(Client(), "one@example.com")
    refused = sign_up(Client(), "two@example.com", headers={"Accept-Language": "de"})

    assert refused.status_code == 429
    assert "Zu viele Anfragen" in refused.content.decode()


def test_allauths_own_limits_answer_with_the_same_page(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "1/h/ip"}
    sign_up(Client(), "one@example.com")
    refused = sign_up(Client(), "two@example.com")

    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.content.decode()


# --- Whose address --------------------------------------------------------------------------


def _request(**meta: str):
    return RequestFactory().post("/accounts/signup/", **meta)


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxied = {"REMOTE_ADDR": "10.0.0.2"}

    assert limits.client_ip(_request(HTTP_X_FORWARDED_FOR="203.0.113.5", **proxied)) == "203.0.113.5"
    # Only the entry the proxy appended counts: whatever the client put before it is ignored.
    spoofed = _request(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.6", **proxied)
    assert limits.client_ip(spoofed) == "203.0.113.6"
    # A request that did not come through the proxy is counted by its own address.
    assert limits.client_ip(_request(**proxied)) == "10.0.0.2"


def test_without_a_proxy_forwarded_headers_are_ignored(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    request = _request(HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="192.0.2.1")
    assert limits.client_ip(request) == "192.0.2.1"


@pytest.mark.parametrize("forwarded", ["203.0.113.5", "not-an-address", "203.0.113.5, , "])
@pytest.mark.parametrize("page", ["account_login", "account_signup", "account_reset_password"])
def test_fewer_forwarded_addresses_than_proxies_never_give_a_500(db, settings, page, forwarded):
    # Two proxies append two entries; a request with fewer did not come through both (or lies).
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    client = Client(raise_request_exception=False)
    data = {"login": "ann@example.com", "email": "ann@example.com", "password": "wrong"}
    response = client.post(reverse(page), data, HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")
    assert response.status_code in (200, 302)


def test_a_short_forwarded_header_is_counted_by_the_address_that_connected(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    request = _request(HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="10.0.0.2")
    assert limits.client_ip(request) == "10.0.0.2"
    # Through both proxies: the entry the outer one appended.
    request = _request(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5, 10.0.0.1", REMOTE_ADDR="10.0.0.2")
    assert limits.client_ip(request) == "203.0.113.5"


# --- Where the counts are kept --------------------------------------------------------------


def _settings_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    drop = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "RATE_LIMITS"}
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    return environ | {"DJANGO_SETTINGS_MODULE": "outsourcing.settings", "VAR_DIR": str(tmp_path)} | extra


SIGN_UPS = """
import django
django.setup()
from django.test import RequestFactory
from outsourcing import limits
request = RequestFactory().post("/accounts/signup/", REMOTE_ADDR="203.0.113.9")
print(sum(limits.exceeded(request, limits.SIGNUP) for _n in range({n})))
"""


def _refused_sign_ups(tmp_path: Path, n: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", SIGN_UPS.format(n=n)],
        cwd=ROOT,
        env=_settings_env(tmp_path, RATE_LIMITS="signup_ip=3/h"),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def test_on_the_embedded_default_every_process_counts_in_the_same_files(tmp_path):
    """Without Redis: gunicorn's workers, or the server after a restart, share the counts."""
    assert _refused_sign_ups(tmp_path, 3) == 0
    assert _refused_sign_ups(tmp_path, 2) == 2
    assert any((tmp_path / "ratelimit").iterdir())


def test_with_redis_the_counts_are_in_redis(tmp_path):
    code = "from django.conf import settings; print(settings.CACHES['ratelimit']['BACKEND'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_settings_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/9"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "outsourcing.cache.GuardedRedisCache"


def test_rates_are_set_from_the_environment_and_a_bad_one_stops_start_up():
    assert rate_limits("signup_ip=5/h, mail_send_user = 60/10m") == {
        "signup_ip": "5/h",
        "mail_send_user": "60/10m",
    }
    for bad in ("signup_ip", "signup_ip=lots", "=5/h", "signup_ip=0/h"):
        with pytest.raises(ImproperlyConfigured, match="RATE_LIMITS"):
            rate_limits(bad)


def test_a_rate_for_a_limit_that_does_not_exist_fails_the_checks(settings):
    settings.RATE_LIMITS = {"sign_up_ip": "5/h"}
    [error] = limits.check_rate_limit_names()
    assert "sign_up_ip" in error.msg


def test_an_unverified_address_cannot_dodge_the_login_limit_by_changing_case(db, settings):
    settings.RATE_LIMITS = {"login_ip_account": "2/h"}
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": None}
    EmailAddress.objects.create(
        user=UserFactory(email="ann@example.com"), email="ann@example.com", verified=True, primary=True
    )
    client = Client()
    client.post(reverse("account_login"), {"login": "ann@example.com", "password": "guess"})
    client.post(reverse("account_login"), {"login": "ANN@example.com ", "password": "guess"})
    assert (
        client.post(reverse("account_login"), {"login": "Ann@Example.com", "password": "x"}).status_code
        == 429
    )


def test_liveness_and_readiness_answer_while_the_rate_limit_cache_is_unreachable(db, settings):
    # make cluster-test cuts Redis off: liveness must not fail with it (an orchestrator would restart web).
    from unittest import mock

    from redis.exceptions import TimeoutError as RedisTimeoutError

    settings.RATE_LIMITS = {"healthz_ip": "1/m"}
    with mock.patch("outsourcing.limits.is_ratelimited", side_effect=RedisTimeoutError("Timeout reading")):
        answers = [Client().get(reverse("healthz")).status_code for _ in range(3)]
        ready = Client().get(reverse("readyz")).status_code
    assert answers == [200, 200, 200]
    assert ready in (200, 503)  # its own checks decide, not the limit's cache
