"""Sign-up, e-mail confirmation, log-in, log-out and password reset through allauth."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from outsourcing.models import Membership, Role, User, Workspace
from tests.outsourcing.conftest import link_in_last_mail

PASSWORD = "a-Long-enough-passw0rd"


def sign_up(client, email: str = "new@example.com", **extra: str):
    data = {
        "first_name": "Jana",
        "last_name": "Müller",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "Müller Marketing",
    }
    return client.post(reverse("account_signup") + extra.get("query", ""), data)


def confirm_from_mail(client):
    """Open the confirmation link from the mail and POST its confirm form, as a person would."""
    path = link_in_last_mail()
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path)


def test_sign_up_confirmation_and_landing_in_the_own_workspace(client, db):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]

    response = confirm_from_mail(client)
    assert response.status_code == 302
    landed = client.get(response["Location"], follow=True)

    user = User.objects.get(email="new@example.com")
    memberships = list(Membership.objects.filter(user=user).select_related("workspace"))
    assert len(memberships) == 1
    assert memberships[0].role == Role.OWNER
    assert EmailAddress.objects.get(user=user).verified
    assert landed.status_code == 200
    assert landed.wsgi_request.path.startswith(f"/w/{memberships[0].workspace.slug}/")


def test_an_unconfirmed_account_cannot_log_in_yet(client, db):
    sign_up(client)
    other = client.__class__()
    response = other.post(reverse("account_login"), {"login": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in other.session


def test_sign_up_errors_keep_the_address_typed(client, db):
    response = client.post(
        reverse("account_signup"), {"email": "new@example.com", "password1": "x", "password2": "y"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="new@example.com"' in html
    assert "is-invalid" in html
    assert not User.objects.exists()


def test_sign_up_keeps_the_name_on_the_person_and_names_the_workspace_as_asked(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "  Jana ",
            "last_name": " Müller",
            "email": "jana.mueller@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "workspace_name": "  Müller Marketing  ",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="jana.mueller@example.com")
    assert (user.first_name, user.last_name) == ("Jana", "Müller")
    assert user.display_name == "Jana Müller"
    [membership] = Membership.objects.filter(user=user).select_related("workspace")
    assert membership.workspace.name == "Müller Marketing"
    assert membership.role == Role.OWNER
    assert not membership.first_run_done
    assert "jana.mueller's workspace" not in Workspace.objects.values_list("name", flat=True)


def test_sign_up_asks_for_name_and_workspace_name_first_and_last(client, db):
    html = client.get(reverse("account_signup")).content.decode()
    order = [html.index(f'name="{field}"') for field in ("first_name", "last_name", "email", "password1")]
    assert order == sorted(order)
    assert html.index('name="password2"') < html.index('name="workspace_name"')
    assert 'autocomplete="given-name"' in html
    assert 'maxlength="150"' in html
    assert 'maxlength="100"' in html


def test_the_sign_up_form_speaks_german(client, db):
    html = client.get(reverse("account_signup"), headers={"accept-language": "de"}).content.decode()
    assert "Vorname" in html
    assert "Nachname" in html
    assert "Name des Arbeitsbereichs" in html
    assert "Ihre Firma, Ihr Team oder Projekt" in html


@pytest.mark.parametrize(
    ("missing", "blank"),
    [("first_name", ""), ("first_name", "   "), ("workspace_name", ""), ("workspace_name", "  ")],
)
def test_sign_up_without_a_name_or_a_workspace_name_is_refused_keeping_what_was_typed(
    client, db, missing, blank
):
    data = {
        "first_name": "Jana",
        "email": "jana@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "Müller Marketing",
    }
    data[missing] = blank
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{missing}"' in html
    assert "is-invalid" in html
    assert "This field is required." in html
    assert 'value="jana@example.com"' in html
    kept = "Müller Marketing" if missing == "first_name" else "Jana"
    assert f'value="{kept}"' in html
    assert not User.objects.exists()
    assert not Workspace.objects.exists()


def test_a_name_or_workspace_name_too_long_is_refused(client, db):
    data = {
        "first_name": "J" * 151,
        "email": "jana@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "W" * 101,
    }
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert response.content.decode().count("Ensure this value has at most") == 2
    assert not User.objects.exists()


def test_a_person_without_a_name_is_still_shown_by_address(db):
    user = User.objects.create_user("old.timer@example.com", PASSWORD)
    assert user.display_name == "old.timer@example.com"
    from outsourcing.services import workspace_for_new_user

    assert workspace_for_new_user(user=user).name == "old.timer's workspace"


def test_the_account_menu_shows_the_persons_name(client, db):
    sign_up(client)
    confirm_from_mail(client)
    html = client.get(reverse("home"), follow=True).content.decode()
    assert '<span class="ms-1 nav-icon-label">Jana Müller</span>' in html
    assert "Müller Marketing" in html
    # The name can be changed later, from the account menu.
    workspace = Membership.objects.get(user__email="new@example.com").workspace
    settings_url = reverse("workspace_settings", kwargs={"ws": workspace.slug})
    assert f'href="{settings_url}#profile-heading" data-testid="nav-profile"' in html
    client.post(
        settings_url,
        {"action": "profile", "profile-first_name": "Jana-Marie", "profile-last_name": "Müller"},
    )
    assert User.objects.get(email="new@example.com").display_name == "Jana-Marie Müller"


@pytest.fixture
def verified_user(db) -> User:
    user = User.objects.create_user("ann@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_a_verified_user_logs_in_and_goes_home(client, verified_user):
    response = client.post(reverse("account_login"), {"login": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(verified_user.pk)


def test_a_wrong_password_shows_an_error_and_keeps_the_address(client, verified_user):
    response = client.post(reverse("account_login"), {"login": "ann@example.com", "password": "nope"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "not correct" in html
    assert 'value="ann@example.com"' in html


def test_logging_out_ends_the_session(client, verified_user):
    client.force_login(verified_user)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_link_that_sets_a_new_password(client, verified_user):
    response = client.post(reverse("account_reset_password"), {"email": "ann@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.com"]

    form_page = client.get(link_in_last_mail(), follow=True)
    assert form_page.status_code == 200
    new = "an0ther-Long-passphrase"
    done = client.post(form_page.wsgi_request.path, {"password1": new, "password2": new})
    assert done.status_code == 302
    verified_user.refresh_from_db()
    assert verified_user.check_password(new)


def test_a_password_reset_for_an_unknown_address_reveals_nothing(client, db):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")


ANONYMOUS_PAGES = ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"]
SIGNED_IN_PAGES = ["account_email", "account_change_password", "account_logout"]


def assert_in_our_layout(html: str) -> None:
    assert 'class="navbar-brand' in html  # our base.html, not allauth's bare layout
    assert "<style" not in html
    assert " style=" not in html
    # Every script is an external file carrying the CSP nonce; none is inline.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag and "nonce=" in tag, tag


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_allauth_pages_for_visitors_use_our_layout(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_in_our_layout(response.content.decode())


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_allauth_pages_for_members_use_our_layout(client, verified_user, name):
    client.force_login(verified_user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_in_our_layout(response.content.decode())


def test_allauth_forms_are_rendered_by_crispy_bootstrap(client, db):
    html = client.get(reverse("account_login")).content.decode()
    assert 'class="textinput form-control"' in html  # a crispy-bootstrap5 input, not as_p
    assert 'class="form-label requiredField"' in html
    assert 'class="btn btn-primary"' in html


def test_the_e_mail_page_asks_before_removing_an_address(client, verified_user):
    client.force_login(verified_user)
    html = client.get(reverse("account_email")).content.decode()
    assert 'name="action_remove"' in html
    assert "data-confirm-click=" in html
    assert "confirm_button.js" in html


def test_the_verification_sent_and_confirm_pages_use_our_layout(client, db):
    sign_up(client)
    sent = client.get(reverse("account_email_verification_sent"))
    assert_in_our_layout(sent.content.decode())
    confirm = client.get(link_in_last_mail())
    assert confirm.status_code == 200
    assert_in_our_layout(confirm.content.decode())
    assert 'class="btn btn-primary"' in confirm.content.decode()


def test_a_bad_confirmation_link_is_a_page_not_an_error(client, db):
    response = client.get(reverse("account_confirm_email", args=["nonsense"]))
    assert response.status_code in (200, 404)
    assert_in_our_layout(response.content.decode())


def test_signing_up_on_the_german_site_chooses_german_emails(client, db, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    sign_up(client)
    assert User.objects.get(email="new@example.com").language == "de"
    sign_up(client.__class__(), email="other@example.com")
    assert User.objects.get(email="other@example.com").language == "en"
