"""`dealcraft import` on an SQLite database that another program (the running server) holds
open: the import must neither fail with "database is locked" nor take the journal out of WAL,
and the other connection keeps reading while it runs and sees the result afterwards."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

DEALS = ("Deal,Title,Phase,Rep,Value,Currency,Close\n"
         "A-1,Müller Bau,Offer,alice,12000,EUR,2024-07-31\n"
         "A-2,Zoë AG,Negotiation,alice,48500.50,CHF,2024-08-15\n"
         "A-3,No account,Won,bob,900,EUR,2024-05-02\n")
MAP = """\
columns: {id: Deal, name: Title, stage: Phase, owner: Rep, amount: Value, currency: Currency,
          close_date: Close}
stages: [Offer, Negotiation, {name: Won, won: true}]
"""


def dealcraft(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`dealcraft …` run as a program of its own on the SQLite file in `home`."""
    env = dict(os.environ, DEALCRAFT_HOME=str(home),
               DEALCRAFT_DATABASE_URL=f"sqlite:///{home / 'dealcraft.sqlite3'}",
               DJANGO_SETTINGS_MODULE="dealcraft.settings")
    env.pop("DEALCRAFT_PORT", None)
    return subprocess.run([sys.executable, "-m", "dealcraft", *argv], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_cli_import_works_while_another_connection_holds_the_sqlite_file_open(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    migrated = dealcraft(home, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    made = dealcraft(home, "createuser", "ada", "--role", "admin", "--password",
                     "correct horse battery")
    assert made.returncode == 0, made.stderr
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "deals.map.yaml").write_text(MAP, encoding="utf-8")
    server = sqlite3.connect(home / "dealcraft.sqlite3")
    try:
        assert server.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert server.execute("SELECT count(*) FROM deals_deal").fetchone()[0] == 0

        done = dealcraft(home, "import", "csv", str(tmp_path / "deals.csv"), "--map",
                         str(tmp_path / "deals.map.yaml"), "--as", "ada")

        assert done.returncode == 0, done.stderr
        assert "locked" not in done.stderr
        assert server.execute("SELECT count(*) FROM deals_deal").fetchone()[0] == 3
        assert server.execute("SELECT count(*) FROM deals_stagehistory").fetchone()[0] >= 3
        assert server.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        server.close()
