"""`dealcraft process apply FILE` stores a version; `dealcraft process show` prints it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import default_process_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_file(tmp_path: Path) -> Path:
    path = tmp_path / "process.yaml"
    path.write_text(default_process_source(), encoding="utf-8")
    return path


@pytest.fixture
def renamed_file(tmp_path: Path) -> Path:
    source = default_process_source().replace('name: "B2B sales process (8 steps)"',
                                              'name: "Field sales, revised"', 1)
    assert "Field sales, revised" in source
    path = tmp_path / "revised.yaml"
    path.write_text(source, encoding="utf-8")
    return path


def test_apply_stores_a_new_active_version_with_an_audit_row(run: Any,
                                                             default_file: Path) -> None:
    result = run("process", "apply", str(default_file), "--note", "first rollout")

    assert result.code == 0
    assert result.out.strip() == (f"applied {default_file} as version 1 "
                                  "(B2B sales process (8 steps))")
    version = ProcessVersion.objects.get(is_active=True)
    assert (version.number, version.note, version.applied_by) == (1, "first rollout", None)
    assert version.source == default_file.read_text(encoding="utf-8")
    assert AuditEvent.objects.filter(action="process.apply", object_id=str(version.pk)).exists()


def test_applying_the_active_file_again_changes_nothing(run: Any, default_file: Path) -> None:
    run("process", "apply", str(default_file))

    result = run("process", "apply", str(default_file))

    assert result.code == 0
    assert "identical to the active version 1" in result.out
    assert ProcessVersion.objects.count() == 1


def test_an_invalid_file_is_refused_with_every_problem(run: Any, tmp_path: Path,
                                                       default_file: Path) -> None:
    run("process", "apply", str(default_file))
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_process_source().replace("threshold: 60", "threshold: 600", 1)
                   .replace("currency: USD", "currency: dollars", 1), encoding="utf-8")

    result = run("process", "apply", str(bad))

    assert result.code == 1
    assert len(result.lines) == 2
    assert all(line.startswith(f"{bad}:") for line in result.lines)
    assert any("threshold 600 is out of range" in line for line in result.lines)
    assert ProcessVersion.objects.count() == 1


def test_apply_reports_an_unreadable_file_in_one_line(run: Any, tmp_path: Path) -> None:
    result = run("process", "apply", str(tmp_path / "missing.yaml"))

    assert result.code == 1
    assert result.err.strip() == f"{tmp_path / 'missing.yaml'}:0: no such file"
    assert not ProcessVersion.objects.exists()


def test_show_prints_the_active_version_and_the_history_of_versions(
        run: Any, default_file: Path, renamed_file: Path) -> None:
    run("process", "apply", str(default_file), "--note", "first rollout")
    run("process", "apply", str(renamed_file), "--note", "renamed")

    result = run("process", "show")

    assert result.code == 0
    assert result.lines[0] == "Field sales, revised"
    assert result.lines[1].startswith("version 2 (active), applied ")
    assert result.lines[1].endswith(" by the console")
    out = result.out
    for stage in ("1. Prospecting [prospecting]", "2. Qualification [qualification]",
                  "6. Negotiation & commitment [negotiation]"):
        assert stage in out
    assert "gate enforce; probability 10%; forecast pipeline; rotting after 14 days" in out
    assert "- Problem confirmed [problem_confirmed]: confirmed with evidence" in out
    assert "MEDDICC [meddicc]: Metrics 15" in out
    assert "qualification: meddicc, threshold 60" in out
    assert "Lost to competitor [competitor]" in out
    versions = [v.strip() for v in out.split("Versions:")[1].strip().splitlines()]
    assert versions[0].startswith("v2 (active) ")
    assert versions[0].endswith("Field sales, revised - renamed")
    assert versions[1].startswith("v1 ")
    assert versions[1].endswith("B2B sales process (8 steps) - first rollout")


def test_show_an_earlier_version(run: Any, default_file: Path, renamed_file: Path) -> None:
    run("process", "apply", str(default_file))
    run("process", "apply", str(renamed_file))

    result = run("process", "show", "--version", "1")

    assert result.code == 0
    assert result.lines[0] == "B2B sales process (8 steps)"
    assert result.lines[1].startswith("version 1 (not active)")


def test_show_yaml_prints_the_stored_file_verbatim(run: Any, renamed_file: Path) -> None:
    run("process", "apply", str(renamed_file))

    result = run("process", "show", "--yaml")

    assert result.out == renamed_file.read_text(encoding="utf-8")


def test_show_an_unknown_version_names_the_known_ones(run: Any, default_file: Path) -> None:
    run("process", "apply", str(default_file))

    result = run("process", "show", "--version", "7")

    assert result.code == 1
    assert result.err.strip() == "dealcraft: there is no process version 7 (versions: 1)"


def test_show_on_an_empty_database_applies_the_default_process(run: Any) -> None:
    result = run("process", "show")

    assert result.code == 0
    assert result.lines[0] == "B2B sales process (8 steps)"
    assert ProcessVersion.objects.get().note == "default process"
