"""Chart geometry for the reliability pages: pure functions from numbers to what an SVG draws.

The CSP forbids inline styles and scripts without a nonce, so there is no
chart library: these functions lay out bars, lines and step curves in a fixed
viewBox, and ``engagements/charts/chart.html`` draws them with presentation
attributes only. Every chart also carries a table with the same numbers as
text, the alternative for screen readers and for anyone who wants the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from outsourcing.formats import whole_number

# The viewBox; the SVG scales to its container's width (CSS class chart-svg).
WIDTH = 560
HEIGHT = 280
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 28
# Room under the plot for up to three lines of x labels.
MARGIN_BOTTOM = 58
LABEL_LINES = 3
# An average glyph at the 12-unit axis font, generous so estimates err on the side of room.
CHAR_WIDTH = 7.0

# Okabe–Ito colours, safe for the common colour-vision deficiencies and each at
# least 3:1 against white (WCAG's minimum for graphics); series are told apart
# by dash pattern as well, so colour is never the only cue.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
DASHES = ("", "8 4", "2 3", "8 3 2 3")

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
# Spans between time ticks that read well ("4 h", "1 d", "2 w"), smallest first.
TIME_STEPS = (
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    4 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    WEEK,
    2 * WEEK,
    4 * WEEK,
    8 * WEEK,
    13 * WEEK,
    26 * WEEK,
    52 * WEEK,
)
MAX_TIME_TICKS = 6


@dataclass(frozen=True)
class Tick:
    """A labelled position along an axis, in viewBox units; ``lines`` is the label wrapped to fit."""

    position: float
    label: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bar:
    """One bar; ``value`` None means no data, drawn as a gap."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: float | None
    text: str
    hint: str

    @property
    def missing(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Marker:
    """A data point on a line, with the text a pointer hover shows."""

    x: float
    y: float
    hint: str


@dataclass(frozen=True)
class Line:
    """One series as drawn: ``d`` is the SVG path (a new ``M`` after each gap), ``bands`` its shaded intervals."""

    name: str
    colour: str
    dash: str
    d: str
    points: tuple[tuple[float, float], ...]
    bands: tuple[str, ...] = ()
    markers: tuple[Marker, ...] = ()


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: str
    dash: str


@dataclass(frozen=True)
class Table:
    """The chart's numbers as text: the first cell of each row is its row header."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """Everything the chart template draws, in viewBox units, plus the data table."""

    kind: str
    title: str
    description: str
    table: Table
    width: int = WIDTH
    height: int = HEIGHT
    left: float = MARGIN_LEFT
    right: float = WIDTH - MARGIN_RIGHT
    top: float = MARGIN_TOP
    bottom: float = HEIGHT - MARGIN_BOTTOM
    x_ticks: tuple[Tick, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    y_label: str = ""
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    legend: tuple[LegendEntry, ...] = ()
    bar_colour: str = PALETTE[0]
    empty_message: str = ""

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def empty(self) -> bool:
        return bool(self.empty_message)

    @property
    def centre_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def centre_y(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def y_tick_text_x(self) -> float:
        return self.left - 6

    @property
    def unit_label_y(self) -> float:
        return self.top - 14

    @property
    def x_tick_end(self) -> float:
        return self.bottom + 4

    @property
    def x_label_y(self) -> float:
        return self.bottom + 16


@dataclass(frozen=True)
class Series:
    """A named line over the chart's x labels, in percent (0–100); None is a month without data.

    ``low`` and ``high``, when given, are an interval per point drawn as a shaded band.
    """

    name: str
    values: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None


@dataclass(frozen=True)
class StepSeries:
    """A survival curve: ``survival[i]`` is the share still unanswered just after ``times[i]`` seconds.

    The curve starts at (0, 1.0) and is drawn up to ``max_time``, the longest
    time any request of the series was watched.
    """

    name: str
    times: Sequence[float]
    survival: Sequence[float]
    max_time: float


# --- Shared helpers -------------------------------------------------------------------------


def nice_ticks(high: float, *, count: int = 5, integer: bool = False) -> tuple[float, ...]:
    """Ticks from 0 in steps of 1, 2 or 5 × 10ⁿ, the last at or above ``high``.

    Anything not above zero (no data, all zeros) gets the axis 0–1, so no scale divides by zero.
    """
    if not (math.isfinite(high) and high > 0):
        high = 1.0
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-12))
    if integer:
        # Counts cannot be 2.5: the smallest step for them is one.
        step = max(step, 1)
    steps = math.ceil(high / step - 1e-9)
    return tuple(_clean(i * step) for i in range(steps + 1))


def _clean(value: float) -> float:
    """0.30000000000000004 → 0.3, so tick labels and comparisons read as intended."""
    return float(f"{value:.12g}")


def _round(value: float) -> float:
    """Two decimals of a viewBox unit are far below a pixel, and keep 156.39999999999998 out of the HTML."""
    return round(value, 2) + 0.0


def _num(value: float) -> str:
    """A coordinate for an SVG attribute: two decimals at most, never localised."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _percent_text(value: float) -> str:
    return _("%(n)s %%") % {"n": whole_number(round(value))}


def _range_text(low: float, high: float) -> str:
    return _("%(low)s–%(high)s %%") % {"low": whole_number(round(low)), "high": whole_number(round(high))}


def _wrap(label: str, max_chars: int) -> tuple[str, ...]:
    """The label in lines of at most ``max_chars`` (a longer word keeps its own line), three at most."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1] + "…"]
    return tuple(lines)


def _category_ticks(labels: Sequence[str], centres: Sequence[float], slot: float) -> tuple[Tick, ...]:
    """Labels under their categories, every k-th when there are too many to fit side by side.

    The full label is always in the table and in each element's hover text,
    so skipping some here loses nothing.
    """
    longest_word = max((len(word) for label in labels for word in label.split()), default=1)
    every = 1
    while every < len(labels) and longest_word * CHAR_WIDTH > slot * every - 4:
        every += 1
    max_chars = max(longest_word, int((slot * every - 4) / CHAR_WIDTH))
    return tuple(
        Tick(position=centres[i], label=labels[i], lines=_wrap(labels[i], max_chars))
        for i in range(0, len(labels), every)
    )


def _y_ticks(
    values: Sequence[float], scale: Callable[[float], float], fmt: Callable[[float], str]
) -> tuple[Tick, ...]:
    return tuple(Tick(position=scale(v), label=fmt(v), lines=(fmt(v),)) for v in values)


def _style(index: int) -> tuple[str, str]:
    """Colour and dash of the index-th series; past four the pairs shift so no two repeat early."""
    return PALETTE[index % len(PALETTE)], DASHES[(index + index // len(PALETTE)) % len(DASHES)]


def _empty(kind: str, title: str, description: str) -> Chart:
    return Chart(
        kind=kind,
        title=title,
        description=description,
        table=Table(headers=(), rows=()),
        empty_message=_("No data for this period."),
    )


def _percent_scale(top: float, bottom: float) -> Callable[[float], float]:
    """0–100 onto the plot's height, values outside clamped so nothing is drawn off the plot."""

    def scale(value: float) -> float:
        return _round(bottom - (min(max(value, 0.0), 100.0) / 100) * (bottom - top))

    return scale


# --- Bars -----------------------------------------------------------------------------------


def bar_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    value_format: Callable[[float], str],
    unit_label: str,
    label_header: str = "",
) -> Chart:
    """Vertical bars from zero, one per label; a None value is a gap, "no data" in the table.

    Values must not be negative: these are counts and durations. When every
    value is a whole number the axis ticks are too, so a count axis never reads 2.5.
    """
    title, description, unit_label = str(title), str(description), str(unit_label)
    labels = [str(label) for label in labels]
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    clean = [_finite(v) for v in values]
    if any(v is not None and v < 0 for v in clean):
        raise ValueError("bar values must not be negative")
    present = [v for v in clean if v is not None]
    if not present:
        return _empty("bar", title, description)

    chart = Chart(kind="bar", title=title, description=description, table=Table((), ()))
    ticks = nice_ticks(max(present), integer=all(v == int(v) for v in present))
    top_value = ticks[-1]
    plot_height = chart.bottom - chart.top
    slot = (chart.right - chart.left) / len(labels)
    bar_width = min(slot * 0.7, 72.0)

    def y_of(value: float) -> float:
        return _round(chart.bottom - value / top_value * plot_height)

    bars = []
    for i, (label, value) in enumerate(zip(labels, clean, strict=True)):
        text = _("No data") if value is None else value_format(value)
        height = 0.0 if value is None else _round(value / top_value * plot_height)
        bars.append(
            Bar(
                x=_round(chart.left + i * slot + (slot - bar_width) / 2),
                y=_round(chart.bottom - height),
                width=_round(bar_width),
                height=height,
                label=label,
                value=value,
                text=text,
                hint=_("%(label)s: %(value)s") % {"label": label, "value": text},
            )
        )
    centres = [_round(chart.left + (i + 0.5) * slot) for i in range(len(labels))]
    return Chart(
        kind="bar",
        title=title,
        description=description,
        table=Table(headers=(str(label_header), unit_label), rows=tuple((b.label, b.text) for b in bars)),
        x_ticks=_category_ticks(labels, centres, slot),
        y_ticks=_y_ticks(ticks, y_of, value_format),
        y_label=unit_label,
        bars=tuple(bars),
    )


