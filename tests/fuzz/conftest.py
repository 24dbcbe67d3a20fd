"""The server the API fuzz attacks: `dealcraft serve` on a seeded database of its own.

One per pytest session (so per pytest-xdist worker that runs a fuzz test), started like the
browser tests' server (tests/liveserver.py): a temporary SQLite file, or a fresh
`dealcraft_fuzz_<random>` database when DEALCRAFT_DATABASE_URL names a PostgreSQL server,
migrated by `dealcraft migrate` and filled by tests/fuzz/seed.py. The per-token rate limits
are raised so that the fuzzer's hundreds of requests a minute test the API, not the limiter
(tests/api/test_rate_limit.py covers that).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveserver import ARTIFACTS, LiveServer, live_server

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("fuzz-home")
    with live_server(home, name="fuzz", seed=HERE / "seed.py",
                     log=ARTIFACTS / "fuzz" / f"server-{worker_id}.log",
                     settings={"DEALCRAFT_API_RATE_LIMIT": "1000000",
                               "DEALCRAFT_API_WRITE_RATE_LIMIT": "1000000"}) as server:
        yield server
