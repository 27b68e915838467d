"""Every sort link, tab, filter and export of the list and reliability pages, clicked in Chromium.

Each click is checked against the data: the rows come in the order the header
now says (▲ ascending, ▼ descending, aria-sort), filters narrow the rows and
survive a sort, tabs show only their requests, and a downloaded file holds
exactly the rows and period of the page it came from.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from engagements import deadlines, services
from engagements.models import Engagement, Exchange
from engagements.reliability import snapshots
from providers.models import Provider, ProviderSkill
from tests.browser.conftest import pick
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

ARROWS = {"ascending": "▲", "descending": "▼"}


# --- The workspace ------------------------------------------------------------------------------


def _request(engagement: Engagement, asked: datetime, *, reply_after: timedelta | None = None, followups=()):
    services.message_log(engagement=engagement, direction="out", kind="request", occurred_at=asked)
    for later in followups:
        services.message_log(
            engagement=engagement, direction="out", kind="follow_up", occurred_at=asked + later
        )
    if reply_after is not None:
        services.message_log(
            engagement=engagement, direction="in", kind="reply", occurred_at=asked + reply_after
        )


def _registry(team) -> None:
    """Five providers and six engagements that differ in every sortable column."""
    now = timezone.now()
    specs = [
        ("Ada Atelier", Provider.Kind.AGENCY, "DE", Provider.Status.ACTIVE, ["seo", "Figma"]),
        ("Bea Bold", Provider.Kind.FREELANCER, "PH", Provider.Status.PAUSED, ["web_design"]),
        ("Cid Copy", Provider.Kind.VIRTUAL_ASSISTANT, "US", Provider.Status.ACTIVE, ["content_writing"]),
        ("Dora Draft", Provider.Kind.FREELANCER, "FR", Provider.Status.ACTIVE, ["seo"]),
        ("Eli Elder", Provider.Kind.OTHER, "DE", Provider.Status.ARCHIVED, []),
    ]
    providers = {}
    for name, kind, country, status, skills in specs:
        provider = ProviderFactory(
            workspace=team.workspace, name=name, kind=kind, country=country, status=status
        )
        ProviderSkill.objects.bulk_create(ProviderSkill(provider=provider, name=s) for s in skills)
        providers[name.split()[0]] = provider
    today = timezone.localdate()
    rows = [
        # title, provider, owner, status, priority, due in days, category, open request days ago
        ("Audit backlinks", "Ada", team.alice, "in_progress", 3, 5, "seo", 6),
        ("Brochure layout", "Bea", team.bob, "requested", 2, -3, "web_design", 2),
        ("Cold list build", "Cid", team.alice, "delivered", 4, None, "list_building", None),
        ("Drip sequence", "Dora", None, "draft", 1, 20, "email_marketing", None),
        ("E-book cover", "Ada", team.bob, "completed", 2, -10, "ebook", None),
        ("Final invoices", "Cid", team.alice, "on_hold", 3, 1, "bookkeeping", 10),
    ]
    for title, first_name, owner, engagement_status, priority, due, category, waiting in rows:
        engagement = EngagementFactory(
            workspace=team.workspace,
            provider=providers[first_name],
            owner=owner,
            title=title,
            status=engagement_status,
            priority=priority,
            due_on=None if due is None else today + timedelta(days=due),
            category=category,
        )
        if waiting is not None:
            _request(engagement, now - timedelta(days=waiting, hours=1))
    _request(
        Engagement.objects.get(title="Cold list build"),
        now - timedelta(days=4),
        reply_after=timedelta(hours=3),
    )


def _history(team) -> dict[str, Provider]:
    """Four providers' requests over the last 200 days, and what two of them cost, in two currencies."""
    now = timezone.now()
    people = {
        "paula": ProviderFactory(
            workspace=team.workspace, name="Prompt Paula", kind=Provider.Kind.FREELANCER
        ),
        "simon": ProviderFactory(workspace=team.workspace, name="Slow Simon", kind=Provider.Kind.AGENCY),
        "tina": ProviderFactory(workspace=team.workspace, name="Thin Tina", kind=Provider.Kind.FREELANCER),
        "olga": ProviderFactory(
            workspace=team.workspace, name="Old Olga", kind=Provider.Kind.VIRTUAL_ASSISTANT
        ),
    }

    def engagement(who: str, category: str, owner=team.alice, **fields) -> Engagement:
        return EngagementFactory(
            workspace=team.workspace, provider=people[who], owner=owner, category=category, **fields
        )

    for i, hours in enumerate([1, 2, 0.5, 3, 1, 2]):
        _request(engagement("paula", "seo"), now - timedelta(days=20 - i), reply_after=timedelta(hours=hours))
    for i in range(2):  # older and late: only the last 365 days see them
        _request(
            engagement("paula", "seo", team.bob), now - timedelta(days=120 + i), reply_after=timedelta(days=9)
        )
    simon = [
        (30, None, ()),
        (28, 70, ()),
        (40, None, (3, 6)),
        (14, None, (2, 4, 6)),
        (9, 30, ()),
        (0.1, None, ()),
    ]
    for days_ago, reply_hours, followups in simon:
        _request(
            engagement("simon", "web_design"),
            now - timedelta(days=days_ago),
            reply_after=None if reply_hours is None else timedelta(hours=reply_hours),
            followups=[timedelta(days=d) for d in followups],
        )
    _request(engagement("tina", "seo"), now - timedelta(days=5), reply_after=timedelta(hours=4))
    for i in range(5):
        _request(engagement("olga", "seo"), now - timedelta(days=200 + i), reply_after=timedelta(hours=2))
    for who, amount, currency in [
        ("paula", "500.00", "EUR"),
        ("paula", "120.00", "EUR"),
        ("simon", "300.00", "USD"),
    ]:
        engagement(
            who,
            "seo",
            status=Engagement.Status.COMPLETED,
            completed_at=now - timedelta(days=3),
            fee_amount=Decimal(amount),
            fee_currency=currency,
        )
    snapshots.snapshots_refresh(workspace_id=team.workspace.pk)
    return people


