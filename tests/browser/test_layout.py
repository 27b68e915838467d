"""Layout in a real Chromium: the navigation bar and the main pages fit the window at common
widths, in English and in German (whose words are longer); icons keep their names for screen readers."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from engagements.models import Engagement, Notification
from outsourcing.models import User, Workspace
from providers.models import Provider
from tests.browser.test_mail_upload import _log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [800, 1000, 1200, 1280, 1440])
def test_the_navigation_fits_the_window_in_english_and_german(page, live_server, team, console, width):
    Workspace.objects.filter(pk=team.workspace.pk).update(
        name="Müller & Schmidt Online-Marketing Agentur GmbH"
    )
    _log_in(page, live_server, team.alice)
    page.set_viewport_size({"width": width, "height": 700})
    for language in ("en", "de"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.goto("/w/acme/engagements/")

        too_wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert too_wide <= 0, f"{language} at {width}px: {too_wide}px wider than the window"
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
        # Every part of the bar is on screen (open the collapsed menu first).
        for testid in (
            "nav-attention",
            "nav-reliability",
            "nav-search-input",
            "nav-notifications",
            "workspace-switcher",
            "account-menu",
        ):
            box = page.get_by_test_id(testid).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
                language,
                width,
                testid,
            )
    assert console.errors == []


@pytest.mark.parametrize("width", [1280, 1440])
def test_on_a_laptop_the_navigation_is_one_row_in_german_too_with_a_two_digit_count(
    page, live_server, team, console, width
):
    from datetime import timedelta

    from django.utils import timezone

    from engagements.models import Flag
    from tests.factories import EngagementFactory

    Workspace.objects.filter(pk=team.workspace.pk).update(
        name="Müller & Schmidt Online-Marketing Agentur GmbH"
    )
    for i in range(12):
        engagement = EngagementFactory(workspace=team.workspace, title=f"Overdue {i}")
        Flag.objects.create(
            workspace=team.workspace,
            engagement=engagement,
            kind=Flag.Kind.REPLY_OVERDUE,
            due_at=timezone.now() - timedelta(hours=i + 1),
        )
    _log_in(page, live_server, team.alice)
    page.set_viewport_size({"width": width, "height": 700})
    for language in ("en", "de"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.goto("/w/acme/engagements/")
        assert page.get_by_test_id("nav-attention").locator(".badge").inner_text().startswith("12")
        tops = {
            testid: round(page.get_by_test_id(testid).bounding_box()["y"])
            for testid in (
                "nav-attention",
                "nav-reliability",
                "nav-search-input",
                "workspace-switcher",
                "account-menu",
            )
        }
        brand = page.locator(".navbar-brand").bounding_box()
        assert all(abs(top - tops["nav-attention"]) <= 8 for top in tops.values()), (language, width, tops)
        assert page.locator("nav.navbar").bounding_box()["height"] <= brand["height"] + 30, (language, width)
        # The page below lines up with the bar.
        assert abs(page.get_by_role("heading", level=1).bounding_box()["x"] - brand["x"]) <= 1
    assert console.errors == []


def test_the_icons_keep_their_names_and_members_sit_in_the_workspace_menu(page, live_server, team, console):
    _log_in(page, live_server, team.alice)
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto("/w/acme/engagements/")

    assert page.get_by_role("link", name="Notifications").is_visible()
    assert page.get_by_role("button", name="alice@example.com").is_visible()
    page.get_by_test_id("workspace-switcher").click()
    page.get_by_test_id("nav-members").click()
    page.wait_for_url("**/members/")
    assert page.get_by_role("heading", level=1).inner_text()
    assert console.errors == []


# How far a page's widest parts reach past the window, and which they are.
OVERFLOW = """() => {
  const wider = document.documentElement.scrollWidth - window.innerWidth;
  const parts = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + "." + el.className);
  return {wider, parts};
}"""


def test_the_main_pages_fit_a_phone_and_a_laptop_in_english_and_german(page, live_server, console):
    call_command("seed_demo", verbosity=0)
    _log_in(page, live_server, User.objects.get(email="demo@example.com"))
    engagement = Engagement.objects.filter(workspace__slug="demo").order_by("pk").first()
    provider = Provider.objects.filter(workspace__slug="demo").order_by("pk").first()
    paths = [
        "/w/demo/engagements/",
        "/w/demo/engagements/new/",
        f"/w/demo/engagements/{engagement.pk}/",
        f"/w/demo/engagements/{engagement.pk}/edit/",
        "/w/demo/engagements/attention/",
        "/w/demo/providers/",
        "/w/demo/providers/new/",
        f"/w/demo/providers/{provider.pk}/",
        "/w/demo/providers/policies/",
        "/w/demo/reliability/",
        f"/w/demo/mail/engagements/{engagement.pk}/compose/",
        "/w/demo/mail/unsorted/",
        "/w/demo/mail/upload/",
        "/w/demo/mail/mailboxes/",
        "/w/demo/mail/mailboxes/new/",
        "/w/demo/mail/webhook/",
        "/w/demo/notifications/",
        "/w/demo/members/",
        "/w/demo/settings/",
    ]
    too_wide = []
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        for language in ("en", "de"):
            page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            for path in paths:
                assert page.goto(path).status == 200, path
                seen = page.evaluate(OVERFLOW)
                if seen["wider"] > 0:
                    too_wide.append((width, language, path, seen))
    assert too_wide == []
    assert console.errors == []


def test_on_a_phone_an_unread_notification_with_a_long_word_keeps_its_button_on_screen(
    page, live_server, team, console
):
    # A headline with a word as wide as the phone's column; beside it, the actions left the window.
    Notification.objects.create(
        workspace=team.workspace,
        recipient=team.alice,
        channel=Notification.Channel.IN_APP,
        status=Notification.Status.SENT,
        subject="Rückmeldefristüberschreitungsbenachrichtigung: Suchmaschinenoptimierungsagentur",
        idempotency_key="long-word",
    )
    _log_in(page, live_server, team.alice)
    page.set_viewport_size({"width": 390, "height": 800})
    page.context.add_cookies([{"name": "django_language", "value": "de", "url": live_server.url}])
    page.goto("/w/acme/notifications/")

    assert page.evaluate(OVERFLOW)["wider"] <= 0
    button = page.get_by_test_id("notification").get_by_role("button", name="Als gelesen markieren")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    button.click()
    expect(page.get_by_test_id("notification")).not_to_have_attribute("data-unread", "true")
    assert console.errors == []
