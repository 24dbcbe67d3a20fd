"""How fast `dealcraft import` writes an export, next to a plain bulk insert of the same rows.

    .venv/bin/python benchmarks/imports.py --deals 1000000 [--bare]
    DEALCRAFT_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python benchmarks/imports.py --deals 100000

The run writes, in a temporary directory, an export of N deals with about 9 history rows each
(a deals CSV, a history CSV and the mapping file of `dealcraft import csv`), then:

- imports it with dealcraft (reading, checking, mapping, writing accounts, deals and stage
  history in one transaction) into a fresh database: an SQLite file in the temporary
  directory, or the PostgreSQL database of DEALCRAFT_DATABASE_URL (migrated first; it must
  hold no deals);
- as the baseline, in the same run and on the same kind of database, reads the same two CSV
  files with Python's csv module and inserts the same rows into the same tables of the same
  freshly migrated schema (on SQLite a copy of the file taken before the import; on
  PostgreSQL the import's tables, emptied): one account per account name, one deal row per
  deals-file record, one stage-history row per history-file record, every column filled,
  each cell as the file spells it (no checking, no conversion, constants for the columns the
  files do not carry). SQLite: `executemany` in one transaction with the import's own
  settings (`synchronous = OFF`, the page cache, deal and history indexes dropped first and
  built once at the end). PostgreSQL: `COPY`, indexes in place, as the import writes them.
  That is the least work that puts those rows into those tables: nothing is done to slow it.
- with `--bare`, for reference only, a narrower comparison: the files' cells inserted into
  bare tables of the files' own shape (11 and 5 columns, no indexes, no constraints).

Generating the files and migrating are not counted. Besides wall-clock seconds, the CPU time
of this process is shown for both (on a shared machine it varies less). The last line is
machine-readable:

    ratio=<import / baseline> dealcraft_s=<import seconds> baseline_s=<baseline seconds>
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STAGES = ("Prospecting", "Qualification", "Discovery", "Solution", "Proposal", "Négociation")
PROBABILITIES = (5, 10, 20, 40, 60, 80)
CURRENCIES = ("USD", "EUR", "GBP", "CHF")
OWNERS = 25
MAPPING = """\
source: bench
columns:
  id: Deal ID
  name: Deal name
  stage: Stage
  owner: Owner
  account: Account
  amount: Amount
  currency: Currency
  close_date: Close date
  created_at: Created
  closed_at: Closed
  probability: Probability
stages:
{stages}
  - {{name: Closed Won, won: true}}
  - {{name: Closed Lost, lost: true}}
history:
  file: history.csv
  columns: {{deal: Deal ID, at: Changed, stage: Stage, amount: Amount, close_date: Close date}}
