"""The two users' journeys in a real Chromium, on a laptop and on a phone: the solo marketer in
German, the small agency in English. Every page they pass is checked with axe-core, and each step
is kept as a screenshot, var/screenshots/journey-<user>-<lang>-<width>-<step>.png (CI's artefact)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from engagements.models import Engagement, Flag, Message
from engagements.reliability import snapshots
from outsourcing.models import Invitation, Role
from tests.browser import axe
from tests.browser.conftest import SCREENSHOT_DIR, ConsoleLog, pick
from tests.browser.test_mail_upload import _log_in
from tests.browser.test_reliability import _history
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)

LOCALES = {"en": "en-US", "de": "de-DE"}
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@dataclass
class Journey:
    """One person's way through the app: a page, and what each step found."""

    page: object
    user: str
    language: str
    width: int
    console: ConsoleLog
    violations: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    steps: int = 0

    def step(self, name: str) -> None:
        """Check the page as it is with axe-core and keep a screenshot of it."""
        self.steps += 1
        label = f"{self.steps:02d}-{name}"
        if found := axe.violations(self.page):
            self.violations[f"{label} {self.page.url}"] = found  # type: ignore[attr-defined]
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOT_DIR / f"journey-{self.user}-{self.language}-{self.width}-{label}.png"
        self.page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]

    def nav(self, name: str) -> None:
        """Follow a link of the navigation bar, opening it first where it is folded away (a phone)."""
        page = self.page
        toggler = page.locator(".navbar-toggler")  # type: ignore[attr-defined]
        if toggler.is_visible():
            toggler.click()
            page.locator("#main-nav.show").wait_for()  # type: ignore[attr-defined]
        page.locator("#main-nav").get_by_role("link", name=name, exact=True).first.click()  # type: ignore[attr-defined]

    def done(self) -> None:
        if self.violations:
            pytest.fail(
                "serious or critical axe-core violations:\n" + axe.report(self.violations), pytrace=False
            )
        assert self.console.errors == []


@pytest.fixture(params=sorted(DEVICES))
def device(request) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def journey(browser, live_server, device) -> Iterator[Callable[[str, str], Journey]]:
    """Opens a journey: a browser of the device's size that speaks the user's language."""
    contexts = []

    def start(user: str, language: str) -> Journey:
        console = ConsoleLog()
        context = browser.new_context(base_url=live_server.url, locale=LOCALES[language], **DEVICES[device])
        contexts.append(context)
        axe.install(context)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page = context.new_page()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_page_error)
        page.set_default_timeout(15_000)
        return Journey(page, user, language, DEVICES[device]["viewport"]["width"], console)  # type: ignore[index]

    yield start
    for context in contexts:
        context.close()


def _focused_id(page) -> str:
    return page.evaluate("() => document.activeElement.id")  # type: ignore[no-any-return]


def _said(page, which: str, text: str) -> None:
    page.wait_for_function(
        "([id, want]) => document.getElementById(id).textContent.includes(want)", arg=[f"live-{which}", text]
    )


