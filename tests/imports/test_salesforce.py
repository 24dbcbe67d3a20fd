"""Reading a Salesforce data-export folder into neutral records (no database involved)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from dealcraft.cli import main
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.imports.salesforce import read_salesforce
from dealcraft.imports.services import run_import
from dealcraft.people.models import User

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
ACME = FIXTURES / "acme"


def fatal(export: object) -> list[str]:
    return [f"{p.file}:{p.row}:{p.column}: {p.message}" for p in export.problems if p.fatal]


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.strip().replace("\n", "\r\n").encode(encoding) + b"\r\n")
    return path


OPP_HEADER = '"Id","AccountId","Name","StageName","Amount","Probability","CloseDate","IsClosed",' \
             '"IsWon","OwnerId","CreatedDate"'


def test_stages_come_from_the_export_open_by_probability_then_won_then_lost() -> None:
    export = read_salesforce(ACME)
    assert not fatal(export)
    assert [(s.name, s.probability, s.is_closed, s.is_won) for s in export.stages] == [
        ("Prospecting", 10, False, False),
        ("Qualification", 20, False, False),
        ("Proposal/Price Quote", 75, False, False),
        ("Négociation  / Revue", 80, False, False),
        ("Closed Won", 100, True, True),
        ("Closed Lost", 0, True, False),
    ]
    assert [s.order for s in export.stages] == sorted(s.order for s in export.stages)


def test_stage_names_keep_accents_and_odd_spacing_exactly() -> None:
    export = read_salesforce(ACME)
    renewal = next(d for d in export.deals() if d.key == "0065g00000Renew1")
    assert renewal.stage == "Négociation  / Revue"
    assert "Négociation  / Revue" in {h.stage for h in export.history()}


def test_each_deal_keeps_its_own_currency_amount_and_dates() -> None:
    deals = {d.key: d for d in read_salesforce(ACME).deals()}
    assert {k: (d.amount, d.currency) for k, d in deals.items()} == {
        "0065g00000Renew1": (Decimal("12500.00"), "EUR"),
        "0065g00000Upsel2": (Decimal("30000.00"), "USD"),
        "0065g00000NoAcc3": (Decimal("4200.50"), "GBP"),
        "0065g00000Prosp4": (Decimal("1000000"), "JPY"),
    }
    renewal = deals["0065g00000Renew1"]
    assert renewal.close_date == date(2024, 6, 28)
    assert renewal.created_at == datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    assert renewal.closed_at is None
    assert deals["0065g00000Upsel2"].closed_at == datetime(2024, 2, 15, tzinfo=UTC)


def test_loss_reason_next_step_forecast_category_probability_and_type_are_kept() -> None:
    deals = {d.key: d for d in read_salesforce(ACME).deals()}
    lost, renewal = deals["0065g00000NoAcc3"], deals["0065g00000Renew1"]
    assert lost.loss_reason == "Price too high"
    assert (renewal.next_step, renewal.forecast_category, renewal.probability) == (
        "Envoyer le devis signé", "commit", 80)
    assert renewal.fields == {"type": "Existing Customer - Renewal",
                              "lead_source": "Partner Referral"}


def test_history_keeps_original_timestamps_and_changes_of_amount_or_close_date_only() -> None:
    export = read_salesforce(ACME)
    renewal = [h for h in export.history() if h.deal_key == "0065g00000Renew1"]
    assert [(h.at, h.stage, h.amount, h.close_date) for h in renewal] == [
        (datetime(2024, 1, 10, 9, 0, tzinfo=UTC), "Prospecting", Decimal("10000.00"),
         date(2024, 6, 28)),
        (datetime(2024, 2, 1, 10, 30, tzinfo=UTC), "Qualification", Decimal("10000.00"),
         date(2024, 6, 28)),
        (datetime(2024, 3, 5, 14, 0, tzinfo=UTC), "Proposal/Price Quote",
         Decimal("12000.00"), date(2024, 6, 28)),
        (datetime(2024, 4, 10, 8, 0, tzinfo=UTC), "Négociation  / Revue", Decimal("12000.00"),
         date(2024, 6, 28)),
        # the amount alone changed, then the close date alone
        (datetime(2024, 4, 20, 8, 0, tzinfo=UTC), "Négociation  / Revue", Decimal("12500.00"),
         date(2024, 6, 28)),
        (datetime(2024, 5, 2, 16, 20, tzinfo=UTC), "Négociation  / Revue",
         Decimal("12500.00"), date(2024, 6, 30)),
    ]
    assert {h.by_key for h in renewal} == {"0055g00000AnaIbz"}
    assert [h.forecast_category for h in renewal][:3] == ["pipeline", "pipeline", "best_case"]


def test_history_of_an_opportunity_not_in_the_export_is_reported_not_imported() -> None:
    export = read_salesforce(ACME)
    assert "0065g00000Gone77" not in {h.deal_key for h in export.history()}
    problem = next(p for p in export.problems if p.value == "0065g00000Gone77")
    assert (problem.file, problem.column, problem.fatal) == (
        "OpportunityHistory.csv", "OpportunityId", False)


def test_a_deal_without_an_account_imports_without_one() -> None:
    deals = {d.key: d for d in read_salesforce(ACME).deals()}
    assert deals["0065g00000NoAcc3"].account_key == ""
    assert deals["0065g00000Renew1"].account_key == "0015g00000CafeNo"


def test_an_owner_missing_from_user_csv_is_reported_by_id_and_count() -> None:
    export = read_salesforce(ACME)
    users = {u.key: u for u in export.users()}
    assert users["0055g00000JuMuel"].active is False
    assert users["0055g00000AnaIbz"].name == "Ana Ibáñez"
    deals = {d.key: d for d in export.deals()}
    assert deals["0065g00000NoAcc3"].owner_key == "0055g00000Gone99"
    [problem] = [p for p in export.problems if p.value == "0055g00000Gone99"]
    assert problem.column == "OwnerId" and not problem.fatal
    assert "inactive" in problem.message and "(1 row)" in problem.message


def test_accounts_contacts_and_contact_roles_are_read() -> None:
    export = read_salesforce(ACME)
    assert [(a.key, a.name, a.employees) for a in export.accounts()] == [
        ("0015g00000CafeNo", "Café Noël SARL", 45), ("0015g00000GrunSo", "Grün & Söhne GmbH",
                                                      None)]
    elodie = next(c for c in export.contacts() if c.key == "0035g00000Elodie")
    assert (elodie.first_name, elodie.last_name, elodie.account_key) == (
        "Élodie", "Fèvre", "0015g00000CafeNo")
    assert [(r.deal_key, r.contact_key, r.role, r.primary) for r in export.roles()] == [
        ("0065g00000Renew1", "0035g00000Elodie", "Economic Buyer", True),
        ("0065g00000Upsel2", "0035g00000Klaus0", "Decision Maker", False)]


def test_tasks_and_events_on_opportunities_become_activities_others_are_counted() -> None:
    export = read_salesforce(ACME)
    activities = {a.key: a for a in export.activities()}
    assert set(activities) == {"00T5g00000Task01", "00T5g00000Task02", "00U5g00000Evnt01"}
    call, todo, demo = (activities["00T5g00000Task01"], activities["00T5g00000Task02"],
                        activities["00U5g00000Evnt01"])
    assert (call.kind, call.done_at) == ("call", datetime(2024, 2, 1, 9, 30, tzinfo=UTC))
    assert call.body == "Budget confirmé à 12 k€"
    assert (todo.kind, todo.done_at, todo.due_at) == (
        "task", None, datetime(2024, 5, 10, tzinfo=UTC))
    assert (demo.kind, demo.deal_key) == ("meeting", "0065g00000Upsel2")
    assert any(p.file == "Task.csv" and "1 tasks are tied to something other" in p.message
               for p in export.problems)


def test_custom_fields_not_read_are_reported_as_warnings() -> None:
    export = read_salesforce(ACME)
    [region] = [p for p in export.problems if p.column == "Region__c"]
    assert (region.file, region.row, region.fatal) == ("Opportunity.csv", 1, False)


def test_a_windows_1252_export_reads_without_mojibake() -> None:
    export = read_salesforce(FIXTURES / "cp1252")
    assert not fatal(export)
    assert [d.name for d in export.deals()] == ["Bürobedarf – 5 000 € Rahmenvertrag",
                                                "Crème brûlée – Müller"]
    assert [s.name for s in export.stages] == ["Qualifizierung", "Angebot geprüft"]


def test_a_utf8_export_with_byte_order_mark_reads_its_first_column(tmp_path: Path) -> None:
    folder = tmp_path / "bom"
    folder.mkdir()
    (folder / "Opportunity.csv").write_bytes(
        b"\xef\xbb\xbf" + (OPP_HEADER + '\r\n"006A","","Caf\u00e9","Prospecting","10","10",'
                           '"2024-07-31","false","false","005A","2024-05-01T09:00:00.000Z"\r\n'
                           ).encode())
    export = read_salesforce(folder)
    assert not fatal(export)
    assert [(d.key, d.name) for d in export.deals()] == [("006A", "Café")]


def test_contact_csv_saved_as_opportunity_csv_is_refused_clearly() -> None:
    export = read_salesforce(FIXTURES / "wrong-file")
    [problem] = fatal(export)
    assert problem.startswith("Opportunity.csv:1::")
    assert "StageName" in problem and "looks like Contact.csv" in problem
    assert list(export.deals()) == []


def test_a_missing_required_column_is_fatal_with_its_name_and_file(tmp_path: Path) -> None:
    write(tmp_path, "Opportunity.csv", '''
"Id","Name","StageName","OwnerId"
"006A","No close date","Prospecting","005A"
''')
    export = read_salesforce(tmp_path)
    assert fatal(export) == [
        "Opportunity.csv:1:CloseDate: required column 'CloseDate' is missing from "
        "Opportunity.csv"]


def test_unreadable_cells_are_reported_with_row_column_and_value() -> None:
    export = read_salesforce(FIXTURES / "bad-values")
    problems = {(p.row, p.column, p.value) for p in export.problems if p.fatal}
    assert problems == {(2, "Amount", "n/a"), (3, "CloseDate", "31/13/2024"),
                        (4, "StageName", "")}
    assert list(export.deals()) == []


def test_a_folder_without_opportunities_is_refused(tmp_path: Path) -> None:
    assert fatal(read_salesforce(tmp_path)) == [
        f"Opportunity.csv:None:: Opportunity.csv is not in {tmp_path}: give the unzipped "
        "data-export folder"]
    assert "not a folder" in fatal(read_salesforce(tmp_path / "missing"))[0]


def test_an_export_with_headers_only_has_nothing_to_import_and_an_empty_history_warns() -> None:
    export = read_salesforce(FIXTURES / "empty")
    assert not fatal(export)
    assert list(export.deals()) == [] and list(export.history()) == [] and export.stages == []
    messages = [p.message for p in export.problems]
    assert "no opportunity to import" in messages
    assert any(m.startswith("OpportunityHistory.csv: the file is empty") for m in messages)


def test_stage_sort_order_decides_the_order_when_exported(tmp_path: Path) -> None:
    write(tmp_path, "Opportunity.csv", '''
"Id","Name","StageName","StageSortOrder","Probability","CloseDate","IsClosed","IsWon","OwnerId"
"006A","a","Demo","3","10","2024-07-31","false","false","005A"
"006B","b","Discovery","2","50","2024-07-31","false","false","005A"
"006C","c","Signed","9","100","2024-07-31","true","true","005A"
''')
    export = read_salesforce(tmp_path)
    assert [s.name for s in export.stages] == ["Discovery", "Demo", "Signed"]


def test_deleted_rows_are_counted_and_left_out(tmp_path: Path) -> None:
    write(tmp_path, "Opportunity.csv", '''
"Id","IsDeleted","Name","StageName","CloseDate","OwnerId"
"006A","false","kept","Demo","2024-07-31","005A"
"006B","true","in the recycle bin","Demo","2024-07-31","005A"
''')
    export = read_salesforce(tmp_path)
    assert [d.key for d in export.deals()] == ["006A"]
    assert any("1 deleted opportunities are not imported" in p.message for p in export.problems)


def test_ambiguous_dates_are_an_error_unless_a_date_format_settles_them(tmp_path: Path) -> None:
    write(tmp_path, "Opportunity.csv", '''
"Id","Name","StageName","CloseDate","OwnerId"
"006A","resaved by Excel","Demo","03/04/2024","005A"
''')
    refused = read_salesforce(tmp_path)
    [problem] = [p for p in refused.problems if p.fatal]
    assert (problem.column, problem.value) == ("CloseDate", "03/04/2024")
    assert "--date-format" in problem.message
    settled = read_salesforce(tmp_path, date_format="dmy")
    assert not fatal(settled)
    assert [d.close_date for d in settled.deals()] == [date(2024, 4, 3)]


def test_deals_and_history_are_read_again_on_each_pass_without_repeating_problems() -> None:
    export = read_salesforce(ACME)
    count = len(export.problems)
    first = [d.key for d in export.deals()]
    assert [d.key for d in export.deals()] == first
    assert len(list(export.history())) == len(list(export.history())) == 11
    assert len(export.problems) == count


# --- end to end: through the importer into the database ---------------------------------


def report_pipeline(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["report", "pipeline", "--json"]) == 0
    return cast(dict[str, Any], json.loads(capsys.readouterr().out))


@pytest.fixture
def imported(org: Any, tmp_path: Path) -> tuple[Any, Path]:
    folder = tmp_path / "export"
    shutil.copytree(ACME, folder)  # the error report is written into the folder
    result = run_import(read_salesforce(folder), acting_user=org.olivia)
    assert result.committed, result.fatal
    return result, folder


@pytest.mark.django_db
def test_imported_stages_keep_their_exact_names_in_the_pipeline_report(
        imported: tuple[Any, Path], capsys: pytest.CaptureFixture[str]) -> None:
    report = report_pipeline(capsys)
    assert [s["name"] for s in report["stages"]] == [
        "Prospecting", "Qualification", "Proposal/Price Quote", "Négociation  / Revue"]
    assert report["deals"] == {"total": 4, "open": 2, "won": 1, "lost": 1}
    assert set(report["amounts_by_currency"]) == {"EUR", "GBP", "JPY", "USD"}


@pytest.mark.django_db
def test_imported_deals_keep_currency_outcome_loss_reason_and_original_history(
        imported: tuple[Any, Path]) -> None:
    deals = {d.external_id: d for d in Deal.objects.filter(external_source="salesforce")}
    renewal, won, lost = (deals["0065g00000Renew1"], deals["0065g00000Upsel2"],
                          deals["0065g00000NoAcc3"])
    assert (renewal.amount, renewal.currency, renewal.status) == (
        Decimal("12500.00"), "EUR", "open")
    assert (renewal.forecast_category, renewal.probability) == ("commit", 80)
    assert (won.status, won.currency) == ("won", "USD")
    assert (lost.status, lost.lost_reason, lost.lost_from_stage, lost.account) == (
        "lost", "Price too high", "prospecting", None)
    history = list(StageHistory.objects.filter(deal=renewal).order_by("at"))
    assert [(h.kind, h.to_stage, h.at, h.amount, h.expected_close) for h in history] == [
        ("created", "prospecting", datetime(2024, 1, 10, 9, 0, tzinfo=UTC),
         Decimal("10000.00"), date(2024, 6, 28)),
        ("advance", "qualification", datetime(2024, 2, 1, 10, 30, tzinfo=UTC),
         Decimal("10000.00"), date(2024, 6, 28)),
        ("advance", "proposal_price_quote", datetime(2024, 3, 5, 14, 0, tzinfo=UTC),
         Decimal("12000.00"), date(2024, 6, 28)),
        ("advance", "negociation_revue", datetime(2024, 4, 10, 8, 0, tzinfo=UTC),
         Decimal("12000.00"), date(2024, 6, 28)),
        ("update", "negociation_revue", datetime(2024, 4, 20, 8, 0, tzinfo=UTC),
         Decimal("12500.00"), date(2024, 6, 28)),
        ("update", "negociation_revue", datetime(2024, 5, 2, 16, 20, tzinfo=UTC),
         Decimal("12500.00"), date(2024, 6, 30)),
    ]
    assert renewal.stage_entered_at == datetime(2024, 4, 10, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_owners_missing_from_dealcraft_are_created_inactive(imported: tuple[Any, Path]) -> None:
    result, _ = imported
    gone = User.objects.get(external_source="salesforce", external_id="0055g00000Gone99")
    assert gone.is_active is False
    assert Deal.objects.get(external_id="0065g00000NoAcc3").owner == gone
    assert any(label.startswith("0055g00000Gone99 → created inactive user")
               for label in result.unmatched["owner"])
    ana = User.objects.get(external_source="salesforce", external_id="0055g00000AnaIbz")
    assert (ana.email, ana.first_name, ana.is_active) == ("ana@acme.example", "Ana", False)


@pytest.mark.django_db
def test_importing_the_same_export_again_changes_nothing(
        org: Any, imported: tuple[Any, Path]) -> None:
    _, folder = imported
    counts = (Deal.objects.count(), StageHistory.objects.count(), User.objects.count())
    again = run_import(read_salesforce(folder), acting_user=org.olivia)
    assert again.committed, again.fatal
    assert again.counts["deals"].as_dict() == {"created": 0, "updated": 0, "unchanged": 4}
    assert again.counts["history"].created == 0
    assert (Deal.objects.count(), StageHistory.objects.count(),
            User.objects.count()) == counts


@pytest.mark.django_db
def test_a_wrong_file_leaves_the_database_as_it_was(org: Any, tmp_path: Path) -> None:
    folder = tmp_path / "wrong"
    shutil.copytree(FIXTURES / "wrong-file", folder)
    result = run_import(read_salesforce(folder), acting_user=org.olivia)
    assert not result.committed
    assert any("looks like Contact.csv" in p.message for p in result.fatal)
    assert Deal.objects.count() == 0


@pytest.mark.django_db
def test_the_import_command_reads_the_folder_and_the_report_names_its_stages(
        org: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "export"
    shutil.copytree(ACME, folder)
    capsys.readouterr()
    code = main(["import", "salesforce", str(folder), "--as", "olivia", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out)
    assert summary["committed"] is True
    assert summary["counts"]["deals"]["created"] == 4
    assert [s["name"] for s in report_pipeline(capsys)["stages"]] == [
        "Prospecting", "Qualification", "Proposal/Price Quote", "Négociation  / Revue"]
    assert (folder / "import-errors.csv").exists()  # the warnings, row by row


@pytest.mark.django_db
def test_a_dry_run_of_the_import_command_writes_nothing(
        org: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "export"
    shutil.copytree(ACME, folder)
    capsys.readouterr()
    code = main(["import", "salesforce", str(folder), "--as", "olivia", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Négociation  / Revue" in out and "0055g00000Gone99" in out
    assert Deal.objects.count() == 0 and StageHistory.objects.count() == 0
