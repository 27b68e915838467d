"""Importing spreadsheets of providers, engagements and message history: the service and the command.

The files are the kind people really have: a BOM, ``;`` separators, extra
columns, Excel dates as cells and as serial numbers, German number formats,
duplicate rows, ten thousand rows. Either every row goes in, or none does.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from engagements.models import Engagement, Exchange, ImportMapping, Message, StatusChange, TableImport
from engagements.tables import columns, importer
from engagements.tables.read import TableError, read_table
from providers.models import Provider, ProviderEmail
from tests.factories import EngagementFactory, ProviderEmailFactory, ProviderFactory

pytestmark = pytest.mark.django_db

PROVIDERS = TableImport.Kind.PROVIDERS
ENGAGEMENTS = TableImport.Kind.ENGAGEMENTS
MESSAGES = TableImport.Kind.MESSAGES


def _csv(text: str, *, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + text).encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(
    team, kind: str, data: bytes, *, dry_run: bool = False, filename: str = "sheet.csv", mapping=None
):
    table = read_table(data, filename)
    mapping = mapping or columns.guess_mapping(kind, table.headers)
    return importer.table_import(
        workspace=team.workspace, kind=kind, table=table, mapping=mapping, by=team.alice, dry_run=dry_run
    )


def _provider(team, name: str, email: str, **fields) -> Provider:
    provider = ProviderFactory(workspace=team.workspace, name=name, **fields)
    ProviderEmailFactory(provider=provider, workspace=team.workspace, email=email)
    return provider


# --- Reading the file -----------------------------------------------------------------------


def test_a_bom_and_semicolons_are_read_as_excel_writes_them():
    table = read_table(_csv("Name;E-Mail;Notiz\nAda;ada@example.com;Grüße\n", bom=True))
    assert table.headers == ["Name", "E-Mail", "Notiz"]
    assert table.rows == [(2, ["Ada", "ada@example.com", "Grüße"])]


def test_cells_pasted_from_a_spreadsheet_are_tab_separated():
    table = read_table(b"Name\tE-Mail\nAda\tada@example.com\n")
    assert table.headers == ["Name", "E-Mail"]


def test_a_windows_1252_file_is_decoded():
    table = read_table("Name;Firma\nJürgen;Müller GmbH\n".encode("cp1252"))
    assert table.rows[0][1] == ["Jürgen", "Müller GmbH"]


def test_blank_rows_are_dropped_but_row_numbers_stay_those_of_the_sheet():
    table = read_table(b"Name,Email\nAda,a@example.com\n,\nBea,b@example.com\n")
    assert [number for number, _cells in table.rows] == [2, 4]


def test_repeated_headers_are_told_apart():
    assert read_table(b"Name,Name,\nA,B,C\n").headers == ["Name", "Name (2)", "Column 3"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "empty"),
        (b"\xd0\xcf\x11\xe0rest", "a.xls", "Old Excel files"),
        (b"PK\x03\x04not really a zip", "a.xlsx", "cannot be read"),
        (b"a\x00b\nc\x00d", "a.csv", "not a text file"),
        (b",,\n1,2,3\n", "a.csv", "name the columns"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(data, filename, message):
    with pytest.raises(TableError, match=message):
        read_table(data, filename)


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.TABLE_IMPORT_MAX_BYTES = 100
    with pytest.raises(TableError, match="too large"):
        read_table(b"Name\n" + b"x" * 200)


def test_a_ragged_csv_whose_short_rows_lack_trailing_cells_is_read():
    table = read_table(b"Name;E-Mail;Notes\nAda;ada@example.com\nBea;bea@example.com;hi\n")
    assert len(table.rows) == 2


# --- Providers ---------------------------------------------------------------------------------


def test_providers_from_a_german_csv_are_created_with_their_rates_and_extra_columns_ignored(team):
    data = _csv(
        "Name;E-Mail;Stundensatz;Währung;Land;Fähigkeiten;Lieblingsfarbe\n"
        "Ada Atelier;ada@example.com;1.234,56;EUR;Deutschland;SEO, Figma;blau\n"
        "Bea Bold;BEA@example.com; 45,5 ;€;PH;Webdesign;grün\n",
        bom=True,
    )
    report = _import(team, PROVIDERS, data)
    assert report.applied, report.rows
    assert report.counts == {"create": 2, "update": 0, "skip": 0, "error": 0}
    ada = Provider.objects.get(workspace=team.workspace, name="Ada Atelier")
    assert ada.rate_amount == Decimal("1234.56")
    assert ada.rate_currency == "EUR"
    assert str(ada.country) == "DE"
    assert sorted(s.name for s in ada.skills.all()) == ["Figma", "seo"]
    bea = Provider.objects.get(workspace=team.workspace, name="Bea Bold")
    assert bea.rate_amount == Decimal("45.5")
    assert [e.email for e in bea.emails.all()] == ["bea@example.com"]
    assert [s.name for s in bea.skills.all()] == ["web_design"]


def test_an_existing_provider_is_matched_by_email_and_only_what_changed_is_updated(team):
    ada = _provider(team, "Ada", "ada@example.com", company="Old GmbH", phone="123")
    data = _csv("Name,Email,Company,Phone\nAda,ADA@example.com,New GmbH,123\n")
    preview = _import(team, PROVIDERS, data, dry_run=True)
    assert [row.action for row in preview.rows] == ["update"]
    assert preview.rows[0].changes == ["Company: Old GmbH → New GmbH"]
    ada.refresh_from_db()
    assert ada.company == "Old GmbH", "a preview writes nothing"
    report = _import(team, PROVIDERS, data)
    assert report.applied
    ada.refresh_from_db()
    assert ada.company == "New GmbH"
    assert Provider.objects.filter(workspace=team.workspace).count() == 1


def test_an_unchanged_provider_is_skipped(team):
    _provider(team, "Ada", "ada@example.com", company="Ada GmbH")
    report = _import(team, PROVIDERS, _csv("Name,Email,Company\nAda,ada@example.com,Ada GmbH\n"))
    assert [(row.action, row.note) for row in report.rows] == [("skip", "Unchanged.")]


def test_a_new_address_and_skill_are_added_to_a_provider_and_nothing_is_taken_away(team):
    ada = _provider(team, "Ada", "ada@example.com")
    ada.skills.create(name="seo")
    data = _csv("Name,Email,Skills\nAda,ada@example.com; ada@atelier.example,SEO; Figma\n")
    report = _import(team, PROVIDERS, data)
    assert report.applied
    assert [e.email for e in ada.emails.all()] == ["ada@example.com", "ada@atelier.example"]
    assert sorted(s.name for s in ada.skills.all()) == ["Figma", "seo"]


def test_duplicate_rows_are_skipped_and_rows_that_disagree_are_an_error(team):
    same = _csv("Name,Email\nAda,ada@example.com\nAda,ada@example.com\n")
    report = _import(team, PROVIDERS, same)
    assert [row.action for row in report.rows] == ["create", "skip"]
    assert report.rows[1].note == "Same as row 2."
    assert Provider.objects.filter(workspace=team.workspace).count() == 1
    clash = _csv("Name,Email\nBea,bea@example.com\nBeatrice,bea@example.com\n")
    report = _import(team, PROVIDERS, clash)
    assert [row.action for row in report.rows] == ["create", "error"]
    assert not report.applied


def test_one_bad_row_imports_nothing_at_all(team):
    data = _csv(
        "Name,Email,Rate,Time zone\n"
        "Ada,ada@example.com,10,Europe/Berlin\n"
        "Bea,not-an-address,10,Europe/Berlin\n"
        "Cid,cid@example.com,zehn,Mars/Olympus\n"
    )
    report = _import(team, PROVIDERS, data)
    assert not report.applied
    assert report.counts["error"] == 2
    assert report.rows[1].errors == ["E-mail addresses: “not-an-address” is not an e-mail address."]
    assert [row.label for row in report.rows] == ["Ada", "Bea", "Cid"], "a row with errors is still named"
    assert any("is not a number" in e for e in report.rows[2].errors)
    assert any("time zone" in e for e in report.rows[2].errors)
    assert not Provider.objects.filter(workspace=team.workspace).exists()


def test_a_country_is_read_by_code_or_english_or_german_name_and_anything_else_is_an_error(team):
    data = _csv("Name,Country\nA,de\nB,Germany\nC,Österreich\nD,Atlantis\n")
    report = _import(team, PROVIDERS, data, dry_run=True)
    assert [row.values.get("country") for row in report.rows[:3]] == ["DE", "DE", "AT"]
    assert report.rows[3].errors == ["Country: “Atlantis” is not a country."]


def test_the_batch_service_refuses_a_country_code_that_does_not_exist(team):
    with pytest.raises(ValidationError):
        importer.provider_services.provider_create(workspace=team.workspace, name="X", country="XX")


def test_an_error_a_service_raises_while_writing_rolls_back_the_rows_before_it(team, monkeypatch):
    ada = _provider(team, "Ada", "ada@example.com")
    _provider(team, "Bea", "bea@example.com")
    real = importer.provider_services.provider_update
    calls = []

    def failing_on_the_second(**kwargs):
        calls.append(kwargs["provider"])
        if len(calls) == 2:
            raise ValidationError({"company": "refused"})
        return real(**kwargs)

    monkeypatch.setattr(importer.provider_services, "provider_update", failing_on_the_second)
    data = _csv(
        "Name,Email,Company,Notes\nAda,ada@example.com,A,\nBea,bea@example.com,B,\nCid,cid@example.com,,\n"
    )
    report = _import(team, PROVIDERS, data)
    assert not report.applied
    assert report.rows[1].errors == ["company: refused"]
    ada.refresh_from_db()
    assert ada.company == ""
    assert Provider.objects.filter(workspace=team.workspace).count() == 2


def test_a_refused_batch_of_new_rows_refuses_the_whole_file(team, monkeypatch):
    def refusing(**kwargs):
        raise ValidationError({"name": "refused"})

    _provider(team, "Ada", "ada@example.com")
    monkeypatch.setattr(importer.provider_services, "providers_create", refusing)
    report = _import(
        team, PROVIDERS, _csv("Name,Email,Company\nAda,ada@example.com,New\nBea,bea@example.com,\n")
    )
    assert not report.applied
    assert report.problems == ["name: refused"]
    assert Provider.objects.get(workspace=team.workspace).company == ""


def test_a_required_column_left_unmapped_is_a_problem_of_the_file(team):
    report = _import(team, PROVIDERS, _csv("Email\nada@example.com\n"), mapping={"Email": "emails"})
    assert report.problems == ["Choose the column that holds “Name”."]
    assert not report.applied


def test_providers_of_another_workspace_are_never_matched(team):
    other = ProviderFactory(workspace=team.other_workspace, name="Theirs")
    ProviderEmailFactory(provider=other, workspace=team.other_workspace, email="ada@example.com")
    report = _import(team, PROVIDERS, _csv("Name,Email\nAda,ada@example.com\n"))
    assert [row.action for row in report.rows] == ["create"]
    assert Provider.objects.get(pk=other.pk).name == "Theirs"


def test_a_website_without_its_scheme_is_read_as_https_and_nonsense_is_an_error(team):
    report = _import(
        team, PROVIDERS, _csv("Name,Website\nAda,www.ada.example\nBea,not a website\n"), dry_run=True
    )
    assert report.rows[0].values["website"] == "https://www.ada.example"
    assert report.rows[1].errors == ["Website: Enter a valid URL."]


def test_an_xlsx_of_providers_with_numbers_in_number_cells(team):
    data = _xlsx([["Name", "E-Mail", "Rate", "Phone"], ["Ada", "ada@example.com", 1234.5, 4930123456]])
    report = _import(team, PROVIDERS, data, filename="p.xlsx")
    assert report.applied
    ada = Provider.objects.get(workspace=team.workspace)
    assert ada.rate_amount == Decimal("1234.50")
    assert ada.phone == "4930123456"


def test_ten_thousand_providers_import_in_one_go(team):
    lines = ["Name;E-Mail;Stundensatz"] + [f"Provider {i};p{i}@example.com;{i},50" for i in range(10_000)]
    report = _import(team, PROVIDERS, _csv("\n".join(lines), bom=True))
    assert report.applied
    assert report.counts["create"] == 10_000
    assert ProviderEmail.objects.filter(workspace=team.workspace).count() == 10_000
    assert Provider.objects.get(workspace=team.workspace, name="Provider 9999").rate_amount == Decimal(
        "9999.50"
    )


# --- Engagements ----------------------------------------------------------------------------


def test_engagements_with_excel_dates_as_cells_and_as_serial_numbers(team):
    ada = _provider(team, "Ada", "ada@example.com")
    data = _xlsx(
        [
            ["Title", "Provider", "Due", "Fee", "Owner", "Status", "Priority", "Category"],
            [
                "Logo",
                "ada@example.com",
                datetime(2027, 1, 8),
                "1.500,00",
                "bob@example.com",
                "Angefragt",
                "Hoch",
                "Webdesign",
            ],
            ["Flyer", "Ada", 46400, 99, "", "draft", 1, "seo"],
            ["Banner", "ada", "18.12.2026", None, None, None, None, None],
        ]
    )
    report = _import(team, ENGAGEMENTS, data, filename="e.xlsx")
    assert report.applied, [r.errors for r in report.rows]
    logo = Engagement.objects.get(workspace=team.workspace, title="Logo")
    assert (logo.provider, logo.owner, logo.due_on, logo.fee_amount) == (
        ada,
        team.bob,
        date(2027, 1, 8),
        Decimal("1500.00"),
    )
    assert (logo.status, logo.priority, logo.category) == ("requested", 3, "web_design")
    flyer = Engagement.objects.get(workspace=team.workspace, title="Flyer")
    assert flyer.due_on == date(2027, 1, 13)  # Excel's day 46400
    assert Engagement.objects.get(workspace=team.workspace, title="Banner").due_on == date(2026, 12, 18)
    # Through engagement_create: the status history starts like a form's.
    assert StatusChange.objects.filter(engagement=logo).count() == 1


def test_an_engagement_is_matched_by_title_and_provider_and_its_status_moves_through_the_lifecycle(team):
    ada = _provider(team, "Ada", "ada@example.com")
    bea = _provider(team, "Bea", "bea@example.com")
    logo = EngagementFactory(workspace=team.workspace, provider=ada, title="Logo", status="requested")
    data = _csv(
        "Title;Provider;Status;Due\nlogo;ada@example.com;In progress;2027-02-01\nLogo;bea@example.com;;\n"
    )
    report = _import(team, ENGAGEMENTS, data)
    assert [row.action for row in report.rows] == ["update", "create"]
    assert report.applied
    logo.refresh_from_db()
    assert (logo.status, logo.due_on) == ("in_progress", date(2027, 2, 1))
    assert Engagement.objects.filter(workspace=team.workspace, provider=bea, title="Logo").exists()


def test_a_status_the_lifecycle_forbids_is_an_error_of_its_row(team):
    ada = _provider(team, "Ada", "ada@example.com")
    EngagementFactory(workspace=team.workspace, provider=ada, title="Logo", status="completed")
    report = _import(team, ENGAGEMENTS, _csv("Title,Provider,Status\nLogo,Ada,Draft\n"))
    assert report.rows[0].errors == ["An engagement cannot go from Completed to Draft."]


def test_an_unknown_provider_or_owner_is_an_error_and_nothing_is_created(team):
    _provider(team, "Ada", "ada@example.com")
    data = _csv("Title,Provider,Owner\nOne,Ada,\nTwo,nobody@example.com,\nThree,Ada,charlie@example.com\n")
    report = _import(team, ENGAGEMENTS, data)
    assert report.rows[1].errors == ["No provider “nobody@example.com” in this workspace."]
    assert report.rows[2].errors == ["“charlie@example.com” is not a member of this workspace."]
    assert not Engagement.objects.filter(workspace=team.workspace).exists()


def test_a_name_two_providers_share_asks_for_the_email(team):
    _provider(team, "Ada", "ada@example.com")
    _provider(team, "Ada", "ada2@example.com")
    report = _import(team, ENGAGEMENTS, _csv("Title,Provider\nOne,Ada\n"))
    assert report.rows[0].errors == ["Several providers are called “Ada”: use their e-mail address."]


def test_ten_thousand_engagements_import_in_one_go(team):
    _provider(team, "Ada", "ada@example.com")
    lines = ["Title;Provider;Fällig;Honorar"] + [
        f"Task {i};ada@example.com;{46000 + i % 300};{i}.000,5" for i in range(10_000)
    ]
    report = _import(team, ENGAGEMENTS, _csv("\n".join(lines)))
    assert report.applied
    assert Engagement.objects.filter(workspace=team.workspace).count() == 10_000
    assert Engagement.objects.get(workspace=team.workspace, title="Task 12").fee_amount == Decimal("12000.50")


# --- Messages --------------------------------------------------------------------------------


def test_a_message_history_is_logged_through_the_log_service_so_the_clock_follows(team):
    ada = _provider(team, "Ada", "ada@example.com", time_zone="Europe/Berlin")
    logo = EngagementFactory(workspace=team.workspace, provider=ada, title="Logo", status="draft")
    today = timezone.localdate()
    asked = today - timedelta(days=20)
    data = _csv(
        "Engagement;Provider;Datum;Richtung;Betreff;Nachricht\n"
        f"Logo;Ada;{asked:%d.%m.%Y} 10:00;Gesendet;Logo please;Can you?\n"
        f"Logo;Ada;{asked + timedelta(days=7):%d.%m.%Y} 10:00;Gesendet;Any news?;\n"
        f"Logo;Ada;{asked + timedelta(days=15):%d.%m.%Y} 10:00;Empfangen;Re: Logo please;Here\n"
        f"Logo;Ada;{asked + timedelta(days=15):%d.%m.%Y} 10:00;Empfangen;Re: Logo please;Here\n",
        bom=True,
    )
    report = _import(team, MESSAGES, data)
    assert report.applied, [r.errors for r in report.rows]
    assert [row.action for row in report.rows] == ["create", "create", "create", "skip"]
    logged = list(Message.objects.filter(engagement=logo).order_by("occurred_at"))
    assert [(m.direction, m.kind, m.source) for m in logged] == [
        ("out", "request", "import"),
        ("out", "request", "import"),
        ("in", "reply", "import"),
    ]
    assert logged[0].author == team.alice and logged[2].author is None
    (exchange,) = Exchange.objects.filter(engagement=logo)
    assert exchange.replied_at == logged[2].occurred_at
    assert exchange.followups == 1
    logo.refresh_from_db()
    assert logo.status == "requested", "logging the first request sends a draft on its way"
    again = _import(team, MESSAGES, data)
    assert [row.action for row in again.rows] == ["skip"] * 4, "importing the same history twice adds nothing"


def test_a_message_in_the_future_or_for_an_unknown_engagement_is_an_error(team):
    ada = _provider(team, "Ada", "ada@example.com")
    EngagementFactory(workspace=team.workspace, provider=ada, title="Logo")
    future = timezone.now() + timedelta(days=3)
    data = _csv(
        "Engagement,Provider,When,Direction\n"
        f"Logo,Ada,{future:%Y-%m-%d %H:%M},out\n"
        "Flyer,Ada,2026-01-05 10:00,in\n"
        "Logo,Ada,2026-01-05 10:00,sideways\n"
    )
    report = _import(team, MESSAGES, data)
    assert report.rows[0].errors == ["occurred_at: A message cannot be logged in the future."]
    assert report.rows[1].errors == [
        "No engagement “Flyer” with this provider: import the engagements first."
    ]
    assert report.rows[2].errors == ["Direction: “sideways” is not one of the choices."]
    assert not Message.objects.filter(workspace_id=team.workspace.pk).exists()


def test_excel_date_times_with_the_time_as_a_fraction_of_the_day(team):
    ada = _provider(team, "Ada", "ada@example.com")
    logo = EngagementFactory(workspace=team.workspace, provider=ada, title="Logo")
    data = _xlsx([["Engagement", "Provider", "When", "Direction"], ["Logo", "Ada", 46000.75, "in"]])
    with timezone.override("Europe/Berlin"):
        report = _import(team, MESSAGES, data, filename="m.xlsx")
    assert report.applied
    message = Message.objects.get(engagement=logo)
    # Excel's 46000.75 is 2025-12-09 18:00 on the wall clock, 17:00 UTC in Berlin's winter.
    assert message.occurred_at == datetime(2025, 12, 9, 17, 0, tzinfo=UTC)


# --- The mapping, remembered --------------------------------------------------------------


def test_headers_are_guessed_in_english_and_german_and_unknown_ones_ignored():
    mapping = columns.guess_mapping(PROVIDERS, ["Name", "E-Mail", "Stundensatz", "Lieblingsfarbe", "name"])
    assert mapping == {
        "Name": "name",
        "E-Mail": "emails",
        "Stundensatz": "rate_amount",
        "Lieblingsfarbe": "",
        "name": "",
    }


def test_a_remembered_mapping_wins_over_the_guess_and_is_kept_per_workspace_and_kind(team):
    importer.mapping_remember(
        workspace=team.workspace, kind=PROVIDERS, mapping={"Kontakt": "emails", "Name": ""}
    )
    importer.mapping_remember(workspace=team.workspace, kind=PROVIDERS, mapping={"Wer": "name"})
    remembered = importer.mapping_remembered(workspace=team.workspace, kind=PROVIDERS)
    assert remembered == {"Kontakt": "emails", "Name": "", "Wer": "name"}
    assert columns.guess_mapping(PROVIDERS, ["Wer", "Kontakt", "Name"], remembered) == {
        "Wer": "name",
        "Kontakt": "emails",
        "Name": "",
    }
    assert importer.mapping_remembered(workspace=team.workspace, kind=ENGAGEMENTS) == {}
    assert importer.mapping_remembered(workspace=team.other_workspace, kind=PROVIDERS) == {}
    assert ImportMapping.objects.count() == 1


# --- The command -------------------------------------------------------------------------------


def test_the_command_prints_what_it_created_updated_and_skipped(team, tmp_path, capsys):
    _provider(team, "Ada", "ada@example.com", company="Old")
    path = tmp_path / "providers.csv"
    path.write_bytes(
        _csv(
            "Name;E-Mail;Firma\nAda;ada@example.com;New\nBea;bea@example.com;\nBea;bea@example.com;\n",
            bom=True,
        )
    )
    call_command("import_table", str(path), workspace="acme", kind="providers", dry_run=True)
    assert (
        capsys.readouterr().out == "created 1, updated 1, skipped 1, errors 0\ndry run: nothing was written\n"
    )
    assert Provider.objects.filter(workspace=team.workspace).count() == 1
    call_command("import_table", str(path), workspace="acme", kind="providers")
    assert capsys.readouterr().out == "created 1, updated 1, skipped 1, errors 0\n"
    assert Provider.objects.filter(workspace=team.workspace).count() == 2


def test_the_command_lists_the_rows_with_errors_and_imports_nothing(team, tmp_path, capsys):
    path = tmp_path / "providers.csv"
    path.write_bytes(_csv("Name,Email\nAda,ada@example.com\n,bea@example.com\n"))
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_table", str(path), workspace="acme", kind="providers")
    captured = capsys.readouterr()
    assert captured.err == "row 3: Name is empty.\n"
    assert captured.out == "created 1, updated 0, skipped 0, errors 1\n"
    assert not Provider.objects.filter(workspace=team.workspace).exists()


def test_the_command_uses_the_remembered_mapping_and_explicit_columns(team, tmp_path, capsys):
    importer.mapping_remember(workspace=team.workspace, kind=PROVIDERS, mapping={"Wer": "name"})
    path = tmp_path / "p.csv"
    path.write_bytes(_csv("Wer,Kontakt\nAda,ada@example.com\n"))
    call_command("import_table", str(path), workspace="acme", kind="providers", column=["Kontakt=emails"])
    assert [e.email for e in Provider.objects.get(workspace=team.workspace, name="Ada").emails.all()] == [
        "ada@example.com"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--workspace", "acme"], "No such file"),
        (["p.csv", "--workspace", "nowhere"], "No workspace"),
        (["p.csv", "--workspace", "acme", "--column", "Nope=name"], "HEADER=FIELD"),
        (["bad.xls", "--workspace", "acme"], "Old Excel files"),
    ],
)
def test_the_command_refuses_what_it_cannot_do(team, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_bytes(b"Name\nAda\n")
    (tmp_path / "bad.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CommandError, match=message):
        call_command("import_table", *args, "--kind", "providers")


def test_an_update_changes_the_owner_it_names_and_empty_cells_change_nothing(team):
    ada = _provider(team, "Ada", "ada@example.com")
    logo = EngagementFactory(
        workspace=team.workspace,
        provider=ada,
        title="Logo",
        owner=team.alice,
        brief="Keep me",
        fee_amount=100,
    )
    data = _csv("Title,Provider,Owner,Brief,Fee\nLogo,Ada,bob@example.com,,\n")
    report = _import(team, ENGAGEMENTS, data)
    assert report.applied
    assert report.rows[0].changes == [f"Owner: {team.alice.display_name} → {team.bob.display_name}"]
    logo.refresh_from_db()
    assert (logo.owner, logo.brief, logo.fee_amount) == (team.bob, "Keep me", Decimal("100.00"))
