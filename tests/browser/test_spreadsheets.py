"""Spreadsheets in Chromium: upload a messy CSV, map a column, preview, import; and download the
filtered engagement list, whose rows must be exactly those on screen."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from engagements.models import Engagement, ImportMapping
from providers.models import Provider
from tests.browser.conftest import pick
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHEET = (
    "\ufeffName;Kontakt;Stundensatz;Land;Lieblingsfarbe\n"
    "Lena Vogel;lena@vogel-design.example;1.234,50;Deutschland;blau\n"
    "Marco Rossi;marco@rossi.example;45,00;IT;rot\n"
    "Marco Rossi;marco@rossi.example;45,00;IT;rot\n"
)


def test_a_csv_is_uploaded_mapped_previewed_and_imported(page, console, team, live_server, tmp_path):
    path = tmp_path / "anbieter.csv"
    path.write_bytes(SHEET.encode())
    _log_in(page, live_server, team.bob)
    page.goto("/w/acme/providers/")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Providers").check()
    page.get_by_label("CSV or XLSX file").set_input_files(str(path))
    page.get_by_role("button", name="Continue").click()

    # "Kontakt" names no column: the person maps it; the rest is recognised.
    mapping = page.get_by_test_id("import-mapping")
    assert mapping.get_by_label("Name").input_value() == "name"
    assert mapping.get_by_label("Stundensatz").input_value() == "rate_amount"
    assert mapping.get_by_label("Lieblingsfarbe").input_value() == ""
    mapping.get_by_label("Kontakt").select_option("emails")
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_test_id("import-preview")
    rows = preview.get_by_test_id("import-row")
    assert [rows.nth(i).get_attribute("data-action") for i in range(rows.count())] == [
        "create",
        "create",
        "skip",
    ]
    assert "Same as row 3." in rows.nth(2).inner_text()
    assert not Provider.objects.filter(workspace=team.workspace).exists(), "the preview saved nothing"

    page.get_by_test_id("import-all").click()
    page.wait_for_url(re.compile(r"/w/acme/providers/$"))
    assert "Imported: 2 created, 0 updated, 1 skipped." in page.content()
    lena = Provider.objects.get(workspace=team.workspace, name="Lena Vogel")
    assert (str(lena.rate_amount), str(lena.country)) == ("1234.50", "DE")
    assert [e.email for e in lena.emails.all()] == ["lena@vogel-design.example"]
    assert (
        ImportMapping.objects.get(workspace=team.workspace, kind="providers").columns["Kontakt"] == "emails"
    )
    assert console.errors == []


def _screen_rows(page) -> list[list[str]]:
    rows = page.get_by_test_id("engagement-row")
    out = []
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        title = cells.nth(0).locator("a").inner_text().strip()
        out.append([title, cells.nth(1).inner_text().strip(), cells.nth(3).inner_text().strip()])
    return out


def _download(page, test_id: str):
    with page.expect_download(timeout=10_000) as info:
        page.get_by_test_id(test_id).click()
    download = info.value
    content = open(download.path(), "rb").read()  # noqa: SIM115 - Playwright's temporary file
    if download.suggested_filename.endswith(".csv"):
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [list(row) for row in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def test_the_filtered_and_sorted_engagement_list_downloads_with_the_rows_on_screen(
    page, console, team, live_server
):
    lena = ProviderFactory(workspace=team.workspace, name="Lena Vogel")
    marco = ProviderFactory(workspace=team.workspace, name="Marco Rossi")
    specs = [
        ("Newsletter-Texte", lena, "requested"),
        ("Logo", lena, "in_progress"),
        ("Produktfotos", lena, "draft"),
        ("Übersetzung", marco, "requested"),
        ("Backlinks", lena, "completed"),
        ("=Formel", lena, "requested"),
    ]
    for title, provider, status in specs:
        EngagementFactory(
            workspace=team.workspace, provider=provider, title=title, status=status, owner=team.alice
        )
    _log_in(page, live_server, team.vera)
    page.goto("/w/acme/engagements/")
    page.get_by_label("Provider").select_option(label="Lena Vogel")
    pick(page, "id_status", ["Requested", "In progress", "Draft"])
    page.get_by_role("button", name="Filter").click()
    page.locator('a[data-sort="title"]').click()
    page.wait_for_url(re.compile(r"sort=title"))
    screen = _screen_rows(page)
    assert [row[0] for row in screen] == ["=Formel", "Logo", "Newsletter-Texte", "Produktfotos"]

    table = _download(page, "export-csv")
    assert table[0][:5] == ["Title", "Client", "Provider", "Owner", "Status"]
    # The same rows in the same order; a spreadsheet would run "=Formel", so the file defuses it.
    assert [[r[0].removeprefix("'"), r[2], r[4]] for r in table[1:]] == screen
    assert table[1][0] == "'=Formel"
    sheet = _download(page, "export-xlsx")
    assert [[r[0].removeprefix("'"), r[2], r[4]] for r in sheet[1:]] == screen
    assert Engagement.objects.filter(workspace=team.workspace).count() == 6
    assert console.errors == []
