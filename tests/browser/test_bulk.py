"""Bulk actions in a real Chromium: tick rows on Needs attention and snooze them, follow up on all of a
provider's overdue items with one mail each, and give ticked engagements of the list to a colleague,
under the strict CSP."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from engagements import deadlines, queries
from engagements.flagging import flag_pass
from engagements.models import Engagement, Flag, Message
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.test_attention import _log_in, _overdue
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.MAIL_ROUTING_DOMAIN = "reply.example.com"
    settings.DEFAULT_FROM_EMAIL = "Outsourcing Tracker <tracker@example.com>"


def _provider(team, name: str, email: str):
    provider = ProviderFactory(
        workspace=team.workspace, name=name, languages=["en"], time_zone="Europe/Berlin"
    )
    ProviderEmailFactory(provider=provider, email=email, position=0)
    return provider


def test_a_person_ticks_two_rows_and_snoozes_them(page, console, team, live_server):
    provider = _provider(team, "Lena Vogel", "lena@example.net")
    for title in ("Newsletter copy", "Product photos", "Old logo"):
        _overdue(team, provider, title)
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 3

    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/attention/")
    overdue = page.get_by_test_id("overdue")
    # One heading for the provider, their three items under it.
    assert overdue.get_by_test_id("provider-heading").count() == 1
    assert overdue.get_by_test_id("provider-heading").inner_text().startswith("Lena Vogel 3")
    page.get_by_label("Select Reply overdue: Newsletter copy").check()
    page.get_by_label("Select Reply overdue: Old logo").check()
    assert page.get_by_test_id("bulk-count").inner_text() == "2 selected"
    page.get_by_label("Snooze until").select_option("tomorrow")
    page.get_by_test_id("bulk-snooze").click()

    page.locator("#messages").get_by_text(re.compile(r"2 flags snoozed until")).wait_for()
    assert overdue.get_by_test_id("flag-row").all_inner_texts()[0].count("Product photos") == 1
    assert overdue.get_by_test_id("flag-row").count() == 1
    snoozed = page.get_by_test_id("snoozed")
    snoozed.locator("summary").click()
    assert sorted(
        t.split("\n")[0]
        for t in snoozed.get_by_test_id("flag-row").locator("a.fw-semibold").all_inner_texts()
    ) == ["Newsletter copy", "Old logo"]
    assert Flag.objects.filter(snoozed_until__gt=timezone.now()).count() == 2
    assert console.errors == []


def test_follow_up_on_all_sends_one_mail_per_provider(page, console, team, live_server):
    lena = _provider(team, "Lena Vogel", "lena@example.net")
    max_ = _provider(team, "Max Design", "max@example.net")
    for title in ("Newsletter copy", "Product photos", "Old logo"):
        _overdue(team, lena, title)
    for title in ("Banner", "Icons"):
        _overdue(team, max_, title)
    assert flag_pass(now=timezone.now() + deadlines.BACKDATE_GRACE).raised_overdue == 5

    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/attention/")
    page.on("dialog", lambda dialog: dialog.accept())
    group = page.get_by_test_id("provider-group").filter(has_text="Lena Vogel")
    group.get_by_role("button", name="Follow up on all 3").click()
    page.locator("#messages").get_by_text("One follow-up mail sent: Lena Vogel (3 items).").wait_for()
    assert [m.to for m in mail.outbox] == [["lena@example.net"]]
    for title in ("Newsletter copy", "Product photos", "Old logo"):
        assert f"“{title}”" in mail.outbox[0].body

    # Then everything on the page at once, from the bulk bar: still one mail per provider.
    page.get_by_label("Select all on this page").check()
    assert page.get_by_test_id("bulk-count").inner_text() == "5 selected"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "attention_bulk.png"), full_page=True)
    page.get_by_test_id("bulk-follow-up").click()
    page.locator("#messages").get_by_text(re.compile(r"2 follow-up mails sent, one per provider")).wait_for()
    assert sorted(m.to[0] for m in mail.outbox[1:]) == ["lena@example.net", "max@example.net"]
    assert Message.objects.filter(kind=Message.Kind.FOLLOW_UP, engagement__provider=lena).count() == 6
    assert console.errors == []


def test_a_person_ticks_two_engagements_on_the_list_and_gives_them_to_a_colleague(
    page, console, team, live_server
):
    provider = _provider(team, "Lena Vogel", "lena@example.net")
    team.bob.first_name, team.bob.last_name = "Bob", "Builder"
    team.bob.save(update_fields=["first_name", "last_name"])
    made = {
        title: EngagementFactory(workspace=team.workspace, provider=provider, owner=team.alice, title=title)
        for title in ("Newsletter copy", "Product photos", "Old logo")
    }

    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/")
    bar = page.get_by_test_id("bulk-bar")
    # The bar offers the workspace's members, as the owner filter does.
    members = [u.display_name for u in queries.workspace_members(team.workspace)]
    assert bar.locator('select[name="owner"] option').all_inner_texts() == ["—", *members]
    assert "Bob Builder" in members
    page.get_by_label("Select Newsletter copy").check()
    page.get_by_label("Select Old logo").check()
    assert page.get_by_test_id("bulk-count").inner_text() == "2 selected"
    bar.locator('select[name="owner"]').select_option(label="Bob Builder")
    page.get_by_test_id("bulk-owner").click()

    page.locator("#messages").get_by_text("2 engagements now belong to Bob Builder.").wait_for()
    owners = {e.title: e.owner_id for e in Engagement.objects.filter(pk__in=[e.pk for e in made.values()])}
    assert owners == {
        "Newsletter copy": team.bob.pk,
        "Product photos": team.alice.pk,
        "Old logo": team.bob.pk,
    }
    # The list shows it: each row's owner cell.
    rows = page.locator("tbody tr")
    for title, owner in (("Newsletter copy", "Bob Builder"), ("Old logo", "Bob Builder")):
        assert owner in rows.filter(has_text=title).inner_text()
    assert console.errors == []
