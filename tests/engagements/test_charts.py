"""Chart geometry and the chart partial: proportional bars, honest gaps, monotone survival steps,
text alternatives with the same numbers, and HTML the strict CSP accepts."""

from __future__ import annotations

import itertools
import math
import re
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from engagements.reliability import charts
from engagements.reliability.charts import HOUR, Chart, Series, StepSeries

BUCKETS = ["within an hour", "within a day", "1–2 days", "2–7 days", "1–2 weeks", "not answered (yet)"]
HOSTILE = '<script>alert("x")</script> & Co'


def _count(value: float) -> str:
    return f"{value:.0f}"


def _bars(values, labels=None) -> Chart:
    labels = labels if labels is not None else [f"bucket {i}" for i in range(len(values))]
    return charts.bar_chart(
        title="Time to reply",
        description="Requests per span",
        labels=labels,
        values=values,
        value_format=_count,
        unit_label="requests",
    )


def _survival(*series: StepSeries) -> Chart:
    return charts.step_chart(title="Still unanswered", description="Kaplan–Meier", series=series)


def _render(chart: Chart, chart_id: str = "c") -> str:
    return render_to_string("engagements/charts/chart.html", {"chart": chart, "chart_id": chart_id})


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of each table row's cells."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


# --- Ticks ----------------------------------------------------------------------------------


@given(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False))
def test_nice_ticks_start_at_zero_cover_the_maximum_and_step_by_one_two_or_five(high):
    ticks = charts.nice_ticks(high)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert ticks[0] == 0
    # Covers it up to rounding noise, so 0.30000000000000004 still gets the axis 0–0.3.
    assert ticks[-1] >= high * (1 - 1e-9)
    assert ticks[-2] < high
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5))
    assert 2 <= len(ticks) <= 11


@pytest.mark.parametrize("high", [0, -3, math.nan, math.inf])
def test_nice_ticks_without_a_positive_maximum_are_zero_to_one(high):
    assert charts.nice_ticks(high) == (0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_it_keeps_count_ticks_whole():
    assert charts.nice_ticks(3, integer=True) == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("end", "labels"),
    [
        (5 * HOUR, ["0", "1 h", "2 h", "3 h", "4 h", "5 h"]),
        (20 * HOUR, ["0", "4 h", "8 h", "12 h", "16 h", "20 h"]),
        (4 * 24 * HOUR, ["0", "1 d", "2 d", "3 d", "4 d"]),
        (20 * 24 * HOUR, ["0", "1 w", "2 w", "3 w"]),
        (17 * 24 * HOUR, ["0", "3 d", "6 d", "9 d", "12 d", "15 d", "18 d"]),
        (3 * HOUR, ["0", "0.5 h", "1 h", "1.5 h", "2 h", "2.5 h", "3 h"]),
    ],
)
def test_time_ticks_read_in_hours_days_or_weeks(end, labels):
    ticks = charts.time_ticks(end)
    assert ticks[-1] >= end
    assert [charts.time_tick_label(t, ticks[1]) for t in ticks] == labels


def test_time_tick_labels_and_the_empty_message_go_through_gettext(monkeypatch):
    monkeypatch.setattr(charts, "_", lambda text: f"«{text}»")
    assert charts.time_tick_label(3 * 24 * HOUR, 24 * HOUR) == "«3 d»"
    assert _bars([]).empty_message == "«No data for this period.»"


# --- Bars -----------------------------------------------------------------------------------


