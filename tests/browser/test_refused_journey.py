"""A rep of another team who types a North deal's address is refused, and learns nothing of it.

Charlie is a rep on South; "Northwind confidential renewal" is Alice's, on North.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Site
from .helpers import open_page

pytestmark = pytest.mark.browser

SECRETS = ("Northwind confidential renewal", "Northwind Logistics", "987,654", "987654",
           "Send the renewal terms")


def test_rep_of_another_team_opening_a_deal_by_url_is_refused(
        page: Any, site: Site, login: Any, watch: Any) -> None:
    watch.expect_status(403)
    login(page, "charlie")

    open_page(page, f"/deals/{site.deals['secret']}/", status=403)

    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("not allowed|forbidden|no access|access denied", re.I))
    body = page.locator("body")
    for secret in SECRETS:
        expect(body).not_to_contain_text(secret)
    assert secret_free(page.content())


def test_anonymous_visitor_is_sent_to_sign_in(page: Any, site: Site) -> None:
    open_page(page, f"/deals/{site.deals['secret']}/")

    assert "/login/" in page.url
    expect(page.get_by_label("Username")).to_be_visible()
    assert secret_free(page.content())


def test_refused_rep_still_reaches_his_own_teams_deal(page: Any, site: Site, login: Any) -> None:
    login(page, "charlie")

    open_page(page, f"/deals/{site.deals['south']}/")

    expect(page.get_by_role("heading", name="Southwind cold chain")).to_be_visible()


def secret_free(html: str) -> bool:
    return not any(secret in html for secret in SECRETS)
