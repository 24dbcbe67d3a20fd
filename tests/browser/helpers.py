"""What the journeys do in the browser: sign in, submit forms, check pages with axe-core."""

from __future__ import annotations

import re
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
#: Violations at these impacts fail the test; moderate and minor ones are printed only.
BLOCKING_IMPACTS = ("serious", "critical")


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through /login/ and wait until the app has taken us somewhere else."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(lambda url: "/login/" not in url)
    expect(page.get_by_role("button", name=re.compile("sign out", re.I))).to_be_visible()


class Network:
    """The requests a page has in flight, so a test can wait for htmx to finish its work.

    Playwright's own "networkidle" waits half a second after the last request, every time;
    this waits only until the page has been quiet for QUIET seconds.
    """

    QUIET = 0.15
    TIMEOUT = 15.0

    def __init__(self, page: Any) -> None:
        self.pending: dict[Any, str] = {}
        self.last_activity = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        _NETWORKS[page] = self

    def _started(self, request: Any) -> None:
        self.pending[request] = f"{request.method} {request.url}"
        self.last_activity = time.monotonic()

    def _ended(self, request: Any) -> None:
        self.pending.pop(request, None)
        self.last_activity = time.monotonic()

    def settle(self, page: Any) -> None:
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            page.wait_for_timeout(30)  # lets Playwright deliver the page's events
            now = time.monotonic()
            if not self.pending and now - self.last_activity >= self.QUIET:
                return
            if now > deadline:
                raise AssertionError("the page still has requests in flight after "
                                     f"{self.TIMEOUT} s: {sorted(self.pending.values())}")


_NETWORKS: weakref.WeakKeyDictionary[Any, Network] = weakref.WeakKeyDictionary()


def settle(page: Any) -> None:
    """Wait until the page has loaded and htmx has finished its requests and swaps."""
    page.wait_for_load_state("load")
    _NETWORKS[page].settle(page)


def open_page(page: Any, path: str, status: int = 200) -> Any:
    """Go to `path`, check the status the server answered with, and let the page settle."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.status == status, f"{path} answered {response.status}, expected {status}"
    settle(page)
    return response


def by_testid(page: Any, testid: str) -> Any:
    return page.locator(f'[data-testid="{testid}"]')


def activate(target: Any) -> None:
    """Click a control, or submit a form marked with a data-testid through its own button."""
    if target.evaluate("el => el.tagName") == "FORM":
        target.locator("button[type=submit], button:not([type]), input[type=submit]").first.click()
    else:
        target.click()


def text_field(form: Any, name: str) -> Any:
    """The form's field called `name`, else its first free-text field."""
    named = form.locator(f'[name="{name}"]')
    if named.count():
        return named.first
    return form.locator("textarea, input[type=text]").first


def assert_accessible(page: Any, what: str) -> None:
    """Run axe-core on the page; fail on serious or critical violations, listed readably."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html,
                                      summary: n.failureSummary}))}));
    }""")
    blocking = [v for v in results if v["impact"] in BLOCKING_IMPACTS]
    other = [v for v in results if v["impact"] not in BLOCKING_IMPACTS]
    if other:
        print(f"axe on {what}: non-blocking findings:\n" + _describe(other))
    if blocking:
        pytest.fail(f"axe-core found {len(blocking)} serious/critical accessibility "
                    f"violation(s) on {what} ({page.url}):\n" + _describe(blocking),
                    pytrace=False)


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            html = node["html"] if len(node["html"]) <= 160 else node["html"][:157] + "..."
            lines.append(f"    at {node['target']}: {html}")
            for detail in (node["summary"] or "").splitlines():
                if detail.strip():
                    lines.append(f"      {detail.strip()}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)
