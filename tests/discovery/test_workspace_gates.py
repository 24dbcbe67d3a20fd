"""Exit criteria that read the workspaces: the facts a deal's workspaces prove, the gates they
open, and loading those facts for many deals in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.deals.facts import deal_facts, facts_for_deals
from dealcraft.deals.models import Deal
from dealcraft.deals.services import advance_stage, preview_move
from dealcraft.discovery import services
from dealcraft.domain.gates import WorkspaceFacts
from dealcraft.domain.process import Process
from dealcraft.errors import GateRefused

from .conftest import WORKSPACE_KEYS, fill_discovery, fill_solution, in_discovery

pytestmark = pytest.mark.django_db


def blocking(deal: Deal, to: str) -> set[str]:
    return {u.key for u in preview_move(Deal.objects.get(pk=deal.pk), to).blocking}


def test_a_deal_with_empty_workspaces_has_empty_workspace_facts(org: Any,
                                                                make_deal: Any) -> None:
    assert deal_facts(make_deal()).workspace == WorkspaceFacts()


def test_the_facts_show_what_the_workspaces_hold(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    fill_discovery(deal, org.alice)
    fill_solution(deal, org.alice)
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="collaboration")

    ws = deal_facts(Deal.objects.select_related("account", "next_step").get(pk=deal.pk)).workspace

    assert ws == WorkspaceFacts(
        research=frozenset({"company", "role", "trigger events", "likely pains"}),
        agenda_agreed=True,
        answered_questions=frozenset({"working_breaking", "pain_example"}),
        summary_written=True,
        next_steps_written=True,
        capabilities_recommended=2,
        capabilities_unlinked=1,
        demo_plan_written=True,
        demo_date=timezone.localdate() + timedelta(days=5),
        value_answer="yes",
    )


def test_the_discovery_gate_waits_for_the_discovery_workspace(
        org: Any, make_deal: Any, workspace_process: Process) -> None:
    deal = in_discovery(make_deal(), org)
    discovery_keys = set(WORKSPACE_KEYS[:4])
    assert discovery_keys <= blocking(deal, "solution")

    fill_discovery(deal, org.alice)

    assert not discovery_keys & blocking(deal, "solution")


def test_each_discovery_item_leaves_the_unmet_list_as_it_is_done(
        org: Any, make_deal: Any, workspace_process: Process) -> None:
    deal = in_discovery(make_deal(), org)

    services.save_research(acting_user=org.alice, deal=deal, company="Acme", role="VP Ops",
                           trigger_events="New rules")
    assert "research_written" in blocking(deal, "solution")
    services.save_research(acting_user=org.alice, deal=deal, company="Acme", role="VP Ops",
                           trigger_events="New rules", likely_pains="Slow approvals")
    assert "research_written" not in blocking(deal, "solution")

    services.answer_question(acting_user=org.alice, deal=deal, question="working_breaking",
                             text="Approvals")
    services.answer_question(acting_user=org.alice, deal=deal, question="handling_today",
                             text="Email")
    assert "pain_questions_answered" in blocking(deal, "solution")
    services.answer_question(acting_user=org.alice, deal=deal, question="who_feels_it",
                             text="The depot leads")
    assert "pain_questions_answered" not in blocking(deal, "solution")


def test_an_agenda_edited_after_agreement_reopens_the_criterion(
        org: Any, make_deal: Any, workspace_process: Process) -> None:
    deal = in_discovery(make_deal(), org)
    services.save_agenda(acting_user=org.alice, deal=deal, agenda="1. Pains")
    services.record_agenda_agreement(acting_user=org.alice, deal=deal, agreed=True)
    assert "agenda_agreed_by_buyer" not in blocking(deal, "solution")

    services.save_agenda(acting_user=org.alice, deal=deal, agenda="1. Pains\n2. Pricing")

    assert "agenda_agreed_by_buyer" in blocking(deal, "solution")


def test_urgency_set_in_the_workspace_meets_the_field_criterion(org: Any,
                                                                make_deal: Any) -> None:
    deal = in_discovery(make_deal(), org)
    assert "urgency_set" in blocking(deal, "solution")

    services.set_impact_and_urgency(acting_user=org.alice, deal=deal,
                                    business_impact="Two days lost a week", urgency="high")

    assert "urgency_set" not in blocking(deal, "solution")


def test_feature_dumping_keeps_the_solution_gate_closed(
        org: Any, make_deal: Any, workspace_process: Process) -> None:
    deal = advance_stage(acting_user=org.mona, deal=make_deal(), to="solution",
                         override_reason="Moved for the test of the solution gate")
    fill_solution(deal, org.alice)
    assert not set(WORKSPACE_KEYS[4:]) & blocking(deal, "proposal")

    services.recommend_capability(acting_user=org.alice, deal=deal,
                                  capability="dashboards_reporting")

    assert "capabilities_tied_to_pains" in blocking(deal, "proposal")
    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=deal, to="proposal")
    unmet = {u.key: u.message for u in refused.value.transition.blocking}
    assert "feature dumping" in unmet["capabilities_tied_to_pains"]


def test_a_partly_at_the_value_checkpoint_does_not_confirm_value(
        org: Any, make_deal: Any, workspace_process: Process) -> None:
    deal = advance_stage(acting_user=org.mona, deal=make_deal(), to="solution",
                         override_reason="Moved for the test of the value checkpoint")
    services.record_value_confirmation(acting_user=org.alice, deal=deal, answer="partly",
                                       buyer_words="Reporting is still a gap")

    assert "buyer_confirmed_value" in blocking(deal, "proposal")


# ---------------------------------------------------------------------------- many deals


def _deal_with_workspaces(org: Any, make_deal: Any, i: int) -> None:
    deal = make_deal(name=f"Deal {i}")
    fill_discovery(deal, org.alice)
    for question in ("handling_today", "who_else", "budget_path")[: i % 4]:
        services.answer_question(acting_user=org.alice, deal=deal, question=question,
                                 text=f"Answer {i}")
    fill_solution(deal, org.alice)
    if i % 3 == 0:
        services.recommend_capability(acting_user=org.alice, deal=deal,
                                      capability="collaboration")


@pytest.fixture
def twenty_deals(org: Any, make_deal: Any) -> list[Deal]:
    for i in range(20):
        _deal_with_workspaces(org, make_deal, i)
    make_deal(name="Untouched")
    return list(Deal.objects.select_related("account", "next_step").order_by("id"))


def _queries_for(deals: list[Deal]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        facts_for_deals(deals)
    return len(ctx.captured_queries)


def test_workspace_facts_cost_one_query_whatever_the_number_of_deals(
        twenty_deals: list[Deal], django_assert_num_queries: Any) -> None:
    one = _queries_for(twenty_deals[:1])

    with django_assert_num_queries(one):
        facts = facts_for_deals(twenty_deals)

    assert len(facts) == 21
    assert one == 6  # five for the deal records, one for both workspaces


def test_workspace_facts_for_many_deals_match_the_facts_of_each(
        twenty_deals: list[Deal]) -> None:
    today = timezone.localdate()
    together = facts_for_deals(twenty_deals, today)

    for i, deal in enumerate(twenty_deals[:20]):
        ws = together[deal.pk].workspace
        assert together[deal.pk] == deal_facts(deal, today)
        assert len(ws.answered_questions) == 2 + i % 4
        assert (ws.capabilities_recommended, ws.capabilities_unlinked) == (
            (2, 1) if i % 3 == 0 else (1, 0))
    assert together[twenty_deals[-1].pk].workspace == WorkspaceFacts()