# --- Lines ----------------------------------------------------------------------------------


def _runs[T](values: Sequence[T | None]) -> list[list[tuple[int, T]]]:
    """Present values with their indexes, in runs of consecutive points: each run is drawn without a break."""
    runs: list[list[tuple[int, T]]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1][0] == i - 1:
            runs[-1].append((i, value))
        else:
            runs.append([(i, value)])
    return runs


def _band_paths(
    xs: Sequence[float], lows: Sequence[float | None], highs: Sequence[float | None]
) -> list[str]:
    """Closed shapes along the highs and back along the lows, one per run of points with both bounds.

    A lone point gets a narrow box, so its interval shows even without neighbours.
    """
    bounds = [None if lo is None or hi is None else (lo, hi) for lo, hi in zip(lows, highs, strict=True)]
    paths = []
    for run in _runs(bounds):
        if len(run) == 1:
            i, (low, high) = run[0]
            paths.append(f"M{_num(xs[i] - 4)} {_num(high)}H{_num(xs[i] + 4)}V{_num(low)}H{_num(xs[i] - 4)}Z")
            continue
        upper = " ".join(f"{_num(xs[i])} {_num(high)}" for i, (_low, high) in run)
        lower = " ".join(f"{_num(xs[i])} {_num(low)}" for i, (low, _high) in reversed(run))
        paths.append(f"M{upper} L{lower}Z")
    return paths


