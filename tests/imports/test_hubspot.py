"""Reading HubSpot deal exports into neutral records (no database involved)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from dealcraft.cli import main
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.imports.hubspot import read_hubspot
from dealcraft.imports.services import run_import
from dealcraft.people.models import User

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"
ALL_DEALS = FIXTURES / "hubspot-crm-exports-all-deals-2024-06-30.csv"
EXCEL_1252 = FIXTURES / "deals-excel-cp1252.csv"


def fatal(export: object) -> list[str]:
    return [f"{p.file}:{p.row}:{p.column}: {p.message}" for p in export.problems if p.fatal]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.strip().replace("\n", "\r\n").encode(encoding) + b"\r\n")
    return path


def test_stages_are_ordered_as_the_pipeline_with_won_and_lost_last() -> None:
    export = read_hubspot([ALL_DEALS])
    assert not fatal(export)
    assert [(s.name, s.is_closed, s.is_won) for s in export.stages] == [
        ("Appointment scheduled", False, False),
        ("Qualifié  pour achat", False, False),
        ("Contract sent", False, False),
        ("Closed won", True, True),
        ("Closed lost", True, False),
    ]


def test_date_entered_columns_become_history_with_stage_names_spelled_as_the_deals() -> None:
    export = read_hubspot([ALL_DEALS])
    won = [(h.at, h.stage) for h in export.history() if h.deal_key == "9002"]
    assert won == [
        (datetime(2024, 2, 1, 8, 0), "Appointment scheduled"),
        # the header's double space is folded by the export's header; the deals' spelling wins
        (datetime(2024, 2, 20, 11, 0), "Qualifié  pour achat"),
        (datetime(2024, 3, 15, 9, 0), "Contract sent"),
        (datetime(2024, 4, 30, 16, 0), "Closed won"),
    ]


def test_deals_keep_currency_amount_owner_name_company_and_outcome_details() -> None:
    deals = {d.key: d for d in read_hubspot([ALL_DEALS]).deals()}
    renewal, big, walk_in = deals["9001"], deals["9002"], deals["9003"]
    assert (renewal.amount, renewal.currency, renewal.owner_key, renewal.account_key) == (
        Decimal("12500.5"), "EUR", "Ana Ibáñez", "7001")
    assert (renewal.probability, renewal.forecast_category, renewal.next_step) == (
        40, "best_case", "Send the quote")
    assert renewal.close_date == date(2024, 7, 31)
    assert renewal.created_at == datetime(2024, 5, 2, 9, 15)
    assert renewal.stage_entered_at == datetime(2024, 5, 10, 14, 30)
    assert renewal.fields == {"type": "existingbusiness", "pipeline": "Sales Pipeline"}
    assert (big.currency, big.probability, big.closed_at) == (
        "USD", 100, datetime(2024, 4, 30, 16, 0))
    assert (walk_in.account_key, walk_in.loss_reason, walk_in.currency) == (
        "", "Went with a competitor", "GBP")


def test_owners_given_by_name_become_users_and_companies_become_accounts() -> None:
    export = read_hubspot([ALL_DEALS])
    assert [(u.key, u.name) for u in export.users()] == [
        ("Ana Ibáñez", "Ana Ibáñez"), ("Jürgen Müller", "Jürgen Müller"),
        ("Unknown Person", "Unknown Person")]
    assert [(a.key, a.name) for a in export.accounts()] == [
        ("7001", "Café Noël SARL"), ("7002", "Grün & Söhne GmbH")]


def test_an_excel_resaved_windows_1252_file_with_decimal_commas_and_day_first_dates() -> None:
    export = read_hubspot([EXCEL_1252])
    assert not fatal(export)
    [deal] = export.deals()
    assert deal.name == "Bürostühle – 25 × Ergonomie (€)"
    assert deal.owner_key == "Jürgen Müller"
    assert (deal.amount, deal.close_date) == (Decimal("12345.67"), date(2024, 7, 31))
    assert [h.at for h in export.history()] == [datetime(2024, 5, 13, 8, 30),
                                                datetime(2024, 5, 27, 17, 5)]


def test_several_files_are_read_as_one_export() -> None:
    export = read_hubspot([ALL_DEALS, EXCEL_1252])
    assert [d.key for d in export.deals()] == ["9001", "9002", "9003", "9101"]
    assert [d.file for d in export.deals()][-1] == "deals-excel-cp1252.csv"


def test_a_contacts_export_given_as_deals_is_refused_clearly() -> None:
    export = read_hubspot([FIXTURES / "wrong-contacts-export.csv"])
    [problem] = fatal(export)
    assert "this is not a HubSpot deals export" in problem
    assert "'Deal Name', 'Deal Stage'" in problem and "looks like a contacts export" in problem


def test_a_missing_required_column_is_named_with_its_file(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Record ID","Deal Name","Amount"
"1","No stage","10"
''')
    assert fatal(read_hubspot([path])) == [
        "deals.csv:1:Deal Stage: required column 'Deal Stage' is missing from a HubSpot "
        "deals export"]


def test_unknown_columns_are_warnings_and_known_stage_properties_are_not() -> None:
    export = read_hubspot([ALL_DEALS])
    warnings = [p.column for p in export.problems if not p.fatal]
    assert "Lead Region" in warnings
    assert not any(c.startswith(("Date exited", "Cumulative time in")) for c in warnings)


def test_the_same_record_twice_is_reported_and_imported_once(tmp_path: Path) -> None:
    export = read_hubspot([ALL_DEALS, ALL_DEALS])
    assert [d.key for d in export.deals()] == ["9001", "9002", "9003"]
    duplicates = [p for p in export.problems if "same Record ID" in p.message]
    assert len(duplicates) == 3 and not any(p.fatal for p in duplicates)


def test_deals_of_several_pipelines_are_flagged(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Record ID","Deal Name","Pipeline","Deal Stage","Deal owner"
"1","a","Sales","Demo","Ana"
"2","b","Renewals","Demo","Ana"
''')
    export = read_hubspot([path])
    assert any("2 pipelines (Renewals, Sales)" in p.message for p in export.problems)


def test_stage_columns_of_pipelines_without_exported_deals_bring_no_stages(
        tmp_path: Path) -> None:
    header = ",".join(['"Record ID","Deal Name","Pipeline","Deal Stage"',
                       '"Date entered ""Demo (Sales)"""',
                       '"Date entered ""Kick-off (Onboarding)"""',
                       '"Date entered ""Signed (Sales)"""'])
    path = write(tmp_path / "deals.csv",
                 header + '\n"1","a","Sales","Demo","2024-05-02 09:15","",""')
    export = read_hubspot([path])
    assert [s.name for s in export.stages] == ["Demo", "Signed"]
    assert not [p for p in export.problems if p.row == 1]


