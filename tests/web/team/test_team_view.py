"""The manager view: the team's pipeline, funnel, stuck deals, overrides and gate adherence
per rep, for managers (their teams), ops and admins (every team); reps are refused."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Deal
from dealcraft.deals.services import (
    advance_stage,
    log_activity,
    name_stakeholder,
    set_next_step,
)
from dealcraft.people.services import create_user

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def idle(deal: Any, days: int) -> None:
    """As if the deal entered its stage `days` ago."""
    Deal.objects.filter(pk=deal.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=days))


def meet_prospecting(deal: Any, user: Any) -> None:
    """Everything the prospecting gate asks for, so the next move passes cleanly."""
    contact = create_contact(acting_user=user, account=deal.account, first_name="Pat",
                             last_name="Buyer")
    name_stakeholder(acting_user=user, deal=deal, contact=contact, role="champion")
    log_activity(acting_user=user, deal=deal, kind="call", subject="Intro call")
    set_next_step(acting_user=user, deal=deal, text="Qualification call",
                  due=timezone.localdate() + timedelta(days=5))


def row_of(html: str, header: str) -> list[str]:
    """The cells of the table row headed `header`, as text."""
    match = re.search(rf"<th scope=\"row\">{re.escape(header)}</th>(.*?)</tr>", html, re.S)
    assert match, f"no row {header!r}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def chart_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="team-chart-data" type="application/json">(.*?)</script>',
                      html, re.S)
    assert match
    return dict(json.loads(match.group(1)))


@pytest.fixture
def history(org: Any, make_deal: Any) -> dict[str, Any]:
    """North: one clean move and one warned move by Alice's deals, one override by Mona,
    a stuck deal of Bob's. South: Charlie's deal, overridden by Ada."""
    account = create_account(acting_user=org.alice, name="Acme Corp")
    clean = make_deal(name="Clean move", account=account, amount="1000.00", currency="EUR")
    meet_prospecting(clean, org.alice)
    advance_stage(acting_user=org.alice, deal=clean, to="qualification")
    warned = make_deal(name="Warned move", amount="2000.00", currency="USD")
    advance_stage(acting_user=org.alice, deal=warned, to="qualification")
    forced = make_deal(name="Forced move", amount="3000.00", currency="EUR")
    advance_stage(acting_user=org.mona, deal=forced, to="discovery",
                  override_reason="CFO confirmed budget in person")
    stuck = make_deal(name="Bob's stuck deal", owner=org.bob, amount="500.00", currency="EUR")
    idle(stuck, 40)
    south = make_deal(name="South secret", owner=org.charlie, amount="777777.00",
                      currency="SEK")
    advance_stage(acting_user=org.ada, deal=south, to="discovery",
                  override_reason="Board asked for South")
    return {"clean": clean, "warned": warned, "forced": forced, "stuck": stuck, "south": south}


def test_signing_in_is_required(client: Client) -> None:
    response = client.get("/team/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/team/"


def test_reps_and_viewers_are_refused_with_a_managers_only_page(org: Any,
                                                               signed_in: Any) -> None:
    for person in (org.alice, org.charlie, org.vera):
        response = signed_in(person).get("/team/")

        assert response.status_code == 403
        assert "for sales managers, revenue operations and admins" in response.content.decode()


def test_managers_ops_and_admins_may_open_it(org: Any, signed_in: Any) -> None:
    for person in (org.mona, org.olivia, org.ada):
        assert signed_in(person).get("/team/").status_code == 200


def test_pipeline_counts_and_amounts_per_stage_category_and_currency(
        org: Any, history: dict[str, Any], signed_in: Any) -> None:
    html = signed_in(org.mona).get("/team/").content.decode()
    pipeline = section(html, "pipeline")

    # Columns: pipeline, best case, commit, omitted, all open, stuck.
    assert row_of(pipeline, "Prospecting") == ["1 500.00 EUR", "0", "0", "0", "1 500.00 EUR",
                                               "1"]
    assert row_of(pipeline, "Qualification") == [
        "2 1,000.00 EUR 2,000.00 USD", "0", "0", "0", "2 1,000.00 EUR 2,000.00 USD", "0"]
    assert row_of(pipeline, "Discovery")[0] == "1 3,000.00 EUR"
    assert row_of(pipeline, "All stages") == [
        "4 4,500.00 EUR 2,000.00 USD", "0", "0", "0", "4 4,500.00 EUR 2,000.00 USD", "1"]
    assert "6,500.00" not in pipeline


def test_a_manager_sees_only_her_teams_numbers(org: Any, history: dict[str, Any],
                                               signed_in: Any) -> None:
    mona_sees = signed_in(org.mona).get("/team/").content.decode()
    ada_sees = signed_in(org.ada).get("/team/").content.decode()

    for text in ("South secret", "777,777.00", "SEK", "Board asked for South", "Charlie"):
        assert text not in mona_sees
        assert text in ada_sees
    assert "<h1>Team <span class=\"muted\">North</span></h1>" in mona_sees
    assert row_of(section(ada_sees, "pipeline"), "Discovery")[0] == (
        "2 3,000.00 EUR 777,777.00 SEK")


def test_stuck_deals_are_listed_furthest_past_first(org: Any, make_deal: Any,
                                                    signed_in: Any) -> None:
    a_little = make_deal(name="A little stuck", owner=org.bob)
    idle(a_little, 16)
    a_lot = make_deal(name="Very stuck", amount="9.00", currency="USD")
    idle(a_lot, 50)
    idle(make_deal(name="Fresh"), 3)

    stuck = section(signed_in(org.mona).get("/team/").content.decode(), "stuck")

    assert re.findall(r'<a href="/deals/\d+/">([^<]*)</a>', stuck) == ["Very stuck",
                                                                       "A little stuck"]
    assert f'href="/deals/{a_lot.pk}/"' in stuck
    assert "50 <span class=\"muted\">/ 14</span>" in stuck and "9.00 USD" in stuck


def test_overrides_show_the_move_who_made_it_the_reason_and_what_was_unmet(
        org: Any, history: dict[str, Any], signed_in: Any) -> None:
    overrides = section(signed_in(org.mona).get("/team/").content.decode(), "overrides")

    assert f'<a href="/deals/{history["forced"].pk}/">Forced move</a>' in overrides
    assert "Prospecting → Discovery" in overrides
    assert "CFO confirmed budget in person" in overrides
    assert "Mona" in overrides
    assert "Problem confirmed" in overrides
    assert "Clean move" not in overrides and "Warned move" not in overrides


def test_gate_adherence_per_rep(org: Any, history: dict[str, Any], signed_in: Any) -> None:
    adherence = section(signed_in(org.mona).get("/team/").content.decode(), "adherence")

    # passed, with warnings, overridden, passed share, stages skipped, open, without next step
    assert row_of(adherence, "Alice") == ["1", "1", "1", "33%", "1", "3", "2"]
    assert row_of(adherence, "Bob") == ["0", "0", "0", "—", "0", "1", "1"]
    assert "Charlie" not in adherence


def test_charts_draw_the_numbers_the_tables_show(org: Any, history: dict[str, Any],
                                                 signed_in: Any) -> None:
    html = signed_in(org.mona).get("/team/").content.decode()
    data = chart_data(html)

    assert data["pipeline"]["labels"][:3] == ["Prospecting", "Qualification", "Discovery"]
    pipeline_series = {s["key"]: s["data"] for s in data["pipeline"]["series"]}
    assert pipeline_series["pipeline"][:3] == [1, 2, 1]
    assert data["funnel"]["labels"][0] == "Prospecting"
    assert data["funnel"]["reached"][:3] == [4, 2, 1]  # the forced move skipped one
    assert data["funnel"]["advanced"][0] == 3
    assert data["adherence"] == {"labels": ["Alice", "Bob"], "passed": [1, 0],
                                 "warned": [1, 0], "overridden": [1, 0]}
    assert row_of(section(html, "funnel"), "Prospecting")[:3] == ["4", "3", "75%"]
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer></script>' in html
    assert '<script src="/static/web/team.js" defer></script>' in html


def test_the_chart_library_is_served_with_its_licence(org: Any, signed_in: Any) -> None:
    client = signed_in(org.mona)
    library = b"".join(client.get("/static/vendor/chartjs/chart.umd.min.js").streaming_content)
    script = b"".join(client.get("/static/web/team.js").streaming_content)

    assert library.startswith(b"/*!\n * Chart.js v4.6.1")
    assert b"team-chart-data" in script
    assert b"MIT License" in b"".join(
        client.get("/static/vendor/chartjs/LICENSE").streaming_content)


def test_names_and_reasons_are_escaped(org: Any, make_deal: Any, signed_in: Any) -> None:
    create_user(acting_user=org.ada, username="xavier", role="rep", team="North",
                first_name=XSS)
    deal = make_deal(name=XSS)
    advance_stage(acting_user=org.mona, deal=deal, to="discovery", override_reason=XSS)
    idle(deal, 40)

    html = signed_in(org.mona).get("/team/").content.decode()

    assert XSS not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # stuck, override, reason, rep
    assert "\\u003Cimg src=x onerror=alert(1)\\u003E" in html  # in the chart data


def test_the_page_runs_the_same_queries_however_many_deals(org: Any, make_deal: Any,
                                                           signed_in: Any) -> None:
    def add_deals(n: int) -> None:
        for i in range(n):
            owner = org.alice if i % 2 else org.bob
            deal = make_deal(owner=owner, name=f"Deal {i}", currency=("EUR", "USD", "GBP")[i % 3])
            advance_stage(acting_user=owner, deal=deal, to="qualification")
            if i % 3 == 0:
                advance_stage(acting_user=org.mona, deal=deal, to="discovery",
                              override_reason=f"Reason {i}")
            idle(deal, 10 + 3 * i)

    def queries(client: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/team/")
        assert response.status_code == 200
        return len(captured)

    client = signed_in(org.mona)
    add_deals(3)
    few = queries(client)
    add_deals(30)
    many = queries(client)

    assert few == many
    assert few <= 16
