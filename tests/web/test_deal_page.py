"""The deal page: the stage, its gate checklist, the next step and the history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.services import advance_stage, set_next_step

pytestmark = pytest.mark.django_db


def checklist(html: str) -> dict[str, str]:
    """Label of each exit criterion → "Met" or "Not met"."""
    out = {}
    for item in html.split('<ul class="checklist">')[1].split("</ul>")[0].split("<li ")[1:]:
        mark = item.split('<span class="mark">')[1].split("</span>")[0]
        label = item.split("<strong>")[1].split("</strong>")[0]
        out[label] = mark
    return out


def test_the_checklist_shows_what_the_current_stage_still_needs(org: Any, make_deal: Any,
                                                                signed_in: Any) -> None:
    account = create_account(acting_user=org.alice, name="Acme Corp")
    deal = make_deal(account=account)
    set_next_step(acting_user=org.alice, deal=deal, text="Discovery call",
                  due=timezone.localdate() + timedelta(days=3))

    response = signed_in(org.alice).get(f"/deals/{deal.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Stage: Prospecting" in html
    assert checklist(html) == {
        "Target account identified": "Met",
        "A real person at the account is named on the deal": "Not met",
        next(label for label in checklist(html) if label.startswith("A conversation")):
            "Not met",
        "Next step scheduled within 14 days": "Met",
    }
    assert "2 of 4 met; gate warn" in html
    assert "Discovery call" in html


def test_the_history_shows_the_process_version_of_each_entry(org: Any, make_deal: Any,
                                                             signed_in: Any) -> None:
    deal = make_deal()

    html = signed_in(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    history = html.split('<table class="history">')[1]
    assert "Created" in history and "Prospecting" in history and "v1" in history


def test_the_history_shows_what_a_warn_gate_let_through(org: Any, make_deal: Any,
                                                        signed_in: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")

    html = signed_in(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    history = html.split('<table class="history">')[1]
    assert "Advanced" in history
    assert "Moved with unmet: Target account identified;" in history
    assert "Stage: Qualification" in html


def test_charlie_is_refused_north_deals(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="North secret")

    response = signed_in(org.charlie).get(f"/deals/{deal.pk}/")

    assert response.status_code == 403
    assert "North secret" not in response.content.decode()


@pytest.mark.parametrize("persona", ["alice", "bob", "mona", "vera", "olivia", "ada"])
def test_the_team_its_manager_viewers_and_ops_may_read_it(org: Any, make_deal: Any,
                                                          signed_in: Any, persona: str) -> None:
    deal = make_deal()

    assert signed_in(getattr(org, persona)).get(f"/deals/{deal.pk}/").status_code == 200


def test_a_missing_deal_is_not_found(org: Any, signed_in: Any) -> None:
    assert signed_in(org.alice).get("/deals/999999/").status_code == 404


def test_text_on_the_deal_page_is_escaped(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="<img src=x onerror=alert(1)>")
    set_next_step(acting_user=org.alice, deal=deal, text="<script>alert(2)</script>",
                  due=timezone.localdate() + timedelta(days=1))

    html = signed_in(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<img" not in html and "<script" not in html
