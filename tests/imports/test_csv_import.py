"""`import csv`: any CSV through a mapping file, written into dealcraft all or nothing."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dealcraft.deals.models import Deal, NextStep, StageHistory
from dealcraft.imports.csvmap import MappingInvalid, load_mapping, read_csv
from dealcraft.imports.services import run_import
from dealcraft.people.models import User
from dealcraft.processes.models import ProcessVersion

# A French team's spreadsheet, saved by Excel on Windows: Windows-1252, semicolons, decimal
# commas, day-first dates, accents in stage names, several currencies, a deal without an
# account and owners who are not dealcraft users yet.
DEALS_FR = (
    "Réf;Affaire;Étape;Responsable;Société;Montant;Devise;Clôture prévue;Créée le;"
    "Prochaine étape;Motif de perte;Source\r\n"
    "D-1;Crème & Co — CRM;Qualifié;alice@example.com;Crème & Co;12 500,50;EUR;15/07/2024;"
    "02/03/2024;Appel décideur;;Salon\r\n"
    "D-2;Zoë GmbH Rollout;Négociation;Zoë Müller;Zoë GmbH;48.000,00;CHF;30/09/2024;"
    "10/04/2024;;;Partenaire\r\n"
    "D-3;Sans société;Gagné;alice@example.com;;7 000;GBP;01/06/2024;05/01/2024;;;\r\n"
    "D-4;Perdue d'avance;Perdu;Zoë Müller;Crème & Co;3 000;EUR;20/05/2024;11/02/2024;;"
    "Prix trop élevé;Salon\r\n"
)
HISTORY_FR = (
    "Réf;Date;Étape;Montant\r\n"
    "D-1;2024-03-02T09:00:00Z;Qualifié;10000\r\n"
    "D-1;2024-04-02T10:30:00Z;Qualifié;12500,50\r\n"
    "D-2;2024-04-10T08:00:00Z;Qualifié;\r\n"
    "D-2;2024-05-10T08:00:00Z;Négociation;48000\r\n"
    "D-3;2024-01-05T08:00:00Z;Qualifié;7000\r\n"
    "D-3;2024-06-01T16:00:00Z;Gagné;7000\r\n"
    "D-4;2024-02-11T08:00:00Z;Qualifié;3000\r\n"
    "D-4;2024-03-01T08:00:00Z;Négociation;3000\r\n"
    "D-4;2024-05-20T08:00:00Z;Perdu;3000\r\n"
)
MAPPING_FR = """\
source: legacy
columns:
  id: Réf
  name: Affaire
  stage: Étape
  owner: Responsable
  account: Société
  amount: Montant
  currency: Devise
  close_date: Clôture prévue
  created_at: Créée le
  next_step: Prochaine étape
  loss_reason: Motif de perte
fields:
  lead_source: Source
stages:
  - Qualifié
  - Négociation
  - {name: Gagné, won: true}
  - {name: Perdu, lost: true}
history:
  file: history.csv
  columns: {deal: Réf, at: Date, stage: Étape, amount: Montant}
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def french(tmp_path: Path) -> tuple[Path, Path]:
    deals = write(tmp_path / "affaires.csv", DEALS_FR, "cp1252")
    write(tmp_path / "history.csv", HISTORY_FR, "cp1252")
    mapping = write(tmp_path / "affaires.map.yaml", MAPPING_FR)
    return deals, mapping


def do_import(deals: Path, mapping_path: Path, user: Any, **kwargs: Any) -> Any:
    mapping = load_mapping(mapping_path, date_format=kwargs.pop("date_format", None))
    export = read_csv(deals, mapping)
    return run_import(export, acting_user=user, stage_map=mapping.stage_map,
                      owner_map=mapping.owner_map, value_maps=mapping.value_maps,
                      map_file=mapping_path.name, **kwargs)


def test_windows_spreadsheet_imports_without_mojibake(db: Any, org: Any,
                                                      french: tuple[Path, Path]) -> None:
    User.objects.filter(pk=org.alice.pk).update(email="alice@example.com")
    result = do_import(*french, org.olivia)
    assert result.committed, result.problems
    assert result.counts["deals"].created == 4
    deal = Deal.objects.get(external_source="legacy", external_id="D-1")
    assert deal.name == "Crème & Co — CRM"
    assert deal.account is not None and deal.account.name == "Crème & Co"
    assert deal.amount == Decimal("12500.50") and deal.currency == "EUR"
    assert deal.expected_close.isoformat() == "2024-07-15"
    assert deal.owner_id == org.alice.pk
    assert deal.fields["lead_source"] == "Salon"
    assert NextStep.objects.get(deal=deal).text == "Appel décideur"
    swiss = Deal.objects.get(external_id="D-2")
    assert (swiss.amount, swiss.currency) == (Decimal("48000.00"), "CHF")
    assert Deal.objects.get(external_id="D-3").account is None
    lost = Deal.objects.get(external_id="D-4")
    assert (lost.status, lost.lost_reason) == ("lost", "Prix trop élevé")
    assert lost.lost_from_stage == "negociation"


