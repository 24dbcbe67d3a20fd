"""axe-core finds no serious or critical accessibility violation on the app's pages."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Site, Watch
from .helpers import activate, assert_accessible, by_testid, open_page, settle

pytestmark = pytest.mark.browser

PAGES = {
    "board": ("alice", "/pipeline/"),
    "my day": ("alice", "/today/"),
    "deal page": ("alice", "/deals/{secret}/"),
    "team": ("mona", "/team/"),
    "process": ("alice", "/process/"),
    "process versions": ("mona", "/process/versions/"),
    "process difference": ("mona", "/process/diff/?a=1&b=2"),
    "discovery workspace": ("alice", "/deals/{rep_journey}/discovery/"),
    "solution workspace": ("alice", "/deals/{rep_journey}/solution/"),
    "deal list": ("alice", "/deals/"),
    "reports": ("mona", "/reports/"),
    "pipeline report": ("mona", "/reports/pipeline/"),
    "stuck report": ("mona", "/reports/stuck/"),
    "cohorts report": ("mona", "/reports/cohorts/"),
    "changes report": ("mona", "/reports/changes/"),
    "adherence report": ("mona", "/reports/adherence/"),
    "forecast": ("mona", "/forecast/"),
    "forecast as a rep": ("alice", "/forecast/"),
    "forecast accuracy": ("mona", "/forecast/accuracy/"),
    "calibration": ("mona", "/forecast/calibration/"),
    "criteria": ("mona", "/forecast/criteria/"),
    "imports": ("olivia", "/imports/"),
}


def test_sign_in_page_is_accessible(axe_page: Any) -> None:
    open_page(axe_page, "/login/")

    assert_accessible(axe_page, "the sign-in page")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible(axe_page: Any, site: Site, login: Any, name: str) -> None:
    username, path = PAGES[name]
    login(axe_page, username)

    open_page(axe_page, path.format(**site.deals))
    settle(axe_page)

    assert_accessible(axe_page, f"the {name} as {username}")


def test_refused_move_panel_is_accessible(axe_page: Any, site: Site, login: Any,
                                          watch: Watch) -> None:
    watch.expect_status(409)
    login(axe_page, "mona")
    open_page(axe_page, f"/deals/{site.deals['stuck']}/")

    activate(by_testid(axe_page, "advance"))
    settle(axe_page)

    assert by_testid(axe_page, "unmet-list").count() == 1
    assert_accessible(axe_page, "the deal page showing a refused move, as a manager")