def test_bar_heights_are_proportional_to_the_values():
    chart = _bars([2, 4, 8, 1])
    heights = [bar.height for bar in chart.bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(8 * heights[3], abs=0.02)
    assert all(bar.y + bar.height == pytest.approx(chart.bottom) for bar in chart.bars)


def test_the_value_axis_covers_the_largest_bar():
    chart = _bars([3, 7, 5])
    top_tick = chart.y_ticks[-1]
    assert int(top_tick.label) >= 7
    assert top_tick.position <= min(bar.y for bar in chart.bars)
    assert chart.y_ticks[0].position == chart.bottom
    assert chart.y_label == "requests"


def test_a_missing_value_is_a_gap_said_in_the_table():
    chart = _bars([3, None, 5])
    assert [bar.missing for bar in chart.bars] == [False, True, False]
    assert chart.table.rows[1] == ("bucket 1", "No data")
    page = _Page(_render(chart))
    assert len(page.named("rect")) == 2


def test_all_zero_bars_draw_flat_without_dividing_by_zero():
    chart = _bars([0, 0, 0])
    assert not chart.empty
    assert [bar.height for bar in chart.bars] == [0, 0, 0]
    assert [tick.label for tick in chart.y_ticks] == ["0", "1"]


@pytest.mark.parametrize("values", [[], [None, None]])
def test_a_bar_chart_without_data_says_so(values):
    chart = _bars(values)
    assert chart.empty
    html = _render(chart)
    assert "No data for this period." in html
    assert _Page(html).named("table") == []


def test_a_single_bar_fills_the_plot_up_to_its_tick():
    chart = _bars([4])
    (bar,) = chart.bars
    assert chart.left < bar.x < bar.x + bar.width < chart.right
    assert bar.y == chart.y_ticks[-1].position


def test_bar_labels_and_values_must_match():
    with pytest.raises(ValueError, match="2 labels but 3 values"):
        _bars([1, 2, 3], labels=["a", "b"])
    with pytest.raises(ValueError, match="negative"):
        _bars([1, -2])


def test_the_bar_table_has_the_same_numbers_as_the_bars():
    values = [3, 0, None, 12, 1, 5]
    chart = _bars(values, labels=BUCKETS)
    rows = _Page(_render(chart)).rows
    assert rows[0] == ["", "requests"]
    assert rows[1:] == [
        [label, "No data" if value is None else str(value)]
        for label, value in zip(BUCKETS, values, strict=True)
    ]
    scale = chart.bars[0].height / 3
    for bar, row in zip(chart.bars, rows[1:], strict=True):
        if not bar.missing:
            assert bar.height == pytest.approx(int(row[1]) * scale, abs=0.02)


def test_long_bucket_labels_wrap_instead_of_overlapping():
    chart = _bars([1] * len(BUCKETS), labels=BUCKETS)
    assert [tick.label for tick in chart.x_ticks] == BUCKETS
    slot = (chart.right - chart.left) / len(BUCKETS)
    for tick in chart.x_ticks:
        assert len(tick.lines) <= 3
        assert max(len(line) for line in tick.lines) * charts.CHAR_WIDTH <= slot


def test_too_many_labels_to_fit_show_every_few():
    labels = [f"2026-{week:02d}-01" for week in range(1, 27)]
    chart = _bars(list(range(26)), labels=labels)
    shown = [tick.label for tick in chart.x_ticks]
    assert labels[0] in shown
    assert 1 < len(shown) < len(labels)
    positions = [tick.position for tick in chart.x_ticks]
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    assert min(gaps) >= len(labels[0]) * charts.CHAR_WIDTH


# --- Lines ----------------------------------------------------------------------------------


def _within(series) -> Chart:
    return charts.line_chart(
        title="Within the policy",
        description="Share per month",
        labels=["Jan", "Feb", "Mar", "Apr"],
        series=series,
    )


def test_a_month_without_data_breaks_the_line():
    chart = _within([Series(name="Lena", values=[50, None, 60, 70])])
    (line,) = chart.lines
    assert line.d.count("M") == 2
    assert len(line.markers) == 3
    assert len(line.points) == 3
    assert chart.table.rows[1] == ("Feb", "No data")


def test_line_values_map_zero_to_the_bottom_and_a_hundred_to_the_top():
    chart = _within([Series(name="Lena", values=[0, 100, 50, 130])])
    ys = [y for _x, y in chart.lines[0].points]
    assert ys[0] == chart.bottom
    assert ys[1] == chart.top
    assert ys[2] == pytest.approx((chart.top + chart.bottom) / 2, abs=0.01)
    assert ys[3] == chart.top  # clamped: never drawn above the plot
    assert [tick.label for tick in chart.y_ticks] == ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]


def test_a_single_month_is_a_centred_point_with_its_interval():
    chart = charts.line_chart(
        title="t",
        description="d",
        labels=["May"],
        series=[Series(name="Lena", values=[40], low=[20], high=[65])],
    )
    (line,) = chart.lines
    (marker,) = line.markers
    assert marker.x == pytest.approx(chart.centre_x)
    assert len(line.bands) == 1
    assert chart.table.rows == (("May", "40 %", "20–65 %"),)


