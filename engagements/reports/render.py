"""A report as a PDF (WeasyPrint, from a print template) and as an e-mail (text, HTML, charts, the PDF).

The same ``ReportContent`` feeds both, and the figures are written by the
same template filters the reliability pages use, so "78 %" in the PDF is
"78 %" on the leaderboard. The charts are the pages' own SVG
(``engagements/charts/_svg.html``): embedded as images in the PDF, and
turned into PNG for the e-mail, because mail clients do not show SVG.
"""

from __future__ import annotations

import base64
from email.message import MIMEPart

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements.reliability import charts
from engagements.reports.content import ReportContent
from outsourcing.mail_headers import header_text

PDF_TEMPLATE = "engagements/reports/print.html"


def chart_svg(chart: charts.Chart, name: str) -> str:
    """The chart as a standalone SVG document (its own colour and font: no page CSS reaches it)."""
    return render_to_string(
        "engagements/charts/_svg.html", {"chart": chart, "cid": f"report-{name}", "standalone": True}
    ).strip()


def _context(content: ReportContent) -> dict[str, object]:
    report = content.report
    return {
        "content": content,
        "report": report,
        "workspace": report.workspace,
        "rows": content.rows,
        "totals": content.totals,
        "generated_at": timezone.now().astimezone(content.zone),
        "site_url": settings.SITE_URL,
        "reports_url": settings.SITE_URL + reverse("reports:list", kwargs={"ws": report.workspace.slug}),
    }


def report_filename(content: ReportContent) -> str:
    """ "reliability-acme-2026-11.pdf" (the client's name is in the PDF, not in the file name)."""
    return f"reliability-{content.report.workspace.slug}-{content.period.key}.pdf"


def report_subject(content: ReportContent) -> str:
    if content.report.client_name:
        text = _("Provider reliability for %(client)s: %(period)s") % {
            "client": content.report.client_name,
            "period": content.period.label,
        }
    else:
        text = _("Provider reliability, %(workspace)s: %(period)s") % {
            "workspace": content.report.workspace.name,
            "period": content.period.label,
        }
    return header_text(text)


def report_pdf(content: ReportContent) -> bytes:
    """The report as a PDF (call it in the report's language)."""
    images = {
        name: "data:image/svg+xml;base64," + base64.b64encode(chart_svg(chart, name).encode()).decode()
        for name, chart in content.charts
    }
    import weasyprint  # loaded on first use: it parses its stylesheets on import

    html = render_to_string(PDF_TEMPLATE, {**_context(content), "charts": _with(content, images)})
    return weasyprint.HTML(string=html, base_url=None).write_pdf()  # type: ignore[no-any-return]


def _with(content: ReportContent, sources: dict[str, str]) -> list[tuple[str, charts.Chart, str]]:
    return [(name, chart, sources[name]) for name, chart in content.charts]


def chart_png(chart: charts.Chart, name: str) -> bytes:
    """The chart drawn at twice its size, for screens that have the pixels."""
    import cairosvg  # loaded on first use, as WeasyPrint is

    return cairosvg.svg2png(bytestring=chart_svg(chart, name).encode(), scale=2)  # type: ignore[no-any-return]


def report_email(content: ReportContent, to: list[str], pdf: bytes) -> EmailMultiAlternatives:
    """One e-mail to ``to``: plain text and HTML with the charts inline (cid), the PDF attached."""
    context = _context(content)
    message = EmailMultiAlternatives(
        subject=report_subject(content),
        body=render_to_string("engagements/reports/email.txt", context),
        to=to,
    )
    message.attach_alternative(
        render_to_string(
            "engagements/reports/email.html",
            {
                **context,
                "charts": _with(content, {name: f"cid:{name}@report" for name, _c in content.charts}),
            },
        ),
        "text/html",
    )
    for name, chart in content.charts:
        if chart.empty:
            continue
        image = MIMEPart()
        image.set_content(
            chart_png(chart, name),
            maintype="image",
            subtype="png",
            disposition="inline",
            filename=f"{name}.png",
        )
        image["Content-ID"] = f"<{name}@report>"
        message.attach(image)
    message.attach(report_filename(content), pdf, "application/pdf")
    return message
