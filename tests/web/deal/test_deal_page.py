"""The deal page: the stage path with each gate's state, the checklist with the process's
guidance, the next step and the history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.services import advance_stage, close_lost, close_won, set_next_step

from .conftest import Node

pytestmark = pytest.mark.django_db


def checklist(html: Node) -> dict[str, str]:
    """Label of each exit criterion on the current stage's checklist → "Met" or "Not met"."""
    items = [li for li in html.testid("checklist").find_all("li")
             if li.attrs.get("data-testid", "").startswith("criterion-")]
    out = {}
    for item in items:
        mark = item.find("span", class_="mark")
        label = item.find("h3")
        assert mark is not None and label is not None
        out[label.text()] = mark.text()
    return out


def path_states(html: Node) -> dict[str, tuple[str, str]]:
    """Each step of the stage path → (its state, what its gate shows)."""
    return {li.attrs["data-testid"].removeprefix("stage-"):
            (li.attrs["data-state"], li.find("span", class_="path-gate").text())  # type: ignore[union-attr]
            for li in html.testid("stage-path").find_all("li")}


def test_the_checklist_shows_what_the_current_stage_still_needs(org: Any, make_deal: Any,
                                                                page: Any) -> None:
    account = create_account(acting_user=org.alice, name="Acme Corp")
    deal = make_deal(account=account)
    set_next_step(acting_user=org.alice, deal=deal, text="Discovery call",
                  due=timezone.localdate() + timedelta(days=3))

    html = page(org.alice, deal)

    assert html.testid("stage-path").text().startswith("Prospecting")
    assert checklist(html) == {
        "Target account identified": "Met",
        "A real person at the account is named on the deal": "Not met",
        "A conversation has started (call or meeting logged)": "Not met",
        "Next step scheduled within 14 days": "Met",
    }
    assert "2 of 4 met; gate warn" in html.find(id="checklist-h").text()  # type: ignore[union-attr]
    assert "Discovery call" in html.testid("next-step").text()


def test_each_unmet_criterion_says_what_is_missing_and_where_to_meet_it(
        org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()

    item = page(org.alice, deal).testid("criterion-contact_named")

    assert item.attrs["data-met"] == "false"
    assert "Name 1 more stakeholder(s) as Economic buyer or" in item.text()
    assert item.find("a", href="#stakeholders") is not None


def test_the_stage_path_shows_every_gate_passed_current_and_ahead(org: Any, make_deal: Any,
                                                                  page: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")

    states = path_states(page(org.alice, deal))

    assert list(states) == ["prospecting", "qualification", "discovery", "solution", "proposal",
                            "negotiation", "won", "lost"]
    assert states["prospecting"] == ("passed", "passed")
    assert states["qualification"][0] == "current"
    assert states["qualification"][1].startswith("0 of 5 met")
    assert states["discovery"] == ("ahead", "6 exit criteria")
    assert states["won"] == ("ahead", "5 exit criteria")
    assert states["lost"][0] == "ahead"


def test_a_skipped_stage_shows_as_skipped_not_passed(org: Any, make_deal: Any,
                                                     page: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.mona, deal=deal, to="discovery",
                  override_reason="Qualified at the partner's event")

    states = path_states(page(org.alice, deal))

    assert states["prospecting"][0] == "passed"
    assert states["qualification"][0] == "skipped"
    assert states["discovery"][0] == "current"


def test_a_lost_deal_shows_where_it_was_lost_and_why(org: Any, make_deal: Any,
                                                     page: Any) -> None:
    deal = make_deal()
    close_lost(acting_user=org.alice, deal=deal, reason="Went with the incumbent",
               category="competitor")

    html = page(org.alice, deal)
    states = path_states(html)

    assert states["prospecting"] == ("lost-from", "lost here")
    assert states["lost"] == ("lost", "lost")
    assert "Went with the incumbent" in html.find(id="stage-path").text()  # type: ignore[union-attr]
    assert not html.has("checklist")


def test_a_won_deal_shows_every_stage_behind_it(org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()
    close_won(acting_user=org.mona, deal=deal, override_reason="Signed on the spot")

    states = path_states(page(org.alice, deal))

    assert states["won"] == ("won", "won")
    assert states["prospecting"][0] == "passed"
    assert states["negotiation"][0] == "skipped"


def test_the_stage_guidance_and_purpose_come_from_the_process_file(org: Any, make_deal: Any,
                                                                   page: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")

    section = page(org.alice, deal).find(id="checklist")

    assert section is not None
    text = section.text()
    assert "Purpose: Determine whether the prospect is worth pursuing now" in text
    assert "What good looks like" in text
    assert "Pain: is there a real problem or just curiosity?" in text
    prompt = section.find(data_testid="criterion-problem_confirmed")
    assert prompt is not None
    assert "What real problem did the buyer confirm, in their words" in prompt.text()


def test_the_history_shows_the_process_version_of_each_entry(org: Any, make_deal: Any,
                                                             page: Any) -> None:
    deal = make_deal()

    history = page(org.alice, deal).testid("history").text()

    assert "Created" in history and "Prospecting" in history and "v1" in history


def test_the_history_shows_what_a_warn_gate_let_through(org: Any, make_deal: Any,
                                                        page: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")

    html = page(org.alice, deal)

    history = html.testid("history").text()
    assert "Advanced" in history
    assert "Moved with unmet: Target account identified;" in history
    assert html.find(id="path-h").text() == "Stage: Qualification"  # type: ignore[union-attr]


def test_the_history_shows_an_override_and_its_reason(org: Any, make_deal: Any,
                                                      page: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    advance_stage(acting_user=org.mona, deal=deal, to="discovery",
                  override_reason="Board mandate, budget confirmed verbally")

    history = page(org.alice, deal).testid("history").text()

    assert "Advanced by override" in history
    assert "Override: Board mandate, budget confirmed verbally" in history


def test_the_audit_trail_lists_who_did_what(org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()
    set_next_step(acting_user=org.alice, deal=deal, text="Send the agenda",
                  due=timezone.localdate() + timedelta(days=2))

    audit = page(org.mona, deal).testid("audit").text()

    assert "Alice Set the next step (deal.next_step)" in audit
    assert "text: Send the agenda" in audit
    assert "Alice Created the deal (deal.create)" in audit


def test_the_workspaces_load_lazily_with_plain_links_for_no_script(org: Any, make_deal: Any,
                                                                   page: Any) -> None:
    deal = make_deal()

    html = page(org.alice, deal)

    for name in ("discovery", "solution"):
        panel = html.testid(f"workspace-{name}")
        assert panel.attrs["hx-get"] == f"/deals/{deal.pk}/{name}/"
        assert panel.attrs["hx-trigger"] == "revealed"
        assert panel.find("a", href=f"/deals/{deal.pk}/{name}/") is not None


def test_a_missing_deal_is_not_found(org: Any, signed_in: Any) -> None:
    assert signed_in(org.alice).get("/deals/999999/").status_code == 404
