"""The forms in a real Chromium: a back-dated "When" that can be read and checked at every
width, and multi-selects that take several values without Ctrl-click, under the strict CSP."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagements import services
from engagements.models import Message
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = ZoneInfo("Europe/Berlin")


def _log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _engagement_waiting_for_a_reply(team):
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel", time_zone="Europe/Berlin")
    engagement = EngagementFactory(
        workspace=team.workspace, provider=provider, owner=team.alice, title="Newsletter-Texte"
    )
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        subject="Texte bis Freitag?",
        occurred_at=timezone.now() - timedelta(days=6),
    )
    return engagement


def test_a_reply_logged_with_a_back_dated_time_shows_that_time_on_the_engagement(
    page, console, team, live_server
):
    team.alice.time_zone = "Europe/Berlin"
    team.alice.save(update_fields=["time_zone"])
    engagement = _engagement_waiting_for_a_reply(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/{engagement.pk}/")
    form = page.locator("form[data-message-form]")

    # The date, the time and the zone they are read in can all be seen, on a laptop and a phone.
    for width in (1280, 820, 390):
        page.set_viewport_size({"width": width, "height": 900})
        when, at = form.get_by_role("group", name="When").get_by_label("Date"), form.get_by_role("group", name="When").get_by_label("Time")
        assert when.bounding_box()["width"] >= 140, width
        assert at.bounding_box()["width"] >= 100, width
        assert form.get_by_text("Berlin (UTC+1, summer UTC+2)").is_visible(), width
    page.set_viewport_size({"width": 1280, "height": 900})

    day = timezone.localdate(timezone.now(), BERLIN) - timedelta(days=3)
    form.locator("[name=direction]").select_option("in")
    form.locator("[name=kind]").select_option("reply")
    form.get_by_role("group", name="When").get_by_label("Date").fill(day.isoformat())
    form.get_by_role("group", name="When").get_by_label("Time").fill("07:45")
    form.locator("[name=body]").fill("Die Texte sind fertig.")
    form.get_by_role("button", name="Log message").click()
    reply = page.get_by_test_id("message").filter(has_text="Die Texte sind fertig.")
    reply.wait_for()

    saved = Message.objects.get(engagement=engagement, kind="reply")
    assert timezone.localtime(saved.occurred_at, BERLIN).strftime("%Y-%m-%d %H:%M") == f"{day} 07:45"
    shown = reply.locator("time").first
    assert shown.get_attribute("datetime").startswith(f"{day.isoformat()}T07:45:00")
    assert "7:45" in shown.inner_text()
    assert console.errors == []
