"""Who may change a deal's workspaces: its owner, the team's manager and admins. Everyone else
is refused, and a refused change writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.discovery import services
from dealcraft.discovery.models import (
    CapabilityRecommendation,
    DiscoveryWorkspace,
    QuestionAnswer,
    QuestionNote,
    SolutionWorkspace,
)
from dealcraft.errors import NotAllowed

pytestmark = pytest.mark.django_db

CHANGES: dict[str, Callable[[Any, Any], object]] = {
    "research": lambda user, deal: services.save_research(
        acting_user=user, deal=deal, company="Acme"),
    "agenda": lambda user, deal: services.save_agenda(
        acting_user=user, deal=deal, agenda="1. Pains"),
    "agreement": lambda user, deal: services.record_agenda_agreement(
        acting_user=user, deal=deal, agreed=False),
    "answer": lambda user, deal: services.answer_question(
        acting_user=user, deal=deal, question="handling_today", text="Spreadsheets"),
    "note": lambda user, deal: services.add_question_note(
        acting_user=user, deal=deal, question="handling_today", text="Ask for a sample"),
    "summary": lambda user, deal: services.save_summary(
        acting_user=user, deal=deal, summary="Approvals are slow"),
    "impact": lambda user, deal: services.set_impact_and_urgency(
        acting_user=user, deal=deal, urgency="high"),
    "recommend": lambda user, deal: services.recommend_capability(
        acting_user=user, deal=deal, capability="integrations", pain="Double entry"),
    "demo": lambda user, deal: services.save_demo_plan(
        acting_user=user, deal=deal, plan="Guided tour"),
    "value": lambda user, deal: services.record_value_confirmation(
        acting_user=user, deal=deal, answer="yes"),
}


def nothing_written() -> bool:
    return not any(model.objects.exists() for model in (
        DiscoveryWorkspace, SolutionWorkspace, QuestionAnswer, QuestionNote,
        CapabilityRecommendation))


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize(("persona", "told"), [
    ("bob", "may read this deal but not change it"),
    ("vera", "may read this deal but not change it"),
    ("olivia", "may read this deal but not change it"),
    ("charlie", "do not have access to this deal"),
])
def test_only_those_who_may_edit_the_deal_change_its_workspaces(
        org: Any, make_deal: Any, change: str, persona: str, told: str) -> None:
    deal = make_deal()
    audit_rows = AuditEvent.objects.exclude(action="permission.refused").count()

    with pytest.raises(NotAllowed, match=told):
        CHANGES[change](getattr(org, persona), deal)

    assert nothing_written()
    assert AuditEvent.objects.exclude(action="permission.refused").count() == audit_rows


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("persona", ["alice", "mona", "ada"])
def test_the_owner_the_teams_manager_and_admins_change_the_workspaces(
        org: Any, make_deal: Any, change: str, persona: str) -> None:
    deal = make_deal()
    user = getattr(org, persona)

    CHANGES[change](user, deal)

    assert AuditEvent.objects.filter(deal=deal, actor=user).exists()
