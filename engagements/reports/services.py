"""Writes of the reliability reports: their settings, and sending them (on demand and on schedule).

Sending on schedule is claimed like Healthchecks claims a check: the beat's
pass changes ``last_sent_period`` from what it read to the period it is
about to send, in one conditional update, and sends only if that update
changed the row. Two passes at once, or the same pass run twice, send a
period once. A report whose content could not be built gives its claim back
(the next pass tries again); a recipient whose server refused is logged and
not retried, so the others never get the report twice.

"Send now" is claimed the same way, on ``sending_since``: the page's request
takes it (from empty, or from a claim old enough to have lost its worker) and
queues the task; the task sends only while the claim it was given is still
held, and gives it back with what it did. A double click sends once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from engagements import jobs
from engagements.models import ReliabilityReport
from engagements.reports import periods
from engagements.reports.content import ReportContent, report_content, report_zone
from engagements.reports.render import report_email, report_pdf
from outsourcing import formats as date_formats
from outsourcing.models import User, Workspace

logger = logging.getLogger(__name__)

SEND_NOW_TASK = "engagements.tasks.send_report_now"
# A "Send now" claim older than this lost its worker (a sending takes seconds): the next click may take it.
SEND_CLAIM_EXPIRES = timedelta(minutes=30)

FIELDS = ("name", "frequency", "client_name", "language", "time_zone", "extra_addresses", "enabled")


def report_create(
    *, workspace: Workspace, by: User, members: Iterable[User], now: datetime | None = None, **values: object
) -> ReliabilityReport:
    """A new report; its first scheduled mail is for the period running now, once it has ended."""
    report = ReliabilityReport(workspace=workspace, created_by=by, **{k: values[k] for k in FIELDS})
    report.last_sent_period = periods.last_complete(
        report.frequency, now or timezone.now(), report_zone(report)
    ).key
    with transaction.atomic():
        report.save()
        report.members.set(list(members))
    return report


def report_update(
    *, report: ReliabilityReport, members: Iterable[User], now: datetime | None = None, **values: object
) -> ReliabilityReport:
    """Changed settings; a changed frequency starts its schedule with the period running now."""
    frequency_changed = values["frequency"] != report.frequency
    for name in FIELDS:
        setattr(report, name, values[name])
    update_fields = list(FIELDS)
    if frequency_changed:
        report.last_sent_period = periods.last_complete(
            report.frequency, now or timezone.now(), report_zone(report)
        ).key
        update_fields.append("last_sent_period")
    with transaction.atomic():
        report.save(update_fields=update_fields)
        report.members.set(list(members))
    return report


def report_delete(*, report: ReliabilityReport) -> None:
    report.delete()


def recipients(report: ReliabilityReport) -> list[str]:
    """Each address once (whatever its case): the chosen members still in the workspace, then the others."""
    members = report.members.filter(memberships__workspace=report.workspace).order_by("email")
    seen: set[str] = set()
    found = []
    for address in [*(u.email for u in members), *report.extra_address_list()]:
        if address.casefold() not in seen:
            seen.add(address.casefold())
            found.append(address)
    return found


@contextmanager
def _in_its_language(report: ReliabilityReport) -> Iterator[None]:
    """The report's words, dates and zone, whoever asked for it (not the clicking manager's date format)."""
    language = report.language or settings.LANGUAGE_CODE
    with (
        translation.override(language),
        date_formats.override(date_formats.for_language(language)),
        timezone.override(report_zone(report)),
    ):
        yield


def report_render(
    *, report: ReliabilityReport, period: periods.ReportPeriod, now: datetime | None = None
) -> tuple[ReportContent, bytes]:
    """The report's figures and its PDF for ``period``, in the report's language."""
    with _in_its_language(report):
        content = report_content(report, period, now=now or timezone.now())
        return content, report_pdf(content)


def report_send(
    *, report: ReliabilityReport, period: periods.ReportPeriod, now: datetime | None = None
) -> list[str]:
    """E-mail the report for ``period`` to each recipient once; returns the addresses it went to."""
    content, pdf = report_render(report=report, period=period, now=now)
    sent = []
    with _in_its_language(report):
        for address in recipients(report):
            try:
                report_email(content, [address], pdf).send()
            except Exception:  # one refused address must not keep the report from the others
                logger.warning(
                    "report %s for %s not sent to one recipient", report.pk, period.key, exc_info=True
                )
                continue
            sent.append(address)
    return sent


def is_sending(report: ReliabilityReport, now: datetime) -> bool:
    """A "Send now" is queued or under way (and its claim has not expired)."""
    return report.sending_since is not None and report.sending_since > now - SEND_CLAIM_EXPIRES


def report_send_request(
    *, report: ReliabilityReport, period: periods.ReportPeriod, now: datetime | None = None
) -> bool:
    """Queue "Send now" for ``period``; False when a sending of this report is under way already."""
    now = now or timezone.now()
    free = Q(sending_since__isnull=True) | Q(sending_since__lte=now - SEND_CLAIM_EXPIRES)
    with transaction.atomic():
        if not ReliabilityReport.objects.filter(free, pk=report.pk).update(sending_since=now):
            return False
        # After commit, so the worker finds the claim; with the broker away it runs here instead.
        jobs.later(SEND_NOW_TASK, report.pk, period.key, now.isoformat())
    report.sending_since = now
    return True


def report_send_claimed(*, report_id: int, period_key: str, claimed_at: str) -> int:
    """The queued "Send now": sends if its claim is still held, then records what it did and gives it back.

    Returns the addresses reached; -1 when the claim was gone (a redelivered task, or a deleted report).
    """
    claim = datetime.fromisoformat(claimed_at)
    held = ReliabilityReport.objects.filter(pk=report_id, sending_since=claim)
    report = held.select_related("workspace").first()
    if report is None:
        return -1
    period = periods.from_key(report.frequency, period_key)
    if period is None:  # the frequency changed since the click: that period is no longer the report's
        held.update(sending_since=None)
        return -1
    try:
        sent = len(report_send(report=report, period=period))
    except Exception:
        # The figures or the PDF failed: the page says "to nobody" rather than "sending" for ever.
        logger.exception("report %s for %s could not be built", report_id, period_key)
        sent = 0
    held.update(sending_since=None, last_sent_at=timezone.now(), last_sent_to=sent)
    return sent


def _claim(report: ReliabilityReport, key: str, now: datetime) -> bool:
    """Take the period for this pass: True only for the one pass whose update changed the row."""
    return bool(
        ReliabilityReport.objects.filter(pk=report.pk, last_sent_period=report.last_sent_period).update(
            last_sent_period=key, last_sent_at=now
        )
    )


def send_due_reports(*, now: datetime | None = None) -> int:
    """Send every enabled report whose last whole period has not gone out yet; returns reports sent."""
    now = now or timezone.now()
    sent = 0
    due = ReliabilityReport.objects.filter(enabled=True).select_related("workspace")
    for report in due:
        period = periods.last_complete(report.frequency, now, report_zone(report))
        if report.last_sent_period == period.key or not _claim(report, period.key, now):
            continue
        try:
            reached = report_send(report=report, period=period, now=now)
        except Exception:
            # Nothing went out (the figures or the PDF failed): give the period back for the next pass.
            logger.exception("report %s for %s could not be built", report.pk, period.key)
            ReliabilityReport.objects.filter(pk=report.pk, last_sent_period=period.key).update(
                last_sent_period=report.last_sent_period, last_sent_at=report.last_sent_at
            )
            continue
        ReliabilityReport.objects.filter(pk=report.pk).update(last_sent_to=len(reached))
        sent += 1
    return sent
