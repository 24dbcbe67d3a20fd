"""The pipeline board: its columns and totals, the cards, and who sees which deals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.models import Deal
from dealcraft.deals.services import record_evidence, set_next_step

from .conftest import HTMX, card, text

pytestmark = pytest.mark.django_db

STAGES = ["Prospecting", "Qualification", "Discovery", "Solution &amp; demo",
          "Proposal &amp; business case", "Negotiation &amp; commitment"]


def idle(deal: Any, days: int) -> None:
    """As if the deal entered its stage `days` ago."""
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - timedelta(days=days))


def column_head(html: str, stage: str) -> str:
    start = html.index('<header class="column-head">', html.index(f'id="column-{stage}"'))
    return text(html[start:html.index("</header>", start)])


def test_signing_in_is_required(client: Client) -> None:
    for url in ("/pipeline/", "/pipeline/columns/prospecting/"):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_the_board_has_a_column_per_open_stage_in_process_order(org: Any, make_deal: Any,
                                                                signed_in: Any) -> None:
    make_deal()

    html = signed_in(org.alice).get("/pipeline/").content.decode()

    headings = [html.index(f'-heading">{name}</h2>') for name in STAGES]
    assert headings == sorted(headings)
    assert "Won</h2>" not in html and "Lost</h2>" not in html


def test_column_totals_count_deals_and_keep_currencies_apart(org: Any, make_deal: Any,
                                                             deal_in: Any,
                                                             signed_in: Any) -> None:
    make_deal(amount="48000.00", currency="EUR")
    make_deal(amount="2000.00", currency="EUR")
    make_deal(amount="10000.00", currency="USD")
    deal_in("discovery", amount="5.00", currency="GBP")

    html = signed_in(org.alice).get("/pipeline/").content.decode()

    assert column_head(html, "prospecting") == (
        "Prospecting 3 deals 50,000.00 EUR 10,000.00 USD Rots after 14 days")
    assert column_head(html, "discovery") == "Discovery 1 deal 5.00 GBP Rots after 21 days"
    assert column_head(html, "solution") == (
        "Solution &amp; demo 0 deals No amount Rots after 21 days")


def test_columns_load_their_cards_lazily_with_a_link_for_browsers_without_script(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    html = signed_in(org.alice).get("/pipeline/").content.decode()

    assert 'hx-get="/pipeline/columns/prospecting/" hx-trigger="load"' in html
    assert '<a href="/pipeline/columns/prospecting/">Show the deals in Prospecting</a>' in html
    assert card(html, deal.pk) == ""
    assert 'hx-get="/pipeline/columns/discovery/"' not in html  # nothing to load there


def test_a_column_without_script_is_a_page_of_its_own(org: Any, make_deal: Any,
                                                      signed_in: Any) -> None:
    deal = make_deal(name="Acme platform rollout")

    response = signed_in(org.alice).get("/pipeline/columns/prospecting/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Prospecting</h1>" in html
    assert "1 open deal · 48,000.00 EUR" in text(html)
    assert "Acme platform rollout" in card(html, deal.pk)


def test_a_column_for_htmx_is_just_its_cards(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    html = signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX).content.decode()

    assert html.lstrip().startswith(f'<li class="deal-card is-movable" id="deal-card-{deal.pk}"')
    assert "<html" not in html


def test_an_unknown_stage_has_no_column(org: Any, signed_in: Any) -> None:
    assert signed_in(org.alice).get("/pipeline/columns/nowhere/").status_code == 404


def test_a_card_shows_the_deal_its_account_amount_owner_and_readiness(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    account = create_account(acting_user=org.alice, name="Acme Corp")
    deal = make_deal(name="Acme platform rollout", account=account, amount="48000.00",
                     currency="EUR")
    set_next_step(acting_user=org.alice, deal=deal, text="Call the CFO",
                  due=timezone.localdate() + timedelta(days=3))
    idle(deal, 5)

    html = card(signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX)
                .content.decode(), deal.pk)

    assert f'<a href="/deals/{deal.pk}/">Acme platform rollout</a>' in html
    assert '<p class="deal-account">Acme Corp</p>' in html
    assert "48,000.00 EUR" in html
    assert "<dt>Owner</dt><dd>Alice</dd>" in html
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert f'<time datetime="{due}">{due}</time>' in html
    assert "5 of 14 days" in html
    # Prospecting's four criteria: the account is set and the next step is dated in time.
    assert "2 of 4 exit criteria met" in html
    assert "flag" not in html


def test_a_card_flags_an_overdue_next_step_in_words(org: Any, make_deal: Any,
                                                    signed_in: Any) -> None:
    deal = make_deal()
    due = timezone.localdate() - timedelta(days=2)
    set_next_step(acting_user=org.alice, deal=deal, text="Send the proposal", due=due)

    html = card(signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX)
                .content.decode(), deal.pk)

    assert (f'<span class="flag flag-overdue">Overdue since <time datetime="{due.isoformat()}">'
            in html)


def test_a_card_flags_a_missing_next_step(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    html = card(signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX)
                .content.decode(), deal.pk)

    assert '<span class="flag flag-missing">No next step</span>' in html
    assert "0 of 4 exit criteria met" in html


def test_a_card_flags_a_deal_past_its_stage_rotting_days(org: Any, make_deal: Any,
                                                         signed_in: Any) -> None:
    deal = make_deal()
    idle(deal, 20)

    html = card(signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX)
                .content.decode(), deal.pk)

    assert '<span class="flag flag-rotting">20 days, past 14</span>' in html


def test_readiness_counts_the_current_stage_criteria(org: Any, deal_in: Any,
                                                     signed_in: Any) -> None:
    deal = deal_in("proposal")
    record_evidence(acting_user=org.alice, deal=deal, criterion="buyer_reviewed_proposal",
                    text="Finance reviewed it on Monday.")

    html = card(signed_in(org.alice).get("/pipeline/columns/proposal/", **HTMX)
                .content.decode(), deal.pk)

    assert "1 of 3 exit criteria met" in html


def test_cards_come_in_pages_of_fifty_ordered_by_expected_close(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    start = timezone.localdate() + timedelta(days=10)
    deals = [make_deal(name=f"Deal {i:02}", expected_close=start + timedelta(days=i % 7))
             for i in range(53)]
    order = sorted(deals, key=lambda d: (d.expected_close, d.pk))
    client = signed_in(org.alice)

    first = client.get("/pipeline/columns/prospecting/", **HTMX).content.decode()
    cursor = f"{order[49].expected_close.isoformat()}.{order[49].pk}"
    assert f'hx-get="/pipeline/columns/prospecting/?after={cursor}"' in first
    second = client.get(f"/pipeline/columns/prospecting/?after={cursor}", **HTMX).content.decode()

    def ids(html: str) -> list[int]:
        return [d.pk for d in order if card(html, d.pk)]

    assert ids(first) == [d.pk for d in order[:50]]
    assert ids(second) == [d.pk for d in order[50:]]
    assert "Load more" not in second


def test_a_rep_sees_the_team_board_and_moves_only_their_own_cards(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    own = make_deal()
    bobs = make_deal(owner=org.bob)

    html = signed_in(org.alice).get("/pipeline/columns/prospecting/", **HTMX).content.decode()

    assert "Move to…" in card(html, own.pk)
    assert card(html, bobs.pk) and "Move to…" not in card(html, bobs.pk)


def test_a_manager_sees_and_moves_the_team_deals(org: Any, make_deal: Any,
                                                 signed_in: Any) -> None:
    alices, bobs = make_deal(), make_deal(owner=org.bob)
    client = signed_in(org.mona)

    board = client.get("/pipeline/").content.decode()
    html = client.get("/pipeline/columns/prospecting/", **HTMX).content.decode()

    assert "2 deals" in column_head(board, "prospecting")
    assert "Move to…" in card(html, alices.pk) and "Move to…" in card(html, bobs.pk)


def test_another_team_does_not_see_the_deals(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    client = signed_in(org.charlie)

    board = client.get("/pipeline/").content.decode()
    column = client.get("/pipeline/columns/prospecting/").content.decode()

    assert "0 deals" in column_head(board, "prospecting")
    assert card(column, deal.pk) == ""
    assert "48,000.00" not in board + column


def test_a_viewer_reads_the_board_without_moving_anything(org: Any, make_deal: Any,
                                                          signed_in: Any) -> None:
    deal = make_deal()

    html = signed_in(org.vera).get("/pipeline/columns/prospecting/", **HTMX).content.decode()

    assert card(html, deal.pk)
    assert "Move to…" not in html


def test_closed_deals_are_not_on_the_board(org: Any, make_deal: Any, signed_in: Any) -> None:
    from dealcraft.deals.services import close_lost

    deal = make_deal()
    close_lost(acting_user=org.alice, deal=deal, reason="No budget")

    client = signed_in(org.alice)
    assert "0 deals" in column_head(client.get("/pipeline/").content.decode(), "prospecting")
    assert card(client.get("/pipeline/columns/prospecting/").content.decode(), deal.pk) == ""


def _busy_pipeline(org: Any, make_deal: Any, n: int) -> None:
    """`n` deals in prospecting with a mix of next steps, evidence and accounts."""
    account = create_account(acting_user=org.alice, name="Acme Corp")
    for i in range(n):
        deal = make_deal(name=f"Deal {i}", owner=org.bob if i % 3 else org.alice,
                         account=account if i % 2 else None,
                         currency="USD" if i % 4 else "EUR")
        if i % 2:
            set_next_step(acting_user=deal.owner, deal=deal, text="Follow up",
                          due=timezone.localdate() + timedelta(days=i % 9 - 4))
        if i % 5 == 0:
            record_evidence(acting_user=deal.owner, deal=deal, criterion="problem_confirmed",
                            text="Confirmed on the call.")


def _queries(client: Client, url: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["alice", "mona", "ada"])
def test_the_board_and_a_column_cost_the_same_queries_for_5_or_60_deals(
        org: Any, make_deal: Any, signed_in: Any, persona: str) -> None:
    client = signed_in(getattr(org, persona))
    _busy_pipeline(org, make_deal, 5)
    few = (_queries(client, "/pipeline/"),
           _queries(client, "/pipeline/columns/prospecting/", **HTMX),
           _queries(client, "/pipeline/columns/prospecting/"))

    _busy_pipeline(org, make_deal, 55)
    many = (_queries(client, "/pipeline/"),
            _queries(client, "/pipeline/columns/prospecting/", **HTMX),
            _queries(client, "/pipeline/columns/prospecting/"))

    assert few == many
    assert many[0] <= 10 and many[1] <= 12


@pytest.mark.parametrize("query", ["after=2025-01-01.99999999999999999999999", "after=garbage",
                                   "after=2025-13-01.5", "owner=99999999999999999999999",
                                   "team=-1", "amount_min=1e400"])
def test_malformed_parameters_do_not_break_a_column(org: Any, make_deal: Any, signed_in: Any,
                                                    query: str) -> None:
    deal = make_deal()

    response = signed_in(org.alice).get(f"/pipeline/columns/prospecting/?{query}", **HTMX)

    assert response.status_code == 200
    assert card(response.content.decode(), deal.pk)
