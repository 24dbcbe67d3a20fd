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
import re
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from liveserver import ARTIFACTS, live_server

from .helpers import Network, sign_in

HERE = Path(__file__).resolve().parent
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


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Site]:
    """`dealcraft serve --workers 1` on a seeded database of its own, for this worker."""
    home = tmp_path_factory.mktemp("browser-home")
    with live_server(home, name="browser", seed=HERE / "seed.py",
                     log=ARTIFACTS / f"browser-server-{worker_id}.log") as server:
        seeded = server.seeded
        yield Site(base_url=server.base_url, password=seeded["password"], xss=seeded["xss"],
                   deals=seeded["deals"], api_token=seeded["api_token"], log=server.log)


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
