"""The production server as a separate program, on a database of its own, for tests that need one.

`live_server()` does what an operator does: it makes an empty database on the backend under
test (a temporary SQLite file, or, when DEALCRAFT_DATABASE_URL names a PostgreSQL server, a
fresh database on that server, dropped afterwards), runs `dealcraft migrate`, runs a seed
script with the server's environment, starts `dealcraft serve` on a free port and waits for
`/healthz`. The browser tests (tests/browser/) and the API fuzz (tests/fuzz/) run their
server this way.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SERVER_START_SECONDS = 60
#: Settings an outer environment may carry that would change what the server under test does.
_CLEARED = ("DEALCRAFT_PORT", "DEALCRAFT_DEBUG", "DEALCRAFT_SECURE", "DEALCRAFT_SECRET_KEY",
            "DEALCRAFT_API_RATE_LIMIT", "DEALCRAFT_API_WRITE_RATE_LIMIT")


@dataclass(frozen=True)
class LiveServer:
    """A running `dealcraft serve`, what its seed script printed, and where its log goes."""

    base_url: str
    database_url: str
    seeded: dict[str, Any]
    log: Path
    env: dict[str, str]

    def url(self, path: str) -> str:
        return self.base_url + path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_postgresql(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("postgresql", "postgres", "pgsql")


@contextlib.contextmanager
def fresh_database(home: Path, prefix: str) -> Iterator[str]:
    """The URL of an empty database on the backend under test, removed afterwards."""
    url = os.environ.get("DEALCRAFT_DATABASE_URL", "").strip()
    if not is_postgresql(url):
        yield f"sqlite:///{home / (prefix + '.sqlite3')}"
        return

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    # Like Django's test runner: create and drop databases from the maintenance database.
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    name = f"dealcraft_{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


def dealcraft_program() -> list[str]:
    """The installed `dealcraft` program next to this interpreter, as an operator runs it."""
    script = Path(sys.executable).with_name("dealcraft")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dealcraft"]


def run_program(argv: list[str], env: Mapping[str, str], what: str, *,
                timeout: float = 300) -> str:
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed with exit status {done.returncode}:\n"
                           f"{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dealcraft serve exited with status {server.returncode}:\n"
                               + log.read_text(errors="replace"))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {SERVER_START_SECONDS} s:\n"
                       + log.read_text(errors="replace"))


@contextlib.contextmanager
def live_server(home: Path, *, name: str, seed: Path, log: Path,
                settings: Mapping[str, str] | None = None) -> Iterator[LiveServer]:
    """`dealcraft serve --workers 1` on a migrated database filled by the `seed` script.

    `seed` runs as a program with the server's environment and prints one JSON document, which
    becomes `LiveServer.seeded`. `settings` are extra environment variables for every program.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with fresh_database(home, name) as database_url:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env.update(DEALCRAFT_HOME=str(home), DEALCRAFT_DATABASE_URL=database_url,
                   DJANGO_SETTINGS_MODULE="dealcraft.settings", PYTHONUNBUFFERED="1")
        env.update(settings or {})
        migrated = run_program([*dealcraft_program(), "migrate"], env, "dealcraft migrate")
        # `migrate` names its database first: make sure the server gets the backend under test.
        expected = "postgresql" if is_postgresql(database_url) else "SQLite"
        assert migrated.startswith(f"database: {expected}"), migrated
        seeded = json.loads(run_program([sys.executable, str(seed)], env, str(seed)))
        port = free_port()
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*dealcraft_program(), "serve", "--port", str(port), "--workers", "1"],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_healthy(base_url + "/healthz", server, log)
            yield LiveServer(base_url=base_url, database_url=database_url, seeded=seeded,
                             log=log, env=env)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
