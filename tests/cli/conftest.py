"""Running the `dealcraft` command in-process (`run`) or as a real program (`run_program`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dealcraft.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    """`run("process", "show")`: the exit status and what the command printed."""

    def call(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def program_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `dealcraft` run as a subprocess, on its own SQLite file.

    pytest's test database (SQLite in memory, or a PostgreSQL test database inside a
    transaction) is invisible to another process, so subprocess tests always use a fresh
    SQLite file, whatever backend the rest of the suite runs on.
    """
    env = dict(os.environ)
    home = tmp_path / "home"
    env["DEALCRAFT_HOME"] = str(home)
    env["DEALCRAFT_DATABASE_URL"] = f"sqlite:///{home / 'dealcraft.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "dealcraft.settings"
    env.pop("DEALCRAFT_PORT", None)
    return env


def run_program(*argv: str, env: dict[str, str], timeout: float = 120) -> Result:
    done = subprocess.run([sys.executable, "-m", "dealcraft", *argv], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Result(done.returncode, done.stdout, done.stderr)
