"""Reading real CSV files: encodings, delimiters, headers, row numbers, dates and numbers.

No database: `tabular` is plain Python.
"""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from dealcraft.imports.tabular import (
    DateOrderScan,
    Invalid,
    detect_encoding,
    normalise_header,
    open_table,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_money,
    scan_date_order,
)

ROWS = ("Id,Name,Stage,Amount\r\n"
        "1,Crème brûlée SARL,Négociation,\"1 234,50\"\r\n"
        "2,Zoë Ünal,Gagné,12\r\n")


def written(tmp_path: Path, data: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("encoding", "bom", "detected"), [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("cp1252", b"", "cp1252"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
])
def test_encodings_are_detected_without_mojibake(tmp_path: Path, encoding: str, bom: bytes,
                                                  detected: str) -> None:
    path = written(tmp_path, bom + ROWS.encode(encoding))
    table = open_table(path)
    assert table.encoding == detected
    assert table.headers == ["Id", "Name", "Stage", "Amount"]
    rows = list(table.rows())
    assert rows[0] == (2, {"Id": "1", "Name": "Crème brûlée SARL", "Stage": "Négociation",
                           "Amount": "1 234,50"})
    assert rows[1][1]["Name"] == "Zoë Ünal"


def test_windows_1252_quotes_and_euro_sign_are_read_as_written(tmp_path: Path) -> None:
    path = written(tmp_path, "Name;Amount\r\n“Best” deal;€ 5\r\n".encode("cp1252"))
    assert list(open_table(path).rows()) == [(2, {"Name": "“Best” deal", "Amount": "€ 5"})]


def test_a_byte_windows_1252_leaves_undefined_means_latin_1(tmp_path: Path) -> None:
    path = written(tmp_path, b"Name\r\nCaf\xe9\x81\r\n")
    assert detect_encoding(path) == "latin-1"
    assert list(open_table(path).rows()) == [(2, {"Name": "Café\x81"})]


def test_a_late_non_utf8_byte_still_decides_the_encoding(tmp_path: Path) -> None:
    body = "Name\r\n" + "plain\r\n" * 300_000 + "Müller\r\n"
    path = written(tmp_path, body.encode("cp1252"))
    table = open_table(path)
    assert table.encoding == "cp1252"
    assert list(table.rows())[-1] == (300_002, {"Name": "Müller"})


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = ROWS.replace(",", delimiter) if delimiter != "," else ROWS
    if delimiter != ",":
        text = text.replace('"1 234' + delimiter + '50"', '"1 234,50"')
    table = open_table(written(tmp_path, text.encode()))
    assert table.delimiter == delimiter
    assert [row["Amount"] for _, row in table.rows()] == ["1 234,50", "12"]


def test_semicolons_win_over_commas_inside_values(tmp_path: Path) -> None:
    text = "Name;Amount;Note\r\nAcme, Inc.;1,5;a, b, c\r\nGlobex;2,5;x\r\n"
    table = open_table(written(tmp_path, text.encode()))
    assert table.delimiter == ";"
    assert list(table.rows())[0][1] == {"Name": "Acme, Inc.", "Amount": "1,5", "Note": "a, b, c"}


def test_row_numbers_count_multi_line_cells_as_one_row(tmp_path: Path) -> None:
    text = 'Id,Notes\r\n1,"first line\r\nsecond line"\r\n\r\n2,plain\r\n'
    table = open_table(written(tmp_path, text.encode()))
    assert [(n, row["Id"]) for n, row in table.rows()] == [(2, "1"), (4, "2")]


def test_headers_are_cleaned_and_found_by_their_normalised_key(tmp_path: Path) -> None:
    text = "\ufeff  Stage\u00a0 Name ,Close-Date,Close-Date,\r\nx,y,z,w\r\n"
    table = open_table(written(tmp_path, text.encode()))
    assert table.headers == ["Stage Name", "Close-Date", "Close-Date (2)", "column 4"]
    assert table.column("stage_name") == "Stage Name"
    assert table.index("CLOSE DATE") == 1
    assert normalise_header("Étape de vente") == "etape_de_vente"
    assert any("repeats" in p.message for p in table.problems)


def test_an_empty_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty.csv: the file is empty"):
        open_table(written(tmp_path, b"\r\n  \r\n", "empty.csv"))


def test_short_rows_are_padded_and_extra_cells_reported(tmp_path: Path) -> None:
    table = open_table(written(tmp_path, b"a,b,c\r\n1\r\n1,2,3,4\r\n"))
    rows = list(table.records())
    assert rows[0] == (2, ["1", "", ""])
    assert [p.row for p in table.problems] == [3]


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("2024-03-05", None, date(2024, 3, 5)),
    ("2024/03/05", None, date(2024, 3, 5)),
    ("13/03/2024", None, date(2024, 3, 13)),
    ("03/13/2024", None, date(2024, 3, 13)),
    ("05/03/2024", "dmy", date(2024, 3, 5)),
    ("05/03/2024", "mdy", date(2024, 5, 3)),
    ("05.03.24", "dmy", date(2024, 3, 5)),
    ("5 March 2024", None, date(2024, 3, 5)),
    ("Mar 5, 2024", None, date(2024, 3, 5)),
    ("5-mars-2024", None, date(2024, 3, 5)),
    ("2024-03-05T14:22:10.000Z", None, date(2024, 3, 5)),
    ("", None, None),
])
def test_dates_in_iso_day_first_month_first_and_words(text: str, order: str | None,
                                                      expected: date | None) -> None:
    assert parse_date(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["05/03/2024", "31/02/2024", "2024-13-01", "soon"])