def test_the_solo_marketer_sets_up_a_provider_delegates_and_follows_up_in_german(journey, live_server):
    jana = MembershipFactory(
        workspace=WorkspaceFactory(name="Jana Müller Online-Marketing", slug="jana"),
        role=Role.OWNER,
        user__email="jana@example.com",
    ).user
    j = journey("solo", "de")
    page = j.page
    _log_in(page, live_server, jana)
    page.goto("/w/jana/engagements/")
    j.nav("Dienstleister")
    page.wait_for_url("**/providers/")
    j.step("providers")

    page.get_by_role("link", name="Dienstleister hinzufügen").first.click()
    # Sent empty first: the form comes back with the name field focused and its error announced.
    page.get_by_role("button", name="Dienstleister hinzufügen").click()
    _said(page, "alert", "Nicht gespeichert: Bitte korrigieren Sie die markierten Felder.")
    assert _focused_id(page) == "id_name"
    assert page.locator("#id_name").get_attribute("aria-invalid") == "true"
    j.step("provider-form-errors")
    page.locator("#id_name").fill("Anna Schmidt")
    page.locator("#id_company").fill("Schmidt Webdesign")
    page.locator("#id_emails").fill("anna@example.net")
    pick(page, "id_country", ["Deutschland"])  # a searchable select: typed, then Enter
    j.step("provider-form")
    page.get_by_role("button", name="Dienstleister hinzufügen").click()
    page.wait_for_url(re.compile(r".*/providers/\d+/$"))
    j.step("provider")

    page.get_by_role("link", name="Aufgabe delegieren").first.click()
    page.locator("#id_title").fill("Landingpage für das Webinar")
    j.step("delegate-form")
    page.get_by_role("button", name="Delegieren").click()
    page.wait_for_url(re.compile(r".*/engagements/\d+/$"))
    engagement = Engagement.objects.get(workspace__slug="jana")
    j.step("engagement")

    # The request went out a week ago by e-mail; she logs it now.
    week_ago = timezone.localtime(timezone.now() - timedelta(days=7), timezone.get_default_timezone())
    form = page.locator("form[data-message-form]")
    when = form.get_by_role("group", name="Zeitpunkt")
    when.get_by_label("Datum").fill(week_ago.strftime("%Y-%m-%d"))
    when.get_by_label("Uhrzeit").fill(week_ago.strftime("%H:%M"))
    form.locator("[name=subject]").fill("Landingpage: Entwurf bis Freitag?")
    form.locator("[name=body]").fill("Hallo Anna, schaffen Sie einen ersten Entwurf bis Freitag?")
    form.get_by_role("button", name="Nachricht erfassen").click()
    _said(page, "status", "Nachricht erfasst.")
    request = Message.objects.get(engagement=engagement)
    assert _focused_id(page) == f"message-{request.pk}"
    j.step("request-logged")

    # The next day the flagging pass (Celery beat runs the same code) finds the silence.
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        call_command("flag_overdue", stdout=io.StringIO())
        flag = Flag.objects.get(engagement=engagement, resolved_at=None)
        j.nav("Handlungsbedarf")
        page.wait_for_url("**/attention/")
        row = page.locator(f"#flag-{flag.pk}")
        assert "Landingpage für das Webinar" in row.inner_text()
        j.step("needs-attention")

        row.get_by_role("link", name="Nachfassen").click()
        page.wait_for_url(f"**flag={flag.pk}**")
        assert page.locator("[name=kind]").input_value() == Message.Kind.FOLLOW_UP
        j.step("follow-up-form")
        page.locator("form[data-message-form]").get_by_role("button", name="Nachricht erfassen").click()
        _said(page, "status", "Nachricht erfasst.")
        followup = Message.objects.get(engagement=engagement, kind=Message.Kind.FOLLOW_UP)
        assert _focused_id(page) == f"message-{followup.pk}"
        j.step("followed-up")
    j.done()


def test_the_agency_invites_a_colleague_who_compares_providers_in_english(journey, live_server, team):
    _history(team, "Prompt Paula", [1, 2, 0.5, 3, 1, 2])
    _history(team, "Silent Simon", [30, None, None, 70, None, None])
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    j = journey("agency", "en")
    page = j.page

    # Alice, the owner, invites a colleague from the workspace menu.
    _log_in(page, live_server, team.alice)
    page.goto("/w/acme/engagements/")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.locator("#main-nav.show").wait_for()
    page.get_by_test_id("workspace-switcher").click()
    page.get_by_test_id("nav-members").click()
    page.wait_for_url("**/members/")
    j.step("members")
    page.get_by_label("E-mail").fill("dana@example.com")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("dana@example.com").first.wait_for()
    assert Invitation.objects.filter(workspace=team.workspace, email="dana@example.com").exists()
    assert mail.outbox and "dana@example.com" in mail.outbox[-1].to
    j.step("invited")

    # Bob, a member, reviews the providers: dashboard, leaderboard, a scorecard, a comparison.
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    _log_in(page, live_server, team.bob)
    page.goto("/w/acme/engagements/")
    j.nav("Reliability")
    page.get_by_test_id("kpis").wait_for()
    j.step("dashboard")
    page.get_by_role("link", name="Providers", exact=True).last.click()
    rows = page.get_by_test_id("leaderboard-row")
    rows.first.wait_for()
    assert rows.count() == 2
    j.step("leaderboard")
    rows.filter(has_text="Silent Simon").locator("a").first.click()
    page.get_by_role("heading", name="Scorecard: Silent Simon").wait_for()
    j.step("scorecard")
    page.get_by_role("link", name="Compare with others").click()
    pick(page, "id_providers", ["Prompt Paula", "Silent Simon"])  # searchable: typed, then Enter
    page.get_by_role("button", name="Compare").click()
    comparison = page.get_by_test_id("comparison")
    comparison.wait_for()
    assert "Prompt Paula" in comparison.inner_text() and "Silent Simon" in comparison.inner_text()
    j.step("compare")
    j.done()
