"""The forms in a real Chromium: a back-dated "When" that can be read and checked at every
width, and multi-selects that take several values without Ctrl-click, under the strict CSP."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from engagements import services
from engagements.models import Message
from providers.models import Provider
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
        when, at = (
            form.get_by_role("group", name="When").get_by_label("Date"),
            form.get_by_role("group", name="When").get_by_label("Time"),
        )
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


def test_two_languages_are_picked_by_typing_and_enter_and_both_are_saved(page, console, team, live_server):
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/providers/new/")
    page.locator("#id_name").fill("Marie Dubois")

    # The country is searchable too; choosing it swaps in its time zone, searchable again.
    page.locator("#div_id_country .ts-control").click()
    # Typed once the search box has the focus, as a person sees the cursor first.
    country = page.locator("#id_country-ts-control")
    expect(country).to_be_focused()
    country.press_sequentially("Fran")
    expect(country).to_have_value("Fran")
    # As a person does: wait until the list shows the match, then press Enter.
    expect(page.locator("#id_country-ts-dropdown .option.active")).to_have_text("France")
    page.keyboard.press("Enter")
    expect(page.locator("#id_time_zone")).to_have_value("Europe/Paris")
    expect(page.locator("#provider-time-zone .ts-wrapper")).to_have_count(1)

    languages = page.get_by_role("combobox", name="Languages")
    languages.click()
    expect(languages).to_be_focused()
    page.keyboard.type("Fren")
    expect(languages).to_have_value("Fren")
    expect(page.locator("#id_languages-ts-dropdown .option.active")).to_have_text("French")
    page.keyboard.press("Enter")
    # As a person sees French chosen and the search box empty again before typing on.
    expect(page.locator("#div_id_languages .ts-control .item")).to_have_count(1)
    expect(languages).to_have_value("")
    page.keyboard.type("Germ")
    expect(languages).to_have_value("Germ")
    expect(page.locator("#id_languages-ts-dropdown .option.active")).to_have_text("German")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    picked = page.locator("#div_id_languages .ts-control .item")
    expect(picked).to_have_count(2)

    page.get_by_role("button", name="Add provider").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))
    marie = Provider.objects.get(name="Marie Dubois")
    assert sorted(marie.languages) == ["de", "fr"]
    assert (marie.country, marie.time_zone, marie.rate_currency) == ("FR", "Europe/Paris", "EUR")
    assert console.errors == []


def test_without_javascript_the_native_multi_select_still_saves(browser, live_server, team):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/providers/new/")
    page.locator("#id_name").fill("Jan Novak")
    page.locator("#id_time_zone").select_option("Europe/Prague")
    page.locator("#id_languages").select_option(["cs", "en"])
    page.get_by_role("button", name="Add provider").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))
    assert sorted(Provider.objects.get(name="Jan Novak").languages) == ["cs", "en"]
    context.close()
