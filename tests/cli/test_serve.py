"""`dealcraft serve`: the production server, run for real as a separate program."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .conftest import run_program


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> tuple[int, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited before answering"
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_serve_answers_health_checks_and_serves_the_login_page(
        program_env: dict[str, str], tmp_path: Path) -> None:
    migrated = run_program("migrate", env=program_env)
    assert migrated.code == 0, migrated.err
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "dealcraft", "serve", "--port", str(port), "--workers", "1"],
            env=program_env, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            assert wait_for(f"{base}/healthz", server) == (200, "ok")
            status, page = get(f"{base}/login/")
            assert status == 200
            assert "Sign in" in page and 'name="csrfmiddlewaretoken"' in page
            status, css = get(f"{base}/static/web/app.css")
            assert status == 200 and ":root" in css
        finally:
            server.terminate()
            code = server.wait(timeout=30)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output
    assert "Using worker: gthread" in output
    assert '"GET /login/ HTTP/1.1" 200' in output
    assert (Path(program_env["DEALCRAFT_HOME"]) / "static" / "web" / "app.css").exists()


def test_serve_on_a_busy_port_fails_in_one_line(program_env: dict[str, str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run_program("serve", "--port", str(port), env=program_env)

    assert result.code == 1
    assert result.err.strip() == f"dealcraft: cannot listen on 127.0.0.1:{port}: " \
                                 "Address already in use"
