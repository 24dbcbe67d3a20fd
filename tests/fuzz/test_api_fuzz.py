"""Schemathesis against the live production server, over every operation of the OpenAPI description.

Each test runs the `schemathesis` program (settings in tests/fuzz/schemathesis.toml: a fixed
seed, a bounded number of examples, every built-in check plus tests/fuzz/checks.py) against
`dealcraft serve`, reading the description from the server itself, so a new operation is
fuzzed the day it is added. The run fails on any 5xx, any status the description does not
list, any body or media type that breaks it, and any error that is not a problem document.

What a run said is kept in test-artifacts/fuzz/<database>-<token>/: `output.txt` (each failure
with a curl command that reproduces it), `report.json` and `junit.xml`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from liveserver import ARTIFACTS, ROOT, LiveServer, is_postgresql

pytestmark = pytest.mark.fuzz

CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
#: The fuzzer names itself in every request's User-Agent; the server's access log counts them.
USER_AGENT = '"schemathesis/'
RUN_TIMEOUT_SECONDS = 900
#: DEALCRAFT_FUZZ_DEEP=1 adds the coverage phase (boundary values and every kind of invalid
#: input for each parameter: thousands of requests) and five times the examples; the default
#: is sized for CI, a minute or two per database.
DEEP = os.environ.get("DEALCRAFT_FUZZ_DEEP") == "1"


@dataclass(frozen=True)
class FuzzRun:
    """One `schemathesis run`: its exit status, what it printed and reported, what it cost."""

    token: str
    exit_code: int
    output: str
    report: dict[str, Any]
    requests: int
    seconds: float
    folder: Path

    def failures(self) -> str:
        """The part of the output a reader needs: every failure and the summary."""
        start = self.output.find("FAILURES")
        text = self.output[self.output.rfind("\n", 0, start) + 1:] if start != -1 else self.output
        return (f"schemathesis ({self.token} token) exited with {self.exit_code}; "
                f"full output: {self.folder / 'output.txt'}\n\n{text[-30000:]}")

    def summary(self) -> str:
        cases = self.report.get("test_cases", {})
        operations = self.report.get("operations", {})
        return (f"fuzz ({self.token} token): {operations.get('tested')} operations, "
                f"{cases.get('generated')} test cases, {self.requests} requests to the server "
                f"in {self.seconds:.1f} s")


def _schemathesis() -> list[str]:
    script = Path(sys.executable).with_name("schemathesis")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def _fuzzer_requests(log: Path) -> int:
    if not log.exists():
        return 0
    with log.open(errors="replace") as lines:
        return sum(1 for line in lines if USER_AGENT in line)


def _documented_operations(server: LiveServer) -> int:
    with urllib.request.urlopen(server.url("/api/v1/openapi.json"), timeout=10) as response:
        schema = json.loads(response.read())
    return sum(1 for operations in schema["paths"].values() for method in operations
               if method in ("get", "post", "put", "patch", "delete"))


def run_fuzz(server: LiveServer, *, token: str, key: str, max_examples: int | None,
             phases: str, read_only: bool = False) -> FuzzRun:
    """`schemathesis run` with tests/fuzz/schemathesis.toml; `max_examples` overrides its
    examples per operation (and per phase), when given."""
    backend = "postgresql" if is_postgresql(server.database_url) else "sqlite"
    folder = ARTIFACTS / "fuzz" / f"{backend}-{token}"
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    report.unlink(missing_ok=True)
    argv = [*_schemathesis(), "--config-file", str(CONFIG), "run",
            server.url("/api/v1/openapi.json"),
            *(["--max-examples", str(max_examples)] if max_examples else []),
            "--phases", phases,
            "--report", "json,junit", "--report-dir", str(folder),
            "--report-json-path", str(report), "--report-junit-path", str(folder / "junit.xml")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    env.update(DEALCRAFT_FUZZ_TOKEN=key, DEALCRAFT_FUZZ_READ_ONLY="1" if read_only else "0",
               NO_COLOR="1", PYTHONUNBUFFERED="1")
    before = _fuzzer_requests(server.log)
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, check=False)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    (folder / "output.txt").write_text(output)
    run = FuzzRun(token=token, exit_code=done.returncode, output=output,
                  report=json.loads(report.read_text()) if report.exists() else {},
                  requests=_fuzzer_requests(server.log) - before, seconds=seconds,
                  folder=folder)
    (folder / "summary.txt").write_text(run.summary() + "\n")
    print(run.summary())
    return run


def test_every_operation_withstands_fuzzing_by_an_admin(fuzz_server: LiveServer) -> None:
    """An admin may call every operation, so valid requests get as deep as they can: schema
    examples, random valid and schema-violating input, then chains of calls that follow the
    OpenAPI links (create a deal, then read, change and move it)."""
    run = run_fuzz(fuzz_server, token="admin", key=fuzz_server.seeded["admin_token"],
                   max_examples=50 if DEEP else None,
                   phases="examples,coverage,fuzzing,stateful" if DEEP
                   else "examples,fuzzing,stateful")
    if run.exit_code != 0:
        pytest.fail(run.failures(), pytrace=False)
    assert run.report["operations"]["tested"] == _documented_operations(fuzz_server)
    assert run.report["phases"]["stateful"]["status"] == "success", run.report["phases"]
    assert run.requests >= 400, run.summary()


def test_a_read_only_token_is_refused_every_write_in_a_documented_way(
        fuzz_server: LiveServer) -> None:
    """A manager's read-only token: reads answer as documented, and every write, whatever its
    body, is a documented 403 problem (tests/fuzz/checks.py fails on any accepted write)."""
    run = run_fuzz(fuzz_server, token="read-only", key=fuzz_server.seeded["read_only_token"],
                   max_examples=10 if DEEP else 3,
                   phases="examples,coverage,fuzzing" if DEEP else "examples,fuzzing",
                   read_only=True)
    if run.exit_code != 0:
        pytest.fail(run.failures(), pytrace=False)
    assert run.report["operations"]["tested"] == _documented_operations(fuzz_server)
    assert run.requests >= 100, run.summary()