def test_a_date_column_that_could_be_read_either_way_follows_the_files_other_dates(
        tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Record ID","Deal Name","Deal Stage","Close Date","Create Date"
"1","a","Demo","25/03/2024","03/04/2024 10:00"
''')
    [deal] = read_hubspot([path]).deals()
    assert deal.created_at == datetime(2024, 4, 3, 10, 0)
    alone = write(tmp_path / "alone.csv", '''
"Record ID","Deal Name","Deal Stage","Create Date"
"1","a","Demo","03/04/2024 10:00"
''')
    [problem] = [p for p in read_hubspot([alone]).problems if p.fatal]
    assert (problem.row, problem.column, problem.value) == (None, "Create Date",
                                                            "03/04/2024 10:00")


def test_bad_cells_are_reported_with_row_column_and_value(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Record ID","Deal Name","Deal Stage","Amount","Currency","Close Date","Deal probability"
"1","ok","Demo","10","EUR","2024-07-31","0.2"
"2","bad amount","Demo","ten","EUR","2024-07-31","0.2"
"3","bad currency","Demo","10","Euro","2024-07-31","0.2"
"4","bad date","Demo","10","EUR","someday","0.2"
"5","bad probability","Demo","10","EUR","2024-07-31","140"
''')
    export = read_hubspot([path])
    assert {(p.row, p.column, p.value) for p in export.problems if p.fatal} == {
        (3, "Amount", "ten"), (4, "Currency", "Euro"), (5, "Close Date", "someday"),
        (6, "Deal probability", "140")}
    assert [d.key for d in export.deals()] == ["1"]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_bytes(b"")
    assert fatal(read_hubspot([tmp_path / "deals.csv"])) == [
        "deals.csv:None:: a HubSpot deals export: the file is empty"]