def test_interval_bands_follow_each_run_of_points():
    chart = _within(
        [Series(name="Lena", values=[50, 55, None, 70], low=[40, 45, None, 60], high=[60, 65, None, 80])]
    )
    assert len(chart.lines[0].bands) == 2
    assert all(band.endswith("Z") for band in chart.lines[0].bands)


def test_several_series_get_a_legend_and_distinct_colours_and_dashes():
    names = [f"Provider {i}" for i in range(8)]
    chart = _within([Series(name=name, values=[10 * i, None, None, None]) for i, name in enumerate(names)])
    assert [entry.name for entry in chart.legend] == names
    assert len({(entry.colour, entry.dash) for entry in chart.legend}) == 8
    assert len({entry.colour for entry in chart.legend[:4]}) == 4
    assert len({entry.dash for entry in chart.legend[:4]}) == 4


def test_one_series_needs_no_legend():
    assert _within([Series(name="Lena", values=[1, 2, 3, 4])]).legend == ()


def test_a_line_chart_with_only_gaps_is_empty():
    assert _within([Series(name="Lena", values=[None] * 4)]).empty
    assert charts.line_chart(title="t", description="d", labels=[], series=[]).empty


def test_series_must_have_a_value_per_label():
    with pytest.raises(ValueError, match="3 points for 4 labels"):
        _within([Series(name="Lena", values=[1, 2, 3])])


def test_the_line_table_has_the_same_numbers_as_the_points():
    chart = _within(
        [
            Series(
                name="Lena", values=[50, None, 62.4, 70], low=[40, None, 50, 55], high=[60, None, 71.6, 80]
            ),
            Series(name="Max", values=[None, 20, 30, None]),
        ]
    )
    rows = _Page(_render(chart)).rows
    assert rows == [
        ["", "Lena", "Lena, interval", "Max"],
        ["Jan", "50 %", "40–60 %", "No data"],
        ["Feb", "No data", "", "20 %"],
        ["Mar", "62 %", "50–72 %", "30 %"],
        ["Apr", "70 %", "55–80 %", "No data"],
    ]
    hints = [marker.hint for line in chart.lines for marker in line.markers]
    assert hints == [
        "Lena, Jan: 50 %",
        "Lena, Mar: 62 %",
        "Lena, Apr: 70 %",
        "Max, Feb: 20 %",
        "Max, Mar: 30 %",
    ]


# --- Survival steps -------------------------------------------------------------------------


def _curve(name: str = "Lena") -> StepSeries:
    return StepSeries(
        name=name, times=[2 * HOUR, 10 * HOUR, 36 * HOUR], survival=[0.75, 0.5, 0.25], max_time=50 * HOUR
    )


def test_a_survival_step_starts_at_a_hundred_percent_and_never_rises():
    chart = _survival(_curve())
    (line,) = chart.lines
    xs = [x for x, _y in line.points]
    ys = [y for _x, y in line.points]
    assert line.points[0] == (chart.left, chart.top)
    assert line.d.startswith(f"M{chart.left:g} {chart.top:g}")
    # SVG y grows downwards: a share that never rises is a y that never falls.
    assert ys == sorted(ys)
    assert xs == sorted(xs)
    assert ys[-1] == pytest.approx(chart.bottom - 0.25 * (chart.bottom - chart.top), abs=0.01)


def test_a_survival_step_ends_at_the_series_max_time_inside_the_axis():
    chart = _survival(_curve())
    end_x = chart.lines[0].points[-1][0]
    last_tick = chart.x_ticks[-1]
    assert end_x <= last_tick.position
    assert [tick.label for tick in chart.x_ticks] == ["0", "0.5 d", "1 d", "1.5 d", "2 d", "2.5 d"]
    share_of_axis = (end_x - chart.left) / (last_tick.position - chart.left)
    assert share_of_axis == pytest.approx(50 / 60, abs=0.001)


def test_the_step_path_draws_the_points():
    chart = _survival(_curve())
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", chart.lines[0].d)]
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    assert pairs == [pytest.approx(p, abs=0.01) for p in chart.lines[0].points]


