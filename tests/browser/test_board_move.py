"""The board's "Move to…" menu, driven from the keyboard: the same gates as the deal page.

Alice's "Northwind route planning" sits in qualification with nothing of its gate met.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Site, Watch
from .helpers import open_page, settle

pytestmark = pytest.mark.browser

REASON = "Buyer's board approved the budget on Friday; paperwork follows."


def card(page: Any, deal_id: int) -> Any:
    return page.locator(f"#deal-card-{deal_id}")


def move_with_the_keyboard(page: Any, deal_id: int, stage_name: str, stage_key: str) -> None:
    """Open the card's "Move to…" menu, pick the stage and submit, with keys only."""
    menu = card(page, deal_id).locator("summary", has_text="Move to")
    menu.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "SELECT"
    page.keyboard.type(stage_name[:4])
    assert page.evaluate("() => document.activeElement.value") == stage_key
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Move"
    page.keyboard.press("Enter")
    settle(page)


def focus_is_in(page: Any, selector: str) -> bool:
    return bool(page.evaluate(
        "(sel) => Boolean(document.activeElement.closest(sel))", selector))


def test_manager_overrides_a_refused_move_from_the_board(
        page: Any, site: Site, login: Any, watch: Watch) -> None:
    deal_id = site.deals["board_move"]
    watch.expect_status(409)
    login(page, "mona")
    open_page(page, "/pipeline/")
    expect(page.locator("#column-qualification").locator(f"#deal-card-{deal_id}")) \
        .to_be_visible()

    move_with_the_keyboard(page, deal_id, "Discovery", "discovery")

    panel = page.locator("#board-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text(
        re.compile("cannot move to Discovery yet"))
    expect(panel.locator(".unmet-list")).to_contain_text("Problem confirmed")
    assert focus_is_in(page, "#board-panel"), "the panel did not take the keyboard focus"
    assert site.api(f"deals/{deal_id}")["stage"] == "qualification"

    panel.get_by_label(re.compile("Reason for the override")).fill(REASON)
    panel.get_by_role("button", name=re.compile("Override and move to Discovery")).focus()
    page.keyboard.press("Enter")
    settle(page)

    expect(panel).to_contain_text("Discovery")
    expect(page.locator("#column-discovery").locator(f"#deal-card-{deal_id}")).to_be_visible()
    expect(page.locator("#column-qualification").locator(f"#deal-card-{deal_id}")) \
        .to_have_count(0)
    history = site.api(f"deals/{deal_id}/history")
    assert (history[-1]["kind"], history[-1]["by"], history[-1]["override_reason"]) \
        == ("override", "mona", REASON)


def test_rep_sees_how_to_meet_each_unmet_criterion_on_the_board(
        page: Any, site: Site, login: Any, watch: Watch) -> None:
    deal_id = site.deals["stuck"]
    watch.expect_status(409)
    login(page, "alice")
    open_page(page, "/pipeline/")
    expect(card(page, deal_id)).to_be_visible()

    move_with_the_keyboard(page, deal_id, "Discovery", "discovery")

    panel = page.locator("#board-panel")
    unmet = panel.locator(".unmet-list")
    expect(unmet).to_contain_text("Problem confirmed")
    expect(unmet.get_by_label(re.compile("Evidence for .Problem confirmed"))).to_be_visible()
    expect(unmet.get_by_label("Next step")).to_be_visible()
    expect(panel.locator(".override-form")).to_have_count(0)
    assert site.api(f"deals/{deal_id}")["stage"] == "qualification"


def drag(page: Any, item: Any, onto: Any) -> None:
    """Drag with the mouse, in small steps, as a person does (and as Sortable expects)."""
    item.scroll_into_view_if_needed()
    start, target = item.bounding_box(), onto.bounding_box()
    height = page.viewport_size["height"]
    top, bottom = max(target["y"], 0), min(target["y"] + target["height"], height)
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 8, start["y"] + start["height"] / 2 + 8,
                    steps=4)
    page.mouse.move(target["x"] + target["width"] / 2, (top + bottom) / 2, steps=20)
    page.mouse.up()


def test_rep_drags_a_card_to_the_next_stage(page: Any, site: Site, login: Any) -> None:
    deal_id = site.deals["drag"]
    login(page, "alice")
    open_page(page, "/pipeline/")
    expect(page.locator("#column-prospecting").locator(f"#deal-card-{deal_id}")).to_be_visible()

    drag(page, card(page, deal_id).locator(".deal-account"),
         page.locator("#column-qualification .card-list"))
    settle(page)

    expect(page.locator("#board-panel")).to_contain_text("to Qualification")
    expect(page.locator("#column-qualification").locator(f"#deal-card-{deal_id}")).to_be_visible()
    history = site.api(f"deals/{deal_id}/history")
    # Prospecting's gate only warns: the move is made, and what was unmet is kept with it.
    assert (history[-1]["kind"], history[-1]["by"], history[-1]["to"]) \
        == ("advance", "alice", "qualification")
    assert history[-1]["gate_result"]["warnings"]
