"""Phone-sized pages in a real Chromium at 390 × 844 with touch: lists read as cards without
scrolling sideways, filters fold away until tapped, and a reply is logged from Needs attention
in two taps. On a laptop the same lists stay tables with their filters open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from engagements import deadlines, services
from engagements.flagging import flag_pass
from engagements.models import Message
from engagements.reliability import snapshots
from tests.browser.conftest import ConsoleLog
from tests.browser.test_attention import _log_in, _overdue
from tests.browser.test_reliability import _history
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

# How far the page, and any scrolling box in it, reaches past its own width.
SIDEWAYS = """() => ({
  page: document.documentElement.scrollWidth - window.innerWidth,
  boxes: [...document.querySelectorAll(".table-responsive")].map((el) => el.scrollWidth - el.clientWidth),
})"""


@pytest.fixture
def phone(browser: object, live_server: object, console: ConsoleLog) -> Iterator[object]:
    """A page in a phone-sized, touch-driven browser context."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        locale="en-US",
    )
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _on_screen(page, locator) -> bool:
    """The element lies wholly inside the phone's window, as first shown (no scrolling)."""
    box = locator.bounding_box()
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= PHONE["width"]
        and box["y"] + box["height"] <= PHONE["height"]
    )


def _engagements(team) -> None:
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel-Schmidt Kommunikationsdesign")
    for i in range(3):
        engagement = EngagementFactory(
            workspace=team.workspace,
            provider=provider,
            owner=team.alice,
            title=f"Quarterly newsletter copy for the spring campaign, part {i + 1}",
            due_on=timezone.localdate() + timedelta(days=10 + i),
        )
        services.message_log(
            engagement=engagement,
            direction="out",
            kind="request",
            subject="Texts",
            occurred_at=timezone.now() - timedelta(hours=3),
        )


def test_the_engagement_list_shows_status_whose_turn_and_due_date_as_cards_on_a_phone(
    phone, console, team, live_server
):
    _engagements(team)
    _log_in(phone, live_server, team.alice)
    phone.goto(f"/w/{team.workspace.slug}/engagements/")

    assert phone.evaluate(SIDEWAYS) == {"page": 0, "boxes": [0]}
    first = phone.get_by_test_id("engagement-row").first
    for testid in ("cell-status", "cell-turn", "cell-due"):
        cell = first.get_by_test_id(testid)
        assert cell.is_visible() and _on_screen(phone, cell), testid
    # Each line of the card says what it is.
    assert (
        first.get_by_test_id("cell-status").evaluate("el => getComputedStyle(el, '::before').content")
        == '"Status"'
    )
    assert "provider owes a reply" in first.get_by_test_id("cell-turn").inner_text()
    assert first.get_by_test_id("cell-due").inner_text().strip()
    # The column headers stay as the order's links.
    assert phone.get_by_role("link", name="Due", exact=True).is_visible()

    # The filters wait behind one button; a tap opens them, and the count follows what is set.
    toggle = phone.get_by_test_id("filters-toggle")
    assert toggle.inner_text() == "Filters"
    assert toggle.get_attribute("aria-expanded") == "false"
    assert toggle.get_attribute("aria-controls") == "engagement-filters"
    search = phone.get_by_label("Search", exact=True)
    assert not search.is_visible()
    toggle.tap()
    search.wait_for(state="visible")
    assert toggle.get_attribute("aria-expanded") == "true"
    search.fill("part 2")
    phone.get_by_label("Awaiting reply").select_option("yes")
    phone.get_by_role("button", name="Filter", exact=True).tap()
    phone.wait_for_url(re.compile(r".*q=part\+2.*"))
    assert phone.get_by_test_id("filters-toggle").inner_text() == "Filters (2 active)"
    assert not phone.get_by_label("Search", exact=True).is_visible()
    assert phone.get_by_test_id("engagement-row").count() == 1
    assert console.errors == []


