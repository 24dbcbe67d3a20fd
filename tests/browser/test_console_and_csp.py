"""Every page loads under its Content-Security-Policy with a clean console.

The `page` fixture fails a test on any console error, uncaught error, CSP violation or 5xx;
these tests visit every page as the roles that use it so that nothing escapes that watch.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Site, Watch
from .helpers import open_page, settle

pytestmark = pytest.mark.browser

VISITS = {
    "alice": ["/pipeline/", "/today/", "/deals/", "/deals/{rep_journey}/", "/deals/{xss}/",
              "/deals/{xss}/discovery/", "/deals/{xss}/solution/", "/process/"],
    "mona": ["/pipeline/", "/team/", "/today/", "/deals/{refused_gate}/", "/process/",
             "/process/versions/", "/process/diff/?a=1&b=2"],
    "vera": ["/pipeline/", "/deals/{secret}/"],
    "charlie": ["/pipeline/", "/today/", "/deals/{south}/"],
    "olivia": ["/imports/", "/reports/", "/reports/pipeline/", "/reports/velocity/",
               "/reports/losses/", "/reports/forecast/", "/reports/calibration/",
               "/reports/criteria/", "/reports/accuracy/", "/forecast/calibration/"],
}
VISITS["mona"] += ["/reports/", "/reports/pipeline/", "/reports/stuck/", "/reports/cohorts/",
                   "/reports/changes/", "/reports/adherence/", "/forecast/",
                   "/forecast/accuracy/", "/forecast/criteria/"]
VISITS["alice"] += ["/forecast/", "/reports/pipeline/"]


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


def assert_strict_csp(response: Any, path: str) -> None:
    header = response.headers.get("content-security-policy")
    assert header, f"{path} has no Content-Security-Policy header"
    policy = directives(header)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts is not None, f"{path}: the policy does not govern scripts: {header}"
    assert "'self'" in scripts, f"{path}: scripts are not limited to 'self': {header}"
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert loose not in scripts, f"{path}: script-src allows {loose}: {header}"
    styles = policy.get("style-src", policy.get("default-src"))
    assert styles is not None and "'unsafe-inline'" not in styles, \
        f"{path}: inline styles are allowed: {header}"


def test_sign_in_page_carries_a_strict_csp(page: Any, watch: Watch) -> None:
    response = open_page(page, "/login/")

    assert_strict_csp(response, "/login/")
    assert watch.csp_violations == []


@pytest.mark.parametrize("username", list(VISITS))
def test_every_page_loads_cleanly_under_the_csp(page: Any, site: Site, login: Any,
                                                watch: Watch, username: str) -> None:
    login(page, username)
    for template in VISITS[username]:
        path = template.format(**site.deals)
        response = open_page(page, path)
        settle(page)

        assert_strict_csp(response, path)
        assert watch.problems() == [], f"after {path} as {username}"


def test_csp_violations_are_caught(page: Any, site: Site, watch: Watch) -> None:
    """The watch itself works: an inline script injected into a real page is refused and
    reported, so a clean run of the tests above means something."""
    open_page(page, "/login/")

    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(200)

    assert page.evaluate("() => window.__ran === undefined")
    assert any(re.search("script-src", v) for v in watch.csp_violations), watch.csp_violations
    # Chromium logs the refusal as a console error too; it is expected here.
    watch.csp_violations.clear()
    watch.allow_console_error("Content Security Policy")


def test_console_and_page_errors_are_caught(page: Any, watch: Watch) -> None:
    """Likewise for the console: an error logged or thrown by a script is recorded."""
    open_page(page, "/login/")

    page.evaluate("() => { console.error('logged on purpose'); }")
    page.evaluate("() => { setTimeout(() => { throw new Error('thrown on purpose'); }, 0); }")
    page.wait_for_timeout(200)

    assert any("logged on purpose" in e for e in watch.unexpected_console_errors())
    assert any("thrown on purpose" in e for e in watch.page_errors)
    watch.console_errors.clear()
    watch.page_errors.clear()