def line_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    label_header: str = "",
) -> Chart:
    """One line per series over shared x labels, y in percent 0–100, gaps where a value is None.

    The table has a column per series, and one for its interval where the series has one.
    """
    title, description = str(title), str(description)
    labels = [str(label) for label in labels]
    for s in series:
        for part in (s.values, s.low, s.high):
            if part is not None and len(part) != len(labels):
                raise ValueError(f"series {s.name!r} has {len(part)} points for {len(labels)} labels")
    cleaned = [
        (
            [_finite(v) for v in s.values],
            [_finite(v) for v in s.low] if s.low is not None else [None] * len(labels),
            [_finite(v) for v in s.high] if s.high is not None else [None] * len(labels),
        )
        for s in series
    ]
    if not labels or all(v is None for values, _lo, _hi in cleaned for v in values):
        return _empty("line", title, description)

    chart = Chart(kind="line", title=title, description=description, table=Table((), ()))
    y_of = _percent_scale(chart.top, chart.bottom)
    slot = (chart.right - chart.left) / len(labels)
    # Points sit in the middle of equal slots, like bars, so one month is centred, not on the axis.
    xs = [_round(chart.left + (i + 0.5) * slot) for i in range(len(labels))]

    lines = []
    for index, (s, (values, lows, highs)) in enumerate(zip(series, cleaned, strict=True)):
        colour, dash = _style(index)
        name = str(s.name)
        points = [(xs[i], y_of(v)) for i, v in enumerate(values) if v is not None]
        d = "".join("M" + "L".join(f"{_num(xs[i])} {_num(y_of(v))}" for i, v in run) for run in _runs(values))
        markers = tuple(
            Marker(
                x=xs[i],
                y=y_of(v),
                hint=_("%(series)s, %(label)s: %(value)s")
                % {"series": name, "label": labels[i], "value": _percent_text(v)},
            )
            for i, v in enumerate(values)
            if v is not None
        )
        bands = _band_paths(
            xs,
            [None if v is None else y_of(v) for v in lows],
            [None if v is None else y_of(v) for v in highs],
        )
        lines.append(
            Line(
                name=name,
                colour=colour,
                dash=dash,
                d=d,
                points=tuple(points),
                bands=tuple(bands),
                markers=markers,
            )
        )

    headers: list[str] = [str(label_header)]
    banded = [s.low is not None and s.high is not None for s in series]
    for s, has_band in zip(series, banded, strict=True):
        headers.append(str(s.name))
        if has_band:
            headers.append(_("%(series)s, interval") % {"series": s.name})
    rows = []
    for i, label in enumerate(labels):
        row = [label]
        for (values, lows, highs), has_band in zip(cleaned, banded, strict=True):
            value, low, high = values[i], lows[i], highs[i]
            row.append(_("No data") if value is None else _percent_text(value))
            if has_band:
                row.append("" if low is None or high is None else _range_text(low, high))
        rows.append(tuple(row))

    return Chart(
        kind="line",
        title=title,
        description=description,
        table=Table(headers=tuple(headers), rows=tuple(rows)),
        x_ticks=_category_ticks(labels, xs, slot),
        y_ticks=_y_ticks(nice_ticks(100), y_of, _percent_text),
        lines=tuple(lines),
        legend=_legend(lines),
    )


