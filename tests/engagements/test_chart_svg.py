"""The charts' SVG, written in Python (``{% chart_svg %}``), reads exactly as the ``_svg.html`` and
``chart.html`` it replaced did (kept in fixtures/chart_svg_old.html and fixtures/chart_old.html)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Template, engines
from django.template.loader import render_to_string
from django.utils import translation

from engagements.reliability import charts
from engagements.reliability.charts import HOUR, Series, StepSeries

FIXTURES = Path(__file__).parent / "fixtures"
OLD_SVG = (FIXTURES / "chart_svg_old.html").read_text()
OLD_CHART = (FIXTURES / "chart_old.html").read_text()
HOSTILE = '<script>alert("x")</script> & Co'


def _count(value: float) -> str:
    return f"{value:.0f}"


def _charts() -> list[charts.Chart]:
    def bars(values, labels):
        return charts.bar_chart(
            title=HOSTILE,
            description="Requests per span",
            labels=labels,
            values=values,
            value_format=_count,
            unit_label="requests & <more>",
        )

    return [
        bars(
            [3, 0, 12.5, None, 7],
            ["within an hour", "1–2 days", "a very long label that wraps twice", "x & y", "z"],
        ),
        bars([], []),
        bars([None, None], ["a", "b"]),
        bars([1234567, 0.004], ["big", "small"]),
        charts.line_chart(
            title="Within the policy",
            description="per month",
            labels=["Jan 2026", "Feb 2026", "März 2026", "Apr <2026>"],
            series=[
                Series(
                    "Ours & theirs",
                    [0.5, None, 0.7254, 1.0],
                    low=[0.3, None, 0.6, 0.9],
                    high=[0.7, None, 0.8, 1.0],
                ),
                Series("Other", [0.2, 0.4, None, 0.1]),
            ],
        ),
        charts.line_chart(title="Empty", description="none", labels=[], series=[]),
        charts.step_chart(
            title="Still unanswered",
            description="Kaplan–Meier",
            series=[
                StepSeries("A <b>", [HOUR, 5 * HOUR, 30 * HOUR], [0.8, 0.5, 0.1], 40 * HOUR),
                StepSeries("B", [2 * HOUR], [0.5], 3 * HOUR),
            ],
            business=True,
        ),
        charts.step_chart(title="None", description="-", series=[]),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("standalone", [True, False])
def test_the_svg_reads_as_its_template_wrote_it(language, standalone):
    with translation.override(language):
        for chart in _charts():
            context = {"chart": chart, "cid": "report-x&y", "standalone": standalone}
            before = Template(OLD_SVG).render(Context(context))
            after = render_to_string("engagements/charts/_svg.html", context)
            assert after == before


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_chart_on_a_page_reads_as_before(language):
    # The old chart.html includes _svg.html, the tag now: the test above shows the two alike.
    engine = engines["django"].engine
    with translation.override(language):
        for chart in _charts():
            context = {"chart": chart, "chart_id": "dist"}
            before = engine.from_string(OLD_CHART).render(Context(context))
            after = render_to_string("engagements/charts/chart.html", context)
            assert after == before
            assert "<svg" in after
