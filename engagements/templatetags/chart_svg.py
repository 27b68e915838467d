"""``{% chart_svg chart cid standalone %}``: a chart's SVG element, written in Python.

It replaced the body of ``engagements/charts/_svg.html``: the dashboard draws three charts,
and their ticks, bars and markers made that template one of the page's dearest. The
markup is the one the template wrote, byte for byte (tests/engagements/test_chart_svg.py
compares them): every value rendered as ``{% localize off %}`` did, so German pages get
"12.5", not "12,5", in coordinates.
"""

from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from engagements.reliability.charts import Chart

register = template.Library()


@register.simple_tag(takes_context=True)
def chart_svg(context: Context, chart: Chart, cid: object = "", standalone: bool = False) -> SafeString:
    """The ``<svg>`` of ``chart`` with ids from ``cid``; ``standalone`` sets its colour and font (PDF, mail)."""
    off = Context(autoescape=True, use_l10n=False, use_tz=context.use_tz)

    def v(value: object) -> str:
        return str(render_value_in_context(value, off))

    c = v(cid)
    left, right, bottom = v(chart.left), v(chart.right), v(chart.bottom)
    out = [
        f'\n  <svg class="chart-svg" role="img" aria-labelledby="{c}-title {c}-desc" viewBox="{v(chart.view_box)}" '
        f'width="{v(chart.width)}" height="{v(chart.height)}" xmlns="http://www.w3.org/2000/svg" font-size="12" '
        'fill="currentColor"',
        ' color="#212529" font-family="DejaVu Sans, Liberation Sans, sans-serif"' if standalone else "",
        f'>\n    <title id="{c}-title">{v(chart.title)}</title>\n    <desc id="{c}-desc">{v(chart.description)}',
        f" {v(chart.empty_message)}" if chart.empty else "",
        "</desc>\n    ",
    ]
    if chart.empty:
        out.append(
            f'\n    <line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="currentColor" '
            f'stroke-opacity="0.4"/>\n    <text class="chart-empty" x="{v(chart.centre_x)}" y="{v(chart.centre_y)}" '
            f'text-anchor="middle" font-size="14">{v(chart.empty_message)}</text>\n    '
        )
    else:
        out.append('\n    <g class="chart-axis chart-axis-y">\n      ')
        text_x = v(chart.y_tick_text_x)
        for i, tick in enumerate(chart.y_ticks):
            y = v(tick.position)
            out.append(
                f'\n      <line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="currentColor" '
                f'stroke-opacity="{"0.4" if i == 0 else "0.12"}"/>\n      <text x="{text_x}" y="{y}" '
                f'text-anchor="end" dominant-baseline="middle">{v(tick.label)}</text>\n      '
            )
        out.append("\n      ")
        if chart.y_label:
            out.append(
                f'<text x="4" y="{v(chart.unit_label_y)}" text-anchor="start">{v(chart.y_label)}</text>'
            )
        out.append('\n    </g>\n    <g class="chart-axis chart-axis-x">\n      ')
        tick_end, label_y = v(chart.x_tick_end), v(chart.x_label_y)
        for tick in chart.x_ticks:
            x = v(tick.position)
            out.append(
                f'\n      <line x1="{x}" y1="{bottom}" x2="{x}" y2="{tick_end}" stroke="currentColor" '
                f'stroke-opacity="0.4"/>\n      <text x="{x}" y="{label_y}" text-anchor="middle">'
            )
            # As the template's {% if tick.label != tick.lines|join:" " %}: the join is escaped.
            if tick.label != conditional_escape(" ").join([conditional_escape(text) for text in tick.lines]):
                out.append(f"<title>{v(tick.label)}</title>")
            for i, text in enumerate(tick.lines):
                out.append(f'<tspan x="{x}" dy="{"0" if i == 0 else "1.2em"}">{v(text)}</tspan>')
            out.append("</text>\n      ")
        out.append("\n    </g>\n    ")
        if chart.bars:
            out.append(f'\n    <g class="chart-bars" fill="{v(chart.bar_colour)}">\n      ')
            for bar in chart.bars:
                if not bar.missing:
                    out.append(
                        f'\n      <rect x="{v(bar.x)}" y="{v(bar.y)}" width="{v(bar.width)}" '
                        f'height="{v(bar.height)}"><title>{v(bar.hint)}</title></rect>\n      '
                    )
            out.append("\n    </g>\n    ")
        out.append("\n    ")
        for line in chart.lines:
            colour = v(line.colour)
            out.append(f'\n    <g class="chart-series" data-series="{v(line.name)}">\n      ')
            for band in line.bands:
                out.append(
                    f'<path class="chart-band" d="{v(band)}" fill="{colour}" fill-opacity="0.15" stroke="none"/>'
                )
            out.append("\n      ")
            if line.d:
                out.append(
                    f'<path class="chart-line" d="{v(line.d)}" fill="none" stroke="{colour}" stroke-width="2" '
                    'stroke-linejoin="round"'
                )
                if line.dash:
                    out.append(f' stroke-dasharray="{v(line.dash)}"')
                out.append("/>")
            out.append("\n      ")
            for marker in line.markers:
                out.append(
                    f'<circle cx="{v(marker.x)}" cy="{v(marker.y)}" r="3.5" fill="{colour}">'
                    f"<title>{v(marker.hint)}</title></circle>"
                )
            out.append("\n    </g>\n    ")
        out.append("\n    ")
    out.append("\n  </svg>\n")
    # Each value went through v(), which escapes it as the template did.
    return mark_safe("".join(out))  # nosec B308 B703