def _legend(lines: Sequence[Line]) -> tuple[LegendEntry, ...]:
    """A legend only where there is more than one line to tell apart; one line is named by the title."""
    if len(lines) < 2:
        return ()
    return tuple(LegendEntry(name=line.name, colour=line.colour, dash=line.dash) for line in lines)


# --- Survival steps -------------------------------------------------------------------------


def time_ticks(end: float) -> tuple[float, ...]:
    """Ticks from 0 at the first readable step that needs at most six of them to pass ``end``."""
    end = end if math.isfinite(end) and end > 0 else HOUR
    step = next((s for s in TIME_STEPS if math.ceil(end / s) <= MAX_TIME_TICKS), None)
    if step is None:
        # Beyond a year per tick: whole multiples of a year, still at most six ticks.
        step = TIME_STEPS[-1] * math.ceil(end / (TIME_STEPS[-1] * MAX_TIME_TICKS))
    return tuple(float(i * step) for i in range(math.ceil(end / step - 1e-9) + 1))


def time_tick_label(seconds: float, step: float, *, hours_only: bool = False) -> str:
    """A tick in the largest unit whose half the step is a multiple of: "30 min", "4 h", "1.5 d", "2 w".

    ``hours_only`` for business time, where a "day" of 24 business hours would mislead.
    """
    if seconds == 0:
        return "0"
    units = (
        ((HOUR, _("%(n)s h")),)
        if hours_only
        else ((WEEK, _("%(n)s w")), (DAY, _("%(n)s d")), (HOUR, _("%(n)s h")))
    )
    for unit, text in units:
        if step % (unit / 2) == 0:
            value = seconds / unit
            return text % {"n": number_format(value, 0 if value == int(value) else 1)}
    return _("%(n)s min") % {"n": whole_number(round(seconds / MINUTE))}


