"""A person's first session, in a real Chromium: sign up, add a provider, delegate a
task, log a request and the reply, all under the strict CSP with no console errors."""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from engagements.models import Engagement, Exchange
from outsourcing.models import Membership, Role
from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def _confirmation_path() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"https?://[^/\s]+(/accounts/\S+)", body)
    assert match, body
    return match.group(1)


def test_sign_up_add_a_provider_delegate_and_log_a_request_and_its_reply(page, console, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    page.goto("/accounts/signup/")
    page.locator("#id_first_name").fill("Mara")
    page.locator("#id_email").fill("marketer@example.com")
    page.locator("#id_password1").fill("a-long-pass-phrase-42")
    page.locator("#id_password2").fill("a-long-pass-phrase-42")
    page.locator("#id_workspace_name").fill("Mara Marketing")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/confirm-email/**")

    page.goto(_confirmation_path())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/w/**")
    membership = Membership.objects.select_related("workspace").get(user__email="marketer@example.com")
    assert membership.role == Role.OWNER

    page.get_by_role("link", name="Providers").first.click()
    page.get_by_role("link", name="Add provider").first.click()
    page.locator("#id_name").fill("Anna Schmidt")
    page.locator("#id_company").fill("Schmidt Webdesign")
    page.locator("#id_emails").fill("anna@example.net")
    page.locator("#id_country").select_option("DE")  # fills in her time zone and currency
    page.get_by_label("Web design").check()
    page.get_by_role("button", name="Add provider").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))
    assert page.get_by_role("heading", name=re.compile("Anna Schmidt")).is_visible()

    page.get_by_role("link", name="Delegate a task").first.click()
    page.locator("#id_title").fill("Landingpage für das Webinar")
    page.get_by_role("button", name="Delegate").click()
    page.wait_for_url(re.compile(r".*/engagements/\d+/$"))
    engagement = Engagement.objects.get(workspace=membership.workspace)

    # The log form posts through htmx: a marker on window survives only if the
    # page is not reloaded.
    page.evaluate("window.__notReloaded = true")
    two_days_ago = timezone.localtime(timezone.now() - timedelta(days=2), timezone.get_default_timezone())
    form = page.locator("form[data-message-form]")
    form.locator("[name=direction]").select_option("out")
    form.locator("[name=kind]").select_option("request")
    form.get_by_role("group", name="When").get_by_label("Date").fill(two_days_ago.strftime("%Y-%m-%d"))
    form.get_by_role("group", name="When").get_by_label("Time").fill(two_days_ago.strftime("%H:%M"))
    form.locator("[name=subject]").fill("Landingpage: Entwurf bis Freitag?")
    form.locator("[name=body]").fill("Hallo Anna, schaffst du einen ersten Entwurf bis Freitag?")
    form.get_by_role("button", name="Log message").click()
    page.get_by_test_id("timeline").get_by_text("Landingpage: Entwurf bis Freitag?").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert Exchange.objects.get(engagement=engagement).replied_at is None

    form = page.locator("form[data-message-form]")
    form.locator("[name=direction]").select_option("in")
    form.locator("[name=kind]").select_option("reply")
    form.locator("[name=subject]").fill("Re: Landingpage: Entwurf bis Freitag?")
    form.locator("[name=body]").fill("Klar, der Entwurf kommt Donnerstag.")
    form.get_by_role("button", name="Log message").click()
    page.get_by_test_id("timeline").get_by_text("Klar, der Entwurf kommt Donnerstag.").wait_for()
    assert page.evaluate("window.__notReloaded") is True

    exchange = Exchange.objects.get(engagement=engagement)
    assert exchange.replied_at is not None
    assert exchange.reply_seconds is not None and exchange.reply_seconds >= 2 * 86400 - 120
    assert page.get_by_test_id("exchanges").is_visible()

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "walkthrough.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(shot, SCREENSHOT_DIR.parents[1] / "docs" / "screenshot.png")

    # CSP violations show up as console errors: none may have happened.
    assert console.errors == []
