"""Two-factor login in a real Chromium: set up from a workspace that requires it, under the strict CSP."""

from __future__ import annotations

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_sets_up_an_authenticator_app_when_the_workspace_requires_it(page, team, console):
    team.workspace.require_two_factor = True
    team.workspace.save(update_fields=["require_two_factor"])
    EmailAddress.objects.create(user=team.bob, email=team.bob.email, verified=True, primary=True)
    page.goto("/accounts/login/?next=/w/acme/engagements/")
    page.get_by_label("Email").fill(team.bob.email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url("**/w/acme/two-factor/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/2fa/totp/activate/")

    qr = page.locator("img[src^='data:image/svg+xml']")
    # Drawn, not blocked: the CSP's img-src allows the data URI.
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "two_factor_activate.png"), full_page=True)
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activate").click()

    page.wait_for_url("**/2fa/recovery-codes/")
    assert Authenticator.objects.filter(user=team.bob, type=Authenticator.Type.TOTP).exists()
    page.goto("/w/acme/engagements/")
    assert page.url.endswith("/w/acme/engagements/")
    assert console.errors == []
