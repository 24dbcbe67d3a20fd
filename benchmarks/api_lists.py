"""The API's deal list under filters, sorts and deep cursors, and the cost of an
`Idempotency-Key`, next to the plain newest-first list and plain POST in the same run.

    .venv/bin/python benchmarks/api_lists.py --deals 100000
    .venv/bin/python benchmarks/api_lists.py --deals 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench

Builds the demo company (`build_demo`) into a fresh SQLite file in a temporary directory
(removed afterwards), or into the empty PostgreSQL database given (migrated first; a demo
company already there is reused), gathers planner statistics, issues an API token for an
admin (who sees every deal) and a manager, and times in process, through Django's test
client and the whole API stack (authentication, rate limit, validation, serialisation):

- the baseline: `GET /api/v1/deals?limit=50`, newest first;
- the same list sorted (`-amount`, `expected_close`, `-updated_at`), filtered (a manager's
  team's open deals closing in 90 days above an amount; deals changed in the last week), and
  the 20th page of a sorted walk;
- `GET /deals/{id}/activities` and `/next-steps` of a deal;
- `POST /api/v1/deals/{id}/activities` without and with an `Idempotency-Key` (and its
  replay).

Each case runs `--repeat` times after a warm-up; the median is reported with its ratio to the
baseline's median. The last line is machine-readable:

    baseline_ms=… worst_list_ratio=… idempotent_post_ratio=… replay_ratio=…
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default="",
                        help="build into this (empty) database instead of a fresh SQLite file")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dealcraft-api-lists-"))
    try:
        return run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(args: argparse.Namespace, scratch: Path) -> int:
    os.environ["DEALCRAFT_HOME"] = str(scratch)
    os.environ["DEALCRAFT_DATABASE_URL"] = (args.database_url
                                            or f"sqlite:///{scratch / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    # The benchmark measures the operations, not the per-token limits.
    os.environ["DEALCRAFT_API_RATE_LIMIT"] = "0"
    os.environ["DEALCRAFT_API_WRITE_RATE_LIMIT"] = "0"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from dealcraft.deals.models import Deal
    from dealcraft.demo.builder import build_demo, existing_demo
    from dealcraft.people.models import User
    from dealcraft.people.services import create_token

    call_command("migrate", verbosity=0)
    if existing_demo() is None:
        result = build_demo(deals=args.deals, seed=args.seed, progress=True)
        print(f"built the demo company in {result.elapsed:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    deals = Deal.objects.count()

    admin = User.objects.filter(role="admin", is_active=True).first()
    manager = User.objects.filter(role="manager", is_active=True).first()
    assert admin is not None and manager is not None
    team_id = manager.managed_teams.values_list("id", flat=True).first()
    open_deal = Deal.objects.filter(status="open", team_id=team_id).order_by("-id").first()
    assert open_deal is not None

    def client_for(user: Any) -> Client:
        _, key = create_token(acting_user=None, user=user, name="benchmark")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    as_admin, as_manager = client_for(admin), client_for(manager)

    def get(client: Client, path: str, params: dict[str, Any] | None = None) -> Any:
        response = client.get("/api/v1" + path, params or {})
        assert response.status_code == 200, (path, response.content[:300])
        return response.json()

    def deep_cursor(sort: str, pages: int) -> str:
        cursor = ""
        for _ in range(pages - 1):
            params = {"sort": sort, "limit": 50, **({"cursor": cursor} if cursor else {})}
            cursor = get(as_admin, "/deals", params)["next_cursor"]
        return cursor

    deep = deep_cursor("-amount", 20)
    today = timezone.localdate()
    lists: dict[str, Callable[[], Any]] = {
        "admin, newest first (baseline)": lambda: get(as_admin, "/deals", {"limit": 50}),
        "admin, sort=-amount": lambda: get(as_admin, "/deals", {"sort": "-amount",
                                                                "limit": 50}),
        "admin, sort=expected_close": lambda: get(as_admin, "/deals", {
            "sort": "expected_close", "limit": 50}),
        "admin, sort=-updated_at": lambda: get(as_admin, "/deals", {"sort": "-updated_at",
                                                                    "limit": 50}),
        "admin, sort=-amount, page 20": lambda: get(as_admin, "/deals", {
            "sort": "-amount", "limit": 50, "cursor": deep}),
        "manager, team's open deals closing in 90 days, amount >= 10000, sort=-amount":
            lambda: get(as_manager, "/deals", {
                "team_id": team_id, "status": "open", "amount_min": "10000",
                "expected_close_from": today.isoformat(),
                "expected_close_to": (today + timedelta(days=90)).isoformat(),
                "sort": "-amount", "limit": 50}),
        "manager, updated in the last 7 days": lambda: get(as_manager, "/deals", {
            "updated_since": (timezone.now() - timedelta(days=7)).isoformat(), "limit": 50}),
        "manager, a deal's activities": lambda: get(as_manager,
                                                    f"/deals/{open_deal.pk}/activities"),
        "manager, a deal's next steps": lambda: get(as_manager,
                                                    f"/deals/{open_deal.pk}/next-steps"),
    }
    print(f"{deals:,} deals; {args.repeat} requests each after a warm-up (median)")
    results = {name: median_ms(call, args.repeat) for name, call in lists.items()}
    baseline = results["admin, newest first (baseline)"]
    for name, ms in results.items():
        print(f"  {ms:8.1f} ms  ×{ms / baseline:5.2f}  GET {name}")

    def post(headers: dict[str, str]) -> Any:
        response = as_manager.post(f"/api/v1/deals/{open_deal.pk}/activities",
                                   {"kind": "note", "subject": "Benchmark note"},
                                   content_type="application/json", **headers)
        assert response.status_code == 201, response.content[:300]
        return response

    plain = median_ms(lambda: post({}), args.repeat)
    keyed = median_ms(lambda: post({"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}), args.repeat)
    fixed = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    post(fixed)
    replay = median_ms(lambda: post(fixed), args.repeat)
    print(f"  {plain:8.1f} ms  ×{1:5.2f}  POST activities (baseline)")
    print(f"  {keyed:8.1f} ms  ×{keyed / plain:5.2f}  POST activities with a new "
          "Idempotency-Key")
    print(f"  {replay:8.1f} ms  ×{replay / plain:5.2f}  POST activities replayed by its key")
    worst = max(ms for name, ms in results.items() if "deal's" not in name) / baseline
    print(f"baseline_ms={baseline:.1f} worst_list_ratio={worst:.2f} "
          f"idempotent_post_ratio={keyed / plain:.2f} replay_ratio={replay / plain:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
