"""The import pages (upload or paste, map, preview, import) and the CSV/XLSX downloads of lists and logs."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from engagements import services
from engagements.models import Engagement, ImportMapping, TableImport
from outsourcing.models import Role
from providers.models import Provider
from tests.factories import EngagementFactory, MembershipFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

CSV = "\ufeffName;E-Mail;Stundensatz;Lieblingsfarbe\nAda Atelier;ada@example.com;1.234,56;blau\nBea Bold;bea@example.com;45;grün\n"


def _upload_url(ws: str = "acme") -> str:
    return reverse("tables:upload", kwargs={"ws": ws})


def _mapping_url(stored: TableImport) -> str:
    return reverse("tables:mapping", kwargs={"ws": stored.workspace.slug, "pk": stored.pk})


def _upload(client, text: str = CSV, kind: str = "providers", name: str = "providers.csv"):
    return client.post(
        _upload_url(), {"kind": kind, "file": SimpleUploadedFile(name, text.encode(), "text/csv")}
    )


def _mapping_data(response) -> dict[str, str]:
    form = response.context["form"]
    return {name: form[name].value() or "" for name in form.fields}


def _manager(team):
    return MembershipFactory(workspace=team.workspace, role=Role.MANAGER).user


# --- Who may import -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("alice", 200), ("manager", 200), ("bob", 200), ("vera", 403), ("charlie", 404)]
)
def test_the_import_page_is_for_members_who_may_edit(team, who, status):
    user = _manager(team) if who == "manager" else getattr(team, who)
    client = team.client_for(user)
    assert client.get(_upload_url()).status_code == status


def test_a_viewer_cannot_upload_and_an_anonymous_visitor_is_sent_to_log_in(team):
    assert _upload(team.client_for(team.vera)).status_code == 403
    assert not TableImport.objects.exists()
    response = team.client_for(None).get(_upload_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("who", "status"), [("vera", 403), ("charlie", 404)])
def test_another_workspace_or_a_viewer_never_sees_an_uploaded_sheet(team, who, status):
    _upload(team.client_for(team.bob))
    stored = TableImport.objects.get()
    client = team.client_for(getattr(team, who))
    assert client.get(_mapping_url(stored)).status_code == status
    assert client.post(_mapping_url(stored), {"action": "import"}).status_code == status
    other = reverse("tables:mapping", kwargs={"ws": "other", "pk": stored.pk})
    assert team.client_for(team.charlie).get(other).status_code == 404


# --- Upload, map, preview, import ---------------------------------------------------------------


def test_upload_map_preview_and_import_providers(team):
    client = team.client_for(team.bob)
    response = _upload(client)
    stored = TableImport.objects.get()
    assert response.status_code == 302 and response["Location"] == _mapping_url(stored)
    assert bytes(stored.data) == CSV.encode(), "the file is kept as it came"
    page = client.get(_mapping_url(stored))
    data = _mapping_data(page)
    assert data == {"col_0": "name", "col_1": "emails", "col_2": "rate_amount", "col_3": ""}
    assert "1.234,56" in page.content.decode(), "each header shows example values"

    preview = client.post(_mapping_url(stored), {**data, "action": "preview"})
    assert preview.status_code == 200
    report = preview.context["report"]
    assert report.counts == {"create": 2, "update": 0, "skip": 0, "error": 0}
    assert b'data-testid="import-all"' in preview.content
    assert not Provider.objects.filter(workspace=team.workspace).exists(), "a preview saves nothing"

    done = client.post(_mapping_url(stored), {**data, "action": "import"})
    assert done.status_code == 302 and done["Location"] == reverse("providers:list", kwargs={"ws": "acme"})
    assert sorted(Provider.objects.filter(workspace=team.workspace).values_list("name", flat=True)) == [
        "Ada Atelier",
        "Bea Bold",
    ]
    stored.refresh_from_db()
    assert stored.imported_at is not None
    assert stored.result == {"create": 2, "update": 0, "skip": 0}
    again = client.post(_mapping_url(stored), {**data, "action": "import"})
    assert again.status_code == 302
    assert Provider.objects.filter(workspace=team.workspace).count() == 2, "an import runs once"


def test_pasted_cells_are_imported_like_a_file(team):
    client = team.client_for(team.alice)
    response = client.post(
        _upload_url(), {"kind": "providers", "pasted": "Name\tEmail\nAda\tada@example.com\n"}
    )
    stored = TableImport.objects.get()
    assert response.status_code == 302
    data = _mapping_data(client.get(_mapping_url(stored)))
    client.post(_mapping_url(stored), {**data, "action": "import"})
    assert Provider.objects.filter(workspace=team.workspace, name="Ada").exists()


def test_the_mapping_is_remembered_for_the_next_file_of_the_same_kind(team):
    client = team.client_for(team.bob)
    _upload(client, "Wer;Kontakt\nAda;ada@example.com\n")
    first = TableImport.objects.get()
    assert _mapping_data(client.get(_mapping_url(first))) == {"col_0": "", "col_1": ""}
    client.post(_mapping_url(first), {"col_0": "name", "col_1": "emails", "action": "preview"})
    assert ImportMapping.objects.get(workspace=team.workspace, kind="providers").columns == {
        "Wer": "name",
        "Kontakt": "emails",
    }
    _upload(client, "Kontakt;Wer;Extra\nbea@example.com;Bea;x\n")
    second = TableImport.objects.latest("pk")
    assert _mapping_data(client.get(_mapping_url(second))) == {
        "col_0": "emails",
        "col_1": "name",
        "col_2": "",
    }
    _upload(client, "Wer;Kontakt\nX;x@example.com\n", kind="engagements")
    other_kind = TableImport.objects.latest("pk")
    assert _mapping_data(client.get(_mapping_url(other_kind))) == {"col_0": "", "col_1": ""}


def test_a_preview_lists_every_row_with_an_error_and_offers_no_import(team):
    client = team.client_for(team.bob)
    _upload(client, "Name;E-Mail;Rate\nAda;ada@example.com;10\n;bea@example.com;x\n")
    stored = TableImport.objects.get()
    data = _mapping_data(client.get(_mapping_url(stored)))
    preview = client.post(_mapping_url(stored), {**data, "action": "preview"})
    body = preview.content.decode()
    assert "Name is empty." in body
    assert "Rate: “x” is not a number." in body
    assert b'data-testid="import-all"' not in preview.content
    forced = client.post(_mapping_url(stored), {**data, "action": "import"})
    assert forced.status_code == 200
    assert "Nothing was imported" in forced.content.decode()
    assert not Provider.objects.filter(workspace=team.workspace).exists()
    assert TableImport.objects.get().imported_at is None


def test_a_column_chosen_twice_is_an_error_of_the_mapping(team):
    client = team.client_for(team.bob)
    _upload(client)
    stored = TableImport.objects.get()
    response = client.post(_mapping_url(stored), {"col_0": "name", "col_1": "name", "action": "preview"})
    assert response.context["report"] is None
    assert "Another column already fills this one." in response.content.decode()


def test_an_unmapped_required_column_is_said_plainly(team):
    client = team.client_for(team.bob)
    _upload(client)
    stored = TableImport.objects.get()
    response = client.post(_mapping_url(stored), {"col_1": "emails", "action": "import"})
    assert "Choose the column that holds “Name”." in response.content.decode()
    assert not Provider.objects.filter(workspace=team.workspace).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1", "Old Excel files"),
        ("broken.xlsx", b"PK\x03\x04garbage", "cannot be read"),
        ("empty.csv", b"", "The submitted file is empty."),
        ("binary.csv", b"\x00\x01\x02", "not a text file"),
    ],
)
def test_a_bad_file_gets_a_clear_error_and_nothing_is_kept(team, name, content, message):
    response = team.client_for(team.bob).post(
        _upload_url(), {"kind": "providers", "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TableImport.objects.exists()


def test_a_file_over_the_limit_is_refused(team, settings):
    settings.TABLE_IMPORT_MAX_BYTES = 50
    response = _upload(team.client_for(team.bob), CSV * 3)
    assert "The file is too large" in response.content.decode()
    assert not TableImport.objects.exists()


def test_nothing_chosen_asks_for_a_file_or_cells(team):
    response = team.client_for(team.bob).post(_upload_url(), {"kind": "providers"})
    assert "Choose a file or paste the cells." in response.content.decode()


def test_the_list_pages_link_to_the_import_for_editors_only(team):
    for url in (
        reverse("providers:list", kwargs={"ws": "acme"}),
        reverse("engagements:list", kwargs={"ws": "acme"}),
    ):
        assert _upload_url().encode() in team.client_for(team.bob).get(url).content
        assert _upload_url().encode() not in team.client_for(team.vera).get(url).content


# --- Downloads of the engagement list -----------------------------------------------------------


def _read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _registry(team, count: int = 30):
    ada = ProviderFactory(workspace=team.workspace, name="Ada")
    bea = ProviderFactory(workspace=team.workspace, name="Bea")
    for i in range(count):
        EngagementFactory(
            workspace=team.workspace,
            provider=ada if i % 2 else bea,
            owner=team.alice,
            title=f"Task {i:02d}",
            status="requested" if i % 3 else "draft",
            fee_amount=i * 10,
            fee_currency="EUR",
        )
    return ada, bea


def test_the_engagement_list_downloads_every_filtered_row_in_the_order_on_screen(team):
    ada, _bea = _registry(team)
    client = team.client_for(team.vera)
    query = {"provider": ada.pk, "status": "requested", "sort": "-title"}
    url = reverse("engagements:list", kwargs={"ws": "acme"})
    screen = client.get(url, query)
    assert [e.title for e in screen.context["page_obj"]][:3] == ["Task 29", "Task 25", "Task 23"]
    rows = _read_csv(client.get(url, {**query, "format": "csv"}))
    expected = list(
        Engagement.objects.filter(workspace=team.workspace, provider=ada, status="requested")
        .order_by("-title")
        .values_list("title", flat=True)
    )
    assert rows[0][:5] == ["Title", "Client", "Provider", "Owner", "Status"]
    assert [r[0] for r in rows[1:]] == expected
    assert {r[2] for r in rows[1:]} == {"Ada"}


def test_the_engagement_list_as_xlsx_has_real_numbers_and_dates(team):
    _registry(team, count=3)
    response = team.client_for(team.alice).get(
        reverse("engagements:list", kwargs={"ws": "acme"}), {"format": "xlsx", "sort": "title"}
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="engagements-acme.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["Task 00", "Task 01", "Task 02"]
    assert rows[2][9] == 10


def test_a_title_a_spreadsheet_would_run_as_a_formula_is_defused(team):
    provider = ProviderFactory(workspace=team.workspace, name="=cmd|' /C calc'!A0")
    EngagementFactory(workspace=team.workspace, provider=provider, title='=HYPERLINK("http://evil")')
    rows = _read_csv(
        team.client_for(team.alice).get(reverse("engagements:list", kwargs={"ws": "acme"}), {"format": "csv"})
    )
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'
    assert rows[1][2] == "'=cmd|' /C calc'!A0"


def test_the_download_needs_a_constant_number_of_queries(team, django_assert_max_num_queries):
    _registry(team, count=40)
    client = team.client_for(team.alice)
    with django_assert_max_num_queries(12):
        client.get(reverse("engagements:list", kwargs={"ws": "acme"}), {"format": "csv"})


def test_an_outsider_downloads_nothing(team):
    _registry(team, count=2)
    response = team.client_for(team.charlie).get(
        reverse("engagements:list", kwargs={"ws": "acme"}), {"format": "csv"}
    )
    assert response.status_code == 404


# --- Downloads of a message log --------------------------------------------------------------


def test_an_engagements_log_downloads_as_shown_newest_first_with_deleted_entries_marked(team):
    provider = ProviderFactory(workspace=team.workspace, name="Ada")
    engagement = EngagementFactory(workspace=team.workspace, provider=provider, title="Logo")
    now = timezone.now()
    services.message_log(
        engagement=engagement,
        direction="out",
        kind="request",
        occurred_at=now - timedelta(days=3),
        subject="Logo please",
        author=team.alice,
    )
    reply = services.message_log(
        engagement=engagement,
        direction="in",
        kind="reply",
        occurred_at=now - timedelta(days=1),
        subject="@SUM(A1)",
        sender="ada@example.com",
    )
    services.message_delete(message=reply, by=team.alice)
    url = reverse("engagements:message_log_export", kwargs={"ws": "acme", "pk": engagement.pk})
    rows = _read_csv(team.client_for(team.vera).get(url, {"format": "csv"}))
    assert rows[0] == [
        "When",
        "Direction",
        "Kind",
        "Channel",
        "Subject",
        "Message",
        "From",
        "Source",
        "Auto-reply",
        "Not an answer",
        "Deleted",
    ]
    assert [(r[1], r[4], r[6]) for r in rows[1:]] == [
        ("From the provider", "'@SUM(A1)", "ada@example.com"),
        ("To the provider", "Logo please", team.alice.display_name),
    ]
    assert rows[1][10] and not rows[2][10]
    detail = team.client_for(team.vera).get(
        reverse("engagements:detail", kwargs={"ws": "acme", "pk": engagement.pk})
    )
    assert url.encode() in detail.content


def test_a_providers_timeline_downloads_across_engagements(team):
    provider = ProviderFactory(workspace=team.workspace, name="Ada")
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email="ada@example.com")
    first = EngagementFactory(workspace=team.workspace, provider=provider, title="Logo")
    second = EngagementFactory(workspace=team.workspace, provider=provider, title="Flyer")
    now = timezone.now()
    services.message_log(
        engagement=first, direction="out", kind="request", occurred_at=now - timedelta(days=2)
    )
    services.message_log(
        engagement=second, direction="out", kind="request", occurred_at=now - timedelta(days=1)
    )
    url = reverse("engagements:provider_timeline", kwargs={"ws": "acme", "provider_pk": provider.pk})
    response = team.client_for(team.alice).get(url, {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["Flyer", "Logo"]
    assert team.client_for(team.charlie).get(url, {"format": "csv"}).status_code == 404


def test_an_unknown_format_is_not_found(team):
    engagement = EngagementFactory(
        workspace=team.workspace, provider=ProviderFactory(workspace=team.workspace)
    )
    url = reverse("engagements:message_log_export", kwargs={"ws": "acme", "pk": engagement.pk})
    assert team.client_for(team.alice).get(url, {"format": "pdf"}).status_code == 404
    other = EngagementFactory(
        workspace=team.other_workspace, provider=ProviderFactory(workspace=team.other_workspace)
    )
    url = reverse("engagements:message_log_export", kwargs={"ws": "acme", "pk": other.pk})
    assert team.client_for(team.alice).get(url, {"format": "csv"}).status_code == 404


def _engagement_sheet(rows: int) -> str:
    lines = ["Title;Provider;Owner;Due"]
    lines += [f"Task {i};ada@example.com;alice@example.com;{i % 28 + 1}.01.2027" for i in range(rows)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("rows", [5, 60])
def test_the_preview_needs_the_same_number_of_queries_for_5_rows_or_60(
    team, rows, django_assert_max_num_queries
):
    ada = ProviderFactory(workspace=team.workspace, name="Ada")
    ProviderEmailFactory(provider=ada, workspace=team.workspace, email="ada@example.com")
    for i in range(0, rows, 2):
        EngagementFactory(workspace=team.workspace, provider=ada, title=f"Task {i}")
    client = team.client_for(team.bob)
    _upload(client, _engagement_sheet(rows), kind="engagements")
    stored = TableImport.objects.get()
    data = _mapping_data(client.get(_mapping_url(stored)))
    with django_assert_max_num_queries(20):
        response = client.post(_mapping_url(stored), {**data, "action": "preview"})
    assert response.context["report"].counts["update"] == (rows + 1) // 2
