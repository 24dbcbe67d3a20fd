"""`dealcraft import …` at the console: dry runs, real runs, the acting user, the report."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dealcraft.cli import main
from dealcraft.deals.models import Deal, StageHistory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
DEALS = ("Deal,Title,Phase,Rep,Value,Währung,Close\n"
         "A-1,Müller Bau,Angebot,alice,\"12.000,00\",EUR,2024-07-31\n"
         "A-2,Zoë AG,Verhandlung,alice,\"48.500,50\",CHF,2024-08-15\n"
         "A-3,Ohne Firma,Gewonnen,bob,900,EUR,2024-05-02\n")
MAP = """\
columns: {id: Deal, name: Title, stage: Phase, owner: Rep, amount: Value, currency: Währung,
          close_date: Close}
decimal_comma: true
stages: [Angebot, Verhandlung, {name: Gewonnen, won: true}]
"""


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    def call(*argv: str) -> Ran:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return call


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    deals = tmp_path / "deals.csv"
    deals.write_text(DEALS, encoding="utf-8")
    mapping = tmp_path / "deals.map.yaml"
    mapping.write_text(MAP, encoding="utf-8")
    return str(deals), str(mapping)


def test_dry_run_prints_counts_mapping_and_problems_and_writes_nothing(
        run: Any, org: Any, files: tuple[str, str]) -> None:
    result = run("import", "csv", files[0], "--map", files[1], "--dry-run")
    assert result.code == 0, result.err
    assert "Dry run: nothing was written" in result.out
    assert "deals                  3         0          0" in result.out
    assert "Verhandlung  → Verhandlung (verhandlung)" in result.out
    assert "Gewonnen     → Won (won)" in result.out
    assert Deal.objects.count() == 0


def test_import_then_the_pipeline_report_shows_the_exported_stages(
        run: Any, org: Any, files: tuple[str, str]) -> None:
    result = run("import", "csv", files[0], "--map", files[1], "--as", "olivia")
    assert result.code == 0, result.out + result.err
    assert "rows/s" in result.err  # the progress bar
    assert Deal.objects.get(external_id="A-2").amount == 48500.50
    report = json.loads(run("report", "pipeline", "--json").out)
    assert [(s["name"], s["reached"]) for s in report["stages"]] == [
        ("Angebot", 1), ("Verhandlung", 1)]
    assert report["deals"]["won"] == 1
    assert report["amounts_by_currency"]["CHF"]["open"] == "48500.50"


def test_the_first_admin_acts_by_default_and_a_rep_is_refused(
        run: Any, org: Any, files: tuple[str, str]) -> None:
    refused = run("import", "csv", files[0], "--map", files[1], "--as", "alice")
    assert refused.code == 1
    assert "Only admins and revenue operations import data." in refused.err
    assert Deal.objects.count() == 0
    done = run("import", "csv", files[0], "--map", files[1], "--json")
    assert done.code == 0
    from dealcraft.audit.models import AuditEvent

    assert AuditEvent.objects.get(action="import.run").actor == org.ada


def test_a_mapping_file_with_mistakes_is_refused_with_lines(run: Any, org: Any,
                                                            tmp_path: Path,
                                                            files: tuple[str, str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {id: Deal}\nshape: round\n", encoding="utf-8")
    result = run("import", "csv", files[0], "--map", str(bad))
    assert result.code == 1
    assert "bad.yaml:2: [shape] error: unknown key 'shape'" in result.err


def test_fatal_problems_exit_1_with_every_problem_and_the_report(
        run: Any, org: Any, files: tuple[str, str]) -> None:
    deals = Path(files[0])
    deals.write_text(DEALS + "A-4,Kaputt,Angebot,alice,viel,EUR,2024-07-31\n", encoding="utf-8")
    result = run("import", "csv", files[0], "--map", files[1], "--json")
    assert result.code == 1
    summary = json.loads(result.out)
    assert summary["committed"] is False
    assert {"file": "deals.csv", "row": 5, "column": "Value", "problem": "not a number",
            "value": "viel", "fatal": True} in summary["problem_list"]
    assert summary["error_report"] == str(deals.with_name("deals.errors.csv"))
    assert Deal.objects.count() == 0


def test_salesforce_folder_imports_and_reimports_in_place(run: Any, org: Any,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "salesforce" / "acme", folder)
    first = run("import", "salesforce", str(folder), "--json")
    assert first.code == 0, first.out + first.err
    summary = json.loads(first.out)
    deals, history = Deal.objects.count(), StageHistory.objects.count()
    assert summary["counts"]["deals"]["created"] == deals > 0
    assert summary["process_active"] is True
    again = json.loads(run("import", "salesforce", str(folder), "--json").out)
    assert again["counts"]["deals"] == {"created": 0, "updated": 0, "unchanged": deals}
    assert (Deal.objects.count(), StageHistory.objects.count()) == (deals, history)
    assert (folder / "import-errors.csv").exists()


@pytest.mark.parametrize(("command", "fixture"), [
    ("hubspot", "hubspot/hubspot-crm-exports-all-deals-2024-06-30.csv"),
    ("pipedrive", "pipedrive/deals-export.csv"),
])
def test_vendor_exports_dry_run_then_import(run: Any, org: Any, tmp_path: Path, command: str,
                                            fixture: str) -> None:
    export = tmp_path / Path(fixture).name
    shutil.copy(FIXTURES / fixture, export)
    dry = json.loads(run("import", command, str(export), "--dry-run", "--json").out)
    assert dry["committed"] is False and dry["fatal_problems"] == 0
    assert Deal.objects.count() == 0
    done = json.loads(run("import", command, str(export), "--json").out)
    assert done["committed"] is True
    assert done["counts"]["deals"] == dry["counts"]["deals"]
    assert Deal.objects.filter(external_source=command).count() == (
        done["counts"]["deals"]["created"]) > 0
