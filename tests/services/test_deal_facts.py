"""Loading what deals' records prove, for gates on lists and boards, without N+1 queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.facts import deal_facts, facts_for_deals, gate_readiness
from dealcraft.deals.models import Deal
from dealcraft.deals.services import (
    answer_qualification,
    log_activity,
    name_stakeholder,
    record_evidence,
    set_next_step,
)
from dealcraft.processes.services import active_process


def _busy_deal(org: Any, make_deal: Any, i: int) -> Deal:
    """A deal with a record of every kind that gates read."""
    account = create_account(acting_user=org.alice, name=f"Account {i}")
    deal = make_deal(name=f"Deal {i}", account=account)
    record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                    text="Confirmed")
    contact = create_contact(acting_user=org.alice, account=account, first_name=f"Pat {i}")
    name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="champion")
    answer_qualification(acting_user=org.alice, deal=deal, framework="meddicc",
                         criterion="metrics", level=i % 4,
                         evidence="Numbers from the CFO" if i % 4 == 3 else "")
    log_activity(acting_user=org.alice, deal=deal, kind="call", subject="Intro")
    set_next_step(acting_user=org.alice, deal=deal, text="Follow up",
                  due=timezone.localdate() + timedelta(days=i % 10), buyer_confirmed=i % 2 == 0)
    return deal


@pytest.fixture
def twenty_deals(org: Any, make_deal: Any) -> list[Deal]:
    for i in range(20):
        _busy_deal(org, make_deal, i)
    return list(Deal.objects.select_related("account", "next_step").order_by("id"))


def _queries_for(deals: list[Deal]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        facts_for_deals(deals)
    return len(ctx.captured_queries)


def test_facts_take_the_same_number_of_queries_for_one_deal_and_for_twenty(
        twenty_deals: list[Deal], django_assert_num_queries: Any) -> None:
    one = _queries_for(twenty_deals[:1])

    with django_assert_num_queries(one):
        facts = facts_for_deals(twenty_deals)

    assert len(facts) == 20
    assert one <= 6


def test_facts_for_many_deals_match_the_facts_of_each(twenty_deals: list[Deal]) -> None:
    today = timezone.localdate()
    together = facts_for_deals(twenty_deals, today)

    for deal in twenty_deals:
        assert together[deal.pk] == deal_facts(deal, today)


def test_facts_show_what_each_deal_has_recorded(org: Any, twenty_deals: list[Deal]) -> None:
    facts = facts_for_deals(twenty_deals)

    for i, deal in enumerate(twenty_deals):
        f = facts[deal.pk]
        assert f.evidence == frozenset({"problem_confirmed"})
        assert f.stakeholder_roles == {"champion": 1}
        assert f.qualification == {"meddicc": {"metrics": i % 4}}
        assert [kind for kind, _ in f.activities_done] == ["call"]
        assert f.next_step_due == timezone.localdate() + timedelta(days=i % 10)
        assert f.next_step_buyer_confirmed is (i % 2 == 0)
        assert f.fields["account"] == f"Account {i}"
        assert set(f.stage_entered) == {"prospecting"}


def test_facts_of_no_deals_cost_no_query(db: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert facts_for_deals([]) == {}


def test_gate_readiness_for_a_board_is_computed_from_the_loaded_facts(
        twenty_deals: list[Deal], django_assert_num_queries: Any) -> None:
    _, process = active_process()
    facts = facts_for_deals(twenty_deals)

    with django_assert_num_queries(0):
        readiness = gate_readiness(process, twenty_deals, facts)

    assert set(readiness) == {d.pk for d in twenty_deals}
    for result in readiness.values():
        assert result.stage == "prospecting"
        assert "account_set" in result.met
        assert "contact_named" in result.met
