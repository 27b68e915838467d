"""The three chart kinds in a real Chromium under the app's strict CSP: nothing refused, nothing
logged, every SVG drawn at a real size and as wide as its column."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.utils.safestring import mark_safe

from engagements.reliability import charts
from engagements.reliability.charts import HOUR, Series, StepSeries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

# Chromium fires this event for every refused inline style or script; collected before any page script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""

PAGE = engines["django"].from_string(
    """{% extends "base.html" %}
{% block content %}{{ extra }}
<div class="row g-4">
  {% for chart_id, chart in charts %}
  <div class="col-lg-6" data-testid="chart-column">{% include "engagements/charts/chart.html" %}</div>
  {% endfor %}
</div>
{% endblock %}"""
)


def _charts() -> list[tuple[str, charts.Chart]]:
    return [
        (
            "distribution",
            charts.bar_chart(
                title="Time to reply",
                description="Requests per span of calendar time.",
                labels=["within an hour", "within a day", "1–2 days", "2–7 days", "not answered (yet)"],
                values=[4, 9, None, 2, 3],
                value_format=lambda value: f"{value:.0f}",
                unit_label="requests",
            ),
        ),
        (
            "within-policy",
            charts.line_chart(
                title="Replies within the policy, per month",
                description="Share answered in time, with its interval.",
                labels=["Jan 2027", "Feb 2027", "Mar 2027", "Apr 2027"],
                series=[
                    Series(
                        name="<script>Lena</script>",
                        values=[60, None, 75, 80],
                        low=[40, None, 55, 62],
                        high=[78, None, 88, 91],
                    ),
                    Series(name="Max Agency", values=[30, 45, 50, 40]),
                ],
            ),
        ),
        (
            "survival",
            charts.step_chart(
                title="Share still unanswered after a given time",
                description="Kaplan–Meier estimate.",
                series=[
                    StepSeries(
                        name="Lena", times=[2 * HOUR, 20 * HOUR], survival=[0.6, 0.2], max_time=60 * HOUR
                    ),
                    StepSeries(name="Max Agency", times=[30 * HOUR], survival=[0.5], max_time=90 * HOUR),
                ],
            ),
        ),
        (
            "empty",
            charts.bar_chart(
                title="Overdue per week",
                description="Flags per week.",
                labels=[],
                values=[],
                value_format=str,
                unit_label="flags",
            ),
        ),
    ]


def _chart_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render({"charts": _charts()}, request))


def _inline_style_page(request: HttpRequest) -> HttpResponse:
    """The control: one inline style, which the CSP must refuse and the test must see refused."""
    extra = mark_safe('<p style="color: red">Inline</p>')
    return HttpResponse(PAGE.render({"charts": _charts()[:1], "extra": extra}, request))


urlpatterns = [
    path("test-charts/", _chart_page),
    path("test-charts/inline-style/", _inline_style_page),
    path("", include("outsourcing.urls")),
]


def test_all_chart_kinds_render_under_the_strict_csp_without_a_violation(page, console):
    page.add_init_script(WATCH_CSP)
    response = page.goto("/test-charts/")
    assert response is not None and response.ok
    policy = response.headers["content-security-policy"]
    assert "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy

    figures = page.get_by_test_id("chart")
    assert figures.count() == 4
    for chart_id in ("distribution", "within-policy", "survival", "empty"):
        svg = page.locator(f"#{chart_id} svg.chart-svg")
        box = svg.bounding_box()
        column = page.locator(f"#{chart_id}").bounding_box()
        assert box is not None and column is not None
        assert box["width"] > 0 and box["height"] > 0
        # Scaled by the stylesheet to its column, keeping the viewBox's proportions.
        assert box["width"] == pytest.approx(column["width"], abs=1)
        assert box["height"] / box["width"] == pytest.approx(charts.HEIGHT / charts.WIDTH, abs=0.01)

    assert page.locator("#distribution rect").count() == 4
    assert page.locator("#within-policy path.chart-line").count() == 2
    assert page.locator("#survival path.chart-line").count() == 2
    assert page.locator("#empty").get_by_text("No data for this period.", exact=True).is_visible()
    # The hostile series name is text, not markup.
    assert page.locator("#within-policy .chart-legend").get_by_text("<script>Lena</script>").is_visible()

    survival = page.locator("#survival")
    assert not survival.get_by_test_id("chart-table").is_visible()
    survival.get_by_text("Show the numbers").click()
    assert survival.get_by_test_id("chart-table").locator("tbody tr").count() == 4

    assert page.evaluate("window.__cspViolations") == []
    assert console.errors == []


def test_the_page_would_notice_an_inline_style(page, console):
    page.add_init_script(WATCH_CSP)
    page.goto("/test-charts/inline-style/")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__cspViolations")[0].startswith("style-src")
    assert any("Content Security Policy" in error for error in console.errors)
