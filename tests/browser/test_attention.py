"""Needs attention in a real Chromium: snooze one overdue flag, dismiss another, and
follow up on a third with the German text prefilled, under the strict CSP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagements import deadlines, services
from engagements.flagging import flag_pass
from engagements.models import Exchange, Flag
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _overdue(team, provider, title: str):
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title=title)
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        subject=title,
        occurred_at=timezone.now() - timedelta(days=8),
    )
    return engagement


def _log_in(page, live_server, user) -> None:
    """Sign-in itself is the walkthrough's business: here the session is made directly."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_overdue_flags_are_snoozed_dismissed_and_followed_up_from_needs_attention(
    page, console, team, live_server
):
    provider = ProviderFactory(
        workspace=team.workspace, name="Lena Vogel", languages=["de"], time_zone="Europe/Berlin", country="DE"
    )
    later = _overdue(team, provider, "Newsletter-Texte")
    dropped = _overdue(team, provider, "Altes Logo")
    urgent = _overdue(team, provider, "Produktfotos")
    # Typed in after the replies were due: flagged once the grace for entering history is over.
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 3

    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/attention/")
    assert page.get_by_test_id("nav-attention").inner_text().startswith("Needs attention 3")
    rows = page.get_by_test_id("flag-row")
    assert rows.count() == 3

    # Snooze through htmx: the row is swapped in place, the page not reloaded.
    page.evaluate("window.__notReloaded = true")
    row = rows.filter(has_text="Newsletter-Texte")
    row.get_by_role("button", name="Snooze").first.click()
    row.get_by_role("button", name=re.compile("^Tomorrow")).click()
    page.get_by_test_id("snoozed-until").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    snoozed_until = Flag.objects.get(engagement=later).snoozed_until
    assert snoozed_until is not None and snoozed_until > timezone.now()

    row = rows.filter(has_text="Altes Logo")
    row.get_by_role("button", name="Dismiss").click()
    row.get_by_label("Why does this flag not need anyone?").fill("Das Logo wird nicht mehr gebraucht.")
    row.get_by_role("button", name="Dismiss the flag").click()
    page.get_by_text("Flag dismissed.").wait_for()
    flag = Flag.objects.get(engagement=dropped)
    assert (flag.resolution, flag.reason) == (
        Flag.Resolution.DISMISSED,
        "Das Logo wird nicht mehr gebraucht.",
    )

    rows.filter(has_text="Produktfotos").get_by_role("link", name="Follow up").click()
    page.wait_for_url(re.compile(r".*/engagements/\d+/messages/\?followup=1"))
    form = page.locator("form[data-message-form]")
    assert form.locator("[name=direction]").input_value() == "out"
    assert form.locator("[name=body]").input_value().startswith("Guten Tag Lena Vogel,")
    subject = form.locator("[name=subject]").input_value()
    assert subject == "Re: Produktfotos"
    form.get_by_role("button", name="Log message").click()
    page.get_by_test_id("timeline").get_by_text(subject).wait_for()
    exchange = Exchange.objects.get(engagement=urgent)
    assert exchange.followups == 1

    assert console.errors == []
