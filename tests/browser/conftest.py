"""Real Chromium against the real production server.

`site` (one per session, so one per pytest-xdist worker) runs `dealcraft serve` as a separate
program on a free port, against a database of its own: a temporary SQLite file, or, when
DEALCRAFT_DATABASE_URL names a PostgreSQL server, a fresh `dealcraft_browser_<random>`
database on that server, dropped at the end. The schema comes from `dealcraft migrate` and the
data from tests/browser/seed.py, both run as programs with the server's environment.

`page` is a fresh browser context per test. It fails the test on any console error, uncaught
page error, Content-Security-Policy violation or server error (5xx), and saves a screenshot to
test-artifacts/screenshots/<test>.png whatever the outcome.

Playwright's synchronous API keeps an asyncio loop running on this thread, and Django refuses
ORM calls from a thread with a running loop; the browser is therefore package-scoped, so it is
stopped before this worker goes on to the database tests in other folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from .helpers import Network, sign_in

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

#: Debian's chromium; `make browser-deps` installs it. Playwright's own browser downloads are
#: never used.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the suite runs as root in CI, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
SERVER_START_SECONDS = 60


# ---------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class Site:
    """The running server and what tests/browser/seed.py put in its database."""

    base_url: str
    password: str
    xss: str
    deals: dict[str, int]
    api_token: str
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, path: str) -> Any:
        """GET /api/v1/<path> as Mona (read-only token): what the server really stored."""
        request = urllib.request.Request(
            self.url("/api/v1/" + path.lstrip("/")),
            headers={"Authorization": f"Bearer {self.api_token}", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_postgresql(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("postgresql", "postgres", "pgsql")


@contextlib.contextmanager
def _fresh_database(home: Path) -> Iterator[str]:
    """The URL of an empty database on the backend under test, removed afterwards."""
    url = os.environ.get("DEALCRAFT_DATABASE_URL", "").strip()
    if not _is_postgresql(url):
        yield f"sqlite:///{home / 'browser.sqlite3'}"
        return

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    libpq = parts._replace(scheme="postgresql")
    # Like Django's test runner: create and drop databases from the maintenance database.
    admin_url = urlunsplit(libpq._replace(path="/postgres"))
    name = f"dealcraft_browser_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


def _dealcraft() -> list[str]:
    """The installed `dealcraft` program next to this interpreter, as an operator runs it."""
    script = Path(sys.executable).with_name("dealcraft")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dealcraft"]


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300,
                          check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed with exit status {done.returncode}:\n"
                           f"{done.stdout}\n{done.stderr}")
    return done.stdout


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
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


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Site]:
    """`dealcraft serve --workers 1` on a seeded database of its own, for this worker."""
    home = tmp_path_factory.mktemp("browser-home")
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"browser-server-{worker_id}.log"
    with _fresh_database(home) as database_url:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DEALCRAFT_PORT", "DEALCRAFT_DEBUG", "DEALCRAFT_SECURE",
                            "DEALCRAFT_SECRET_KEY")}
        env.update(DEALCRAFT_HOME=str(home), DEALCRAFT_DATABASE_URL=database_url,
                   DJANGO_SETTINGS_MODULE="dealcraft.settings", PYTHONUNBUFFERED="1")
        migrated = _run([*_dealcraft(), "migrate"], env, "dealcraft migrate")
        # `migrate` names its database first: make sure the server gets the backend under test.
        expected = "postgresql" if _is_postgresql(database_url) else "SQLite"
        assert migrated.startswith(f"database: {expected}"), migrated
        seeded = json.loads(_run([sys.executable, str(HERE / "seed.py")], env,
                                 "tests/browser/seed.py"))
        port = _free_port()
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*_dealcraft(), "serve", "--port", str(port), "--workers", "1"],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(base_url + "/healthz", server, log)
            yield Site(base_url=base_url, password=seeded["password"], xss=seeded["xss"],
                       deals=seeded["deals"], api_token=seeded["api_token"], log=log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


# ---------------------------------------------------------------------------- the browser


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium "
                    "(as root), which the browser tests drive")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Reports CSP violations to the test: Chromium also logs them, but the event names the
# directive and the blocked resource exactly.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile || e.documentURI}:${e.lineNumber}`;
  window.__dealcraftCspViolation(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline code'} at ${where}`);
});
"""


@dataclass
class Watch:
    """What went wrong in the browser during one test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Accept console errors matching `pattern`."""
        self.allowed.append(re.compile(pattern))

    def expect_status(self, status: int) -> None:
        """Accept the line Chromium logs for every response with this (4xx) status.

        A refused gate (409), an invalid form (422) or a forbidden page (403) is the outcome
        some journeys are after; anything else logged with it, htmx's own errors included,
        still fails the test.
        """
        self.allow_console_error(
            rf"^Failed to load resource: the server responded with a status of {status} ")

    def unexpected_console_errors(self) -> list[str]:
        return [e for e in self.console_errors
                if not any(p.search(e) for p in self.allowed)]

    def problems(self) -> list[str]:
        return ([f"console error: {e}" for e in self.unexpected_console_errors()]
                + [f"uncaught page error: {e}" for e in self.page_errors]
                + [f"CSP violation: {e}" for e in self.csp_violations]
                + [f"server error: {e}" for e in self.server_errors])


def _screenshot_path(node: pytest.Item) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")
    return SCREENSHOTS / f"{name}.png"


def _open_page(browser: Any, site: Site, watch: Watch, *, bypass_csp: bool) -> tuple[Any, Any]:
    context = browser.new_context(base_url=site.base_url, viewport=VIEWPORT,
                                  bypass_csp=bypass_csp, locale="en-GB",
                                  timezone_id="UTC")
    context.set_default_timeout(10_000)
    context.expose_binding("__dealcraftCspViolation",
                           lambda _source, text: watch.csp_violations.append(text))
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    Network(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            watch.console_errors.append(f"{message.text} ({location.get('url', page.url)})")

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_response(response: Any) -> None:
        if response.status >= 500:
            watch.server_errors.append(f"{response.status} {response.request.method} "
                                       f"{response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.on("response", on_response)
    return context, page


@contextlib.contextmanager
def _watched_page(browser: Any, site: Site, watch: Watch, request: pytest.FixtureRequest,
                  *, bypass_csp: bool) -> Iterator[Any]:
    context, page = _open_page(browser, site, watch, bypass_csp=bypass_csp)
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):  # a crashed page must not hide the real failure
            page.screenshot(path=str(_screenshot_path(request.node)), full_page=True)
        context.close()
    problems = watch.problems()
    if problems:
        pytest.fail("the browser reported problems:\n  " + "\n  ".join(problems)
                    + f"\n(server log: {site.log})", pytrace=False)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Any, site: Site, watch: Watch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh browser context, with the site's CSP enforced."""
    with _watched_page(browser, site, watch, request, bypass_csp=False) as opened:
        yield opened


@pytest.fixture
def axe_page(browser: Any, site: Site, watch: Watch,
             request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page whose context ignores the site's CSP, so that axe-core can be injected.

    `script-src 'self'` rightly refuses the inline script `add_script_tag` injects; only the
    accessibility checks use this page, the CSP checks use `page`.
    """
    with _watched_page(browser, site, watch, request, bypass_csp=True) as opened:
        yield opened


@pytest.fixture
def login(site: Site) -> Callable[[Any, str], None]:
    """`login(page, "alice")`: sign in through the sign-in form, as a person would."""
    def do(page: Any, username: str) -> None:
        sign_in(page, username, site.password)

    return do
