"""Two-factor login (allauth.mfa): enrolling an authenticator app, logging in with its code or a
recovery code, the admin's login, and the owners' requirement for a workspace."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outsourcing.models import Role, User, Workspace
from tests.factories import MembershipFactory, UserFactory
from tests.outsourcing.conftest import url

PASSWORD = "password"  # UserFactory's


def verified(user: User) -> User:
    """allauth lets only a confirmed address log in and enrol a second factor."""
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def log_in(client: Client, user: User, password: str = PASSWORD, next_url: str = ""):
    path = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(path, {"login": user.email, "password": password})


def confirm_password(client: Client, password: str = PASSWORD) -> None:
    """allauth asks for the password again before two-factor settings change."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()


def enrol(client: Client) -> str:
    """Set up an authenticator app as a person does: read the secret off the page, type the app's code."""
    confirm_password(client)
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, response.content.decode()
    return secret


def logged_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def ann(db) -> User:
    return verified(UserFactory(email="ann@example.com", is_staff=True, is_superuser=True))


@pytest.fixture
def enrolled(ann):
    """ann with an authenticator app, logged out again; the secret and a fresh time step."""
    client = Client()
    assert log_in(client, ann).status_code == 302
    secret = enrol(client)
    return secret


# --- Enrolling ---------------------------------------------------------------------------


def test_enrolling_an_authenticator_app_with_its_code_turns_two_factor_login_on(ann):
    client = Client()
    log_in(client, ann)
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(reverse("account_reauthenticate"))
    confirm_password(client)
    page = client.get(reverse("mfa_activate_totp"))
    html = page.content.decode()

    # The QR code is an image (an SVG data URI, which the CSP's img-src allows): no inline script or style.
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "script-src 'self' 'nonce-" in page["Content-Security-Policy"]

    secret = page.context["form"].secret
    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=ann, type=Authenticator.Type.TOTP).exists()

    client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert Authenticator.objects.filter(user=ann, type=Authenticator.Type.TOTP).exists()
    # Recovery codes come with it, shown on a page of their own.
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200
    assert len(codes.context["unused_codes"]) == 10


# --- Logging in ---------------------------------------------------------------------------


def test_with_an_authenticator_app_the_password_alone_does_not_log_in(ann, enrolled):
    client = Client()
    response = log_in(client, ann)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert logged_in_as(client) is None


def test_logging_in_with_the_apps_code(ann, enrolled):
    # A code is taken once: the next one comes half a minute after enrolling.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        client = Client()
        log_in(client, ann)
        wrong = client.post(reverse("mfa_authenticate"), {"code": "123456"})
        assert wrong.status_code == 200
        assert logged_in_as(client) is None

        response = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(enrolled).now()})

    assert response.status_code == 302
    assert logged_in_as(client) == str(ann.pk)


def test_logging_in_with_a_recovery_code_works_once(ann):
    client = Client()
    log_in(client, ann)
    enrol(client)
    code = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"][0]
    client.post(reverse("account_logout"))

    first = Client()
    log_in(first, ann)
    first.post(reverse("mfa_authenticate"), {"code": code})
    assert logged_in_as(first) == str(ann.pk)

    again = Client()
    log_in(again, ann)
    refused = again.post(reverse("mfa_authenticate"), {"code": code})
    assert refused.status_code == 200
    assert logged_in_as(again) is None


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_login_is_allauths_login(ann):
    response = Client().get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_the_admin_asks_for_the_second_factor_too(ann, enrolled):
    client = Client()
    response = log_in(client, ann, next_url="/admin/")
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        done = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(enrolled).now()})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_forty_wrong_passwords_then_the_right_one_do_not_get_into_the_admin(ann):
    client = Client()
    for _attempt in range(40):
        client.post("/admin/login/?next=/admin/", {"username": ann.email, "password": "wrong-guess"})
    response = client.post("/admin/login/?next=/admin/", {"username": ann.email, "password": PASSWORD})

    # The admin's own form is gone: every post is sent to allauth's login, which logs nobody in by itself.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert logged_in_as(client) is None
    assert client.get("/admin/").status_code == 302
    # There, after so many wrong guesses, the right password is refused too.
    for _attempt in range(40):
        log_in(client, ann, password="wrong-guess", next_url="/admin/")
    assert log_in(client, ann, next_url="/admin/").status_code == 429
    assert logged_in_as(client) is None


# --- The workspace's requirement -------------------------------------------------------------


def _has_app(user: User) -> User:
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    return user


