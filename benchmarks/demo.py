"""How fast the demo company builds, next to a bare insert of the same deal and history rows.

    .venv/bin/python benchmarks/demo.py --deals 1000000
    .venv/bin/python benchmarks/demo.py --deals 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench

Without --database-url the build goes into a fresh SQLite file in a temporary directory
(removed afterwards); a PostgreSQL database given by URL must be empty of deals (it is
migrated first). The baseline, in the same run and on the same kind of database, inserts as
many deal rows and stage-history rows as the build wrote, with a plain `executemany` into bare
tables (no indexes, no Django). The last line is machine-readable:

    ratio=<build / baseline> dealcraft_s=<build seconds> baseline_s=<baseline seconds>
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GATE_RESULT = ('{"from":"discovery","to":"solution","direction":"forward","gates":[{"stage":'
               '"discovery","mode":"enforce","met":["pain_points_identified",'
               '"success_criteria_set","economic_buyer_named","urgency_set",'
               '"decision_process_set","discovery_meeting_held"],"unmet":[]}],"blocking":[],'
               '"warnings":[]}')
DEAL_COLUMNS = ("id", "name", "account_id", "owner_id", "amount", "currency", "expected_close",
                "stage", "status", "fields", "created_at")
HISTORY_COLUMNS = ("deal_id", "kind", "from_stage", "to_stage", "at", "by_id", "amount",
                   "currency", "expected_close", "gate_result")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default="",
                        help="build into this database instead of a fresh SQLite file")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="dealcraft-bench-"))
    try:
        return run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace, scratch: Path) -> int:
    sqlite_path = scratch / "demo.sqlite3"
    os.environ["DEALCRAFT_HOME"] = str(scratch)
    os.environ["DEALCRAFT_DATABASE_URL"] = args.database_url or f"sqlite:///{sqlite_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dealcraft.demo.builder import build_demo

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    vendor = connection.vendor

    result = build_demo(deals=args.deals, seed=args.seed, progress=True)
    dealcraft_s = result.elapsed
    history = result.counts["history"]
    size = sqlite_path.stat().st_size if sqlite_path.exists() else 0
    connection.close()

    baseline_s = baseline(vendor, args.database_url, scratch, args.deals, history)

    print()
    print(f"dealcraft demo build: {args.deals:,} deals (seed {args.seed}) on {vendor}")
    print(f"  migrate (not counted)  {migrate_s:10.1f} s")
    print(f"  build                  {dealcraft_s:10.1f} s")
    print(f"  deals/s                {args.deals / dealcraft_s:12,.0f}")
    print(f"  rows written           {result.rows:12,}   ({result.rows / dealcraft_s:,.0f} rows/s)")
    for name in ("accounts", "contacts", "deals", "history", "evidence", "activities",
                 "stakeholders", "next_steps", "qualification_answers"):
        print(f"    {name:<22} {result.counts[name]:12,}")
    if size:
        print(f"  database size          {size / 1e9:10.2f} GB")
    print(f"  baseline               {baseline_s:10.1f} s   (bare executemany of "
          f"{args.deals:,} deal rows + {history:,} history rows, no indexes, no Django)")
    print(f"ratio={dealcraft_s / baseline_s:.2f} dealcraft_s={dealcraft_s:.1f} "
          f"baseline_s={baseline_s:.1f}")
    return 0


def _deal_rows(n: int) -> Iterator[tuple[Any, ...]]:
    fields = '{"segment":"mid_market","lead_source":"inbound","urgency":"high"}'
    for i in range(1, n + 1):
        yield (i, f"Account {i % 300_000}: Workflow automation rollout", i % 300_000 + 1,
               i % 15 + 1, 48_000 + i % 1000, "USD", "2025-06-30", "negotiation", "open",
               fields, "2025-01-15 10:30:00")


def _history_rows(n: int, deals: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        yield (i % deals + 1, "advance", "discovery", "solution", "2025-02-03 14:05:00",
               i % 15 + 1, 48_000 + i % 1000, "USD", "2025-06-30", GATE_RESULT)


def baseline(vendor: str, url: str, scratch: Path, deals: int, history: int) -> float:
    """Seconds to insert the same number of deal and history rows with nothing in the way."""
    create_deal = ("CREATE TABLE bench_deal (id bigint PRIMARY KEY, name varchar(255), "
                   "account_id bigint, owner_id bigint, amount decimal(18, 2), currency "
                   "varchar(3), expected_close date, stage varchar(64), status varchar(4), "
                   "fields text, created_at timestamp)")
    create_history = ("CREATE TABLE bench_history (deal_id bigint, kind varchar(10), "
                      "from_stage varchar(64), to_stage varchar(64), at timestamp, by_id "
                      "bigint, amount decimal(18, 2), currency varchar(3), expected_close "
                      "date, gate_result text)")
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(url.replace("postgresql://", "postgres://", 1)) as conn:
            cursor = conn.cursor()
            cursor.execute(create_deal.replace("CREATE TABLE", "CREATE TEMP TABLE"))
            cursor.execute(create_history.replace("CREATE TABLE", "CREATE TEMP TABLE"))
            started = time.perf_counter()
            _insert(cursor, "%s", deals, history)
            conn.commit()
            return time.perf_counter() - started
    conn3 = sqlite3.connect(scratch / "baseline.sqlite3", isolation_level=None)
    conn3.execute("PRAGMA synchronous = OFF")
    conn3.execute(create_deal)
    conn3.execute(create_history)
    started = time.perf_counter()
    conn3.execute("BEGIN")
    _insert(conn3.cursor(), "?", deals, history)
    conn3.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn3.close()
    return elapsed


def _insert(cursor: Any, mark: str, deals: int, history: int) -> None:
    cursor.executemany(f"INSERT INTO bench_deal ({', '.join(DEAL_COLUMNS)}) VALUES "
                       f"({', '.join([mark] * len(DEAL_COLUMNS))})", _deal_rows(deals))
    cursor.executemany(f"INSERT INTO bench_history ({', '.join(HISTORY_COLUMNS)}) VALUES "
                       f"({', '.join([mark] * len(HISTORY_COLUMNS))})",
                       _history_rows(history, deals))


if __name__ == "__main__":
    sys.exit(main())