def test_a_series_nobody_answered_stays_at_a_hundred_percent():
    chart = _survival(StepSeries(name="Silent", times=[], survival=[], max_time=72 * HOUR))
    ys = {y for _x, y in chart.lines[0].points}
    assert ys == {chart.top}
    assert chart.table.rows == (("0", "100 %"),)


@pytest.mark.parametrize(
    "series",
    [(), (StepSeries(name="Nobody", times=[], survival=[], max_time=0),)],
)
def test_a_survival_chart_without_data_says_so(series):
    chart = _survival(*series)
    assert chart.empty
    assert "No data for this period." in _render(chart)


def test_the_survival_table_has_the_same_numbers_as_the_steps():
    short = StepSeries(name="Max", times=[HOUR], survival=[0.5], max_time=5 * HOUR)
    chart = _survival(_curve(), short)
    assert [entry.name for entry in chart.legend] == ["Lena", "Max"]
    rows = _Page(_render(chart)).rows
    assert rows == [
        ["Waiting time", "Lena", "Max"],
        ["0", "100 %", "100 %"],
        ["1.0 h", "100 %", "50 %"],
        ["2.0 h", "75 %", "50 %"],
        ["10.0 h", "50 %", "—"],
        ["1.5 d", "25 %", "—"],
    ]


def test_survival_series_need_a_share_per_time():
    with pytest.raises(ValueError, match="2 times but 1 survival"):
        _survival(StepSeries(name="Odd", times=[1, 2], survival=[0.5], max_time=3))


# --- The partial ----------------------------------------------------------------------------


def _all_kinds() -> list[Chart]:
    return [
        _bars([3, None, 5], labels=[HOSTILE, "b", "c"]),
        _within(
            [Series(name=HOSTILE, values=[50, None, 60, 70], low=[40, None, 50, 60], high=[60, None, 70, 80])]
        ),
        _survival(_curve(HOSTILE), _curve("Max")),
        _bars([]),
    ]


@pytest.mark.parametrize("chart", _all_kinds(), ids=["bar", "line", "step", "empty"])
def test_the_partial_has_no_inline_style_anywhere(chart):
    html = _render(chart)
    page = _Page(html)
    assert page.tags
    assert [tag for tag, _attrs in page.tags if tag == "style"] == []
    assert [tag for tag, attrs in page.tags if "style" in attrs] == []
    assert not re.search(r"<style|\sstyle\s*=", html, re.IGNORECASE)


@pytest.mark.parametrize("chart", _all_kinds()[:3], ids=["bar", "line", "step"])
def test_a_hostile_provider_name_is_escaped(chart):
    html = _render(chart)
    page = _Page(html)
    assert "script" not in [tag for tag, _attrs in page.tags]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html


def test_the_svg_is_labelled_by_its_own_title_and_description():
    html = _render(_bars([1, 2]), chart_id="reply-times")
    page = _Page(html)
    (svg,) = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert svg["role"] == "img"
    assert svg["aria-labelledby"] == "reply-times-title reply-times-desc"
    assert svg["viewbox"] == f"0 0 {charts.WIDTH} {charts.HEIGHT}"
    assert "chart-svg" in str(svg["class"])
    assert {"reply-times-title", "reply-times-desc"} <= {attrs.get("id") for _tag, attrs in page.tags}
    assert "<summary>Show the numbers</summary>" in html


def test_two_charts_on_a_page_share_no_id():
    html = _render(_bars([1, 2]), chart_id="first") + _render(_survival(_curve()), chart_id="second")
    ids = [attrs["id"] for _tag, attrs in _Page(html).tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    assert len(ids) == 8


NUMERIC = ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height", "r")


@pytest.mark.parametrize("chart", _all_kinds(), ids=["bar", "line", "step", "empty"])
def test_coordinates_stay_plain_numbers_on_a_german_page(chart):
    with translation.override("de"):
        page = _Page(_render(chart))
    checked = 0
    for _tag, attrs in page.tags:
        for name in NUMERIC:
            if attrs.get(name) is not None:
                float(attrs[name])  # "12,5" would raise
                checked += 1
        path = attrs.get("d")
        if path:
            assert "," not in path
    assert checked > 0


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("colour", charts.PALETTE)
def test_every_series_colour_stands_out_against_white(colour):
    assert 1.05 / (_luminance(colour) + 0.05) >= 3
