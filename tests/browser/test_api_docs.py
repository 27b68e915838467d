"""The API's documentation pages in a real Chromium: served from this server, under the CSP, nothing refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def _outside_requests(page, live_server) -> list[str]:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:"))
            else None
        ),
    )
    return outside


def test_swagger_ui_lists_the_operations_with_nothing_refused(page, live_server, console) -> None:
    outside = _outside_requests(page, live_server)
    page.add_init_script(WATCH_CSP)
    page.goto("/api/docs/")
    page.get_by_text("/api/v1/providers/", exact=True).first.wait_for()
    assert page.locator(".opblock").count() >= 20
    assert page.evaluate("window.__cspViolations") == []
    assert console.errors == []
    assert outside == []


def test_redoc_shows_the_api_with_nothing_refused(page, live_server, console) -> None:
    outside = _outside_requests(page, live_server)
    page.add_init_script(WATCH_CSP)
    page.goto("/api/redoc/")
    page.get_by_role("heading", name="Outsourcing Tracker API").first.wait_for()
    page.get_by_text("Log").first.wait_for()
    # Redoc's "API docs by Redocly" logo points at its CDN: the CSP refuses it, so no request leaves.
    violations = page.evaluate("window.__cspViolations")
    assert [v for v in violations if v != f"img-src {REDOC_LOGO}"] == []
    assert [e for e in console.errors if "redoc.ly" not in e] == []
    assert set(outside) <= {REDOC_LOGO}
    if outside:
        assert f"img-src {REDOC_LOGO}" in violations
