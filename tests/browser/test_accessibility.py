"""Accessibility in a real Chromium: axe-core on every page, the outcome of an htmx form spoken and
focused, and the core loop done with the keyboard alone."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from engagements.models import AnswerLink, Engagement, Exchange, Flag, Message
from providers import services as provider_services
from tests import surface
from tests.browser import axe
from tests.browser.test_mail_upload import _log_in

pytestmark = pytest.mark.django_db(transaction=True)

# Pages of allauth (not in tests/surface.py's routes) that a signed-in person opens from the menu.
ACCOUNT_PAGES = ["account_email", "account_change_password", "mfa_index"]
ANONYMOUS_PAGES = ["home", "account_login", "account_signup", "account_reset_password"]


def _owner_pages(team, world: surface.World) -> list[str]:
    """Every URL of the project that shows alice, the owner, an HTML page: read from the resolver,
    its parameters filled from a workspace with one of every object, kept if a GET answers 200."""
    client = team.client_for(team.alice)
    urls = [surface.url_for(route, world, team.alice) for route in surface.routes()]
    urls += [reverse(name) for name in ACCOUNT_PAGES]
    pages = []
    for url in urls:
        response = client.get(url)
        # A fragment htmx swaps into a page (no <html>) is checked as part of that page.
        html = response.status_code == 200 and response["Content-Type"].startswith("text/html")
        if html and b"<html" in response.content[:200]:
            pages.append(url)
    return pages


def _set_language(page, live_server, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])


def test_every_page_an_owner_or_a_visitor_sees_has_no_serious_axe_violation_in_english_and_german(
    page, live_server, team, console
):
    world = surface.build_world(team)
    pages = _owner_pages(team, world)
    assert len(pages) >= 40, pages  # the walk found the workspace's pages, not just a few
    axe.install(page.context)
    found: dict[str, list[dict[str, object]]] = {}
    for language in ("en", "de"):
        page.context.clear_cookies()
        _set_language(page, live_server, language)
        for name in ANONYMOUS_PAGES:
            response = page.goto(reverse(name))
            assert response.status == 200, name
            assert page.locator("html").get_attribute("lang") == language
            if seen := axe.violations(page):
                found[f"{language} {name} (anonymous)"] = seen
        _log_in(page, live_server, team.alice)
        for url in pages:
            response = page.goto(url)
            assert response.status == 200, url
            if seen := axe.violations(page):
                found[f"{language} {url}"] = seen
    if found:
        pytest.fail("serious or critical axe-core violations:\n" + axe.report(found), pytrace=False)
    assert console.errors == []


def test_the_providers_answer_pages_have_no_serious_axe_violation_in_english_and_german(
    page, live_server, team, console
):
    """The answer page (no account: tests/browser/test_answer_page.py), with its errors shown,
    and the pages of a link that does not work or has expired."""
    from engagements.answers import links
    from tests.factories import EngagementFactory, ProviderFactory, request_logged

    axe.install(page.context)
    found: dict[str, list[dict[str, object]]] = {}
    for language in ("en", "de"):
        provider = ProviderFactory(workspace=team.workspace, name=f"Lena {language}", languages=[language])
        engagement = EngagementFactory(workspace=team.workspace, provider=provider, title="Newsletter")
        token = links.link_issue(message=request_logged(engagement, by=team.alice))
        expired = links.link_issue(message=request_logged(engagement, by=team.alice))
        AnswerLink.objects.filter(token_hash=links.token_hash(expired)).update(expires_at=timezone.now())
        page.context.clear_cookies()
        _set_language(page, live_server, language)
        page.goto(reverse("answer", kwargs={"token": token}))
        if seen := axe.violations(page):
            found[f"{language} answer page"] = seen
        page.get_by_test_id("answer-ask").click()  # empty: the question's error is shown
        expect(page.get_by_test_id("answer-ask-form").locator(".invalid-feedback")).to_be_visible()
        if seen := axe.violations(page):
            found[f"{language} answer page with an error"] = seen
        for name, bad in (("expired", expired), ("invalid", "no-such-token")):
            page.goto(reverse("answer", kwargs={"token": bad}))
            assert page.locator("html").get_attribute("lang") == language
            if seen := axe.violations(page):
                found[f"{language} {name} link"] = seen
    if found:
        pytest.fail("serious or critical axe-core violations:\n" + axe.report(found), pytrace=False)
    # The expired and broken links answer 410 and 404: Chromium logs those loads.
    assert [e for e in console.errors if "status of 4" not in e] == []


# What has focus, and whether a sighted keyboard user can see it: an outline or a focus shadow.
# A searchable select (Tom Select) takes focus in its search input and draws the ring on the box round
# it, as Bootstrap does for a field: the box is looked at, once Tom Select itself says it has focus.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el.closest(".ts-wrapper.focus .ts-control") || el);
  const rect = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute("name") || "",
    text: (el.innerText || el.getAttribute("aria-label") || el.value || "").trim().slice(0, 80),
    testid: el.dataset.testid || "",
    onScreen: rect.width > 0 && rect.height > 0,
    focus: el.matches(":focus"),
    shadow: style.boxShadow,
    indicated: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
      || (style.boxShadow !== "none" && style.boxShadow !== ""),
  };
}"""


