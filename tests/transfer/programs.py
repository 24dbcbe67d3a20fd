"""Databases of their own for backup tests: an SQLite file, or a scratch PostgreSQL database,
each used by `dealcraft` run as a real program (the test database is invisible to it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POSTGRES = os.environ.get("DEALCRAFT_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")

#: Builds a small company through the services: two teams, deals with history, activities,
#: evidence (one of them a file), an account with accents and a deal with custom fields.
SEED = r"""
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
django.setup()
from datetime import date
from django.core.files.uploadedfile import SimpleUploadedFile
from dealcraft.crm.services import create_account
from dealcraft.deals.services import (advance_stage, close_lost, create_deal, log_activity,
    record_evidence, set_next_step)
from dealcraft.people.services import create_user, create_token
alice = create_user(acting_user=None, username="alice", role="rep", team="North",
                    password="correct horse battery")
carla = create_user(acting_user=None, username="carla", role="rep", team="Süd")
create_token(acting_user=None, user=alice, name="script")
acme = create_account(acting_user=alice, name="Société Générale – 北京")
for i in range(25):
    owner = alice if i % 2 else carla
    deal = create_deal(acting_user=owner, name=f"Déal {i} =1+1", amount=f"{1000 + i}.5{i % 10}",
                       currency="EUR" if i % 3 else "JPY", expected_close=date(2031, 1, 1 + i),
                       account=acme if i % 4 == 0 else None)
    log_activity(acting_user=owner, deal=deal, kind="call", subject=f"Call {i}")
    set_next_step(acting_user=owner, deal=deal, text="Follow up", due=date(2031, 2, 1))
    record_evidence(acting_user=owner, deal=deal, criterion="problem_confirmed",
                    text=f"Pain {i}")
    if i % 5 == 0:
        close_lost(acting_user=owner, deal=deal, reason="Budget cut")
record_evidence(acting_user=owner, deal=deal, criterion="problem_confirmed", kind="file",
                file=SimpleUploadedFile("notes.txt", "Notes: café\n".encode(),
                                        content_type="text/plain"))
print("seeded")
"""

#: Creates deals through the service until killed, printing how many.
WRITER = r"""
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
django.setup()
from datetime import date
from dealcraft.deals.services import create_deal
from dealcraft.people.models import User
alice = User.objects.get(username="alice")
n = 0
while True:
    create_deal(acting_user=alice, name=f"Concurrent {n}", amount="1", currency="EUR",
                expected_close=date(2031, 1, 1))
    n += 1
    print(n, flush=True)
"""

#: A backup that pauses after its first table, so that writes happen while it runs.
SLOW_BACKUP = r"""
import django, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
django.setup()
from pathlib import Path
from dealcraft.transfer.backup import write_backup
write_backup(Path(sys.argv[1]), pause=lambda: time.sleep(float(sys.argv[2])))
print("done")
"""


@dataclass
class Done:
    code: int
    out: str
    err: str


@dataclass
class Database:
    """One database and a home directory (media, secret key) for `dealcraft` processes."""

    url: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DEALCRAFT_HOME=str(self.home), DEALCRAFT_DATABASE_URL=self.url,
                   DJANGO_SETTINGS_MODULE="dealcraft.settings")
        env.pop("DEALCRAFT_PORT", None)
        return env

    def dealcraft(self, *argv: str, timeout: float = 300) -> Done:
        done = subprocess.run([sys.executable, "-m", "dealcraft", *argv], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Done(done.returncode, done.stdout, done.stderr)

    def python(self, script: str, *argv: str, timeout: float = 300) -> Done:
        done = subprocess.run([sys.executable, "-c", script, *argv], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Done(done.returncode, done.stdout, done.stderr)

    def popen(self, script: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", script], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def migrated(self) -> Database:
        done = self.dealcraft("migrate")
        assert done.code == 0, done.err
        return self


def sqlite_database(folder: Path) -> Database:
    home = folder / "home"
    home.mkdir(parents=True)
    return Database(url=f"sqlite:///{home / 'dealcraft.sqlite3'}", home=home)


def sqlite_copy(source: Database, folder: Path) -> Database:
    """A database with the same contents as `source` (whose programs have all ended): copying
    a migrated file is much quicker than migrating another."""
    copy = sqlite_database(folder)
    for part in ("dealcraft.sqlite3", "dealcraft.sqlite3-wal"):
        if (source.home / part).exists():
            shutil.copyfile(source.home / part, copy.home / part)
    shutil.copyfile(source.home / "secret_key", copy.home / "secret_key")
    return copy


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES + "/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def postgres_database(folder: Path) -> Iterator[Database]:
    """A scratch PostgreSQL database, dropped afterwards."""
    import psycopg

    name = f"dealcraft_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    home = folder / f"home-{name}"
    home.mkdir(parents=True)
    try:
        yield Database(url=f"{POSTGRES}/{name}", home=home)
    finally:
        with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json")))


def table_rows(path: Path, model: str) -> list[dict[str, Any]]:
    """The rows of one table of a backup, as {column: value}."""
    found = manifest(path)
    [table] = [t for t in found["tables"] if t["model"] == model]
    with zipfile.ZipFile(path) as zf:
        lines = zf.read(table["file"]).decode("utf-8").splitlines()
    return [dict(zip(table["columns"], json.loads(line), strict=True)) for line in lines]


def checksums(path: Path) -> dict[str, tuple[int, str]]:
    return {t["model"]: (t["rows"], t["sha256"]) for t in manifest(path)["tables"]}