def test_an_xlsx_export_is_read_like_the_csv(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Record ID", "Deal Name", "Deal Stage", "Amount", "Currency", "Close Date",
                  "Deal owner", 'Date entered "Demo (Sales Pipeline)"'])
    sheet.append([77, "Crème brûlée", "Demo", 1234.5, "EUR", datetime(2024, 7, 31),
                  "Ana Ibáñez", datetime(2024, 5, 2, 9, 15)])
    book.save(tmp_path / "deals.xlsx")
    export = read_hubspot([tmp_path / "deals.xlsx"])
    assert not fatal(export)
    [deal] = export.deals()
    assert (deal.key, deal.name, deal.amount, deal.close_date) == (
        "77", "Crème brûlée", Decimal("1234.5"), date(2024, 7, 31))
    assert [(h.stage, h.at) for h in export.history()] == [
        ("Demo", datetime(2024, 5, 2, 9, 15))]


def test_times_are_taken_in_the_given_zone_or_left_to_the_server_zone() -> None:
    paris = timezone(timedelta(hours=2))
    [deal] = [d for d in read_hubspot([ALL_DEALS], zone=paris).deals() if d.key == "9001"]
    assert deal.created_at == datetime(2024, 5, 2, 7, 15, tzinfo=UTC)
    [naive] = [d for d in read_hubspot([ALL_DEALS]).deals() if d.key == "9001"]
    assert naive.created_at is not None and naive.created_at.tzinfo is None


# --- end to end: through the importer into the database ---------------------------------


@pytest.fixture
def imported(org: Any, tmp_path: Path) -> tuple[Any, list[Path]]:
    paths = [Path(shutil.copy(p, tmp_path)) for p in (ALL_DEALS, EXCEL_1252)]
    result = run_import(read_hubspot(paths), acting_user=org.olivia)
    assert result.committed, result.fatal
    return result, paths


@pytest.mark.django_db
def test_imported_hubspot_stages_keep_their_names_in_the_pipeline_report(
        imported: tuple[Any, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["report", "pipeline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in report["stages"]] == [
        "Appointment scheduled", "Qualifié  pour achat", "Contract sent"]
    assert report["deals"] == {"total": 4, "open": 2, "won": 1, "lost": 1}


@pytest.mark.django_db
def test_imported_hubspot_deals_keep_currencies_owners_and_history(
        imported: tuple[Any, list[Path]]) -> None:
    deals = {d.external_id: d for d in Deal.objects.filter(external_source="hubspot")}
    assert {k: (d.amount, d.currency) for k, d in deals.items()} == {
        "9001": (Decimal("12500.50"), "EUR"), "9002": (Decimal("48000.00"), "USD"),
        "9003": (Decimal("900.00"), "GBP"), "9101": (Decimal("12345.67"), "EUR")}
    walk_in = deals["9003"]
    assert (walk_in.status, walk_in.lost_reason, walk_in.account) == (
        "lost", "Went with a competitor", None)
    assert (walk_in.owner.first_name, walk_in.owner.last_name, walk_in.owner.is_active) == (
        "Unknown", "Person", False)
    assert deals["9101"].owner == deals["9002"].owner  # one user per owner name
    history = StageHistory.objects.filter(deal=deals["9002"]).order_by("at")
    assert [(h.kind, h.to_stage, h.at) for h in history] == [
        ("created", "appointment_scheduled", datetime(2024, 2, 1, 8, 0, tzinfo=UTC)),
        ("advance", "qualifie_pour_achat", datetime(2024, 2, 20, 11, 0, tzinfo=UTC)),
        ("advance", "contract_sent", datetime(2024, 3, 15, 9, 0, tzinfo=UTC)),
        ("won", "won", datetime(2024, 4, 30, 16, 0, tzinfo=UTC)),
    ]


@pytest.mark.django_db
def test_importing_the_same_hubspot_export_again_changes_nothing(
        org: Any, imported: tuple[Any, list[Path]]) -> None:
    _, paths = imported
    counts = (Deal.objects.count(), StageHistory.objects.count(), User.objects.count())
    again = run_import(read_hubspot(paths), acting_user=org.olivia)
    assert again.committed, again.fatal
    assert again.counts["deals"].as_dict() == {"created": 0, "updated": 0, "unchanged": 4}
    assert (Deal.objects.count(), StageHistory.objects.count(),
            User.objects.count()) == counts
