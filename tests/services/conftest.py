"""Helpers shared by the service tests: process-file edits and deals brought to a stage."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.services import create_contact
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import (
    advance_stage,
    answer_qualification,
    name_stakeholder,
    record_evidence,
    set_next_step,
)
from dealcraft.people.models import User
from dealcraft.processes.services import default_process_source

MEDDICC = ("metrics", "economic_buyer", "decision_criteria", "decision_process",
           "identify_pain", "champion", "competition")


def edited_process(*replacements: tuple[str, str]) -> str:
    """The default process file with each (regex, replacement) applied exactly once."""
    source = default_process_source()
    for pattern, replacement in replacements:
        source, n = re.subn(pattern, replacement, source, count=1, flags=re.MULTILINE)
        assert n == 1, f"{pattern!r} is not in the default process file"
    return source


def with_setting(name: str, value: str) -> str:
    """The default process file with one `settings:` entry changed."""
    return edited_process((rf"^  {name}: \w+", f"  {name}: {value}"))


def counts() -> tuple[int, int]:
    """How many history and audit rows exist: a failed service call must change neither."""
    return StageHistory.objects.count(), AuditEvent.objects.count()


def reload(deal: Deal) -> Deal:
    return Deal.objects.get(pk=deal.pk)


def satisfy_qualification(deal: Deal, user: User, *, meddicc_level: int = 2) -> None:
    """Record everything the default qualification gate asks for, through the services.

    MEDDICC answers all at `meddicc_level` score 33.3 (level 1), 66.7 (level 2) or 100.
    """
    for criterion in ("problem_confirmed", "business_impact_discussed"):
        record_evidence(acting_user=user, deal=deal, criterion=criterion,
                        text=f"Buyer's own words on {criterion}")
    champion = create_contact(acting_user=user, account=None, first_name="Chris",
                              last_name="Champion", email="chris@buyer.example")
    name_stakeholder(acting_user=user, deal=deal, contact=champion, role="champion")
    set_next_step(acting_user=user, deal=deal, text="Discovery workshop with the ops team",
                  due=timezone.localdate() + timedelta(days=7), buyer_confirmed=True)
    for criterion in MEDDICC:
        answer_qualification(acting_user=user, deal=deal, framework="meddicc",
                             criterion=criterion, level=meddicc_level,
                             evidence="Heard on the call" if meddicc_level == 3 else "")


@pytest.fixture
def qualifying_deal(org: Any, make_deal: Any) -> Deal:
    """Alice's deal, moved from prospecting into qualification (a warn gate lets it pass)."""
    deal = make_deal()
    return advance_stage(acting_user=org.alice, deal=deal, to="qualification")
