"""Forecasting reports' speed: `forecast`, `accuracy`, `calibration` and `criteria` against
hand-written DuckDB queries over the same extract, in the same run.

    .venv/bin/python benchmarks/forecasting.py [--deals 20000] [--keep DIR]

Builds the demo company with N deals in a fresh SQLite database under a temporary
DEALCRAFT_HOME (or DIR with --keep; an existing database there is reused), refreshes the
columnar extract, then times each report computed from scratch (no cache) and a baseline
that answers the report's core question with one hand-written query:

- forecast: open deals' amount × probability per currency and quarter of expected close;
- accuracy: the ASOF join of every deal to its state at each week start of the last four
  quarters, summed per currency and week;
- calibration: closed deals per stage they entered, and how many were won;
- criteria: per criterion, closed deals that met it or not at their gates, and wins.

Then the cached report (what the pages and the API serve until the extract changes) and a
page render through Django's test client. Prints one line per report and ends with
`ratio=<x> dealcraft_s=<a> baseline_s=<b> peak_rss_mb=<m>` (sums over the four reports).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BASELINES = {
    "forecast": """
        SELECT currency, date_trunc('quarter', expected_close) AS q,
               sum(amount * probability / 100)
        FROM deals WHERE status = 'open' AND forecast_category <> 'omitted'
        GROUP BY ALL""",
    "calibration": """
        SELECT h.to_stage, count(DISTINCT h.deal_id),
               count(DISTINCT h.deal_id) FILTER (WHERE d.status = 'won')
        FROM history h JOIN deals d ON d.id = h.deal_id
        WHERE d.status <> 'open' AND h.kind <> 'update' GROUP BY h.to_stage""",
    "criteria": """
        SELECT g.gate, g.criterion, g.met, count(DISTINCT g.deal_id),
               count(DISTINCT g.deal_id) FILTER (WHERE d.status = 'won')
        FROM gate_criteria g JOIN deals d ON d.id = g.deal_id
        WHERE d.status <> 'open' GROUP BY ALL""",
}


def accuracy_baseline(today: date) -> str:
    starts = []
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    for _ in range(4):
        quarter = (quarter.replace(day=1) - timedelta(days=1)).replace(day=1)
        quarter = quarter.replace(month=3 * ((quarter.month - 1) // 3) + 1)
        starts += [quarter + timedelta(days=7 * w) for w in range(13)]
    values = ", ".join(f"(TIMESTAMP '{d.isoformat()} 00:00:00')" for d in starts)
    return f"""
        WITH m(t) AS (VALUES {values}),
        g AS (SELECT d.id, d.currency, m.t FROM deals d CROSS JOIN m
              WHERE d.created_at < m.t + INTERVAL 100 DAY
                AND (d.closed_at IS NULL OR d.closed_at >= m.t - INTERVAL 100 DAY))
        SELECT g.currency, g.t, sum(h.amount * h.probability / 100)
        FROM g ASOF JOIN history h ON h.deal_id = g.id AND h."at" <= g.t
        WHERE h.to_stage NOT IN ('won', 'lost') GROUP BY ALL"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--keep", metavar="DIR", help="build (or reuse) the database here")
    args = parser.parse_args()
    home = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dealcraft-fc-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DEALCRAFT_HOME"] = str(home)
    os.environ.pop("DEALCRAFT_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from dealcraft.analytics.extract import columnar, refresh
    from dealcraft.analytics.registry import get, run
    from dealcraft.analytics.scope import Params
    from dealcraft.deals.models import Deal
    from dealcraft.demo.builder import build_demo
    from dealcraft.people.models import User

    call_command("migrate", interactive=False, verbosity=0)
    if not Deal.objects.exists():
        started = time.perf_counter()
        build_demo(deals=args.deals, seed=42)
        print(f"built the demo company: {args.deals:,} deals in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
    deals = Deal.objects.count()
    started = time.perf_counter()
    result = refresh(full=True)
    print(f"extract refreshed ({result.kind}) in {time.perf_counter() - started:.2f}s: "
          f"{deals:,} deals, {result.history:,} history rows", flush=True)
    today = datetime.now(UTC).date()
    queries = {**BASELINES, "accuracy": accuracy_baseline(today)}
    total_mine = total_base = 0.0
    for name in ("forecast", "accuracy", "calibration", "criteria"):
        report = get(name)
        started = time.perf_counter()
        report.compute(None, Params())
        mine = time.perf_counter() - started
        started = time.perf_counter()
        with columnar(refresh_first=False) as con:
            con.execute(queries[name]).fetchall()
        base = time.perf_counter() - started
        run(name, None)  # fill the cache
        started = time.perf_counter()
        run(name, None)
        cached = time.perf_counter() - started
        total_mine += mine
        total_base += base
        print(f"{name:12s} dealcraft_s={mine:.3f} baseline_s={base:.3f} "
              f"ratio={mine / base:.2f} cached_ms={cached * 1000:.1f}", flush=True)
    admin = User.objects.filter(role="admin").first()
    client: Any = Client()
    client.force_login(admin)
    for path in ("/forecast/", "/forecast/accuracy/", "/forecast/calibration/",
                 "/forecast/criteria/"):
        client.get(path)  # fill the cache for this user
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        print(f"page {path:24s} status={response.status_code} render_ms={elapsed * 1000:.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ratio={total_mine / total_base:.2f} dealcraft_s={total_mine:.3f} "
          f"baseline_s={total_base:.3f} peak_rss_mb={peak:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
