"""The full pipeline report through dealcraft, next to a hand-written DuckDB query over the
same extracted data, in the same run.

    .venv/bin/python benchmarks/analytics.py --deals 1000000
    .venv/bin/python benchmarks/analytics.py --deals 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench

Steps: build the demo company (`dealcraft demo --no-serve`, in a child process so that its
memory is not counted here) into a fresh SQLite file in a temporary directory (or into the
empty PostgreSQL database given); add amount/close-date update rows to the stage history
until it holds about `--history-per-deal` rows per deal (the demo writes about 3.5); build the
analytics extract (a full refresh); change 0.1% of the deals and refresh again (incremental);
then time the pipeline report through dealcraft (`registry.run("pipeline")`, cache off: the
staleness check, the extract and every figure) against one hand-written DuckDB query that
computes the same figures from the same extract file. Each side runs `--repeat` times; the
best of each is compared. Peak memory is printed for this process (the reports; on PostgreSQL
the refresh too) and for the largest child process (the demo build, or the refresh, which on
SQLite runs in a child process).

The last line is machine-readable:

    ratio=<dealcraft / baseline> dealcraft_s=<best seconds> baseline_s=<best seconds>
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--history-per-deal", type=float, default=9.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="",
                        help="build into this (empty) database instead of a fresh SQLite file")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dealcraft-analytics-"))
    try:
        return run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace, scratch: Path) -> int:
    os.environ["DEALCRAFT_HOME"] = str(scratch)
    os.environ["DEALCRAFT_DATABASE_URL"] = (args.database_url
                                            or f"sqlite:///{scratch / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    os.environ.pop("DEALCRAFT_ANALYTICS_DIR", None)

    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dealcraft", "demo", "--deals",
                           str(args.deals), "--seed", str(args.seed), "--no-serve"],
                          env=os.environ, capture_output=True, text=True, check=False)
    if done.returncode:
        print(done.stdout, done.stderr, file=sys.stderr)
        return 1
    build_s = time.perf_counter() - started

    import django

    django.setup()
    from django.db import connection

    from dealcraft.analytics import extract
    from dealcraft.analytics.registry import run as run_report
    from dealcraft.processes.services import active_process

    started = time.perf_counter()
    added = pad_history(connection, args.deals, args.history_per_deal)
    pad_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM deals_stagehistory")
        history = cursor.fetchone()[0]

    full = extract.refresh(full=True)
    touched = touch_deals(connection, args.deals)
    incremental = extract.refresh()
    path = extract.extract_path()
    size = path.stat().st_size if path else 0

    _, process = active_process()
    ours, theirs = [], []
    report: dict[str, Any] = {}
    base: dict[str, Any] = {}
    for _ in range(args.repeat):
        t = time.perf_counter()
        report = run_report("pipeline", None, use_cache=False)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        base = baseline(str(path), list(process.stage_keys))
        theirs.append(time.perf_counter() - t)
    check(report, base)
    first_page, cached_page = page_times()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024

    dealcraft_s, baseline_s = min(ours), min(theirs)
    print()
    print(f"analytics: {args.deals:,} deals, {history:,} stage-history rows on "
          f"{connection.vendor}")
    print(f"  demo build (child process)    {build_s:8.1f} s")
    print(f"  update rows added             {pad_s:8.1f} s   ({added:,} rows)")
    print(f"  extract, full refresh         {full.seconds:8.1f} s   "
          f"({full.deals:,} deals, {full.history:,} history rows; file {size / 1e6:,.0f} MB)")
    print(f"  extract, incremental refresh  {incremental.seconds:8.1f} s   "
          f"({incremental.kind}: {touched:,} deals changed, {incremental.deals:,} deals and "
          f"{incremental.history:,} history rows read)")
    print(f"  pipeline report (dealcraft)   {dealcraft_s:8.2f} s   runs: "
          + ", ".join(f"{s:.2f}" for s in ours))
    print(f"  hand-written DuckDB query     {baseline_s:8.2f} s   runs: "
          + ", ".join(f"{s:.2f}" for s in theirs))
    print(f"  report page, first (computes) {first_page * 1000:8.0f} ms")
    print(f"  report page, cached (best/10) {cached_page * 1000:8.0f} ms")
    print(f"  peak memory (this process)    {peak_gb:8.2f} GB")
    children_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    print(f"  peak memory (largest child)   {children_gb:8.2f} GB   (the demo build, or the "
          "SQLite refresh when larger)")
    print(f"ratio={dealcraft_s / baseline_s:.2f} dealcraft_s={dealcraft_s:.2f} "
          f"baseline_s={baseline_s:.2f}")
    return 0


def page_times() -> tuple[float, float]:
    """/reports/pipeline/ as an admin: the first request (computes and caches the report),
    then the best of ten requests served from the cache."""
    from django.test import Client

    from dealcraft.people.models import User

    client = Client()
    client.force_login(User.objects.filter(role="admin").order_by("id").first())
    times = []
    for _ in range(11):
        t = time.perf_counter()
        response = client.get("/reports/pipeline/")
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, response.status_code
    return times[0], min(times[1:])


def pad_history(connection: Any, deals: int, per_deal: float) -> int:
    """Add amount/close-date update rows (kind `update`) after stage entries, a few minutes
    later, until the history holds about `per_deal` rows per deal."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM deals_stagehistory")
        have = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM deals_stagehistory WHERE kind NOT IN "
                       "('won', 'lost', 'update')")
        eligible = cursor.fetchone()[0]
    want = int(deals * per_deal) - have
    added = 0
    minute = 1
    postgres = connection.vendor == "postgresql"
    while want - added > 0 and eligible:
        share = min(1.0, (want - added) / eligible)
        modulo = max(1, round(1 / share))
        shift = (f"at + interval '{minute} minutes'" if postgres
                 else f"strftime('%Y-%m-%d %H:%M:%S', at, '+{minute} minutes')")
        amount = "amount + 500" if minute % 2 else "amount - 500"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO deals_stagehistory (deal_id, kind, from_stage, to_stage, at, by_id, "
                "amount, currency, expected_close, forecast_category, probability, gate_result, "
                "override_reason, process_version_id) "
                f"SELECT deal_id, 'update', to_stage, to_stage, {shift}, by_id, "
                f"CASE WHEN amount > 1000 THEN {amount} ELSE amount END, currency, "
                "expected_close, forecast_category, probability, '{}', '', process_version_id "
                "FROM deals_stagehistory WHERE kind NOT IN ('won', 'lost', 'update') "
                f"AND id % {modulo} = {minute % modulo}")
            added += cursor.rowcount
        minute += 1
    return added


