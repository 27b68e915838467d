"""Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# would otherwise refuse to be called from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI but was not found at {CHROMIUM}")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleLog:
    """Console errors, page errors and CSP violations seen by a page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_console(self, message: object) -> None:
        if message.type == "error":  # type: ignore[attr-defined]
            self.errors.append(message.text)  # type: ignore[attr-defined]

    def on_page_error(self, error: object) -> None:
        self.errors.append(str(error))


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: object, live_server: object, console: ConsoleLog) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900},
        locale="en-US",
    )
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.set_default_timeout(15_000)
    yield page
    context.close()


def pick(page: object, select_id: str, labels: list[str]) -> None:
    """Choose options of a searchable select (Tom Select) as a person does: click it, type, Enter."""
    from playwright.sync_api import expect

    wrapper = page.locator(f".ts-wrapper:has(#{select_id}-ts-control)")  # type: ignore[attr-defined]
    # A page sent back with an error puts focus in its field already: a click there would close it.
    if "focus" not in (wrapper.get_attribute("class") or "").split():
        wrapper.locator(".ts-control").click()
    # Typed only once the search box has the focus, as a person sees the cursor first.
    expect(page.locator(f"#{select_id}-ts-control")).to_be_focused()  # type: ignore[attr-defined]
    chosen = page.locator(f".ts-wrapper:has(#{select_id}-ts-control) .ts-control .item")  # type: ignore[attr-defined]
    for label in labels:
        if label in [text.removesuffix("×").strip() for text in chosen.all_inner_texts()]:
            continue  # already chosen (the page came with it)
        page.keyboard.type(label)  # type: ignore[attr-defined]
        # Tom Select filters after a short pause while typing: wait for the match like a person.
        expect(page.locator(f"#{select_id}-ts-dropdown .option.active")).to_have_text(label)  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        # The search box empties once the choice is taken: only then the next one is typed.
        expect(page.locator(f"#{select_id}-ts-control")).to_have_value("")  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
