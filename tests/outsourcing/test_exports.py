"""Table downloads: CSV and XLSX that open right and never run a provider's text as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from outsourcing.exports import safe_filename, table_response

HEADERS = ["Provider", "Score", "Spend", "Since", "Last reply", "Active"]
ROWS = [
    [
        "Müller & Söhne",
        87,
        Decimal("1234.50"),
        date(2026, 3, 1),
        datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        True,
    ],
    ['=HYPERLINK("http://x","y")', -3, Decimal("-7.25"), None, None, False],
    ["+49 30 1234", 0.5, Decimal("1E+2"), None, None, None],
    ["-minus", 2, None, None, None, None],
    ["@SUM(A1:A2)", None, None, None, None, None],
    ["\tTabbed", None, None, None, None, None],
    ["\rReturn", None, None, None, None, None],
    ["plain ß text", None, None, None, None, None],
]
GUARDED = [
    '\'=HYPERLINK("http://x","y")',
    "'+49 30 1234",
    "'-minus",
    "'@SUM(A1:A2)",
    "'\tTabbed",
    "'\rReturn",
]


def _csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def _xlsx(response) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    # OOXML stores a carriage return as the escape _x000D_, which Excel reads back but openpyxl leaves.
    return [
        [v.replace("_x000D_", "\r") if isinstance(v, str) else v for v in row]
        for row in book.active.iter_rows(values_only=True)
    ]


@pytest.fixture(autouse=True)
def _berlin():
    with timezone.override("Europe/Berlin"):
        yield


def test_a_csv_starts_with_a_bom_and_parses_back_with_umlauts():
    response = table_response(filename="leaderboard", fmt="csv", headers=HEADERS, rows=ROWS)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    parsed = _csv(response)
    assert parsed[0] == HEADERS
    assert parsed[1] == ["Müller & Söhne", "87", "1234.50", "2026-03-01", "2026-03-02 10:30", "TRUE"]
    assert parsed[-1][0] == "plain ß text"


def test_csv_cells_that_would_be_formulas_get_an_apostrophe():
    parsed = _csv(table_response(filename="t", fmt="csv", headers=HEADERS, rows=ROWS))
    assert [row[0] for row in parsed[2:8]] == GUARDED


def test_csv_numbers_stay_numbers_even_when_negative():
    parsed = _csv(table_response(filename="t", fmt="csv", headers=HEADERS, rows=ROWS))
    assert parsed[2][1:4] == ["-3", "-7.25", ""]
    assert parsed[3][1:3] == ["0.5", "100"]
    assert parsed[2][5] == "FALSE"


def test_a_csv_header_that_looks_like_a_formula_is_guarded_too():
    parsed = _csv(table_response(filename="t", fmt="csv", headers=["=cmd", "ok"], rows=[]))
    assert parsed == [["'=cmd", "ok"]]


def test_an_xlsx_opens_with_the_same_cells_and_real_types():
    response = table_response(filename="leaderboard", fmt="xlsx", headers=HEADERS, rows=ROWS)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    cells = _xlsx(response)
    assert cells[0] == HEADERS
    # Dates and the aware datetime (in the current zone) are real date cells; numbers are numbers.
    assert cells[1] == [
        "Müller & Söhne",
        87,
        1234.5,
        datetime(2026, 3, 1),
        datetime(2026, 3, 2, 10, 30),
        True,
    ]
    assert cells[2][1:3] == [-3, -7.25]
    assert cells[2][5] is False
    assert cells[3][1:3] == [0.5, 100]
    assert [row[0] for row in cells[2:8]] == GUARDED
    assert cells[-1][0] == "plain ß text"


def test_xlsx_text_is_never_stored_as_a_formula():
    response = table_response(filename="t", fmt="xlsx", headers=["=cmd"], rows=[["=1+1"], ["=A1"]])
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type == "s"
    assert [c.value for c in sheet["A"]] == ["'=cmd", "'=1+1", "'=A1"]


def test_the_xlsx_header_row_is_bold_and_decimals_keep_their_places():
    sheet = openpyxl.load_workbook(
        io.BytesIO(table_response(filename="t", fmt="xlsx", headers=HEADERS, rows=ROWS).content)
    ).active
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b
    assert sheet["C2"].number_format == "0.00"
    assert sheet["D2"].is_date


def test_the_download_is_an_attachment_with_the_format_as_extension():
    response = table_response(filename="leaderboard-2026", fmt="xlsx", headers=["a"], rows=[])
    assert response["Content-Disposition"] == 'attachment; filename="leaderboard-2026.xlsx"'


def test_a_filename_with_umlauts_keeps_them_for_browsers_that_read_utf8():
    response = table_response(filename="Zuverlässigkeit", fmt="csv", headers=["a"], rows=[])
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Zuverlassigkeit.csv\"; filename*=utf-8''Zuverl%C3%A4ssigkeit.csv"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd.csv"),
        ('evil";\r\nX-Injected: 1', "evil-X-Injected- 1.csv"),
        ("report.csv", "report.csv"),
        ("...", "export.csv"),
        ("", "export.csv"),
    ],
)
def test_a_filename_loses_paths_quotes_and_line_breaks(given, expected):
    assert safe_filename(given, "csv") == expected


def test_rows_may_be_a_generator():
    rows = ([i, f"row {i}"] for i in range(3))
    parsed = _csv(table_response(filename="t", fmt="csv", headers=["n", "name"], rows=rows))
    assert parsed[1:] == [["0", "row 0"], ["1", "row 1"], ["2", "row 2"]]


def test_an_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="pdf"):
        table_response(filename="t", fmt="pdf", headers=["a"], rows=[])


def test_not_a_number_is_an_empty_cell_in_both_formats():
    rows = [[float("nan"), Decimal("Infinity")], [1, 2]]
    assert _csv(table_response(filename="t", fmt="csv", headers=["a", "b"], rows=rows))[1:] == [
        ["", ""],
        ["1", "2"],
    ]
    assert _xlsx(table_response(filename="t", fmt="xlsx", headers=["a", "b"], rows=rows))[1:] == [
        [None, None],
        [1, 2],
    ]