def touch_deals(connection: Any, deals: int) -> int:
    """Change 0.1% of the deals as a day of work would: open deals get a new amount and an
    update row."""
    count = max(1, deals // 1000)
    now = "CURRENT_TIMESTAMP" if connection.vendor == "postgresql" else \
        "strftime('%Y-%m-%d %H:%M:%S', 'now')"
    chosen = (f"id IN (SELECT id FROM deals_deal WHERE status = 'open' ORDER BY id "
              f"LIMIT {count})")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE deals_deal SET amount = amount + 100, updated_at = {now} "
                       f"WHERE {chosen}")
        changed = cursor.rowcount
        cursor.execute(
            "INSERT INTO deals_stagehistory (deal_id, kind, from_stage, to_stage, at, by_id, "
            "amount, currency, expected_close, forecast_category, probability, gate_result, "
            "override_reason, process_version_id) "
            f"SELECT id, 'update', stage, stage, {now}, owner_id, amount, currency, "
            "expected_close, forecast_category, probability, '{}', '', process_version_id "
            f"FROM deals_deal WHERE {chosen}")
    return int(changed)


def baseline(path: str, keys: list[str]) -> dict[str, Any]:
    """The pipeline report's figures, written by hand as one DuckDB query per part, with no
    visibility, registry, cache or formatting around them."""
    import duckdb

    from dealcraft.analytics.extract import DUCKDB_MEMORY

    con = duckdb.connect(path, read_only=True,
                         config={"memory_limit": DUCKDB_MEMORY, "threads": 2})
    try:
        order = [*keys, "won"]
        case = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(order))
        firsts = ", ".join(f'min("at") FILTER (WHERE ord = {i}) f{i}, '
                           f'max("at") FILTER (WHERE ord > {i}) l{i}, '
                           f"bool_or(from_stage = '{k}' AND to_stage = '{order[i + 1]}') d{i}"
                           for i, k in enumerate(keys))
        sums = ", ".join(f"count(f{i}), count(*) FILTER (WHERE l{i} >= f{i}), "
                         f"count(*) FILTER (WHERE f{i} IS NOT NULL AND d{i})"
                         for i in range(len(keys)))
        funnel = con.execute(f"""
            WITH h AS (SELECT deal_id, "at", from_stage, to_stage, CASE to_stage {case} END ord
                       FROM history WHERE kind <> 'update'),
                 p AS (SELECT deal_id, {firsts} FROM h GROUP BY deal_id)
            SELECT {sums} FROM p""").fetchone()
        in_keys = ", ".join(f"'{k}'" for k in keys)
        stays = con.execute(f"""
            WITH h AS (SELECT to_stage, "at", lead("at") OVER (PARTITION BY deal_id
                                                           ORDER BY "at", id) nxt
                       FROM history WHERE kind <> 'update')
            SELECT to_stage, count(*), median(epoch(nxt - "at") / 86400.0),
                   quantile_cont(epoch(nxt - "at") / 86400.0, 0.9)
            FROM h WHERE nxt IS NOT NULL AND to_stage IN ({in_keys}) GROUP BY 1""").fetchall()
        deals = con.execute("""
            SELECT currency, count(*) FILTER (WHERE status = 'open'),
                   count(*) FILTER (WHERE status = 'won'), count(*) FILTER (WHERE status = 'lost'),
                   sum(amount) FILTER (WHERE status = 'open'),
                   sum(amount) FILTER (WHERE status = 'won'),
                   sum(amount) FILTER (WHERE status = 'lost'),
                   avg(amount) FILTER (WHERE status = 'won'),
                   avg(epoch(closed_at - created_at) / 86400.0) FILTER (WHERE status = 'won')
            FROM deals GROUP BY 1""").fetchall()
    finally:
        con.close()
    return {"funnel": funnel, "stays": stays, "deals": deals}


def check(report: dict[str, Any], base: dict[str, Any]) -> None:
    """Both sides must have computed the same figures."""
    funnel = base["funnel"]
    for i, stage in enumerate(report["funnel"]):
        got = (stage["reached"], stage["reached_later"], stage["direct"])
        want = tuple(int(v) for v in funnel[3 * i:3 * i + 3])
        assert got == want, (stage["key"], got, want)
    stays = {key: n for key, n, *_ in base["stays"]}
    for stage in report["time_in_stage"]:
        assert stage["stays"] == stays.get(stage["key"], 0), stage
    total = sum(o + w + lo for _, o, w, lo, *_ in base["deals"])
    assert report["deals"]["total"] == total, (report["deals"], total)


if __name__ == "__main__":
    sys.exit(main())
