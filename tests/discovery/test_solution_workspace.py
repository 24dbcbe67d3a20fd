"""The solution workspace (step 5): a capability map tied to confirmed pains (no feature
dumping), the demo plan, and the buyer's answer at the value-confirmation checkpoint."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.discovery import services
from dealcraft.discovery.models import CapabilityRecommendation, SolutionWorkspace
from dealcraft.errors import Conflict, InvalidInput, NotFound

pytestmark = pytest.mark.django_db


def the_map(deal: Any) -> list[tuple[str, str]]:
    return list(CapabilityRecommendation.objects.filter(deal=deal)
                .values_list("capability", "pain"))


def test_a_capability_is_recommended_for_a_confirmed_pain(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    rec = services.recommend_capability(acting_user=org.alice, deal=deal,
                                        capability="audit_trail",
                                        pain="Audits take three weeks to prepare")

    assert (rec.recommended_by, rec.pain) == (org.alice, "Audits take three weeks to prepare")
    [event] = AuditEvent.objects.filter(deal=deal, action="solution.recommend")
    assert event.changes == {"capability": "audit_trail",
                             "pain": {"from": None, "to": "Audits take three weeks to prepare"}}


def test_recommending_again_relinks_the_pain(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations")

    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations",
                                  pain="Double data entry")

    assert the_map(deal) == [("integrations", "Double data entry")]


def test_a_recommendation_without_a_pain_stands_as_feature_dumping(org: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal()

    services.recommend_capability(acting_user=org.alice, deal=deal, capability="collaboration",
                                  pain="   ")

    assert the_map(deal) == [("collaboration", "")]


def test_only_the_process_capabilities_can_be_recommended(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        services.recommend_capability(acting_user=org.alice, deal=deal, capability="teleporter",
                                      pain="Slow")

    assert refused.value.field == "capability"
    assert the_map(deal) == []


def test_a_capability_can_be_taken_off_the_map(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations",
                                  pain="Double data entry")

    services.withdraw_capability(acting_user=org.alice, deal=deal, capability="integrations")

    assert the_map(deal) == []
    [event] = AuditEvent.objects.filter(deal=deal, action="solution.withdraw")
    assert event.changes == {"capability": "integrations", "pain": "Double data entry"}


def test_withdrawing_what_was_never_recommended_is_not_found(org: Any, make_deal: Any) -> None:
    with pytest.raises(NotFound):
        services.withdraw_capability(acting_user=org.alice, deal=make_deal(),
                                     capability="integrations")


def test_the_demo_plan_has_its_scenarios_and_date(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    ws = services.save_demo_plan(acting_user=org.alice, deal=deal,
                                 plan="1. Approval routing\n2. SLA dashboard",
                                 demo_date="2030-03-14")

    ws.refresh_from_db()
    assert (ws.demo_plan, ws.demo_date, ws.demo_by) == (
        "1. Approval routing\n2. SLA dashboard", date(2030, 3, 14), org.alice)
    [event] = AuditEvent.objects.filter(deal=deal, action="solution.demo_plan")
    assert event.changes["demo_date"] == {"from": None, "to": "2030-03-14"}


def test_a_demo_date_that_is_not_a_date_is_refused(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.save_demo_plan(acting_user=org.alice, deal=make_deal(), plan="Tour",
                                demo_date="next Tuesday")

    assert refused.value.field == "demo_date"


def test_a_stale_demo_plan_is_refused(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.save_demo_plan(acting_user=org.mona, deal=deal, plan="Mona's plan", seen="")

    with pytest.raises(Conflict, match="Mona changed the demo plan"):
        services.save_demo_plan(acting_user=org.alice, deal=deal, plan="Alice's plan", seen="")

    assert SolutionWorkspace.objects.get(deal=deal).demo_plan == "Mona's plan"


def test_the_buyers_yes_is_recorded_with_who_recorded_it(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    ws = services.record_value_confirmation(acting_user=org.alice, deal=deal, answer="yes")

    assert (ws.value_answer, ws.value_by) == ("yes", org.alice) and ws.value_at is not None
    [event] = AuditEvent.objects.filter(deal=deal, action="solution.value_confirmation")
    assert event.changes == {"answer": {"from": "", "to": "yes"}, "buyer_words": ""}


@pytest.mark.parametrize("answer", ["partly", "no"])
def test_anything_but_yes_needs_the_buyers_words(org: Any, make_deal: Any, answer: str) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        services.record_value_confirmation(acting_user=org.alice, deal=deal, answer=answer)
    ws = services.record_value_confirmation(acting_user=org.alice, deal=deal, answer=answer,
                                            buyer_words="Reporting is still a gap")

    assert refused.value.field == "buyer_words"
    assert (ws.value_answer, ws.value_buyer_words) == (answer, "Reporting is still a gap")


def test_the_answer_is_yes_partly_or_no(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.record_value_confirmation(acting_user=org.alice, deal=make_deal(),
                                           answer="maybe", buyer_words="Hmm")

    assert refused.value.field == "answer"
