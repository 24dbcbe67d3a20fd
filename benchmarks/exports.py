"""Export speed and memory: `dealcraft export deals` against a bare `csv.writer`.

    .venv/bin/python benchmarks/exports.py [--deals 100000] [--keep DIR]

Builds the demo company with N deals in a fresh SQLite database (or uses the database in
DEALCRAFT_DATABASE_URL when it already holds deals), then runs, each in a process of its own
so that each peak resident memory (RSS) is its own:

- baseline: one SQL query over the same columns and joins, every row handed to a bare
  `csv.writer` (no conversion, no neutralisation, no visibility);
- dealcraft CSV: the export as `dealcraft export deals --format csv` writes it;
- dealcraft CSV over a tenth of the deals (`--status` picks a subset): memory must not grow
  with the number of rows;
- dealcraft XLSX.

Prints rows/s and peak RSS for each; the last line is
`ratio=<dealcraft CSV time / baseline time> dealcraft_s=<a> baseline_s=<b> rows=<n>
dealcraft_rss_mb=<m> baseline_rss_mb=<m>`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEAL_SQL = """
SELECT d.id, d.name, a.name, u.username, t.name, d.stage, d.status, d.amount, d.currency,
       d.probability, d.forecast_category, d.expected_close, d.created_at, d.stage_entered_at,
       d.closed_at, d.lost_reason, d.lost_reason_category, d.lost_from_stage, n.text, n.due,
       d.external_source, d.external_id
FROM deals_deal d
LEFT JOIN crm_account a ON a.id = d.account_id
JOIN people_user u ON u.id = d.owner_id
LEFT JOIN people_team t ON t.id = d.team_id
LEFT JOIN deals_nextstep n ON n.id = d.next_step_id
ORDER BY d.id
"""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
    import django

    django.setup()


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, out: Path) -> dict[str, float]:
    """Run one measured phase in this process; returns rows, seconds and peak RSS."""
    _setup()
    started = time.perf_counter()
    if name == "baseline":
        import csv

        from django.db import connection

        rows = 0
        with out.open("w", newline="", encoding="utf-8") as handle, \
                connection.cursor() as cursor:
            writer = csv.writer(handle)
            cursor.execute(DEAL_SQL)
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
                rows += len(batch)
    else:
        from dealcraft.transfer.exports import write_csv, write_xlsx
        from dealcraft.transfer.services import DealScope, start_export

        fmt = "xlsx" if name == "xlsx" else "csv"
        scope = DealScope(status="won") if name == "csv-subset" else DealScope()
        export = start_export(acting_user=None, kind="deals", fmt=fmt, via="cli", scope=scope)
        if fmt == "csv":
            with out.open("wb") as handle:
                rows = write_csv(export, handle)
        else:
            rows = write_xlsx(export, out)
    return {"rows": rows, "seconds": time.perf_counter() - started,
            "rss_mb": _peak_rss_mb()}


def run_phase(name: str, folder: Path, env: dict[str, str]) -> dict[str, float]:
    out = folder / f"{name}.{'xlsx' if name == 'xlsx' else 'csv'}"
    done = subprocess.run([sys.executable, __file__, "--phase", name, "--out", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"phase {name} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.out))))
        return 0

    folder = Path(args.keep or tempfile.mkdtemp(prefix="dealcraft-bench-exports-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DEALCRAFT_HOME", str(folder / "home"))
    env.setdefault("DEALCRAFT_DATABASE_URL", f"sqlite:///{folder / 'home' / 'bench.sqlite3'}")
    check = subprocess.run(
        [sys.executable, "-c", "import os, django; "
         "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'dealcraft.settings'); "
         "django.setup(); from django.core.management import call_command; "
         "call_command('migrate', verbosity=0); from dealcraft.deals.models import Deal; "
         "print(Deal.objects.count())"], env=env, capture_output=True, text=True, check=True)
    existing = int(check.stdout.strip().splitlines()[-1])
    if existing == 0:
        print(f"building the demo company with {args.deals:,} deals …", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dealcraft", "demo", "--deals", str(args.deals),
                        "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  built in {time.perf_counter() - started:.0f}s", flush=True)
    results = {name: run_phase(name, folder, env)
               for name in ("baseline", "csv", "csv-subset", "xlsx")}
    print(f"{'phase':<22}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'peak RSS MB':>14}")
    labels = {"baseline": "baseline csv.writer", "csv": "dealcraft CSV",
              "csv-subset": "dealcraft CSV (won)", "xlsx": "dealcraft XLSX"}
    for name, r in results.items():
        print(f"{labels[name]:<22}{int(r['rows']):>10,}{r['seconds']:>10.2f}"
              f"{r['rows'] / max(r['seconds'], 1e-9):>12,.0f}{r['rss_mb']:>14.1f}")
    base, ours = results["baseline"], results["csv"]
    print(f"memory: {ours['rss_mb']:.1f} MB for {int(ours['rows']):,} rows, "
          f"{results['csv-subset']['rss_mb']:.1f} MB for "
          f"{int(results['csv-subset']['rows']):,} rows")
    print(f"ratio={ours['seconds'] / base['seconds']:.2f} dealcraft_s={ours['seconds']:.2f} "
          f"baseline_s={base['seconds']:.2f} rows={int(ours['rows'])} "
          f"dealcraft_rss_mb={ours['rss_mb']:.1f} baseline_rss_mb={base['rss_mb']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