# --- Reading the page ---------------------------------------------------------------------------------


def _click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def _sorted_by(page, key: str) -> str:
    """The direction the page says it is sorted by ``key`` in, checked against its arrow."""
    header = page.locator(f"th:has(a[data-sort='{key}'])")
    direction = header.get_attribute("aria-sort") or ""
    assert direction in ARROWS, f"{key}: aria-sort={direction!r}"
    sorted_headers = page.locator("th[aria-sort]")
    assert sorted_headers.count() == 1
    text = header.inner_text()
    assert (
        ARROWS[direction] in text
        and ARROWS["ascending" if direction == "descending" else "descending"] not in text
    )
    return direction


def _expected_order(
    items: Sequence[Any], value: Callable[[Any], Any], *, descending: bool, tiebreak
) -> list[Any]:
    """Sorted by ``value`` (missing values last either way), equal values in ``tiebreak`` order."""
    present = sorted((i for i in items if value(i) is not None), key=tiebreak)
    present.sort(key=value, reverse=descending)  # stable: ties keep the tiebreak order
    missing = sorted((i for i in items if value(i) is None), key=tiebreak)
    return present + missing


def _click_every_sort_header(
    page,
    keys: Sequence[str],
    *,
    descending_first: set[str],
    shown: Callable[[], list[str]],
    expected: Callable[[str, bool], list[str]],
) -> None:
    """Two clicks per header: its natural direction first, then the other; the rows follow each time."""
    for key in keys:
        already_sorted = page.locator(f"th[aria-sort]:has(a[data-sort='{key}'])").count() == 1
        directions = []
        for _click in range(2):
            _click_and_wait(page, page.locator(f"a[data-sort='{key}']"))
            direction = _sorted_by(page, key)
            assert shown() == expected(key, direction == "descending"), f"sorted by {key}, {direction}"
            directions.append(direction)
        assert set(directions) == {"ascending", "descending"}, key
        if not already_sorted:
            assert directions[0] == ("descending" if key in descending_first else "ascending"), key


