"""A process whose discovery and solution gates read the workspaces, and deals to fill them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.deals.models import Deal
from dealcraft.deals.services import advance_stage
from dealcraft.discovery import services
from dealcraft.domain.process import Process
from dealcraft.people.models import User
from dealcraft.processes.services import active_process, apply_process, default_process_source

DISCOVERY_CRITERIA = """\
      - key: research_written
        kind: workspace
        item: research_done
        label: "Pre-call research written"
      - key: agenda_agreed_by_buyer
        kind: workspace
        item: agenda_agreed
        label: "Agenda agreed by the buyer"
      - key: pain_questions_answered
        kind: workspace
        item: questions_answered
        layer: pain
        min: 2
        label: "Two pain questions answered"
      - key: discovery_summarised
        kind: workspace
        item: summary_written
        label: "Discovery summarised, next steps secured"
"""
SOLUTION_CRITERIA = """\
      - key: capabilities_tied_to_pains
        kind: workspace
        item: capabilities_mapped
        label: "Every recommendation tied to a confirmed pain"
      - key: demo_scheduled
        kind: workspace
        item: demo_planned
        label: "Demo planned and dated"
      - key: buyer_confirmed_value
        kind: workspace
        item: value_confirmed
        label: "The buyer confirmed the value"
"""
WORKSPACE_KEYS = ("research_written", "agenda_agreed_by_buyer", "pain_questions_answered",
                  "discovery_summarised", "capabilities_tied_to_pains", "demo_scheduled",
                  "buyer_confirmed_value")


def workspace_process_source() -> str:
    """The default process with workspace criteria added to its discovery and solution gates."""
    source = default_process_source()
    for anchor, criteria in (("      - key: pain_points_identified\n", DISCOVERY_CRITERIA),
                             ("      - key: value_confirmed\n", SOLUTION_CRITERIA)):
        assert source.count(anchor) == 1, anchor
        source = source.replace(anchor, criteria + anchor)
    return source


@pytest.fixture
def workspace_process(db: Any) -> Process:
    apply_process(workspace_process_source(), acting_user=None, note="workspace criteria")
    return active_process()[1]


def in_discovery(deal: Deal, org: Any) -> Deal:
    """The deal moved into the discovery stage (its manager overrides qualification)."""
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    return advance_stage(acting_user=org.mona, deal=deal, to="discovery",
                         override_reason="Qualified on the phone with the CFO")


def fill_discovery(deal: Deal, user: User) -> None:
    """Everything the discovery workspace criteria ask for, through the services."""
    services.save_research(acting_user=user, deal=deal, company="Acme: 900 staff, logistics",
                           role="VP Operations", trigger_events="New customs rules in Q3",
                           likely_pains="Manual hand-offs between depots")
    services.save_agenda(acting_user=user, deal=deal, agenda="1. Today's process\n2. Pains")
    services.record_agenda_agreement(acting_user=user, deal=deal, agreed=True)
    services.answer_question(acting_user=user, deal=deal, question="working_breaking",
                             text="Hand-offs between depots break weekly")
    services.answer_question(acting_user=user, deal=deal, question="pain_example",
                             text="Last Tuesday a shipment waited two days for approval")
    services.save_summary(acting_user=user, deal=deal,
                          confirmed_pains="Manual hand-offs between depots\nSlow approvals",
                          summary="Approvals and hand-offs cost two days a week",
                          next_steps="Workshop with the depot leads on the 12th")


def fill_solution(deal: Deal, user: User) -> None:
    """Everything the solution workspace criteria ask for, through the services."""
    services.recommend_capability(acting_user=user, deal=deal, capability="workflow_automation",
                                  pain="Slow approvals")
    services.save_demo_plan(acting_user=user, deal=deal, plan="Approval routing, then SLAs",
                            demo_date=timezone.localdate() + timedelta(days=5))
    services.record_value_confirmation(acting_user=user, deal=deal, answer="yes",
                                       buyer_words="Yes, if approvals take hours not days")
