"""Saved views in Chromium: one person filters and sorts the list and shares it as a view; a colleague
opens it from the Views menu and sees the same rows in the same order."""

from __future__ import annotations

import pytest

from engagements.models import SavedView
from tests.browser.conftest import ConsoleLog
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _titles(page) -> list[str]:
    return page.locator("[data-testid=engagement-row] [data-testid=cell-title] a").all_inner_texts()


def _click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_a_shared_view_shows_a_colleague_the_same_filtered_rows(page, console, browser, team, live_server):
    ada = ProviderFactory(workspace=team.workspace, name="Ada Atelier")
    bea = ProviderFactory(workspace=team.workspace, name="Bea Bold")
    for title, provider, owner in [
        ("Cover redesign", ada, team.alice),
        ("Audit backlinks", ada, team.bob),
        ("Brochure layout", bea, team.alice),
        ("Blog posts", ada, None),
        ("Drip sequence", bea, team.bob),
    ]:
        EngagementFactory(workspace=team.workspace, provider=provider, owner=owner, title=title)
    start = f"/w/{team.workspace.slug}/engagements/"

    # Alice narrows the list to Ada's engagements, sorted by title, and saves that for the team.
    _log_in(page, live_server, team.alice)
    page.goto(start)
    page.get_by_label("Provider", exact=True).select_option(label="Ada Atelier")
    _click_and_wait(page, page.get_by_role("button", name="Filter"))
    _click_and_wait(page, page.locator("a[data-sort='title']"))
    filtered = _titles(page)
    assert filtered == ["Audit backlinks", "Blog posts", "Cover redesign"]
    page.get_by_test_id("saved-views-toggle").click()
    assert page.get_by_test_id("saved-views-empty").is_visible()
    page.get_by_label("Save this view as").fill("Ada's work")
    page.get_by_label("Share with the workspace").check()
    _click_and_wait(page, page.get_by_test_id("save-view-submit"))
    assert "was saved and shared with the workspace" in page.locator("#messages .alert").first.inner_text()
    assert _titles(page) == filtered
    assert page.get_by_test_id("saved-views-toggle").inner_text() == "Views: Ada's work"
    view = SavedView.objects.get()
    assert (view.shared, view.creator) == (True, team.alice)

    # Bob, a member, opens the list unfiltered, then the view from the menu.
    bobs = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    bob_console = ConsoleLog()
    bob = bobs.new_page()
    bob.on("console", bob_console.on_console)
    bob.on("pageerror", bob_console.on_page_error)
    bob.set_default_timeout(15_000)
    try:
        _log_in(bob, live_server, team.bob)
        bob.goto(start)
        assert len(_titles(bob)) == 5
        bob.get_by_test_id("saved-views-toggle").click()
        shared = bob.get_by_test_id("saved-views-shared")
        assert shared.get_by_role("link").all_inner_texts() == [f"Ada's work {team.alice.display_name}"]
        _click_and_wait(bob, shared.get_by_role("link", name="Ada's work"))
        assert _titles(bob) == filtered
        assert (
            bob.get_by_label("Provider", exact=True).locator("option:checked").inner_text() == "Ada Atelier"
        )
        assert bob.locator("th:has(a[data-sort='title'])").get_attribute("aria-sort") == "ascending"
        bob.get_by_test_id("saved-views-toggle").click()
        current = bob.locator("[data-testid=saved-view][aria-current=page]")
        assert current.count() == 1
        assert current.inner_text().startswith("Ada's work")
        assert bob_console.errors == []
    finally:
        bobs.close()
    assert console.errors == []
