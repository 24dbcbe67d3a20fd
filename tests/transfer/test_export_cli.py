"""`dealcraft export`: files an operator can hand on, never half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dealcraft.cli import main

from .conftest import read_csv, read_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams(org: Any, make_deal: Any) -> None:
    make_deal(name="North rollout")
    make_deal(owner=org.charlie, name="South rollout")


def test_console_exports_every_deal(run: Any, tmp_path: Path, two_teams: None) -> None:
    out = tmp_path / "deals.csv"
    code, printed, _ = run("export", "deals", "--out", str(out))
    assert code == 0
    assert printed.startswith(f"exported 2 deals to {out} (csv")
    assert {r["name"] for r in read_csv(out.read_bytes())} == {"North rollout", "South rollout"}


def test_export_as_a_user_is_limited_to_what_they_see(run: Any, tmp_path: Path,
                                                      two_teams: None) -> None:
    out = tmp_path / "deals.xlsx"
    assert run("export", "deals", "--out", str(out), "--as", "charlie")[0] == 0
    assert [r["name"].value for r in read_xlsx(out)] == ["South rollout"]


def test_format_follows_the_file_name_unless_given(run: Any, tmp_path: Path,
                                                   two_teams: None) -> None:
    out = tmp_path / "deals.xlsx"
    run("export", "deals", "--out", str(out))
    assert out.read_bytes()[:2] == b"PK"
    forced = tmp_path / "deals.xlsx.txt"
    run("export", "deals", "--out", str(forced), "--format", "xlsx")
    assert forced.read_bytes()[:2] == b"PK"


def test_csv_to_standard_output(two_teams: None, capsysbinary: Any) -> None:
    assert main(["export", "deals", "--out", "-", "--status", "open"]) == 0
    rows = read_csv(capsysbinary.readouterr().out)
    assert {r["name"] for r in rows} == {"North rollout", "South rollout"}


def test_xlsx_cannot_go_to_standard_output(run: Any, two_teams: None) -> None:
    code, _, err = run("export", "deals", "--out", "-", "--format", "xlsx")
    assert code == 1
    assert "an XLSX export needs a file" in err


def test_a_refused_export_leaves_no_file(run: Any, tmp_path: Path, two_teams: None) -> None:
    out = tmp_path / "deals.csv"
    code, _, err = run("export", "deals", "--out", str(out), "--as", "nobody")
    assert code == 1 and "there is no user 'nobody'" in err
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_reported(run: Any, tmp_path: Path, two_teams: None) -> None:
    code, _, err = run("export", "deals", "--out", str(tmp_path / "nope" / "d.csv"))
    assert code == 1 and "no directory" in err