def test_stage_names_are_kept_exactly_and_become_the_active_process(
        db: Any, org: Any, french: tuple[Path, Path]) -> None:
    result = do_import(*french, org.olivia)
    assert result.committed and result.process_created and result.process_active
    version = ProcessVersion.objects.get(is_active=True)
    assert "Négociation" in version.source
    assert result.stage_names == {"qualifie": "Qualifié", "negociation": "Négociation",
                                  "won": "Won", "lost": "Lost"}
    from dealcraft.analytics.reports import pipeline_report

    report = pipeline_report()
    assert [(s["key"], s["name"], s["reached"]) for s in report["stages"]] == [
        ("qualifie", "Qualifié", 4), ("negociation", "Négociation", 2)]
    assert report["deals"] == {"total": 4, "open": 2, "won": 1, "lost": 1}


def test_history_keeps_original_timestamps_and_amount_changes(db: Any, org: Any,
                                                              french: tuple[Path, Path]) -> None:
    do_import(*french, org.olivia)
    deal = Deal.objects.get(external_id="D-1")
    rows = list(StageHistory.objects.filter(deal=deal).values_list(
        "kind", "to_stage", "at", "amount"))
    assert [(k, s, a.isoformat(), str(m)) for k, s, a, m in rows] == [
        ("created", "qualifie", "2024-03-02T09:00:00+00:00", "10000.00"),
        ("update", "qualifie", "2024-04-02T10:30:00+00:00", "12500.50"),
    ]
    won = list(StageHistory.objects.filter(deal__external_id="D-3").values_list("kind",
                                                                               "to_stage"))
    assert won == [("created", "qualifie"), ("won", "won")]


def test_unknown_owners_are_created_inactive_and_reported_by_name_and_count(
        db: Any, org: Any, french: tuple[Path, Path]) -> None:
    result = do_import(*french, org.olivia)
    zoe = User.objects.get(first_name="Zoë")
    assert not zoe.is_active and zoe.last_name == "Müller"
    assert Deal.objects.filter(owner=zoe).count() == 2
    assert dict(result.unmatched["owner"]) == {
        "alice@example.com → created inactive user alice2": 2,
        "Zoë Müller → created inactive user zoe.muller": 2}
    assert result.counts["users"].created == 2


def test_reimporting_the_same_file_changes_nothing(db: Any, org: Any,
                                                   french: tuple[Path, Path]) -> None:
    first = do_import(*french, org.olivia)
    counts = (Deal.objects.count(), StageHistory.objects.count(), User.objects.count(),
              NextStep.objects.count(), ProcessVersion.objects.count())
    again = do_import(*french, org.olivia)
    assert again.committed
    assert (Deal.objects.count(), StageHistory.objects.count(), User.objects.count(),
            NextStep.objects.count(), ProcessVersion.objects.count()) == counts
    assert again.counts["deals"].as_dict() == {"created": 0, "updated": 0, "unchanged": 4}
    assert again.counts["history"].created == 0
    assert again.counts["history"].unchanged == first.counts["history"].created


def test_a_changed_row_updates_the_deal_in_place(db: Any, org: Any, tmp_path: Path,
                                                 french: tuple[Path, Path]) -> None:
    deals, mapping = french
    do_import(deals, mapping, org.olivia)
    before = Deal.objects.get(external_id="D-2")
    write(deals, DEALS_FR.replace("48.000,00;CHF", "52.000,00;CHF"), "cp1252")
    result = do_import(deals, mapping, org.olivia)
    assert result.counts["deals"].as_dict() == {"created": 0, "updated": 1, "unchanged": 3}
    after = Deal.objects.get(external_id="D-2")
    assert after.pk == before.pk and after.amount == Decimal("52000.00")
    assert after.version == before.version + 1


def test_ambiguous_dates_are_refused_unless_the_format_is_given(db: Any, org: Any,
                                                                tmp_path: Path) -> None:
    deals = write(tmp_path / "deals.csv", "id,name,stage,close\n"
                  "1,Acme,Open,05/03/2024\n2,Globex,Open,06/04/2024\n")
    mapping = write(tmp_path / "map.yaml", "columns: {id: id, name: name, stage: stage, "
                    "close_date: close}\nconstants: {owner: alice}\n")
    refused = do_import(deals, mapping, org.olivia)
    assert not refused.committed and Deal.objects.count() == 0
    assert any("ambiguous" in p.message and p.column == "close" for p in refused.fatal)
    settled = do_import(deals, mapping, org.olivia, date_format="mdy")
    assert settled.committed, settled.problems
    assert Deal.objects.get(external_id="1").expected_close.isoformat() == "2024-05-03"
    assert Deal.objects.get(external_id="1").owner_id == org.alice.pk


