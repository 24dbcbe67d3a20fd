"""`dealcraft process validate FILE`: every problem as FILE:LINE: message, no database needed.

These tests have no `db` fixture: pytest-django fails any of them that touches the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dealcraft.processes.services import default_process_source

from .conftest import run_program

BROKEN = """\
name: "Broken process"
colour: blue
stakeholder_roles:
  - key: champion
    name: "Champion"
frameworks:
  - key: bant
    name: "BANT"
    criteria:
      - key: budget
        name: "Budget"
qualification:
  framework: bant
  threshold: 140
stages:
  - key: first
    name: "First"
    purpose: "Start."
    probability: "ten"
    forecast_category: pipeline
    rotting_days: 14
    next: [second]
    exit_criteria:
      - key: called_since
        kind: activity
        activity: call
        since_stage: nowhere
        label: "Call since an unknown stage"
      - key: budget_known
        kind: field_set
        field: budget_owner
        label: "Budget owner known"
      - key: scored
        kind: qualification_score
        framework: meddicc
        min: 50
        label: "Scored"
  - key: second
    name: "Second"
    purpose: "Middle."
    probability: 50
    forecast_category: pipeline
    rotting_days: 14
    next: [won]
  - key: second
    name: "Second again"
    purpose: "A duplicate."
    probability: 60
    forecast_category: pipeline
    rotting_days: 14
  - key: island
    name: "Island"
    purpose: "Nobody leads here."
    probability: 70
    forecast_category: commit
    rotting_days: 14
outcomes:
  won: {}
  lost: {}
"""


def line_of(fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of BROKEN containing `fragment`."""
    hits = [n for n, text in enumerate(BROKEN.splitlines(), 1) if fragment in text]
    return hits[occurrence - 1]


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_the_default_process_file_is_valid(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "process.yaml"
    path.write_text(default_process_source(), encoding="utf-8")

    result = run("process", "validate", str(path))

    assert result.code == 0
    assert result.out.startswith(f"{path}: valid (6 stages, ")


def test_every_problem_is_printed_with_its_line(run: Any, broken_file: Path) -> None:
    result = run("process", "validate", str(broken_file))

    assert result.code == 1
    f = str(broken_file)
    expected = {
        "unknown key": (line_of("colour: blue"), "unknown key 'colour'"),
        "wrong type": (line_of('probability: "ten"'), "probability must be a whole number"),
        "duplicate stage key": (line_of("- key: second", 2), "duplicate stage key 'second'"),
        "unknown stage": (line_of("since_stage: nowhere"), "unknown stage 'nowhere'"),
        "unknown field": (line_of("field: budget_owner"), "unknown field 'budget_owner'"),
        "unknown framework": (line_of("framework: meddicc"), "unknown framework 'meddicc'"),
        "unreachable stage": (line_of("- key: island"), "stage 'island' is unreachable"),
        "threshold out of range": (line_of("threshold: 140"), "threshold 140 is out of range"),
    }
    for what, (line, message) in expected.items():
        prefix = f"{f}:{line}: "
        assert any(out.startswith(prefix) and message in out for out in result.lines), \
            f"{what}: no line starting {prefix!r} and containing {message!r}"
    assert len(result.lines) == len(expected)
    assert all(out.startswith(f"{f}:") for out in result.lines)
    assert f"{len(expected)} problems" in result.err


def test_an_empty_file_is_a_problem(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")

    result = run("process", "validate", str(path))

    assert result.code == 1
    assert result.lines == [f"{path}:0: the file is empty"]


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.yaml"


def _directory(tmp_path: Path) -> Path:
    return tmp_path


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.yaml"
    path.write_bytes('name: "Vente à la française"\n'.encode("latin-1"))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (_missing, "no such file"),
    (_directory, "is a directory"),
    (_latin1, "not UTF-8 text (byte 0xe0 on line 1)"),
])
def test_an_unreadable_file_is_one_line_on_stderr(run: Any, tmp_path: Path, make: Any,
                                                  message: str) -> None:
    path = make(tmp_path)

    result = run("process", "validate", str(path))

    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [result.err.strip()]
    assert result.err.startswith(f"{path}:0: ")
    assert message in result.err


def test_a_utf8_byte_order_mark_is_accepted(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + default_process_source().encode("utf-8"))

    assert run("process", "validate", str(path)).code == 0


def test_validate_works_without_a_usable_database_or_settings(
        program_env: dict[str, str], broken_file: Path, tmp_path: Path) -> None:
    program_env["DEALCRAFT_DATABASE_URL"] = "nosuchdb://nowhere"
    program_env["DEALCRAFT_PORT"] = "not a port"
    good = tmp_path / "process.yaml"
    good.write_text(default_process_source(), encoding="utf-8")

    assert run_program("process", "validate", str(good), env=program_env).code == 0
    bad = run_program("process", "validate", str(broken_file), env=program_env)
    assert bad.code == 1
    assert "Traceback" not in bad.err
    assert f"{broken_file}:{line_of('colour: blue')}: unknown key 'colour'" in bad.out
