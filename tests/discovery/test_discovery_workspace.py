"""The discovery workspace (step 4): research, the agenda the buyer agreed to, answers and
notes against the question bank, impact and urgency, and the summary with its next steps."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal
from dealcraft.discovery import services
from dealcraft.discovery.models import DiscoveryWorkspace, QuestionAnswer, QuestionNote
from dealcraft.errors import Conflict, InvalidInput
from dealcraft.processes.services import apply_process, default_process_source

pytestmark = pytest.mark.django_db


def audit(deal: Deal, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(deal=deal, action=action).order_by("id"))


def test_research_notes_are_kept_with_who_wrote_them_and_when(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    ws = services.save_research(acting_user=org.alice, deal=deal, company="  Acme, 900 staff ",
                                role="VP Operations", trigger_events="New customs rules",
                                likely_pains="Manual hand-offs")

    ws.refresh_from_db()
    assert (ws.research_company, ws.research_role, ws.research_triggers, ws.research_pains) == (
        "Acme, 900 staff", "VP Operations", "New customs rules", "Manual hand-offs")
    assert ws.research_by == org.alice and ws.research_at is not None
    [event] = audit(deal, "discovery.research")
    assert event.actor == org.alice
    assert event.changes["research_role"] == {"from": "", "to": "VP Operations"}


def test_saving_research_unchanged_writes_no_audit_row(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.save_research(acting_user=org.alice, deal=deal, company="Acme")

    services.save_research(acting_user=org.alice, deal=deal, company="Acme ")

    assert len(audit(deal, "discovery.research")) == 1


def test_a_stale_research_edit_is_refused_and_says_who_changed_it(org: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal()
    first = services.save_research(acting_user=org.alice, deal=deal, company="Acme",
                                   seen="")
    opened = services.stamp(first.research_at)
    services.save_research(acting_user=org.mona, deal=deal, company="Acme Group",
                           seen=opened)

    with pytest.raises(Conflict) as refused:
        services.save_research(acting_user=org.alice, deal=deal, company="Acme Ltd",
                               seen=opened)

    assert "Mona changed the research notes" in refused.value.message
    assert DiscoveryWorkspace.objects.get(deal=deal).research_company == "Acme Group"


def test_a_first_edit_conflicts_with_someone_elses_first_edit(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.save_summary(acting_user=org.mona, deal=deal, summary="Mona's summary", seen="")

    with pytest.raises(Conflict):
        services.save_summary(acting_user=org.alice, deal=deal, summary="Alice's", seen="")


def test_the_buyers_agreement_needs_an_agenda(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        services.record_agenda_agreement(acting_user=org.alice, deal=deal, agreed=True)

    assert refused.value.field == "agenda"
    assert not audit(deal, "discovery.agenda_agreement")


def test_the_buyers_agreement_is_recorded_with_who_recorded_it(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.save_agenda(acting_user=org.alice, deal=deal, agenda="1. Current state\n2. Pains")

    ws = services.record_agenda_agreement(acting_user=org.alice, deal=deal, agreed=True)

    assert ws.agenda_agreed and ws.agreement_by == org.alice and ws.agreement_at is not None
    assert ws.agenda == "1. Current state\n2. Pains"
    assert audit(deal, "discovery.agenda_agreement")[0].changes == {"agreed": True}


def test_changing_the_agenda_clears_the_buyers_agreement(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.save_agenda(acting_user=org.alice, deal=deal, agenda="1. Current state")
    services.record_agenda_agreement(acting_user=org.alice, deal=deal, agreed=True)

    ws = services.save_agenda(acting_user=org.alice, deal=deal,
                              agenda="1. Current state\n2. Pricing")

    assert not ws.agenda_agreed and ws.agreement_by is None
    assert audit(deal, "discovery.agenda")[-1].changes["agenda_agreed"] == {"from": True,
                                                                           "to": False}


def test_a_question_has_one_answer_and_answering_again_replaces_it(org: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal()
    services.answer_question(acting_user=org.alice, deal=deal, question="handling_today",
                             text="Spreadsheets")

    answer = services.answer_question(acting_user=org.mona, deal=deal,
                                      question="handling_today", text="Spreadsheets and email")

    assert answer is not None
    assert list(QuestionAnswer.objects.filter(deal=deal).values_list("text", "answered_by")) == [
        ("Spreadsheets and email", org.mona.pk)]
    assert audit(deal, "discovery.answer")[-1].changes == {
        "question": "handling_today",
        "text": {"from": "Spreadsheets", "to": "Spreadsheets and email"}}


def test_a_blank_answer_removes_the_answer(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.answer_question(acting_user=org.alice, deal=deal, question="six_months",
                             text="We lose the Q3 contract")

    assert services.answer_question(acting_user=org.alice, deal=deal, question="six_months",
                                    text="  ") is None

    assert not QuestionAnswer.objects.filter(deal=deal).exists()
    assert audit(deal, "discovery.answer")[-1].changes["text"] == {
        "from": "We lose the Q3 contract", "to": ""}


def test_a_stale_answer_is_refused(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.answer_question(acting_user=org.mona, deal=deal, question="who_else",
                             text="The CFO", seen="")

    with pytest.raises(Conflict, match="Mona changed this answer"):
        services.answer_question(acting_user=org.alice, deal=deal, question="who_else",
                                 text="Nobody", seen="")


@pytest.mark.parametrize("service", ["answer_question", "add_question_note"])
def test_answers_and_notes_belong_to_the_question_bank(org: Any, make_deal: Any,
                                                       service: str) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        getattr(services, service)(acting_user=org.alice, deal=deal, question="favourite_colour",
                                   text="Blue")

    assert refused.value.field == "question"


def test_notes_accumulate_under_their_question(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    services.add_question_note(acting_user=org.alice, deal=deal, question="pain_example",
                               text="Two days lost on the Rotterdam shipment")
    services.add_question_note(acting_user=org.mona, deal=deal, question="pain_example",
                               text="Ask for the incident report")

    assert list(QuestionNote.objects.filter(deal=deal).values_list("text", "written_by")) == [
        ("Two days lost on the Rotterdam shipment", org.alice.pk),
        ("Ask for the incident report", org.mona.pk)]
    assert len(audit(deal, "discovery.note")) == 2


def test_an_empty_note_is_refused(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput):
        services.add_question_note(acting_user=org.alice, deal=make_deal(),
                                   question="pain_example", text=" \n ")


def test_the_summary_keeps_the_confirmed_pains_one_a_line(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    ws = services.save_summary(acting_user=org.alice, deal=deal,
                               confirmed_pains="Slow approvals  \n\n  Double data entry\n",
                               summary="Approvals cost two days a week",
                               next_steps="Workshop on the 12th")

    assert ws.pains == ["Slow approvals", "Double data entry"]
    assert (ws.summary, ws.next_steps, ws.summary_by) == (
        "Approvals cost two days a week", "Workshop on the 12th", org.alice)


def test_a_confirmed_pain_longer_than_a_line_is_refused(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.save_summary(acting_user=org.alice, deal=make_deal(),
                              confirmed_pains="x" * 501)

    assert refused.value.field == "confirmed_pains"


def test_text_beyond_its_limit_is_refused(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.save_research(acting_user=org.alice, deal=make_deal(), company="x" * 5001)

    assert refused.value.field == "company"


def test_impact_and_urgency_are_written_to_the_deals_own_fields(org: Any,
                                                                make_deal: Any) -> None:
    deal = make_deal()

    updated = services.set_impact_and_urgency(
        acting_user=org.alice, deal=deal, business_impact="Two days of delay a week",
        urgency="high", version=deal.version)

    assert Deal.objects.get(pk=deal.pk).fields == {
        "business_impact": "Two days of delay a week", "urgency": "high"}
    assert updated.version == deal.version + 1
    [event] = audit(deal, "deal.update")
    assert event.changes["fields"]["to"] == {"business_impact": "Two days of delay a week",
                                             "urgency": "high"}


def test_urgency_must_be_one_of_the_process_choices(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.set_impact_and_urgency(acting_user=org.alice, deal=make_deal(),
                                        urgency="yesterday")

    assert refused.value.field == "fields.urgency"


def test_impact_against_a_stale_deal_version_is_a_conflict(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.set_impact_and_urgency(acting_user=org.mona, deal=deal, urgency="medium",
                                    version=deal.version)

    with pytest.raises(Conflict):
        services.set_impact_and_urgency(acting_user=org.alice, deal=deal, urgency="low",
                                        version=deal.version)

    assert Deal.objects.get(pk=deal.pk).fields["urgency"] == "medium"


def test_a_blank_impact_clears_the_field(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    services.set_impact_and_urgency(acting_user=org.alice, deal=deal, business_impact="Big",
                                    urgency="high")

    services.set_impact_and_urgency(acting_user=org.alice, deal=deal, business_impact="")

    assert Deal.objects.get(pk=deal.pk).fields == {"urgency": "high"}


def test_impact_fields_the_process_does_not_define_are_refused(org: Any,
                                                               make_deal: Any) -> None:
    source = default_process_source()
    for old, new in (("  - key: urgency\n", "  - key: priority\n"),
                     ("        field: urgency\n", "        field: priority\n")):
        assert source.count(old) == 1
        source = source.replace(old, new)
    apply_process(source, acting_user=None)

    with pytest.raises(InvalidInput) as refused:
        services.set_impact_and_urgency(acting_user=org.alice, deal=make_deal(), urgency="high")

    assert refused.value.field == "urgency"


def test_workspace_edits_mark_the_deal_as_touched(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    services.add_question_note(acting_user=org.alice, deal=deal, question="who_else",
                               text="The CFO signs above 50k")

    assert Deal.objects.get(pk=deal.pk).updated_at > deal.updated_at