def _filter_then_sort(
    page,
    start: str,
    choose: Callable[[], None],
    matching: Sequence[Any],
    *,
    shown: Callable[[], list[str]],
    expected: Callable[..., list[str]],
    steps: Sequence[tuple[str, bool]],
) -> None:
    """One filter, submitted on a sorted page: its rows in that order, then after each header click."""
    assert matching, "every filter leaves something to sort"
    page.goto(start)
    choose()
    _click_and_wait(page, page.get_by_role("button", name="Filter"))
    for i, (key, descending) in enumerate(steps):
        if i:
            _click_and_wait(page, page.locator(f"a[data-sort='{key}']"))
        assert shown() == expected(key, descending, matching), (start, key, descending)


# --- Engagement list ------------------------------------------------------------------------------


def test_the_engagement_list_sorts_by_every_column_and_keeps_its_filters(page, console, team, live_server):
    _registry(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/engagements/")
    rows = page.locator("[data-testid=engagement-row] [data-testid=cell-title] a")
    engagements = list(Engagement.objects.filter(workspace=team.workspace).select_related("provider"))
    values: dict[str, Callable[[Engagement], Any]] = {
        "title": lambda e: e.title,
        "provider": lambda e: e.provider.name,
        "status": lambda e: e.status,
        "priority": lambda e: e.priority,
        "due": lambda e: e.due_on,
        # Since when the word "Whose turn" shows has been awaited: their reply or our answer.
        "silent": lambda e: next(
            (o.since for o in deadlines.obligations(e, timezone.now()) if o.what != deadlines.DELIVERY), None
        ),
        "created": lambda e: e.created_at,
    }

    def expected(key: str, descending: bool, among: Sequence[Engagement] = engagements) -> list[str]:
        # Ties (and missing values) in id order, turned around with the column.
        tiebreak = (lambda e: -e.pk) if descending else (lambda e: e.pk)
        return [
            e.title for e in _expected_order(among, values[key], descending=descending, tiebreak=tiebreak)
        ]

    # The default: newest first, and the page says so.
    assert _sorted_by(page, "created") == "descending"
    assert rows.all_inner_texts() == expected("created", True)
    _click_every_sort_header(
        page,
        list(values),
        descending_first={"priority", "created"},
        shown=rows.all_inner_texts,
        expected=expected,
    )

    # Each filter narrows the rows; a sort keeps every filter, and a filter keeps the sort.
    filters: list[tuple[Callable[[], None], Callable[[Engagement], bool]]] = [
        (
            lambda: page.locator("main").get_by_label("Search", exact=True).fill("o"),
            lambda e: "o" in e.title.lower(),
        ),
        (
            lambda: pick(page, "id_status", ["Requested", "In progress", "On hold"]),
            lambda e: e.status in {"requested", "in_progress", "on_hold"},
        ),
        (
            lambda: page.get_by_label("Provider", exact=True).select_option(label="Cid Copy"),
            lambda e: e.provider.name == "Cid Copy",
        ),
        (
            lambda: page.get_by_label("Owner", exact=True).select_option(label="Me"),
            lambda e: e.owner_id == team.alice.pk,
        ),
        (
            lambda: page.get_by_label("Awaiting reply", exact=True).select_option("yes"),
            lambda e: e.awaiting_reply,
        ),
        (
            lambda: page.get_by_label("Category", exact=True).select_option("seo"),
            lambda e: e.category == "seo",
        ),
    ]
    for choose, keep in filters:
        _filter_then_sort(
            page,
            f"/w/{team.workspace.slug}/engagements/?sort=title",
            choose,
            [e for e in engagements if keep(e)],
            shown=rows.all_inner_texts,
            expected=expected,
            steps=[("title", False), ("title", True), ("due", False)],
        )
    assert console.errors == []


# --- Provider list --------------------------------------------------------------------------------


def test_the_provider_list_sorts_by_every_column_and_keeps_its_filters(page, console, team, live_server):
    _registry(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/providers/?status=all")
    rows = page.locator("tr[data-provider] td:first-child a")
    providers = list(Provider.objects.filter(workspace=team.workspace))
    values: dict[str, Callable[[Provider], Any]] = {
        "name": lambda p: p.name,
        "kind": lambda p: p.kind,
        "country": lambda p: p.country.code,
        "status": lambda p: p.status,
        "created": lambda p: p.created_at,
    }

    def expected(key: str, descending: bool, among: Sequence[Provider] = providers) -> list[str]:
        # Only the chosen column turns around; equal values stay in name order.
        return [
            p.name
            for p in _expected_order(
                among, values[key], descending=descending, tiebreak=lambda p: (p.name, p.pk)
            )
        ]

    assert _sorted_by(page, "name") == "ascending"
    assert rows.all_inner_texts() == expected("name", False)
    _click_every_sort_header(
        page, list(values), descending_first={"created"}, shown=rows.all_inner_texts, expected=expected
    )

    skills = {p.pk: set(p.skills.values_list("name", flat=True)) for p in providers}

    def listed(p: Provider) -> bool:
        return p.status != Provider.Status.ARCHIVED  # unless the status filter asks for archived ones

    filters: list[tuple[Callable[[], None], Callable[[Provider], bool]]] = [
        (
            lambda: page.locator("main").get_by_label("Search", exact=True).fill("d"),
            lambda p: "d" in p.name.lower() and listed(p),
        ),
        (
            lambda: page.get_by_label("Kind", exact=True).select_option("freelancer"),
            lambda p: p.kind == "freelancer",
        ),
        (
            lambda: page.get_by_label("Skill", exact=True).select_option("seo"),
            lambda p: "seo" in skills[p.pk] and listed(p),
        ),
        (
            lambda: page.get_by_label("Status", exact=True).select_option("archived"),
            lambda p: p.status == "archived",
        ),
        (
            lambda: page.get_by_label("Status", exact=True).select_option("paused"),
            lambda p: p.status == "paused",
        ),
        (
            lambda: page.get_by_label("Country", exact=True).select_option("DE"),
            lambda p: p.country.code == "DE" and listed(p),
        ),
    ]
    for choose, keep in filters:
        _filter_then_sort(
            page,
            f"/w/{team.workspace.slug}/providers/?sort=-created",
            choose,
            [p for p in providers if keep(p)],
            shown=rows.all_inner_texts,
            expected=expected,
            steps=[("created", True), ("country", False), ("country", True)],
        )
    assert console.errors == []


# --- Reliability: the leaderboard and its exports -------------------------------------------------------


def _number(text: str) -> float | None:
    found = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    return None if found is None else float(found.group(0).replace(",", ""))


def _hours(text: str) -> float | None:
    text = text.strip().split("(")[0].strip()
    if text in ("—", ""):
        return None
    if text == "0":
        return 0.0
    n = _number(text)
    assert n is not None, text
    return n / 60 if text.endswith("min") else n


def _leaderboard(page) -> list[dict[str, Any]]:
    """What each row of the leaderboard shows, read from its cells."""
    shown = []
    rows = page.get_by_test_id("leaderboard-row")
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        score = cells.nth(2).get_by_test_id("score").inner_text()
        rate = cells.nth(3).inner_text()
        on_time = cells.nth(7).inner_text()
        leading_spend = cells.nth(9).locator("div:not(.small)")
        shown.append(
            {
                "rank": cells.nth(0).inner_text().strip(),
                "name": cells.nth(1).locator("a").inner_text(),
                "score": None if "not enough" in score else _number(score),
                "response_rate": None if "no data" in rate else _number(rate),
                "requests": int(re.search(r"n\s*=\s*(\d+)", rate).group(1))
                if "n" in rate and "no data" not in rate
                else 0,
                "median": _hours(cells.nth(4).inner_text()),
                "on_time": None if "no data" in on_time else _number(on_time),
                "spend": _number(leading_spend.inner_text()) if leading_spend.count() else None,
            }
        )
    return shown


def _in_order(values: list[Any], descending: bool) -> bool:
    present = [v for v in values if v is not None]
    # Missing figures come last whichever way.
    if values[: len(present)] != present:
        return False
    return present == sorted(present, reverse=descending)


def _download(page, test_id: str) -> tuple[str, list[list[Any]]]:
    with page.expect_download(timeout=5_000) as info:
        page.get_by_test_id(test_id).click()
    download = info.value
    extension = test_id.removeprefix("export-")
    assert download.suggested_filename.endswith(f".{extension}"), download.suggested_filename
    content = open(download.path(), "rb").read()  # noqa: SIM115 - Playwright's temporary file
    if download.suggested_filename.endswith(".csv"):
        return download.suggested_filename, list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(content)).active
    return download.suggested_filename, [list(row) for row in sheet.iter_rows(values_only=True)]


def _check_exports(page, period_in_name: str) -> None:
    """Both files hold the page's rows in its order, with its requests and spend, for its period."""
    shown = _leaderboard(page)
    for test_id in ("export-csv", "export-xlsx"):
        filename, table = _download(page, test_id)
        assert period_in_name in filename, filename
        header, body = table[0], table[1:]
        column = {name: header.index(name) for name in ("Rank", "Provider", "Requests", "Response rate (%)")}
        assert [row[column["Provider"]] for row in body] == [s["name"] for s in shown]
        assert [int(row[column["Requests"]]) for row in body] == [s["requests"] for s in shown]
        for row, s in zip(body, shown, strict=True):
            rate = row[column["Response rate (%)"]]
            if s["response_rate"] is None:
                assert rate in ("", None)
            else:  # the page rounds to whole percent, the file keeps one decimal
                assert abs(float(rate) - s["response_rate"]) <= 0.5
            assert (str(row[column["Rank"]] or "") or "—") == s["rank"]
        spend_columns = [h for h in header if h.startswith("Spend (")]
        assert set(spend_columns) <= {"Spend (EUR)", "Spend (USD)"}


def test_the_leaderboard_sorts_filters_and_exports_what_it_shows(page, console, team, live_server):
    _history(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/reliability/providers/")

    # Best first by default; too little data for a score means no rank, after every scored provider.
    assert _sorted_by(page, "score") == "descending"
    shown = _leaderboard(page)
    assert [s["name"] for s in shown] == ["Prompt Paula", "Slow Simon", "Thin Tina"]
    assert [s["rank"] for s in shown] == ["1", "2", "—"]
    _check_exports(page, "90")

    figure = {"name": "name", "score": "score", "response_rate": "response_rate", "median": "median"}
    figure |= {"on_time": "on_time", "spend": "spend"}

    def in_shown_order(key: str, descending: bool) -> list[str]:
        rows = _leaderboard(page)
        values = [r[figure[key]].casefold() if key == "name" else r[figure[key]] for r in rows]
        assert _in_order(values, descending), (key, descending, values)
        return [r["name"] for r in rows]

    _click_every_sort_header(
        page,
        list(figure),
        descending_first={"score", "response_rate", "on_time", "spend"},
        shown=lambda: [r["name"] for r in _leaderboard(page)],
        expected=in_shown_order,
    )
    # The spend sorts by the leading currency; the other one is still on the page and in the file.
    _click_and_wait(page, page.locator("a[data-sort='spend']"))
    simon = page.get_by_test_id("leaderboard-row").filter(has_text="Slow Simon")
    assert "$300.00" in simon.inner_text()
    _filename, table = _download(page, "export-csv")
    header = table[0]
    simon_row = next(r for r in table[1:] if r[1] == "Slow Simon")
    assert simon_row[header.index("Spend (USD)")] == "300.00"

    # Filters: a longer period brings Olga in; each export then holds that period's rows.
    page.get_by_label("Period", exact=True).select_option("365")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert "Old Olga" in [s["name"] for s in _leaderboard(page)]
    _check_exports(page, "365")
    page.get_by_label("Kind", exact=True).select_option("freelancer")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert {s["name"] for s in _leaderboard(page)} == {"Prompt Paula", "Thin Tina"}
    paula_365 = next(s for s in _leaderboard(page) if s["name"] == "Prompt Paula")
    assert paula_365["requests"] == 8
    _check_exports(page, "365")
    _click_and_wait(page, page.locator("a[data-sort='name']"))
    assert [s["name"] for s in _leaderboard(page)] == ["Prompt Paula", "Thin Tina"]
    assert page.get_by_label("Kind", exact=True).input_value() == "freelancer"
    assert page.get_by_label("Period", exact=True).input_value() == "365"
    _check_exports(page, "365")
    page.get_by_label("Kind", exact=True).select_option("")
    page.get_by_label("Category", exact=True).select_option("web_design")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert [s["name"] for s in _leaderboard(page)] == ["Slow Simon"]
    _check_exports(page, "365")

    first = (timezone.localdate() - timedelta(days=250)).isoformat()
    last = (timezone.localdate() - timedelta(days=100)).isoformat()
    page.get_by_label("Category", exact=True).select_option("")
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("Until", exact=True).fill(last)
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert {s["name"] for s in _leaderboard(page)} == {"Old Olga", "Prompt Paula"}
    _check_exports(page, f"{first}-{last}")

    # A provider's name leads to the scorecard for the same period.
    _click_and_wait(page, page.get_by_role("link", name="Old Olga"))
    assert page.get_by_label("Period", exact=True).input_value() == "custom"
    assert page.get_by_label("From", exact=True).input_value() == first
    assert console.errors == []


# --- Reliability: dashboard, scorecard, compare ------------------------------------------------------------


def _requests_in(
    team, *, days: int | None = None, first: date | None = None, last: date | None = None, **filters
) -> int:
    rows = Exchange.objects.filter(workspace=team.workspace, **filters)
    now = timezone.now()
    if days is not None:
        rows = rows.filter(requested_at__gte=now - timedelta(days=days))
    if first is not None and last is not None:
        zone = timezone.get_current_timezone()
        start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        rows = rows.filter(requested_at__gte=start, requested_at__lt=end)
    return rows.count()


def test_the_dashboard_filters_narrow_its_figures_and_lead_to_the_same_period(
    page, console, team, live_server
):
    _history(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/reliability/")

    def kpi() -> int:
        return int(page.get_by_test_id("kpi-requests").inner_text().replace(",", ""))

    assert kpi() == _requests_in(team, days=90)
    page.get_by_label("Period", exact=True).select_option("365")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert kpi() == _requests_in(team, days=365) != _requests_in(team, days=90)
    page.get_by_label("Category", exact=True).select_option("web_design")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert kpi() == _requests_in(team, days=365, engagement__category="web_design")
    page.get_by_label("Category", exact=True).select_option("")
    page.get_by_label("Owner", exact=True).select_option(label=team.bob.display_name)
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert kpi() == _requests_in(team, days=365, engagement__owner=team.bob) == 2
    first, last = timezone.localdate() - timedelta(days=210), timezone.localdate() - timedelta(days=100)
    page.get_by_label("Owner", exact=True).select_option("")
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("Until", exact=True).fill(last.isoformat())
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    assert kpi() == _requests_in(team, first=first, last=last) == 7

    # The providers to watch lead to their scorecard for the period the dashboard showed.
    page.get_by_label("Period", exact=True).select_option("365")
    _click_and_wait(page, page.get_by_role("button", name="Show"))
    watch = page.get_by_test_id("watch").locator("a").first
    _click_and_wait(page, watch)
    assert page.get_by_label("Period", exact=True).input_value() == "365"
    assert page.get_by_role("heading", name="Last 365 days").is_visible()
    assert console.errors == []


def test_the_scorecard_tabs_show_only_their_requests_for_the_period_chosen(page, console, team, live_server):
    people = _history(team)
    simon = people["simon"]
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/reliability/providers/{simon.pk}/")
    rows = page.get_by_test_id("exchange-row")
    now = timezone.now()
    labels = {
        "within": "within the policy",
        "late": "outside the policy",
        "overdue": "overdue",
        "ghosted": "ghosted",
        "not_due": "not due yet",
    }

    def states() -> list[str]:
        return [rows.nth(i).get_attribute("data-state") for i in range(rows.count())]

    def expected(days: int, keep: Callable[[Exchange], bool]) -> int:
        return sum(
            1
            for x in Exchange.objects.filter(
                engagement__provider=simon, requested_at__gte=now - timedelta(days=days)
            )
            if keep(x)
        )

    def past_due(x: Exchange) -> bool:
        return x.replied_at is None and x.reply_due_at is not None and x.reply_due_at <= now

    tabs = [
        ("Answered", lambda x: x.replied_at is not None, {"within", "late"}),
        ("Not answered", lambda x: x.replied_at is None, {"overdue", "ghosted", "not_due"}),
        (
            "Outside the policy",
            lambda x: x.within_policy is False or past_due(x),
            {"late", "overdue", "ghosted"},
        ),
        ("Within the policy", lambda x: x.within_policy is True, {"within"}),
        ("All", lambda x: True, set(labels)),
    ]
    # Weeks overdue with three unanswered follow-ups is ghosted, never "not due yet".
    assert states().count("ghosted") == 2 and states().count("not_due") == 1
    for period, days in (("90", 90), ("30", 30)):
        if period != "90":
            page.get_by_label("Period", exact=True).select_option(period)
            _click_and_wait(page, page.get_by_role("button", name="Show"))
        for tab, keep, allowed in tabs:
            _click_and_wait(page, page.get_by_role("link", name=tab, exact=True))
            assert page.get_by_role("link", name=tab, exact=True).get_attribute("aria-current") == "page"
            assert page.get_by_label("Period", exact=True).input_value() == period
            assert rows.count() == expected(days, keep), (period, tab)
            assert set(states()) <= allowed, (period, tab, states())
            for i in range(rows.count()):
                assert labels[states()[i]] in rows.nth(i).inner_text()
    assert console.errors == []


def test_compare_takes_its_period_to_each_scorecard(page, console, team, live_server):
    people = _history(team)
    _log_in(page, live_server, team.alice)
    page.goto(f"/w/{team.workspace.slug}/reliability/compare/")
    pick(page, "id_providers", ["Prompt Paula", "Old Olga"])
    _click_and_wait(page, page.get_by_role("button", name="Compare"))
    table = page.get_by_test_id("comparison")
    requests = table.locator("tr", has=page.get_by_role("rowheader", name="Requests", exact=True)).locator(
        "td"
    )

    def counts() -> dict[str, int]:
        names = table.locator("thead th a").all_inner_texts()
        return dict(zip(names, (int(t) for t in requests.all_inner_texts()), strict=True))

    assert counts() == {"Prompt Paula": 6, "Old Olga": 0}  # the last 90 days
    page.get_by_label("Period", exact=True).select_option("365")
    _click_and_wait(page, page.get_by_role("button", name="Compare"))
    assert counts() == {
        p.name: _requests_in(team, days=365, engagement__provider=p)
        for p in (people["paula"], people["olga"])
    }
    _click_and_wait(page, table.get_by_role("link", name="Old Olga"))
    page.get_by_role("heading", name="Scorecard: Old Olga").wait_for()
    assert page.get_by_label("Period", exact=True).input_value() == "365"
    assert page.get_by_role("heading", name="Last 365 days").is_visible()
    assert page.get_by_test_id("exchange-row").count() == 5
    assert console.errors == []
