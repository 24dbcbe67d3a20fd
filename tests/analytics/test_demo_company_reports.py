"""The reports on a demo company against an independent pandas computation over rows read
with plain SQL — in-process on the test database (SQLite or PostgreSQL), and through the
`dealcraft` program on an SQLite file, where the extract is read over ADBC."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.db import connection

from dealcraft.analytics import extract
from dealcraft.analytics.registry import run
from dealcraft.analytics.scope import Params
from dealcraft.demo.builder import build_demo
from dealcraft.processes.services import active_process

from . import independent

DEALS = 400


def assert_matches(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["deals"] == want["deals"]
    assert got["amounts_by_currency"] == want["amounts_by_currency"]
    for row in got["funnel"]:
        assert (row["reached"], row["reached_later"], row["direct"]) == \
            want["funnel"][row["key"]], row["key"]
    for row in got["time_in_stage"]:
        n, median, p90 = want["stays"].get(row["key"], (0, None, None))
        assert (row["stays"], row["median_days"], row["p90_days"]) == (n, median, p90), row
    assert {c: v["per_day"] for c, v in got["velocity"].items()} == want["velocity"]


@pytest.mark.django_db(transaction=True)
def test_reports_on_the_demo_company_match_pandas(analytics_dir: Path) -> None:
    build_demo(deals=DEALS, seed=7)
    _, process = active_process()
    keys = list(process.stage_keys)
    with connection.cursor() as cursor:
        deals, history = independent.frames(cursor)

    got = run("pipeline", None, Params())

    want = independent.pipeline(deals, history, keys)
    assert got["deals"]["total"] == DEALS
    assert_matches(got, want)
    if extract.shared_source_visible():  # PostgreSQL: the extract file, read over ADBC
        assert extract.extract_path() is not None

    cohorts = run("cohorts", None, Params())["dimensions"]["rep"]
    closed = deals[deals.status != "open"]
    for row in cohorts:
        mine = closed[closed.owner_id == _user_id(row["key"])]
        won = int((mine.status == "won").sum())
        assert row["won"] == won and row["lost"] == len(mine) - won, row["key"]

    losses = run("losses", None, Params())
    lost = deals[deals.status == "lost"]
    assert {r["category"]: r["deals"] for r in losses["by_reason"]} == \
        lost.lost_reason_category.value_counts().to_dict()
    assert {r["stage"]: r["deals"] for r in losses["by_stage"]} == \
        lost.lost_from_stage.value_counts().to_dict()

    gated = history[history.kind.isin(["advance", "skip", "override", "won"])]
    gated = gated.merge(deals[["id", "owner_id"]], left_on="deal_id", right_on="id")
    forced = gated[(gated.kind == "override") | (gated.override_reason != "")]
    for row in run("adherence", None, Params())["reps"]:
        owner = _user_id(row["owner"])
        assert row["gated_moves"] == int((gated.owner_id == owner).sum()), row["owner"]
        assert row["overrides"] == int((forced.owner_id == owner).sum()), row["owner"]

    now = datetime.now(UTC).replace(tzinfo=None)
    stuck = run("stuck", None, Params().with_now(now))
    moves = history[history.kind != "update"].sort_values(["deal_id", "at", "id"])
    moves = moves.assign(next_at=moves.groupby("deal_id")["at"].shift(-1)).dropna(
        subset=["next_at"])
    days = (moves.next_at - moves["at"]).dt.total_seconds() / 86400
    p90 = days.groupby(moves.to_stage).quantile(0.9).to_dict()
    rotting = {s.key: s.rotting_days for s in process.stages}
    assert stuck["count"] == independent.stuck_count(deals, want["stays"], rotting, now, p90)
    assert stuck["count"] > 0


def _user_id(username: str) -> int:
    from dealcraft.people.models import User

    return User.objects.get(username=username).pk


def _program(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update({"DEALCRAFT_HOME": str(home),
                "DEALCRAFT_DATABASE_URL": f"sqlite:///{home / 'dealcraft.sqlite3'}",
                "DJANGO_SETTINGS_MODULE": "dealcraft.settings"})
    env.pop("DEALCRAFT_ANALYTICS_DIR", None)
    done = subprocess.run([sys.executable, "-m", "dealcraft", *argv], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_the_program_on_an_sqlite_file_reads_the_extract_over_adbc(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _program(home, "demo", "--deals", "300", "--seed", "3", "--no-serve")

    report = json.loads(_program(home, "report", "pipeline", "--json").stdout)

    database = sqlite3.connect(home / "dealcraft.sqlite3")
    try:
        deals, history = independent.frames(database.cursor())
        keys = [row["key"] for row in report["stages"]]
    finally:
        database.close()
    assert_matches(report, independent.pipeline(deals, history, keys))
    assert list((home / "analytics").glob("extract-*.duckdb"))
    # Unchanged database: nothing to do. A change through dealcraft: an incremental refresh.
    assert " none refresh" in _program(home, "report", "refresh").stdout
    _program(home, "createuser", "zoe", "--role", "rep", "--team", "North", "--password",
             "correct horse battery")
    assert " incremental refresh" in _program(home, "report", "refresh").stdout
    assert " full refresh" in _program(home, "report", "refresh", "--full").stdout
    reps = json.loads(_program(home, "report", "cohorts", "--json").stdout)
    assert pd.Series([r["deals"] for r in reps["dimensions"]["rep"]]).sum() == 300


SAME_PROCESS = """
import os, django
django.setup()
from dealcraft.analytics.extract import refresh
from dealcraft.deals.models import Deal
from dealcraft.deals.services import close_lost
assert refresh(full=True).kind == "full"
deal = Deal.objects.filter(status="open").order_by("id").first()
close_lost(acting_user=deal.owner, deal=deal, reason="No budget")
done = refresh()
print(done.kind, done.history)
"""


def test_a_change_made_in_the_same_process_is_seen_by_the_next_refresh(tmp_path: Path) -> None:
    # The process that writes through Django refreshes the extract right after: the SQLite
    # file is read without a second copy of SQLite in this process, so nothing is missed.
    home = tmp_path / "home"
    _program(home, "demo", "--deals", "60", "--seed", "5", "--no-serve")
    env = dict(os.environ)
    env.update({"DEALCRAFT_HOME": str(home),
                "DEALCRAFT_DATABASE_URL": f"sqlite:///{home / 'dealcraft.sqlite3'}",
                "DJANGO_SETTINGS_MODULE": "dealcraft.settings"})
    env.pop("DEALCRAFT_ANALYTICS_DIR", None)
    done = subprocess.run([sys.executable, "-c", SAME_PROCESS], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["incremental", "1"]
