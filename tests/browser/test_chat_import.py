"""A WhatsApp export in Chromium: upload, say who is who, preview, import, see it on the engagement."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from engagements.chat.parsers import ChatMessage
from engagements.chat.parsers.whatsapp import render
from engagements.models import Message
from tests.browser.conftest import pick
from tests.browser.test_attention import _log_in
from tests.engagements.chat.conftest import ANDROID_EN, FIXTURES
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _who(name: str) -> re.Pattern[str]:
    """The participant's "who is it" select, not their time-zone select (whose label names them too)."""
    # The label's text comes with the template's whitespace around it, and "*" after a required one.
    return re.compile(rf"^\W*{name}\W*$")


def test_a_whatsapp_export_is_uploaded_mapped_previewed_and_imported(page, console, team, live_server):
    anna = ProviderFactory(workspace=team.workspace, name="Anna Design")
    landing = EngagementFactory(workspace=team.workspace, provider=anna, owner=team.bob, title="Landing page")
    _log_in(page, live_server, team.bob)
    page.goto(f"/w/acme/engagements/{landing.pk}/")
    page.get_by_test_id("log-chat-import").click()
    page.get_by_label("Chat export").set_input_files(str(FIXTURES / ANDROID_EN))
    page.get_by_role("button", name="Continue").click()

    mapping = page.get_by_test_id("chat-mapping")
    # Anna is named like the provider: she is guessed; Max Owner is the person to say.
    assert mapping.get_by_label(_who("Anna Design")).input_value() == "provider"
    mapping.get_by_label(_who("Max Owner")).select_option(f"member:{team.bob.pk}")
    pick(page, "id_engagement", ["Landing page — Anna Design"])
    page.get_by_test_id("chat-preview-button").click()

    preview = page.get_by_test_id("chat-preview")
    preview.wait_for()  # the page after the click, not the one before it
    assert preview.get_by_test_id("chat-line").count() == 5
    assert "5 new" in preview.get_by_test_id("chat-counts").inner_text()
    assert not Message.objects.exists(), "the preview saved nothing"

    page.get_by_test_id("chat-import-button").click()
    page.wait_for_url(re.compile(rf"/w/acme/engagements/{landing.pk}/$"))
    assert "Chat imported: 5 logged, 0 already there" in page.content()
    assert "Here is the draft" in page.content()
    assert landing.messages.filter(channel=Message.Channel.WHATSAPP, author=team.bob).count() == 2
    assert console.errors == []


def _two_months() -> tuple[tuple[date, date], tuple[date, date]]:
    """The two whole months before this one: every line dated there is in the past."""
    last_end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    first_end = last_end.replace(day=1) - timedelta(days=1)
    return (first_end.replace(day=1), first_end), (last_end.replace(day=1), last_end)


def test_a_chat_over_two_months_is_split_by_date_range_onto_two_engagements(
    page, console, team, live_server, tmp_path
):
    # Anna lives seven or eight hours ahead of Bob: the log shows her own time beside his.
    anna = ProviderFactory(workspace=team.workspace, name="Anna Design", time_zone="Asia/Manila")
    team.bob.time_zone = "Europe/Berlin"
    team.bob.save(update_fields=["time_zone"])
    spring = EngagementFactory(
        workspace=team.workspace, provider=anna, owner=team.bob, title="Spring campaign"
    )
    summer = EngagementFactory(
        workspace=team.workspace, provider=anna, owner=team.bob, title="Summer campaign"
    )
    first, second = _two_months()
    lines = []
    # Noon UTC on days 3 to 27: the same calendar day in any zone the page may read them in.
    for month, count in ((first, 3), (second, 4)):
        for i in range(count):
            when = datetime.combine(
                month[0] + timedelta(days=2 + 6 * i), datetime.min.time(), UTC
            ) + timedelta(hours=12)
            sender = "Max Owner" if i % 2 == 0 else "Anna Design"
            lines.append(ChatMessage(sender, when, f"{month[0]:%B} line {i}"))
    export = tmp_path / "WhatsApp Chat with Anna Design.txt"
    export.write_text(render(lines, "android_en", ZoneInfo("Europe/Berlin")), encoding="utf-8")

    _log_in(page, live_server, team.bob)
    page.goto("/w/acme/chat-import/")
    page.get_by_label("Chat export").set_input_files(str(export))
    page.get_by_role("button", name="Continue").click()
    mapping = page.get_by_test_id("chat-mapping")
    mapping.get_by_label(_who("Max Owner")).select_option(f"member:{team.bob.pk}")
    mapping.get_by_text("Split by dates onto several engagements").click()
    for number, (start, end), engagement in ((1, first, spring), (2, second, summer)):
        page.locator(f"#id_range_{number}_start").fill(start.isoformat())
        page.locator(f"#id_range_{number}_end").fill(end.isoformat())
        page.locator(f"#id_range_{number}_engagement").select_option(str(engagement.pk))
    page.get_by_test_id("chat-preview-button").click()
    expect(page.get_by_test_id("chat-counts")).to_contain_text(f"{len(lines)} new")
    page.get_by_test_id("chat-import-button").click()
    page.wait_for_url(re.compile(rf"/w/acme/engagements/{spring.pk}/$"))

    for engagement, (start, end) in ((spring, first), (summer, second)):
        logged = engagement.messages.filter(deleted_at=None)
        assert logged.count() == sum(start <= m.sent_at.date() <= end for m in lines)
        page.goto(f"/w/acme/engagements/{engagement.pk}/")
        shown = page.get_by_test_id("message")
        assert shown.count() == logged.count()
        bodies = sorted(shown.locator(".message-body").all_inner_texts())
        assert bodies == sorted(logged.values_list("body", flat=True))
        assert all(b.startswith(f"{start:%B} ") for b in bodies), "only this range's lines"
        assert page.get_by_test_id("sender-time").count() == logged.filter(sender="Anna Design").count()
    # On a phone the sender's time wraps with the rest of the line: nothing reaches sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert console.errors == []