"""
DEAL_HEADER = ("Deal ID", "Deal name", "Stage", "Owner", "Account", "Amount", "Currency",
               "Close date", "Created", "Closed", "Probability")
HISTORY_HEADER = ("Deal ID", "Changed", "Stage", "Amount", "Close date")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bare", action="store_true",
                        help="also time, for reference, an insert into bare narrow tables")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dealcraft-import-bench-"))
    try:
        return run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def generate(folder: Path, deals: int, seed: int) -> tuple[int, float]:
    """Write deals.csv, history.csv and map.yaml; returns (history rows, seconds)."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    start = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
    history_rows = 0
    with open(folder / "deals.csv", "w", encoding="utf-8", newline="") as fd, \
            open(folder / "history.csv", "w", encoding="utf-8", newline="") as fh:
        deal_out, history_out = csv.writer(fd), csv.writer(fh)
        deal_out.writerow(DEAL_HEADER)
        history_out.writerow(HISTORY_HEADER)
        for i in range(1, deals + 1):
            key = f"D{i:08d}"
            at = start + timedelta(minutes=rnd.randrange(0, 700 * 24 * 60))
            amount = rnd.randrange(5_000, 500_000)
            close = (at + timedelta(days=rnd.randrange(30, 180))).date()
            outcome = rnd.random()
            last = rnd.randrange(3, 6) if outcome < 0.6 else 5
            rows: list[tuple[str, str, str, str, str]] = []
            for k in range(last + 1):
                rows.append((key, _stamp(at), STAGES[k], str(amount), close.isoformat()))
                at += timedelta(days=rnd.randrange(3, 20), minutes=rnd.randrange(0, 600))
                if k in (1, 2, 3):  # an amount or close-date change while in the stage
                    amount += rnd.randrange(-2_000, 4_000)
                    rows.append((key, _stamp(at), STAGES[k], str(amount), close.isoformat()))
                    at += timedelta(hours=rnd.randrange(1, 48))
            if outcome < 0.6:
                stage, closed, probability = STAGES[last], "", PROBABILITIES[last]
            else:
                stage = "Closed Won" if outcome < 0.8 else "Closed Lost"
                closed, probability = _stamp(at), (100 if stage == "Closed Won" else 0)
                rows.append((key, closed, stage, str(amount), close.isoformat()))
            history_out.writerows(rows)
            history_rows += len(rows)
            deal_out.writerow((key, f"Account {i % 300_000}: platform rollout", stage,
                               f"owner{i % OWNERS}@bench.example", f"Account {i % 300_000}",
                               str(amount), CURRENCIES[i % 4], close.isoformat(), rows[0][1],
                               closed, str(probability)))
    stages = "\n".join(f"  - {{name: {s}, probability: {p}}}"
                       for s, p in zip(STAGES, PROBABILITIES, strict=True))
    (folder / "map.yaml").write_text(MAPPING.format(stages=stages), encoding="utf-8")
    return history_rows, time.perf_counter() - started


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def run(args: argparse.Namespace, scratch: Path) -> int:
    url = os.environ.get("DEALCRAFT_DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = f"sqlite:///{scratch / 'import.sqlite3'}"
    os.environ["DEALCRAFT_HOME"] = str(scratch)
    os.environ["DEALCRAFT_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    history, generate_s = generate(scratch, args.deals, args.seed)
    size = (scratch / "deals.csv").stat().st_size + (scratch / "history.csv").stat().st_size

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dealcraft.deals.models import Deal
    from dealcraft.imports.csvmap import load_mapping, read_csv
    from dealcraft.imports.services import run_import
    from dealcraft.people.services import create_user

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    if Deal.objects.exists():
        print("the database already holds deals: give an empty one", file=sys.stderr)
        return 2
    admin = create_user(acting_user=None, username="bench-admin", role="admin")
    vendor = connection.vendor
    fresh = scratch / "baseline.sqlite3"
    if vendor == "sqlite":  # the baseline's database: the same freshly migrated schema
        connection.close()
        for suffix in ("", "-wal"):
            if (scratch / f"import.sqlite3{suffix}").exists():
                shutil.copyfile(scratch / f"import.sqlite3{suffix}", f"{fresh}{suffix}")

    started, cpu_started = time.perf_counter(), time.process_time()
    mapping = load_mapping(scratch / "map.yaml")
    export = read_csv(scratch / "deals.csv", mapping)
    result = run_import(export, acting_user=admin, stage_map=mapping.stage_map,
                        owner_map=mapping.owner_map, value_maps=mapping.value_maps,
                        progress=True)
    dealcraft_s = time.perf_counter() - started
    dealcraft_cpu = time.process_time() - cpu_started
    if not result.committed:
        for problem in result.problems[:20]:
            print(problem, file=sys.stderr)
        print("the import did not complete", file=sys.stderr)
        return 1
    db_size = (scratch / "import.sqlite3").stat().st_size if vendor == "sqlite" else 0

    cpu_started = time.process_time()
    baseline_s = same_tables(vendor, url, scratch, fresh if vendor == "sqlite" else None)
    baseline_cpu = time.process_time() - cpu_started
    connection.close()
    bare_s = bare_tables(vendor, url, scratch) if args.bare else 0.0

    counts = result.counts
    print()
    print(f"dealcraft import: {args.deals:,} deals, {history:,} history rows on {vendor}")
    print(f"  export files (not counted) {size / 1e6:10.1f} MB, written in {generate_s:.1f} s")
    print(f"  migrate (not counted)      {migrate_s:10.1f} s")
    print(f"  import                     {dealcraft_s:10.1f} s   "
          f"({(args.deals + history) / dealcraft_s:,.0f} rows/s)")
    for kind in ("users", "accounts", "deals", "history"):
        c = counts[kind]
        print(f"    {kind:<24} {c.created:12,} created {c.updated:8,} updated "
              f"{c.unchanged:8,} unchanged")
    print("  where the import's time went:")
    for phase, seconds in result.phase_seconds.items():
        print(f"    {phase:<28} {seconds:8.1f} s")
    if db_size:
        print(f"  database size              {db_size / 1e9:10.2f} GB")
    how = "COPY" if vendor == "postgresql" else "executemany"
    print(f"  baseline                   {baseline_s:10.1f} s   (csv.reader of the same two "
          f"files, {how} of the same rows into the same tables)")
    if args.bare:
        print(f"  (for reference: {how} of the files' cells into bare narrow tables "
              f"{bare_s:.1f} s, ratio {dealcraft_s / bare_s:.2f})")
    print(f"  CPU time of this process   {dealcraft_cpu:10.1f} s import, {baseline_cpu:.1f} s "
          f"baseline (ratio {dealcraft_cpu / baseline_cpu:.2f}"
          f"{'; the server side of COPY is not counted' if vendor == 'postgresql' else ''})")
    print(f"ratio={dealcraft_s / baseline_s:.2f} dealcraft_s={dealcraft_s:.1f} "
          f"baseline_s={baseline_s:.1f}")
    return 0


def same_tables(vendor: str, url: str, scratch: Path, target: Path | None) -> float:
    """Seconds to read the two CSV files and insert the same rows, with every column filled,
    into the import's own tables of a freshly migrated schema, as plainly and quickly as the
    database allows: one account row per account name, one deal row per deals-file record and
    one stage-history row per history-file record, each cell as the file spells it (no
    checking, no conversion), the columns the files do not carry given constants, a deal's
    id found through a dict. On SQLite: `executemany` in one transaction, with the same
    settings as the import (`synchronous = OFF`, the page cache, the deal and history indexes
    dropped first and built once at the end); on PostgreSQL: `COPY` (the import's tables
    emptied first, their indexes in place, as the import writes them)."""
    from dealcraft.crm.models import Account
    from dealcraft.deals.models import Deal, StageHistory
    from dealcraft.imports.bulk import SQLITE_CACHE_KIB, column
    from dealcraft.imports.services import ACCOUNT_FIELDS, DEAL_FIELDS, HISTORY_FIELDS
    from dealcraft.people.models import User
    from dealcraft.processes.models import ProcessVersion

    owner = User.objects.get(username="bench-admin").pk
    version = ProcessVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    tables = {model: (model._meta.db_table, [column(model, f) for f in fields])
              for model, fields in ((Account, ACCOUNT_FIELDS), (Deal, DEAL_FIELDS),
                                    (StageHistory, HISTORY_FIELDS))}

    def rows(name: str) -> Any:
        with open(scratch / name, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            yield from reader

    deal_ids: dict[str, int] = {}
    account_ids: dict[str, int] = {}
    new_accounts: list[tuple[Any, ...]] = []

    def deals() -> Any:
        # Deal ID, Deal name, Stage, Owner, Account, Amount, Currency, Close date, Created,
        # Closed, Probability
        for n, (key, name, stage, _, acc, amount, currency, close, created, closed,
                probability) in enumerate(rows("deals.csv"), start=1):
            deal_ids[key] = n
            account = account_ids.get(acc)
            if account is None:
                account = account_ids[acc] = len(account_ids) + 1
                new_accounts.append((account, acc, "", "", None, "", None, "bench", acc, now))
            yield (n, name, account, owner, None, amount, currency, close, stage, "open",
                   "pipeline", probability, "{}", version, None, created, created, now,
                   closed or None, "", "", "", 1, "bench", key)

    def history() -> Any:
        # Deal ID, Changed, Stage, Amount, Close date
        for key, at, stage, amount, close in rows("history.csv"):
            yield (deal_ids[key], "update", "", stage, at, None, amount, "USD", close,
                   "pipeline", 0, "{}", "", version)

    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(url.replace("postgresql://", "postgres://", 1)) as conn:
            cursor = conn.cursor()
            names = ", ".join(table for table, _ in tables.values())
            cursor.execute(f"TRUNCATE {names} CASCADE")
            conn.commit()
            started = time.perf_counter()
            deal_rows = list(deals())  # the accounts first: deals point at them
            for model, source in ((Account, new_accounts), (Deal, deal_rows),
                                  (StageHistory, history())):
                table, cols = tables[model]
                with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in source:
                        copy.write_row(row)
            conn.commit()
            return time.perf_counter() - started
    assert target is not None
    conn3 = sqlite3.connect(target, isolation_level=None)
    conn3.execute("PRAGMA synchronous = OFF")
    conn3.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    started = time.perf_counter()
    conn3.execute("BEGIN")
    indexes = conn3.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
        "tbl_name IN (?, ?)", (tables[Deal][0], tables[StageHistory][0])).fetchall()
    for name, _ in indexes:
        conn3.execute(f'DROP INDEX "{name}"')

    def insert(model: Any, source: Any) -> None:
        table, cols = tables[model]
        conn3.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                          f"({', '.join('?' * len(cols))})", source)

    insert(Deal, deals())
    insert(Account, new_accounts)
    insert(StageHistory, history())
    for _, sql in indexes:
        conn3.execute(sql)
    conn3.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn3.close()
    return elapsed


def bare_tables(vendor: str, url: str, scratch: Path) -> float:
    """For reference: seconds to read the two CSV files and insert their cells into bare
    tables of the files' own narrow shape (no indexes, no Django)."""
    deal_cols = ", ".join(f"c{i}" for i in range(len(DEAL_HEADER)))
    history_cols = ", ".join(f"c{i}" for i in range(len(HISTORY_HEADER)))
    create = [
        f"CREATE TABLE bench_deal ({', '.join(f'c{i} text' for i in range(len(DEAL_HEADER)))})",
        "CREATE TABLE bench_history (c0 text, c1 timestamp, c2 text, c3 decimal(18, 2), "
        "c4 date)",
    ]

    def rows(name: str) -> Any:
        with open(scratch / name, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            yield from reader

    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(url.replace("postgresql://", "postgres://", 1)) as conn:
            cursor = conn.cursor()
            for sql in create:
                cursor.execute(sql.replace("CREATE TABLE", "CREATE TEMP TABLE"))
            started = time.perf_counter()
            for table, cols, name in (("bench_deal", deal_cols, "deals.csv"),
                                      ("bench_history", history_cols, "history.csv")):
                with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows(name):
                        copy.write_row([value or None for value in row])
            conn.commit()
            return time.perf_counter() - started
    conn3 = sqlite3.connect(scratch / "bare.sqlite3", isolation_level=None)
    conn3.execute("PRAGMA synchronous = OFF")
    for sql in create:
        conn3.execute(sql)
    started = time.perf_counter()
    conn3.execute("BEGIN")
    conn3.executemany(f"INSERT INTO bench_deal ({deal_cols}) VALUES "
                      f"({', '.join('?' * len(DEAL_HEADER))})", rows("deals.csv"))
    conn3.executemany(f"INSERT INTO bench_history ({history_cols}) VALUES "
                      f"({', '.join('?' * len(HISTORY_HEADER))})", rows("history.csv"))
    conn3.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn3.close()
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
