"""A visitor's first run, in a real Chromium: the landing page, sign-up with a name and a workspace
name, the dashboard's checklist, and the sample workspace, under the strict CSP with no console errors."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from outsourcing.models import Membership, Role, User, Workspace
from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def _confirmation_path() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"https?://[^/\s]+(/accounts/\S+)", body)
    assert match, body
    return match.group(1)


def test_a_visitor_signs_up_from_the_landing_page_and_explores_a_sample(page, console, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    page.goto("/")
    assert page.get_by_role("heading", name="Know who owes you a reply").is_visible()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "landing.png"), full_page=True)
    page.get_by_test_id("landing").get_by_role("link", name="Sign up").click()
    page.wait_for_url("**/accounts/signup/")

    page.get_by_label("First name").fill("Jana")
    page.get_by_label("Last name").fill("Müller")
    page.get_by_label("Email").fill("jana.mueller@example.com")
    page.locator("#id_password1").fill("a-long-pass-phrase-42")
    page.locator("#id_password2").fill("a-long-pass-phrase-42")
    page.get_by_label("Workspace name").fill("Müller Marketing")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/confirm-email/**")

    # The confirmation link from the mail, as the person clicks it.
    page.goto(_confirmation_path())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/reliability/")
    assert page.get_by_role("heading", level=1).inner_text() == "Müller Marketing"
    assert "Müller Marketing" in page.title()
    checklist = page.get_by_test_id("first-run-checklist")
    assert checklist.is_visible()
    assert checklist.get_by_role("link", name="Add a provider").is_visible()
    assert checklist.get_by_role("link", name="Invite a colleague").is_visible()
    assert page.get_by_test_id("account-menu").inner_text().strip() == "Jana Müller"
    page.screenshot(path=str(SCREENSHOT_DIR / "first_run_checklist.png"), full_page=True)
    user = User.objects.get(email="jana.mueller@example.com")
    assert user.display_name == "Jana Müller"
    assert Membership.objects.get(user=user).role == Role.OWNER

    checklist.get_by_role("button", name="Explore a sample workspace").click()
    page.wait_for_url(re.compile(r".*/w/sample-workspace[^/]*/reliability/$"))
    banner = page.get_by_test_id("sample-banner")
    assert banner.is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "Sample workspace"
    # Sample data: figures, not the empty dashboard.
    assert page.get_by_test_id("kpis").is_visible()
    sample = Workspace.objects.get(is_sample=True)
    assert sample.memberships.get().user == user

    # Deleting it asks first, then takes the person home, to their own workspace.
    banner.get_by_role("link", name="Delete the sample workspace").click()
    page.get_by_role("button", name="Delete the sample workspace").click()
    page.wait_for_url("**/w/**")
    assert not Workspace.objects.filter(is_sample=True).exists()
    assert page.get_by_role("heading", level=1).inner_text() == "Müller Marketing"

    # CSP violations show up as console errors: none may have happened.
    assert console.errors == []


def test_a_german_visitor_switches_the_landing_page_and_the_sign_up_form_to_german(page, console):
    page.goto("/")
    page.get_by_role("button", name="DE").click()
    page.get_by_role("heading", name="Wissen, wer Ihnen eine Antwort schuldet").wait_for()
    page.get_by_test_id("landing").get_by_role("link", name="Registrieren").click()
    page.wait_for_url("**/accounts/signup/")
    assert page.get_by_label("Vorname").is_visible()
    assert page.get_by_label("Name des Arbeitsbereichs").is_visible()
    assert console.errors == []


def test_an_invited_colleague_signs_up_from_the_link_without_a_workspace_of_their_own_and_joins(
    page, console, settings, django_capture_on_commit_callbacks
):
    from outsourcing import services

    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    owner = User.objects.create_user("maria@example.com", "x", first_name="Maria")
    workspace = services.workspace_create(name="Acme Marketing", owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.invitation_create(
            workspace=workspace, email="tom@example.com", role=Role.MEMBER, invited_by=owner
        )

    page.goto(issued.path)
    page.locator("main").get_by_role("link", name="Sign up").click()
    page.wait_for_url("**/accounts/signup/**")
    assert "Acme Marketing" in page.get_by_test_id("signup-invitation").inner_text()
    assert page.get_by_label("Workspace name").count() == 0
    assert page.get_by_label("Email").input_value() == "tom@example.com"
    page.get_by_label("First name").fill("Tom")
    page.locator("#id_password1").fill("a-long-pass-phrase-42")
    page.locator("#id_password2").fill("a-long-pass-phrase-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/confirm-email/**")

    page.goto(_confirmation_path())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**{issued.path}")
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/w/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Marketing"
    tom = User.objects.get(email="tom@example.com")
    assert [(m.workspace.name, m.role) for m in Membership.objects.filter(user=tom)] == [
        ("Acme Marketing", Role.MEMBER)
    ]
    assert console.errors == []
