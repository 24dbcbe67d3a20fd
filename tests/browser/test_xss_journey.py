"""A deal, its account, its next step and a note all named `<img src=x onerror=alert(1)>`.

Wherever the name shows, it must show as text: no image element, no script run, no dialog.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Site, Watch
from .helpers import open_page, settle

pytestmark = pytest.mark.browser


def assert_inert(page: Any, site: Site, watch: Watch) -> None:
    settle(page)
    expect(page.get_by_text(site.xss, exact=True).first).to_be_visible()
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert watch.dialogs == []


@pytest.mark.parametrize("where", ["board", "deal page", "my day", "deal list"])
def test_hostile_names_render_as_text(page: Any, site: Site, login: Any, watch: Watch,
                                      where: str) -> None:
    path = {"board": "/pipeline/", "deal page": f"/deals/{site.deals['xss']}/",
            "my day": "/today/", "deal list": "/deals/"}[where]
    login(page, "alice")

    open_page(page, path)

    assert_inert(page, site, watch)


def test_hostile_note_is_text_on_the_deal_page(page: Any, site: Site, login: Any,
                                               watch: Watch) -> None:
    login(page, "alice")
    open_page(page, f"/deals/{site.deals['xss']}/")

    # The deal's name, its account, its next step and the note's subject and body.
    assert page.get_by_text(site.xss, exact=True).count() >= 4
    assert_inert(page, site, watch)