def test_dry_run_counts_everything_and_writes_nothing(db: Any, org: Any,
                                                      french: tuple[Path, Path]) -> None:
    users = User.objects.count()
    result = do_import(*french, org.olivia, dry_run=True)
    assert not result.committed and result.ok
    assert result.counts["deals"].created == 4 and result.counts["history"].created == 9
    assert Deal.objects.count() == 0 and User.objects.count() == users
    assert not ProcessVersion.objects.filter(name__startswith="Imported").exists()


def test_bad_cells_go_to_the_error_report_next_to_the_input(db: Any, org: Any,
                                                            tmp_path: Path) -> None:
    deals = write(tmp_path / "deals.csv", "id,name,stage,amount,close,owner\n"
                  "1,Acme,Open,12abc,2024-05-01,alice\n"
                  "2,Globex,Open,100,2024-13-45,alice\n"
                  '3,"Multi\nline",Open,5,2024-05-01,alice\n'
                  "4,Initech,Nowhere,5,2024-05-01,alice\n")
    mapping = write(tmp_path / "map.yaml", "columns: {id: id, name: name, stage: stage, "
                    "amount: amount, close_date: close, owner: owner}\n"
                    "values:\n  stage: {Open: prospecting}\n")
    result = do_import(deals, mapping, org.olivia)
    assert not result.committed and Deal.objects.count() == 0
    report = tmp_path / "deals.errors.csv"
    assert result.error_report == str(report)
    with open(report, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "row", "column", "problem", "value", "severity"]
    found = {(r[1], r[2], r[4]) for r in rows[1:]}
    assert ("2", "amount", "12abc") in found
    assert ("3", "close", "2024-13-45") in found
    # the multi-line cell of row 4 counts as one spreadsheet row: Initech is row 5
    assert ("5", "stage", "Nowhere") in found
    assert dict(result.unmatched["stage"]) == {"Nowhere": 1}


def test_a_mapping_file_with_mistakes_reports_each_with_its_line(tmp_path: Path) -> None:
    mapping = write(tmp_path / "map.yaml", "columns:\n  id: id\n  colour: blue\n"
                    "date_format: ymd\nvalues:\n  planet: {a: b}\n")
    with pytest.raises(MappingInvalid) as caught:
        load_mapping(mapping)
    messages = [(p.row, p.message) for p in caught.value.problems]
    assert (2, "columns must name the column of 'name'") in messages or any(
        "'name'" in m for _, m in messages)
    assert any("colour" in m for _, m in messages)
    assert any(line == 4 and "dmy or mdy" in m for line, m in messages)
    assert any(line == 5 and "planet" in m for line, m in messages)


def test_history_times_in_every_iso_form_are_stored_as_the_same_moment(
        db: Any, org: Any, tmp_path: Path) -> None:
    """UTC cells are stored from their text, others through the datetime: both give the
    moment the cell names (a zone-less cell is in the server's zone)."""
    from datetime import UTC, datetime, timedelta, timezone

    from django.utils import timezone as dj_timezone

    write(tmp_path / "deals.csv", "Id,Name,Stage,Owner,Close\nT-1,Timing,Won,alice,2024-07-01\n")
    write(tmp_path / "history.csv",
          "Id,At,Stage,Amount\n"
          "T-1,2024-03-02T09:00:00.000Z,Open,100\n"
          "T-1,2024-03-03T10:00:00+00:00,Open,200.5\n"
          "T-1,2024-03-04T12:00:00+02:00,Open,300\n"
          "T-1,2024-03-05 08:15:00,Open,300\n"
          "T-1,2024-03-06T09:00:00.250Z,Open,300\n"
          "T-1,2024-03-07T09:30:00Z,Won,300\n")
    mapping = write(tmp_path / "map.yaml",
                    "columns: {id: Id, name: Name, stage: Stage, owner: Owner, close_date: Close}\n"
                    "stages: [Open, {name: Won, won: true}]\n"
                    "history: {file: history.csv, columns: {deal: Id, at: At, stage: Stage, "
                    "amount: Amount}}\n")
    result = do_import(tmp_path / "deals.csv", mapping, org.olivia)
    assert result.committed, result.problems
    rows = list(StageHistory.objects.filter(deal__external_id="T-1").order_by("at").values_list(
        "kind", "at", "amount", "expected_close"))
    local = dj_timezone.get_current_timezone()
    assert [(k, a, m) for k, a, m, _ in rows] == [
        ("created", datetime(2024, 3, 2, 9, 0, tzinfo=UTC), Decimal("100.00")),
        ("update", datetime(2024, 3, 3, 10, 0, tzinfo=UTC), Decimal("200.50")),
        ("update", datetime(2024, 3, 4, 12, 0, tzinfo=timezone(timedelta(hours=2))),
         Decimal("300.00")),
        ("update", datetime(2024, 3, 5, 8, 15, tzinfo=local), Decimal("300.00")),
        ("update", datetime(2024, 3, 6, 9, 0, 0, 250000, tzinfo=UTC), Decimal("300.00")),
        ("won", datetime(2024, 3, 7, 9, 30, tzinfo=UTC), Decimal("300.00")),
    ]
    assert {str(close) for *_, close in rows} == {"2024-07-01"}
