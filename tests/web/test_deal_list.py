"""The deal list: the deals a user may see, 50 a page, in a constant number of queries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.services import close_lost, set_next_step

pytestmark = pytest.mark.django_db


def deal_names(html: str) -> list[str]:
    return re.findall(r'<a href="/deals/\d+/">([^<]*)</a>', html)


def test_a_rep_sees_the_team_deals_and_charlie_does_not(org: Any, make_deal: Any,
                                                        signed_in: Any) -> None:
    make_deal(name="North: Acme", owner=org.alice)
    make_deal(name="North: Globex", owner=org.bob)
    make_deal(name="South: Initech", owner=org.charlie)

    alice_sees = deal_names(signed_in(org.alice).get("/deals/").content.decode())
    charlie_sees = deal_names(signed_in(org.charlie).get("/deals/").content.decode())
    olivia_sees = deal_names(signed_in(org.olivia).get("/deals/").content.decode())

    assert sorted(alice_sees) == ["North: Acme", "North: Globex"]
    assert charlie_sees == ["South: Initech"]
    assert sorted(olivia_sees) == ["North: Acme", "North: Globex", "South: Initech"]


def test_each_row_shows_account_owner_stage_amount_next_step_and_status(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    account = create_account(acting_user=org.alice, name="Acme Corp")
    deal = make_deal(name="Acme rollout", account=account, amount="48000.00", currency="EUR")
    due = timezone.localdate() + timedelta(days=5)
    set_next_step(acting_user=org.alice, deal=deal, text="Call the CFO", due=due)
    lost = make_deal(name="Lost one", amount="10.00", currency="USD")
    close_lost(acting_user=org.alice, deal=lost, reason="price")

    html = signed_in(org.mona).get("/deals/").content.decode()

    row = html[html.index("Acme rollout"):html.index("</tr>", html.index("Acme rollout"))]
    for text in ("Acme Corp", "Alice", "Prospecting", "48,000.00 EUR", f"{due:%Y-%m-%d}",
                 "Open"):
        assert text in row
    lost_row = html[html.index("Lost one"):html.index("</tr>", html.index("Lost one"))]
    assert "10.00 USD" in lost_row and "Lost" in lost_row


def test_fifty_deals_a_page(org: Any, make_deal: Any, signed_in: Any) -> None:
    for n in range(51):
        make_deal(name=f"Deal {n:02d}")
    client = signed_in(org.alice)

    first = deal_names(client.get("/deals/").content.decode())
    second = deal_names(client.get("/deals/?page=2").content.decode())

    assert len(first) == 50 and first[0] == "Deal 50"
    assert second == ["Deal 00"]


def test_the_list_runs_the_same_queries_however_many_deals(org: Any, make_deal: Any,
                                                           signed_in: Any) -> None:
    def add_deals(n: int) -> None:
        for i in range(n):
            owner = org.alice if i % 2 else org.bob
            account = create_account(acting_user=owner, name=f"Account {i}")
            deal = make_deal(owner=owner, account=account, name=f"Deal {i}")
            set_next_step(acting_user=owner, deal=deal, text="Follow up",
                          due=timezone.localdate() + timedelta(days=i))

    def queries_for(client: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/deals/").status_code == 200
        return len(captured)

    for persona in ("alice", "mona", "olivia"):
        signed_in(getattr(org, persona)).get("/deals/")  # warm: the default process is applied
    add_deals(2)
    few = {p: queries_for(signed_in(getattr(org, p))) for p in ("alice", "mona", "olivia")}
    add_deals(25)
    many = {p: queries_for(signed_in(getattr(org, p))) for p in ("alice", "mona", "olivia")}

    assert many == few
    assert max(many.values()) <= 7


def test_a_deal_name_is_escaped(org: Any, make_deal: Any, signed_in: Any) -> None:
    make_deal(name="<img src=x onerror=alert(1)>")

    html = signed_in(org.alice).get("/deals/").content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html