@pytest.fixture
def manager(team) -> User:
    return MembershipFactory(workspace=team.workspace, role=Role.MANAGER, user__email="mia@example.com").user


def _require(workspace: Workspace) -> None:
    workspace.require_two_factor = True
    workspace.save(update_fields=["require_two_factor"])


@pytest.mark.parametrize("who", ["alice", "manager", "bob", "vera"])
def test_a_member_without_two_factor_is_sent_to_set_it_up(team, manager, who):
    _require(team.workspace)
    user = manager if who == "manager" else getattr(team, who)
    client = team.client_for(user)

    response = client.get(url("engagements:list"))
    assert response.status_code == 302
    assert response["Location"] == url("two_factor_required")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert reverse("mfa_activate_totp") in page.content.decode()
    # Writing is no way round it.
    posted = client.post(url("members"), {"invite-email": "x@example.com", "invite-role": "viewer"})
    assert posted["Location"] == url("two_factor_required")
    assert not team.workspace.invitations.exists()


@pytest.mark.parametrize("who", ["alice", "manager", "bob", "vera"])
def test_a_member_with_two_factor_uses_the_workspace(team, manager, who):
    _require(team.workspace)
    user = _has_app(manager if who == "manager" else getattr(team, who))
    client = team.client_for(user)

    assert client.get(url("engagements:list")).status_code == 200
    assert client.get(url("two_factor_required"))["Location"] == url("workspace_home")


def test_an_outsider_learns_nothing_about_the_requirement(team):
    _require(team.workspace)
    client = team.client_for(team.charlie)

    assert client.get(url("engagements:list")).status_code == 404
    assert client.get(url("two_factor_required")).status_code == 404


def test_the_requirement_holds_only_in_the_workspace_that_has_it(team):
    _require(team.other_workspace)
    assert team.client_for(team.alice).get(url("engagements:list")).status_code == 200
    assert team.client_for(team.charlie).get(url("engagements:list", ws="other")).status_code == 302


def test_an_htmx_request_reloads_the_whole_page_onto_the_requirement(team):
    _require(team.workspace)
    response = team.client_for(team.bob).get(url("engagements:list"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == url("two_factor_required")


def _security(client: Client, **fields: bool):
    data = {"action": "security"} | {f"security-{name}": "on" for name, on in fields.items() if on}
    return client.post(url("workspace_settings"), data)


def test_an_owner_needs_two_factor_before_requiring_it(team):
    client = team.client_for(team.alice)
    refused = _security(client, require_two_factor=True)
    assert refused.status_code == 200
    assert "for yourself first" in refused.content.decode()
    team.workspace.refresh_from_db()
    assert not team.workspace.require_two_factor

    _has_app(team.alice)
    saved = _security(client, require_two_factor=True)
    assert saved.status_code == 302
    team.workspace.refresh_from_db()
    assert team.workspace.require_two_factor


@pytest.mark.parametrize(("who", "code"), [("manager", 403), ("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_change_the_security_settings(team, manager, who, code):
    user = _has_app(manager if who == "manager" else getattr(team, who))
    response = _security(team.client_for(user), require_two_factor=True, mail_any_recipient=True)

    assert response.status_code == code
    team.workspace.refresh_from_db()
    assert not team.workspace.require_two_factor
    assert not team.workspace.mail_any_recipient


def _members_page(client: Client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("members"))
    return response, len(queries)


def test_the_owner_sees_who_has_two_factor_and_nobody_else_does(team, manager):
    _has_app(team.bob)
    client = team.client_for(team.alice)
    client.get(url("members"))  # the session remembers the workspace, once
    response, count = _members_page(client)
    html = response.content.decode()

    rows = dict(re.findall(r'<tr data-member="(\d+)">.*?data-testid="two-factor">(.*?)</td>', html, re.S))
    states = {pk: ("On" in cell) for pk, cell in rows.items()}
    assert states == {
        str(team.membership(team.alice).pk): False,
        str(team.membership(manager).pk): False,
        str(team.membership(team.bob).pk): True,
        str(team.membership(team.vera).pk): False,
    }
    # One subquery answers it for every row: more members, no more queries.
    for n in range(3):
        _has_app(MembershipFactory(workspace=team.workspace, user__email=f"extra{n}@example.com").user)
    assert _members_page(client)[1] == count
    for user in (manager, team.bob, team.vera):
        html = team.client_for(user).get(url("members")).content.decode()
        assert 'data-testid="two-factor"' not in html