def test_on_a_laptop_the_engagement_list_stays_a_table_with_its_filters_open(
    page, console, team, live_server
):
    _engagements(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/?awaiting=yes")

    assert not page.get_by_test_id("filters-toggle").is_visible()
    assert page.get_by_label("Search", exact=True).is_visible()
    assert page.get_by_role("columnheader", name="Whose turn").is_visible()
    row = page.get_by_test_id("engagement-row").first
    assert row.evaluate("el => getComputedStyle(el).display") == "table-row"
    status, due = (
        row.get_by_test_id("cell-status").bounding_box(),
        row.get_by_test_id("cell-due").bounding_box(),
    )
    assert status is not None and due is not None and status["y"] == due["y"]  # one line, side by side
    assert console.errors == []


def test_the_leaderboard_and_the_providers_fit_a_phone_without_scrolling_sideways(
    phone, console, team, live_server
):
    _history(team, "Prompt Paula from the Very Long Agency Name Ltd", [1, 2, 0.5, 3, 1, 2])
    _history(team, "Silent Simon", [30, None, None, 70, None, None])
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    _log_in(phone, live_server, team.alice)

    phone.goto(f"/w/{team.workspace.slug}/reliability/providers/")
    assert phone.get_by_test_id("leaderboard-row").count() == 2
    assert phone.evaluate(SIDEWAYS) == {"page": 0, "boxes": [0]}
    assert not phone.get_by_label("Period").is_visible()
    phone.get_by_test_id("filters-toggle").tap()
    phone.get_by_label("Period").wait_for(state="visible")

    phone.goto(f"/w/{team.workspace.slug}/providers/")
    assert phone.evaluate(SIDEWAYS) == {"page": 0, "boxes": [0]}
    assert phone.get_by_test_id("filters-toggle").is_visible()

    for path in ("members/", "providers/policies/"):
        phone.goto(f"/w/{team.workspace.slug}/{path}")
        assert phone.locator("table.table-cards").count() >= 1, path
        assert phone.evaluate(SIDEWAYS)["page"] == 0, path
        assert all(box == 0 for box in phone.evaluate(SIDEWAYS)["boxes"]), path
    assert console.errors == []


def test_a_reply_is_logged_from_needs_attention_on_a_phone_in_two_taps(phone, console, team, live_server):
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    engagement = _overdue(team, provider, "Produktfotos")
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 1
    _log_in(phone, live_server, team.alice)
    phone.goto(f"/w/{team.workspace.slug}/engagements/attention/")

    row = phone.get_by_test_id("flag-row").filter(has_text="Produktfotos")
    row.get_by_role("link", name="Log reply").tap()  # tap 1
    phone.wait_for_url(re.compile(r".*/engagements/\d+/messages/\?direction=in$"))
    form = phone.locator("form[data-message-form]")
    assert form.locator("[name=direction]").input_value() == "in"
    assert form.locator("[name=kind]").input_value() == "reply"
    body = form.locator("[name=body]")
    assert body.evaluate("el => el === document.activeElement")
    # Focused, the text field is scrolled into the phone's window, ready for the keyboard.
    phone.wait_for_function(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
        arg=body.element_handle(),
    )
    phone.keyboard.type("Die Fotos kommen am Freitag.")
    form.get_by_role("button", name="Log message").tap()  # tap 2

    phone.get_by_test_id("timeline").get_by_text("Die Fotos kommen am Freitag.").wait_for()
    message = Message.objects.get(engagement=engagement, direction="in")
    assert (message.kind, message.body) == ("reply", "Die Fotos kommen am Freitag.")
    assert console.errors == []


def test_on_a_phone_the_bulk_actions_wait_folded_until_a_row_is_ticked(phone, console, team, live_server):
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    _overdue(team, provider, "Produktfotos")
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 1
    _log_in(phone, live_server, team.alice)
    phone.goto(f"/w/{team.workspace.slug}/engagements/attention/")

    bar = phone.get_by_test_id("bulk-bar")
    snooze = bar.get_by_test_id("bulk-snooze")
    assert bar.get_by_test_id("select-all").is_visible() and not snooze.is_visible()
    row = phone.get_by_test_id("flag-row").filter(has_text="Produktfotos")
    assert _on_screen(phone, row), "the first flag is on screen, not below a wall of controls"
    row.locator("input[type=checkbox]").tap()
    snooze.wait_for()
    assert bar.get_by_test_id("bulk-count").inner_text() == "1 selected"
    assert console.errors == []