def _focused(page) -> dict[str, object]:
    return page.evaluate(FOCUSED)  # type: ignore[no-any-return]


def _tab_to(page, matches, *, back: bool = False, limit: int = 80) -> dict[str, object]:
    """Press Tab (Shift+Tab) until the focused element matches; every stop on the way must show its focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = _focused(page)
        if not focused["indicated"]:  # Bootstrap fades its focus shadow in: look again once it has
            page.wait_for_timeout(300)
            focused = _focused(page)
        seen.append(focused)
        assert focused["onScreen"] and focused["indicated"], f"focus not visible on {focused}"
        if matches(focused):
            return focused
    raise AssertionError(
        f"never reached; focus went through {[(f['tag'], f['text'] or f['name']) for f in seen]}"
    )


def _by_text(text: str):
    return lambda focused: focused["text"] == text


def _by_name(name: str):
    return lambda focused: focused["name"] == name


def _live(page, which: str, expected: str) -> str:
    """The text of a live region once it says ``expected`` (the script empties it first, then writes)."""
    region = page.get_by_test_id(f"live-{which}")
    with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what it said instead
        page.wait_for_function(
            "([el, want]) => el.textContent.includes(want)",
            arg=[region.element_handle(), expected],
            timeout=5000,
        )
    text = region.inner_text().strip()
    assert expected in text, f"live-{which} says {text!r}"
    return text


def test_the_core_loop_works_with_the_keyboard_alone(page, live_server, team, console):
    """Delegate, log a request, follow up from the flag, log the reply: Tab, Shift+Tab, Enter, Space
    and typing only. After each htmx submit the new entry (or the first error) has focus and the
    outcome is in a live region."""
    provider = provider_services.provider_create(
        workspace=team.workspace,
        name="Ada Lovelace",
        emails=["ada@example.net"],
        country="DE",
        time_zone="UTC",
    )
    _log_in(page, live_server, team.alice)
    page.goto("/w/acme/engagements/")

    # The skip link comes first and takes focus past the navigation.
    assert _tab_to(page, lambda f: True, limit=1)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main"

    _tab_to(page, _by_text("Delegate a task"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/engagements/new/")
    _tab_to(page, lambda f: f["id"] == "id_title")
    page.keyboard.type("Landing page for the webinar")
    _tab_to(page, lambda f: f["id"] in ("id_provider", "id_provider-ts-control"))
    page.keyboard.type("Ada")
    if _focused(page)["tag"] == "input":  # a searchable select: the typed name filters, Enter picks
        page.keyboard.press("Enter")
    _tab_to(page, _by_text("Delegate"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/engagements/\d+/$"))
    engagement = Engagement.objects.get(workspace=team.workspace)
    assert engagement.provider == provider
    assert _live(page, "status", "Task delegated") == "Task delegated to Ada Lovelace."

    # Log the request: the log form comes first in the page's main column.
    _tab_to(page, _by_name("subject"))
    page.keyboard.type("First draft by Friday?")
    _tab_to(page, _by_text("Log message"))
    page.keyboard.press("Enter")
    assert _live(page, "status", "Message logged.") == "Message logged."
    request = Message.objects.get(engagement=engagement)
    assert request.kind == Message.Kind.REQUEST
    assert _focused(page)["id"] == f"message-{request.pk}"

    # A week without an answer: the flagging pass raises the flag, Needs attention shows it.
    with time_machine.travel(timezone.now() + timedelta(days=7), tick=True):
        call_command("flag_overdue", stdout=io.StringIO())
        flag = Flag.objects.get(engagement=engagement, resolved_at=None)
        page.keyboard.press("Control+Home")  # back to the top of the page, then into the navigation
        _tab_to(page, lambda f: f["testid"] == "nav-attention", back=True)
        page.keyboard.press("Enter")
        page.wait_for_url("**/attention/")
        _tab_to(page, _by_text("Follow up"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"**flag={flag.pk}#log-heading")
        assert page.locator("[name=kind]").input_value() == Message.Kind.FOLLOW_UP
        _tab_to(page, _by_text("Log message"))
        page.keyboard.press("Enter")
        assert _live(page, "status", "Message logged.") == "Message logged."
        followup = Message.objects.get(engagement=engagement, kind=Message.Kind.FOLLOW_UP)
        assert _focused(page)["id"] == f"message-{followup.pk}"

        # The reply, first with a mistake: a year ahead is in the future.
        _tab_to(page, _by_name("direction"), back=True)
        page.keyboard.type("From")  # the select's options are picked by typing their start
        assert page.locator("[name=kind]").input_value() == Message.Kind.REPLY
        _tab_to(page, _by_name("occurred_at_0"))  # "When": its date, then its time
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # month, day, year (en-US): on the year
        page.keyboard.press("ArrowUp")
        _tab_to(page, _by_name("body"))
        page.keyboard.type("Sorry, the draft comes on Thursday.")
        _tab_to(page, _by_text("Log message"))
        page.keyboard.press("Enter")
        alert = _live(page, "alert", "Not saved")
        assert alert.startswith("Not saved: please correct the marked fields.")
        assert "When: A message cannot be logged in the future." in alert
        focused = page.locator("*:focus")
        assert focused.get_attribute("name") == "occurred_at_0"
        assert focused.get_attribute("aria-invalid") == "true"
        error_id = focused.get_attribute("aria-describedby")
        assert "id_occurred_at_error" in (error_id or "").split()
        assert (
            page.locator("#id_occurred_at_error").inner_text().strip()
            == "A message cannot be logged in the future."
        )
        assert Message.objects.filter(engagement=engagement).count() == 2

        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        _tab_to(page, _by_text("Log message"))
        page.keyboard.press("Space")
        assert _live(page, "status", "Message logged.") == "Message logged."
        reply = Message.objects.get(engagement=engagement, direction=Message.Direction.INBOUND)
        assert reply.body == "Sorry, the draft comes on Thursday."
        assert _focused(page)["id"] == f"message-{reply.pk}"
        assert Exchange.objects.get(engagement=engagement).replied_at is not None
    assert console.errors == []


def test_a_server_error_after_an_htmx_submit_is_shown_and_announced_and_focus_stays(
    page, live_server, team, console
):
    provider = provider_services.provider_create(workspace=team.workspace, name="Ada Lovelace", emails=[])
    engagement = Engagement.objects.create(workspace=team.workspace, provider=provider, title="Landing page")
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/acme/engagements/{engagement.pk}/")
    page.route(
        f"**/engagements/{engagement.pk}/messages/", lambda route: route.fulfill(status=500, body="boom")
    )
    form = page.locator("form[data-message-form]")
    form.locator("[name=subject]").fill("Draft by Friday?")
    button = form.get_by_role("button", name="Log message")
    button.focus()
    page.keyboard.press("Enter")

    assert _live(page, "alert", "Something went wrong") == "Something went wrong. Please try again. (500)"
    assert (
        page.locator("#messages .alert-danger").inner_text()
        == "Something went wrong. Please try again. (500)"
    )
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Log message"
    assert Message.objects.count() == 0
    # The browser reports the failed request itself; nothing else went wrong.
    assert [e for e in console.errors if "500" not in e] == []


def test_a_page_sent_back_with_errors_focuses_its_first_invalid_field_and_says_why(
    page, live_server, team, console
):
    provider_services.provider_create(workspace=team.workspace, name="Ada Lovelace", emails=[])
    _log_in(page, live_server, team.alice)
    page.goto("/w/acme/engagements/new/")
    page.get_by_role("button", name="Delegate").click()  # no title, no provider
    page.wait_for_load_state()

    alert = _live(page, "alert", "Not saved")
    assert alert == "Not saved: please correct the marked fields. Title: This field is required."
    focused = page.locator("*:focus")
    assert focused.get_attribute("id") == "id_title"
    assert focused.get_attribute("aria-invalid") == "true"
    assert page.locator("#id_provider").get_attribute("aria-invalid") == "true"
    assert Engagement.objects.count() == 0
    assert console.errors == []


def test_a_flag_snoozed_from_needs_attention_keeps_focus_on_its_row_and_is_announced(
    page, live_server, team, console
):
    provider = provider_services.provider_create(workspace=team.workspace, name="Ada Lovelace", emails=[])
    engagement = Engagement.objects.create(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Landing page"
    )
    flag = Flag.objects.create(
        workspace=team.workspace,
        engagement=engagement,
        kind=Flag.Kind.DELIVERY_OVERDUE,
        due_at=timezone.now() - timedelta(hours=2),
        raised_at=timezone.now() - timedelta(hours=1),
    )
    _log_in(page, live_server, team.alice)
    page.goto("/w/acme/engagements/attention/")
    row = page.locator(f"#flag-{flag.pk}")
    row.get_by_role("button", name="Snooze").click()
    row.get_by_role("button", name=re.compile("^Tomorrow")).click()

    assert _live(page, "status", "Flag snoozed until").startswith("Flag snoozed until")
    assert page.evaluate("() => document.activeElement.id") == f"flag-{flag.pk}"
    assert page.get_by_test_id("snoozed-until").is_visible()
    flag.refresh_from_db()
    assert flag.snoozed_until is not None
    assert console.errors == []
