"""Reading Pipedrive deal exports into neutral records (no database involved)."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from dealcraft.cli import main
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.imports.pipedrive import read_pipedrive
from dealcraft.imports.services import run_import
from dealcraft.people.models import User

FIXTURES = Path(__file__).parent / "fixtures" / "pipedrive"
DEALS = FIXTURES / "deals-export.csv"
EXCEL_1252 = FIXTURES / "deals-excel-cp1252.csv"


def fatal(export: object) -> list[str]:
    return [f"{p.file}:{p.row}:{p.column}: {p.message}" for p in export.problems if p.fatal]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.strip().replace("\n", "\r\n").encode(encoding) + b"\r\n")
    return path


def test_stages_are_ordered_by_when_deals_entered_them_and_the_order_is_reported() -> None:
    export = read_pipedrive([DEALS])
    assert not fatal(export)
    assert [(s.name, s.is_closed, s.is_won) for s in export.stages] == [
        ("Qualified", False, False), ("Proposal Made", False, False),
        ("Negotiations Started", False, False), ("Won", True, True), ("Lost", True, False)]
    [warning] = [p for p in export.problems if p.column == "Deal - Stage"]
    assert "Qualified → Proposal Made → Negotiations Started" in warning.message
    assert not warning.fatal


def test_probabilities_decide_the_order_when_every_open_stage_has_one(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Deal - ID","Deal - Title","Deal - Stage","Deal - Status","Deal - Probability"
"1","a","Contract","Open","90"
"2","b","Demo","Open","30"
"3","c","Demo","Won","100"
''')
    export = read_pipedrive([path])
    assert [s.name for s in export.stages] == ["Demo", "Contract", "Won", "Lost"]
    assert export.stages[0].probability == 30


def test_won_and_lost_deals_move_to_the_outcome_after_the_stage_they_were_in() -> None:
    export = read_pipedrive([DEALS])
    deals = {d.key: d for d in export.deals()}
    won, lost, open_deal = deals["302"], deals["303"], deals["301"]
    assert (won.stage, won.closed_at) == ("Won", datetime(2024, 4, 30, 16, 0))
    assert (lost.stage, lost.loss_reason) == ("Lost", "Went with a competitor")
    assert (open_deal.stage, open_deal.closed_at, open_deal.loss_reason) == (
        "Proposal Made", None, "")
    history = [(h.deal_key, h.at, h.stage) for h in export.history()]
    assert history == [
        ("301", datetime(2024, 5, 10, 14, 30), "Proposal Made"),
        ("302", datetime(2024, 3, 15, 9, 0), "Negotiations Started"),
        ("302", datetime(2024, 4, 30, 16, 0), "Won"),
        # never moved: it entered its stage when it was created
        ("303", datetime(2024, 1, 15, 10, 0), "Qualified"),
        ("303", datetime(2024, 3, 1, 12, 0), "Lost"),
        ("304", datetime(2024, 5, 1, 7, 0), "Qualified"),
    ]


def test_deals_keep_their_own_currency_value_owner_and_organization() -> None:
    deals = {d.key: d for d in read_pipedrive([DEALS]).deals()}
    assert {k: (d.amount, d.currency) for k, d in deals.items()} == {
        "301": (Decimal("12500.5"), "EUR"), "302": (Decimal("48000"), "USD"),
        "303": (Decimal("900"), "GBP"), "304": (Decimal("1000000"), "JPY")}
    first = deals["301"]
    assert (first.owner_key, first.account_key, first.close_date, first.created_at) == (
        "Ana Ibáñez", "Café Noël SARL", date(2024, 7, 31),
        datetime(2024, 4, 2, 9, 0))
    assert first.fields == {"pipeline": "Pipeline", "lead_source": "Referral"}
    assert deals["303"].account_key == ""  # no organization: imported without an account


def test_owners_by_name_become_users_and_organizations_become_accounts() -> None:
    export = read_pipedrive([DEALS])
    assert [u.key for u in export.users()] == ["Ana Ibáñez", "Jürgen Müller", "Unknown Rep"]
    assert [(a.key, a.name) for a in export.accounts()] == [
        ("Café Noël SARL", "Café Noël SARL"), ("Grün & Söhne GmbH", "Grün & Söhne GmbH")]


def test_an_excel_resaved_windows_1252_file_with_semicolons_and_decimal_commas() -> None:
    export = read_pipedrive([EXCEL_1252])
    assert not fatal(export)
    [deal] = export.deals()
    assert deal.name == "Bürobedarf – Rahmenvertrag 5 000 €"
    assert (deal.owner_key, deal.account_key) == ("Jürgen Müller", "Grün & Söhne GmbH")
    assert (deal.amount, deal.close_date) == (Decimal("5000.00"), date(2024, 7, 31))
    assert deal.created_at == datetime(2024, 5, 13, 8, 30)


def test_a_people_export_given_as_deals_is_refused_clearly() -> None:
    export = read_pipedrive([FIXTURES / "persons-export.csv"])
    [problem] = fatal(export)
    assert "this is not a Pipedrive deals export" in problem
    assert "looks like a people export" in problem
    assert list(export.deals()) == []


def test_a_missing_required_column_is_named_with_its_file(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Deal - ID","Deal - Title","Deal - Stage"
"1","no status","Demo"
''')
    assert fatal(read_pipedrive([path])) == [
        "deals.csv:1:Deal - Status: required column 'Deal - Status' is missing from a "
        "Pipedrive deals export"]


def test_an_unknown_status_is_an_error_and_deleted_deals_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Deal - ID","Deal - Title","Deal - Stage","Deal - Status","Deal - Value"
"1","fine","Demo","Open","10"
"2","typo","Demo","Wonn","10"
"3","gone","Demo","Deleted","10"
"4","bad value","Demo","Open","lots"
''')
    export = read_pipedrive([path])
    assert {(p.row, p.column, p.value) for p in export.problems if p.fatal} == {
        (3, "Deal - Status", "Wonn"), (5, "Deal - Value", "lots")}
    assert any(p.message == "1 deleted deals are not imported" for p in export.problems)
    assert [d.key for d in export.deals()] == ["1"]


def test_a_stage_named_like_an_outcome_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "deals.csv", '''
"Deal - ID","Deal - Title","Deal - Stage","Deal - Status"
"1","a","Won","Open"
''')
    assert any("a pipeline stage is called 'Won'" in p for p in fatal(read_pipedrive([path])))


def test_unknown_columns_are_warnings(tmp_path: Path) -> None:
    export = read_pipedrive([DEALS])
    assert [p.column for p in export.problems if p.row == 1] == []  # every column is known
    path = write(tmp_path / "deals.csv", '''
"Deal - ID","Deal - Title","Deal - Stage","Deal - Status","Deal - Region"
"1","a","Demo","Open","North"
''')
    [warning] = [p for p in read_pipedrive([path]).problems if p.row == 1]
    assert (warning.column, warning.fatal) == ("Deal - Region", False)


def test_an_xlsx_export_is_read_like_the_csv(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Deal - ID", "Deal - Title", "Deal - Stage", "Deal - Status", "Deal - Value",
                  "Deal - Currency", "Deal - Won time", "Deal - Deal created"])
    sheet.append([9, "Crème brûlée", "Demo", "Won", 250, "EUR", datetime(2024, 6, 1, 12, 0),
                  datetime(2024, 5, 1, 8, 0)])
    book.save(tmp_path / "deals.xlsx")
    export = read_pipedrive([tmp_path / "deals.xlsx"])
    assert not fatal(export)
    [deal] = export.deals()
    assert (deal.key, deal.stage, deal.amount, deal.closed_at) == (
        "9", "Won", Decimal("250"), datetime(2024, 6, 1, 12, 0))


def test_dates_a_workbook_holds_as_plain_day_numbers_are_read(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Deal - ID", "Deal - Title", "Deal - Stage", "Deal - Status",
                  "Deal - Expected close date", "Deal - Deal created"])
    sheet.append([9, "Serial dates", "Demo", "Open", 45504, 45413.375])
    book.save(tmp_path / "deals.xlsx")
    [deal] = read_pipedrive([tmp_path / "deals.xlsx"]).deals()
    assert (deal.close_date, deal.created_at) == (date(2024, 7, 31),
                                                  datetime(2024, 5, 1, 9, 0))


def test_an_old_xls_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "deals.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    [problem] = fatal(read_pipedrive([tmp_path / "deals.xls"]))
    assert "export CSV or XLSX instead" in problem


# --- end to end: through the importer into the database ---------------------------------


@pytest.fixture
def imported(org: Any, tmp_path: Path) -> tuple[Any, list[Path]]:
    paths = [Path(shutil.copy(p, tmp_path)) for p in (DEALS, EXCEL_1252)]
    result = run_import(read_pipedrive(paths), acting_user=org.olivia)
    assert result.committed, result.fatal
    return result, paths


@pytest.mark.django_db
def test_imported_pipedrive_stages_keep_their_names_in_the_pipeline_report(
        imported: tuple[Any, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["report", "pipeline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in report["stages"]] == [
        "Qualified", "Proposal Made", "Negotiations Started"]
    assert report["deals"] == {"total": 5, "open": 3, "won": 1, "lost": 1}


@pytest.mark.django_db
def test_imported_pipedrive_outcomes_keep_the_stage_they_were_reached_from(
        imported: tuple[Any, list[Path]]) -> None:
    deals = {d.external_id: d for d in Deal.objects.filter(external_source="pipedrive")}
    won, lost = deals["302"], deals["303"]
    assert (won.status, won.currency, won.amount) == ("won", "USD", Decimal("48000.00"))
    assert [(h.kind, h.from_stage, h.to_stage) for h in
            StageHistory.objects.filter(deal=won).order_by("at")] == [
        ("created", "", "negotiations_started"), ("won", "negotiations_started", "won")]
    assert (lost.status, lost.lost_reason, lost.lost_from_stage) == (
        "lost", "Went with a competitor", "qualified")
    assert lost.owner.is_active is False and lost.owner.first_name == "Unknown"
    assert deals["401"].account == deals["302"].account  # the same organization by name
    assert deals["304"].account is None


@pytest.mark.django_db
def test_importing_the_same_pipedrive_export_again_changes_nothing(
        org: Any, imported: tuple[Any, list[Path]]) -> None:
    _, paths = imported
    counts = (Deal.objects.count(), StageHistory.objects.count(), User.objects.count())
    again = run_import(read_pipedrive(paths), acting_user=org.olivia)
    assert again.committed, again.fatal
    assert again.counts["deals"].as_dict() == {"created": 0, "updated": 0, "unchanged": 5}
    assert (Deal.objects.count(), StageHistory.objects.count(),
            User.objects.count()) == counts
