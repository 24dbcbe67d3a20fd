"""A rep takes her deal through qualification's gate in the browser.

Alice's "Northwind fleet rollout" sits in qualification with its champion named and its MEDDICC
scorecard answered (the seed does that); what is left is what a rep does on the deal page:
record evidence for the checklist items and book the buyer-confirmed next meeting.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Site, Watch
from .helpers import activate, by_testid, open_page, settle, text_field

pytestmark = pytest.mark.browser

CHECKLIST_ITEMS = {
    "problem_confirmed": "Manual dispatch costs them two days per order, in their words.",
    "business_impact_discussed": "CFO puts the delay at 400k EUR a quarter; fix needed by Q3.",
}
UNMET = ["Problem confirmed", "Business impact discussed",
         "Next meeting booked and confirmed by the buyer"]


def test_rep_meets_qualifications_gate_and_advances_her_deal(
        page: Any, site: Site, login: Any, watch: Watch) -> None:
    deal_id = site.deals["rep_journey"]
    watch.expect_status(409)  # the refused move answers 409 Conflict, with the page
    login(page, "alice")
    open_page(page, f"/deals/{deal_id}/")
    expect(page.get_by_role("heading", name="Northwind fleet rollout")).to_be_visible()

    # Trying to advance too early is refused, and the refusal says what is missing.
    activate(by_testid(page, "advance"))
    settle(page)
    unmet = by_testid(page, "unmet-list")
    expect(unmet).to_be_visible()
    for label in UNMET:
        expect(unmet).to_contain_text(label)
    expect(unmet).not_to_contain_text("At least one relevant stakeholder engaged")
    assert site.api(f"deals/{deal_id}")["stage"] == "qualification"

    for criterion, text in CHECKLIST_ITEMS.items():
        form = by_testid(page, f"evidence-form-{criterion}")
        expect(form).to_be_visible()
        text_field(form, "text").fill(text)
        activate(form)
        settle(page)
        expect(page.get_by_text(text)).to_be_visible()

    form = by_testid(page, "next-step-form")
    expect(form).to_be_visible()
    text_field(form, "text").fill("Scoping workshop with Nadia and the CFO")
    form.locator('input[type="date"]').first.fill(
        (date.today() + timedelta(days=5)).isoformat())
    form.locator('input[type="checkbox"]').first.check()
    activate(form)
    settle(page)
    expect(page.get_by_text("Scoping workshop with Nadia and the CFO").first).to_be_visible()

    activate(by_testid(page, "advance"))
    settle(page)
    expect(by_testid(page, "unmet-list")).to_have_count(0)
    # Discovery's own checklist is now the one on the page.
    expect(page.get_by_text("Pain points identified").first).to_be_visible()

    stored = site.api(f"deals/{deal_id}")
    assert stored["stage"] == "discovery"
    history = site.api(f"deals/{deal_id}/history")
    assert (history[-1]["kind"], history[-1]["to"]) == ("advance", "discovery")
