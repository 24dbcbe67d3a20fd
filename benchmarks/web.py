"""Response times of the pipeline board and the deal page on the production server.

    .venv/bin/python benchmarks/web.py --deals 100000
    .venv/bin/python benchmarks/web.py --deals 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench

Builds the demo company (`build_demo`) into a fresh SQLite file in a temporary directory
(removed afterwards), or into the database given by URL (migrated first; a demo company
already there is reused) and gathers planner statistics (`ANALYZE`). Then starts
`dealcraft serve` (gunicorn) on a free port, signs in as a demo user and times, one request
at a time after a warm-up:

- the board page `/pipeline/` (column headers with their totals),
- a board column as htmx loads it (`/pipeline/columns/<stage>/`, the first 50 cards with their
  gate readiness), going round the stages,
- the deal page `/deals/<id>/` of open deals the user can see, a different deal each time,
- and, as the baseline in the same run, `/healthz` (one `SELECT 1` through the same server).

The demo company closes most of its deals (about one in twelve is open). `--all-open` then
reopens every closed deal in one of the open stages with a plain SQL update, so that the board
carries all of them: the case the lazy columns exist for.

The last two lines are machine-readable:

    column_p50_ms=… column_p99_ms=…
    board_p50_ms=… board_p99_ms=… deal_p50_ms=… deal_p99_ms=…
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default="",
                        help="use this database instead of a fresh SQLite file")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page")
    parser.add_argument("--user", default="mona",
                        help="demo user to sign in as (default: mona, manager of two teams)")
    parser.add_argument("--all-open", action="store_true",
                        help="reopen every closed deal so that all of them are on the board")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="dealcraft-web-bench-"))
    try:
        return run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare(args: argparse.Namespace, scratch: Path) -> tuple[list[str], list[int], int]:
    """Migrate and build the demo; the stage keys and some open deals the user can see."""
    os.environ["DEALCRAFT_HOME"] = str(scratch)
    os.environ["DEALCRAFT_DATABASE_URL"] = (args.database_url
                                            or f"sqlite:///{scratch / 'demo.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from dealcraft.deals.models import Deal
    from dealcraft.demo.builder import build_demo, existing_demo
    from dealcraft.people.models import User
    from dealcraft.people.permissions import visible_deals
    from dealcraft.processes.services import active_process

    call_command("migrate", verbosity=0)
    if existing_demo() is None:
        result = build_demo(deals=args.deals, seed=args.seed, progress=True)
        print(f"built the demo company in {result.elapsed:.1f} s", file=sys.stderr)
    _, process = active_process()
    if args.all_open:
        reopen_everything(process.stage_keys)
    # Planner statistics for the freshly loaded tables, as autovacuum gathers them in
    # production; without them PostgreSQL may scan whole tables for a page of cards.
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.get(username=args.user)
    visible = visible_deals(user, Deal.objects.filter(status="open"),
                            visibility=process.settings.visibility)
    total = Deal.objects.count()
    open_visible = visible.count()
    ids = list(visible.order_by("?").values_list("id", flat=True)[:max(args.requests, 50)])
    connections.close_all()
    print(f"{total:,} deals; {args.user} sees {open_visible:,} open deals on the board",
          file=sys.stderr)
    return list(process.stage_keys), ids, open_visible


def reopen_everything(stages: tuple[str, ...]) -> None:
    """Put every closed deal back in an open stage (spread by id), straight in the table."""
    from django.db import connection, transaction

    spread = " ".join(f"WHEN {i} THEN %s" for i in range(len(stages)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE deals_deal SET status = 'open', stage = CASE id %% {len(stages)} {spread} "
            "END, closed_at = NULL, lost_reason = '', lost_reason_category = '', "
            "lost_from_stage = '', forecast_category = 'pipeline' WHERE status <> 'open'",
            list(stages))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Session:
    """A browser-like client: keeps cookies and signs in through the login form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def sign_in(self, username: str, password: str) -> None:
        _, page = self.get("/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            raise SystemExit("the login page has no CSRF token")
        body = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrfmiddlewaretoken": token.group(1).decode()}).encode()
        request = urllib.request.Request(self.base + "/login/", data=body)
        with self.opener.open(request, timeout=60) as response:
            if response.url.endswith("/login/"):
                raise SystemExit(f"could not sign in as {username}")


def wait_until_up(session: Session, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it answered")
        try:
            if session.get("/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


def timed(session: Session, paths: Callable[[int], str], n: int, warmup: int,
          headers: dict[str, str] | None = None, expect: bytes = b"") -> list[float]:
    """Milliseconds of `n` sequential requests, after `warmup` untimed ones."""
    times = []
    for i in range(warmup + n):
        path = paths(i)
        started = time.perf_counter()
        status, body = session.get(path, headers)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or expect not in body:
            raise SystemExit(f"GET {path} answered {status}")
        if i >= warmup:
            times.append(elapsed)
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace, scratch: Path) -> int:
    stages, deal_ids, open_visible = prepare(args, scratch)
    port = free_port()
    env = {**os.environ, "DEALCRAFT_HOME": str(scratch)}
    dealcraft = Path(sys.executable).with_name("dealcraft")
    log = (scratch / "server.log").open("wb")
    server = subprocess.Popen(
        [str(dealcraft), "serve", "--port", str(port), "--workers", str(args.workers),
         "--threads", str(args.threads)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        session = Session(f"http://127.0.0.1:{port}")
        wait_until_up(session, server)
        session.sign_in(args.user, f"demo-{args.user}")
        rng = random.Random(args.seed)
        rng.shuffle(deal_ids)
        htmx = {"HX-Request": "true"}
        n, w = args.requests, args.warmup
        results = {
            "healthz (baseline)": timed(session, lambda i: "/healthz", n, w, expect=b"ok"),
            "board /pipeline/": timed(session, lambda i: "/pipeline/", n, w,
                                      expect=b"column-head"),
            "board column (htmx)": timed(
                session, lambda i: f"/pipeline/columns/{stages[i % len(stages)]}/", n, w,
                headers=htmx, expect=b"deal-card"),
            "deal page /deals/<id>/": timed(
                session, lambda i: f"/deals/{deal_ids[i % len(deal_ids)]}/", n, w),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    if args.all_open:
        database += ", every deal reopened"
    print(f"\n{database}, signed in as {args.user} ({open_visible:,} open deals on the board), "
          f"{n} requests each after {w} warm-up, gunicorn {args.workers} workers x "
          f"{args.threads} threads\n")
    print(f"{'page':<26}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'max ms':>10}")
    for name, values in results.items():
        print(f"{name:<26}{percentile(values, 50):>10.1f}{percentile(values, 99):>10.1f}"
              f"{statistics.fmean(values):>10.1f}{max(values):>10.1f}")
    board, deal = results["board /pipeline/"], results["deal page /deals/<id>/"]
    column = results["board column (htmx)"]
    print(f"\ncolumn_p50_ms={percentile(column, 50):.1f} "
          f"column_p99_ms={percentile(column, 99):.1f}")
    print(f"board_p50_ms={percentile(board, 50):.1f} board_p99_ms={percentile(board, 99):.1f} "
          f"deal_p50_ms={percentile(deal, 50):.1f} deal_p99_ms={percentile(deal, 99):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
