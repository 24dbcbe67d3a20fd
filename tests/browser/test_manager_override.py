"""A manager pushes a deal past an unmet gate, with a reason that history keeps.

Mona manages North; Alice's "Northwind warehouse pilot" sits in qualification with nothing of
its gate met. Reps are shown the refusal but never the override.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Site, Watch
from .helpers import activate, by_testid, open_page, settle, text_field

pytestmark = pytest.mark.browser

REASON = "Signed letter of intent from the buyer's COO; formal qualification follows."


def test_manager_overrides_a_refused_gate_with_a_reason(
        page: Any, site: Site, login: Any, watch: Watch) -> None:
    deal_id = site.deals["refused_gate"]
    watch.expect_status(409)
    login(page, "mona")
    open_page(page, f"/deals/{deal_id}/")

    activate(by_testid(page, "advance"))
    settle(page)
    expect(by_testid(page, "unmet-list")).to_contain_text("Problem confirmed")
    form = by_testid(page, "override-form")
    expect(form).to_be_visible()

    text_field(form, "override_reason").fill(REASON)
    activate(form)
    settle(page)

    expect(page.get_by_text(REASON).first).to_be_visible()
    history = site.api(f"deals/{deal_id}/history")
    assert site.api(f"deals/{deal_id}")["stage"] == "discovery"
    assert (history[-1]["kind"], history[-1]["by"], history[-1]["override_reason"]) \
        == ("override", "mona", REASON)

    # The reason is on the deal's history for everyone who reads it later.
    open_page(page, f"/deals/{deal_id}/")
    expect(page.get_by_text(REASON).first).to_be_visible()


def test_manager_override_demands_a_reason(page: Any, site: Site, login: Any,
                                          watch: Watch) -> None:
    deal_id = site.deals["stuck"]
    watch.expect_status(409)
    watch.expect_status(422)
    login(page, "mona")
    open_page(page, f"/deals/{deal_id}/")
    activate(by_testid(page, "advance"))
    settle(page)
    form = by_testid(page, "override-form")

    # The browser asks for the reason first...
    activate(form)
    expect(form.locator("textarea:invalid")).to_have_count(1)
    # ...and the server refuses a blank one that gets past the browser.
    text_field(form, "override_reason").fill("   ")
    activate(form)
    settle(page)

    expect(by_testid(page, "override-form")).to_be_visible()
    assert site.api(f"deals/{deal_id}")["stage"] == "qualification"
    assert [h["kind"] for h in site.api(f"deals/{deal_id}/history")] == ["created", "advance"]


def test_rep_sees_the_refusal_but_no_override(page: Any, site: Site, login: Any,
                                             watch: Watch) -> None:
    deal_id = site.deals["stuck"]
    watch.expect_status(409)
    login(page, "alice")
    open_page(page, f"/deals/{deal_id}/")

    activate(by_testid(page, "advance"))
    settle(page)

    expect(by_testid(page, "unmet-list")).to_contain_text("Problem confirmed")
    expect(by_testid(page, "override-form")).to_have_count(0)
    assert site.api(f"deals/{deal_id}")["stage"] == "qualification"