def test_unreadable_or_ambiguous_dates_are_invalid(text: str) -> None:
    result = parse_date(text)
    assert isinstance(result, Invalid) and result.value == text


def test_ambiguity_is_settled_over_the_whole_column() -> None:
    assert scan_date_order(["05/03/2024", "06/04/2024", "25/04/2024"]) == "dmy"
    assert scan_date_order(["05/03/2024", "04/26/2024"]) == "mdy"
    ambiguous = scan_date_order(["05/03/2024", "06/04/2024"])
    assert isinstance(ambiguous, Invalid) and "--date-format" in ambiguous.message
    mixed = scan_date_order(["25/03/2024", "04/26/2024"])
    assert isinstance(mixed, Invalid) and "both day first" in mixed.message
    assert scan_date_order(["05/03/2024"], given="mdy") == "mdy"
    assert scan_date_order(["2024-03-05", ""]) is None
    scan = DateOrderScan()
    for text in ("01/02/2024", "12/11/2024", "30/11/2024"):
        scan.add(text)
    assert scan.verdict() == "dmy"


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("2024-03-05T14:22:10.000Z", None, datetime(2024, 3, 5, 14, 22, 10, tzinfo=UTC)),
    ("2024-03-05T14:22:10+01:00", None,
     datetime(2024, 3, 5, 14, 22, 10, tzinfo=timezone(timedelta(hours=1)))),
    ("2024-03-05 14:22:10", None, datetime(2024, 3, 5, 14, 22, 10)),
    ("05/03/2024 14:22", "dmy", datetime(2024, 3, 5, 14, 22)),
    ("3/5/2024 2:22 PM", "mdy", datetime(2024, 3, 5, 14, 22)),
    ("13/03/2024 14:22:10 UTC", None, datetime(2024, 3, 13, 14, 22, 10, tzinfo=UTC)),
    ("Mar 5, 2024 2:22 PM", None, datetime(2024, 3, 5, 14, 22)),
    ("2024-03-05", None, datetime(2024, 3, 5)),
])
def test_datetimes_from_salesforce_and_spreadsheets(text: str, order: str | None,
                                                    expected: datetime) -> None:
    assert parse_datetime(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "comma", "expected"), [
    ("1234.5", None, Decimal("1234.5")),
    ("1,234.50", None, Decimal("1234.50")),
    ("1.234,50", None, Decimal("1234.50")),
    ("1 234,5", None, Decimal("1234.5")),
    ("1\u202f234,5", None, Decimal("1234.5")),
    ("1'234.50", None, Decimal("1234.50")),
    ("1,5", None, Decimal("1.5")),
    ("1,234", None, Decimal("1234")),
    ("1.234", True, Decimal("1234")),
    ("1,234", True, Decimal("1.234")),
    ("(12)", None, Decimal("-12")),
    ("-12", None, Decimal("-12")),
    ("12%", None, Decimal("12")),
    ("€ 1.200,00", None, Decimal("1200.00")),
    ("$1,200", None, Decimal("1200")),
    ("", None, None),
])
def test_numbers_with_decimal_commas_thousands_and_currency_signs(
        text: str, comma: bool | None, expected: Decimal | None) -> None:
    assert parse_decimal(text, comma) == expected


@pytest.mark.parametrize("text", ["12abc", "1-2", "NaN", "1e5", "--"])
def test_things_that_are_not_numbers_are_invalid(text: str) -> None:
    assert isinstance(parse_decimal(text), Invalid)


def test_money_keeps_the_currency_its_text_names() -> None:
    assert parse_money("€1.200,50") == (Decimal("1200.50"), "EUR")
    assert parse_money("1200 CHF") == (Decimal("1200"), "CHF")
    assert parse_money("£ 7") == (Decimal("7"), "GBP")
    assert parse_money("250") == (Decimal("250"), "")


def test_whole_numbers_and_yes_or_no() -> None:
    assert parse_int("1,200") == 1200 and parse_int("50%") == 50
    assert isinstance(parse_int("2.5"), Invalid)
    assert [parse_bool(t) for t in ("true", "1", "Yes", "false", "0", "")] == [
        True, True, True, False, False, None]
    assert isinstance(parse_bool("maybe"), Invalid)


def test_an_invalid_cell_becomes_a_located_problem() -> None:
    problem = Invalid("not a number", "12abc").at("deals.csv", 7, "Amount")
    assert (problem.file, problem.row, problem.column, problem.value, problem.fatal) == (
        "deals.csv", 7, "Amount", "12abc", True)


@pytest.mark.parametrize("decimal_comma", [None, True, False])
def test_a_number_with_a_trailing_letter_is_not_read_as_a_number(
        decimal_comma: bool | None) -> None:
    value = parse_decimal("12,5k", decimal_comma)
    assert isinstance(value, Invalid)
    assert value.value == "12,5k"
    assert "not a number" in value.message


@pytest.mark.parametrize("order", [None, "dmy", "mdy"])
def test_an_impossible_numeric_date_is_not_valid_rather_than_ambiguous(
        order: str | None) -> None:
    value = parse_date("31/13/2024", order)  # type: ignore[arg-type]
    assert isinstance(value, Invalid)
    assert value.value == "31/13/2024"
    assert "not a valid date" in value.message
    assert "ambiguous" not in value.message
    stamp = parse_datetime("31/13/2024 10:00")
    assert isinstance(stamp, Invalid) and "ambiguous" not in stamp.message
