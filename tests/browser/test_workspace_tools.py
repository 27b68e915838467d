"""The workspace's tools as a person uses them in Chromium: export everything and download the zip,
make, copy, use and revoke a calendar address, make and revoke an API token, and write a follow-up
text while its preview follows along."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date

import pytest
from playwright.sync_api import expect

from engagements import services
from engagements.models import FollowupTemplate
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_export_everything_builds_a_zip_whose_tables_hold_what_the_workspace_holds(
    page, console, team, live_server
):
    names = {"Lena Vogel", "Marco Rossi", "Ana Lima"}
    providers = [ProviderFactory(workspace=team.workspace, name=name) for name in sorted(names)]
    engagement = EngagementFactory(workspace=team.workspace, provider=providers[0], owner=team.alice)
    services.message_log(engagement=engagement, direction="out", kind="request", body="Bitte bis Freitag")
    ProviderFactory(workspace=team.other_workspace, name="Someone Else's")
    _log_in(page, live_server, team.alice)

    page.goto("/w/acme/data/")
    page.get_by_test_id("start-export").click()
    page.wait_for_url(re.compile(r"/w/acme/data/\d+/$"))
    download_link = page.get_by_test_id("download")
    download_link.wait_for()
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tables"]["providers"]["rows"] == 3
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/providers.csv").decode("utf-8-sig"))))
    assert {row["name"] for row in rows} == names, "only this workspace's providers, all of them"
    messages = json.loads(archive.read("json/messages.json"))
    assert [m["body"] for m in messages] == ["Bitte bis Freitag"]
    assert console.errors == []


def test_a_calendar_address_is_made_copied_read_and_revoked(page, console, team, live_server):
    provider = ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    EngagementFactory(
        workspace=team.workspace,
        provider=provider,
        owner=team.bob,
        title="Landing page",
        due_on=date(2027, 1, 15),
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _log_in(page, live_server, team.bob)

    page.goto("/w/acme/calendar/")
    assert "You have no calendar address" in page.get_by_test_id("feed-state").inner_text()
    page.get_by_test_id("feed-create").click()
    address = page.get_by_test_id("feed-url").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/calendar/[\w-]+\.ics", address), address

    page.get_by_test_id("feed-copy").click()
    page.get_by_test_id("feed-copy").filter(has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == address

    feed = page.request.get(address)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "Landing page" in feed.text()

    page.goto("/w/acme/calendar/")
    assert page.get_by_test_id("feed-url").count() == 0, "the address is shown only once"
    assert "Not read yet." not in page.get_by_test_id("feed-state").inner_text(), "the read was recorded"
    page.get_by_test_id("feed-revoke").click()
    assert "The calendar address no longer works." in page.content()
    assert page.request.get(address).status == 404
    assert console.errors == []


def test_an_api_token_is_made_used_and_revoked(page, console, team, live_server):
    ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    _log_in(page, live_server, team.alice)

    page.goto("/w/acme/api-tokens/")
    page.get_by_label("Name").fill("Zapier")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").get_by_label("New token").input_value()
    assert len(token) > 20

    def providers_seen() -> tuple[int, list[str]]:
        response = page.request.get(
            f"{live_server.url}/api/v1/providers/", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status != 200:
            return response.status, []
        return 200, [p["name"] for p in response.json()["results"]]

    assert providers_seen() == (200, ["Lena Vogel"])

    row = page.get_by_test_id("tokens").locator("tr", has_text="Zapier")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.get_by_test_id("tokens").locator("tr", has_text="Zapier").get_by_text("Revoked").wait_for()
    assert providers_seen()[0] in {401, 403}
    assert console.errors == []


def test_a_follow_up_text_is_previewed_as_it_is_typed_then_saved(page, console, team, live_server):
    _log_in(page, live_server, team.alice)
    page.goto("/w/acme/mail/templates/")
    page.get_by_role("link", name="Edit the text for “Reply overdue” in English").click()
    expect(page.get_by_test_id("template-default")).to_be_visible()

    text = page.get_by_label("Text")
    text.fill("Hi {provider}, about {engagement}: {days_waiting} days now. {nonsense}")
    preview = page.get_by_test_id("template-preview")
    preview.get_by_text("Unknown placeholder: {nonsense}", exact=False).wait_for()

    text.fill("Hi {provider}, about {engagement}: it has been {days_waiting} days.")
    preview.locator("pre").wait_for()
    shown = preview.inner_text()
    assert "{provider}" not in shown and "{engagement}" not in shown and "it has been" in shown, shown

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/w/acme/mail/templates/"))
    saved = FollowupTemplate.objects.get(workspace=team.workspace, kind="reply_overdue", language="en")
    assert saved.body == "Hi {provider}, about {engagement}: it has been {days_waiting} days."
    assert console.errors == []