def duration_text(seconds: float, *, hours_only: bool = False) -> str:
    """A span in the unit that reads best, one decimal: 45 min, 3.5 h, 2.1 d, 3 w.

    ``hours_only`` for business time: 32 business hours are four working days
    of eight hours, not "1.3 d".
    """
    if seconds == 0:
        return "0"
    if seconds < HOUR:
        return _("%(n)s min") % {"n": whole_number(round(seconds / MINUTE))}
    if seconds < DAY or hours_only:
        return _("%(n)s h") % {"n": number_format(seconds / HOUR, 1)}
    if seconds < 2 * WEEK:
        return _("%(n)s d") % {"n": number_format(seconds / DAY, 1)}
    return _("%(n)s w") % {"n": number_format(seconds / WEEK, 1)}


def _steps(s: StepSeries) -> tuple[list[tuple[float, float]], float]:
    """The series' (time, survival) corners from (0, 1.0), and the time it ends at."""
    if len(s.times) != len(s.survival):
        raise ValueError(f"series {s.name!r} has {len(s.times)} times but {len(s.survival)} survival values")
    pairs = sorted((t, v) for t, v in zip(s.times, s.survival, strict=True) if math.isfinite(t) and t >= 0)
    end = max([s.max_time if math.isfinite(s.max_time) else 0.0, *(t for t, _v in pairs)])
    return [(0.0, 1.0), *pairs], end


def step_chart(
    *, title: str, description: str, series: Sequence[StepSeries], business: bool = False
) -> Chart:
    """Survival curves "share still unanswered after t": steps down from 100 % at 0 to each series' end.

    The table lists every time at which some curve steps, with each series'
    share at that time, and a dash once a series has ended.
    """
    title, description = str(title), str(description)
    prepared = [(s, *_steps(s)) for s in series]
    prepared = [(s, corners, end) for s, corners, end in prepared if end > 0]
    if not prepared:
        return _empty("step", title, description)

    chart = Chart(kind="step", title=title, description=description, table=Table((), ()))
    ticks = time_ticks(max(end for _s, _c, end in prepared))
    step = ticks[1] - ticks[0]
    x_span = ticks[-1]
    y_pct = _percent_scale(chart.top, chart.bottom)

    def x_of(seconds: float) -> float:
        return _round(chart.left + seconds / x_span * (chart.right - chart.left))

    def y_of(share: float) -> float:
        return y_pct(share * 100)

    lines = []
    for index, (s, corners, end) in enumerate(prepared):
        colour, dash = _style(index)
        points: list[tuple[float, float]] = [(x_of(0.0), y_of(1.0))]
        level = 1.0
        for t, share in corners[1:]:
            points += [(x_of(t), y_of(level)), (x_of(t), y_of(share))]
            level = share
        points.append((x_of(end), y_of(level)))
        d = "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in points)
        lines.append(Line(name=str(s.name), colour=colour, dash=dash, d=d, points=tuple(points)))

    times = sorted({t for _s, corners, _end in prepared for t, _v in corners})
    rows = []
    for t in times:
        row = [duration_text(t, hours_only=business)]
        for _s, corners, end in prepared:
            if t > end:
                row.append("—")
                continue
            share = next(v for when, v in reversed(corners) if when <= t)
            row.append(_percent_text(share * 100))
        rows.append(tuple(row))

    return Chart(
        kind="step",
        title=title,
        description=description,
        table=Table(headers=(_("Waiting time"), *(line.name for line in lines)), rows=tuple(rows)),
        x_ticks=tuple(
            Tick(
                position=x_of(t),
                label=time_tick_label(t, step, hours_only=business),
                lines=(time_tick_label(t, step, hours_only=business),),
            )
            for t in ticks
        ),
        y_ticks=_y_ticks(nice_ticks(100), y_pct, _percent_text),
        lines=tuple(lines),
        legend=_legend(lines),
    )
