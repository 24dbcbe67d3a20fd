"""Next steps, activities, stakeholders and qualification answers recorded on a deal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.services import create_contact
from dealcraft.deals.models import Activity, Deal, NextStep, QualificationAnswer, Stakeholder
from dealcraft.deals.services import (
    answer_qualification,
    complete_activity,
    log_activity,
    name_stakeholder,
    set_next_step,
)
from dealcraft.errors import InvalidInput, NotAllowed, NotFound

from .conftest import reload


@pytest.fixture
def deal(make_deal: Any) -> Deal:
    return make_deal()


def test_new_next_step_replaces_the_current_one_and_keeps_the_old_in_history(
        org: Any, deal: Deal) -> None:
    soon = timezone.localdate() + timedelta(days=3)
    first = set_next_step(acting_user=org.alice, deal=deal, text="Send agenda", due=soon)
    second = set_next_step(acting_user=org.alice, deal=deal, text="Discovery call",
                           due=soon + timedelta(days=4), buyer_confirmed=True)

    stored = reload(deal)
    assert stored.next_step == second
    assert stored.version == 3
    assert set(NextStep.objects.filter(deal=deal)) == {first, second}
    assert (second.owner, second.set_by, second.buyer_confirmed) == (org.alice, org.alice, True)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"text": "", "due": "2031-01-01"}, "text"),
    ({"text": "Call", "due": "whenever"}, "due"),
])
def test_next_step_needs_text_and_a_date(org: Any, deal: Deal, kwargs: dict[str, Any],
                                         field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        set_next_step(acting_user=org.alice, deal=deal, **kwargs)

    assert refused.value.field == field
    assert reload(deal).next_step is None


def test_call_is_logged_as_done_and_task_as_open(org: Any, deal: Deal) -> None:
    call = log_activity(acting_user=org.alice, deal=deal, kind="call", subject="Intro call")
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck",
                        due_at=timezone.now() + timedelta(days=1))

    assert Activity.objects.get(pk=call.pk).done_at is not None
    assert Activity.objects.get(pk=task.pk).done_at is None


def test_unknown_activity_kind_is_refused(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        log_activity(acting_user=org.alice, deal=deal, kind="carrier_pigeon", subject="Coo")

    assert refused.value.field == "kind"


def test_other_teams_rep_cannot_log_on_norths_deal(org: Any, deal: Deal) -> None:
    with pytest.raises(NotAllowed):
        log_activity(acting_user=org.charlie, deal=deal, kind="note", subject="Peeking")

    assert not Activity.objects.exists()


def test_naming_the_same_stakeholder_again_updates_influence_and_support(
        org: Any, deal: Deal) -> None:
    contact = create_contact(acting_user=org.alice, account=None, first_name="Eve")
    name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="champion")

    name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="champion",
                     influence=3, support=1)

    (stakeholder,) = Stakeholder.objects.filter(deal=deal)
    assert (stakeholder.influence, stakeholder.support) == (3, 1)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"role": "mascot"}, "role"),
    ({"role": "champion", "influence": 5}, "influence"),
])
def test_stakeholder_role_must_come_from_the_process(org: Any, deal: Deal,
                                                     kwargs: dict[str, Any], field: str) -> None:
    contact = create_contact(acting_user=org.alice, account=None, first_name="Eve")

    with pytest.raises(InvalidInput) as refused:
        name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, **kwargs)

    assert refused.value.field == field


def test_qualification_answer_is_stored_and_replaced(org: Any, deal: Deal) -> None:
    answer_qualification(acting_user=org.alice, deal=deal, framework="bant",
                         criterion="budget", level=1)
    answer_qualification(acting_user=org.alice, deal=deal, framework="bant",
                         criterion="budget", level=3, evidence="Budget line in the FY plan")

    (answer,) = QualificationAnswer.objects.filter(deal=deal)
    assert (answer.level, answer.evidence) == (3, "Budget line in the FY plan")


def test_confirmed_answer_needs_its_evidence(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        answer_qualification(acting_user=org.alice, deal=deal, framework="meddicc",
                             criterion="champion", level=3)

    assert refused.value.field == "evidence"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"framework": "spiced", "criterion": "pain", "level": 1}, "framework"),
    ({"framework": "bant", "criterion": "champion", "level": 1}, "criterion"),
    ({"framework": "bant", "criterion": "budget", "level": 4}, "level"),
    ({"framework": "bant", "criterion": "budget", "level": True}, "level"),
])
def test_bad_qualification_answer_is_refused(org: Any, deal: Deal, kwargs: dict[str, Any],
                                             field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        answer_qualification(acting_user=org.alice, deal=deal, **kwargs)

    assert refused.value.field == field
    assert not QualificationAnswer.objects.exists()


def test_completing_a_task_marks_it_done_and_audits_who_did_it(org: Any, deal: Deal) -> None:
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck",
                        due_at=timezone.now() + timedelta(days=1))

    done = complete_activity(acting_user=org.alice, activity=task)

    assert Activity.objects.get(pk=task.pk).done_at == done.done_at is not None
    event = AuditEvent.objects.filter(action="activity.complete").get()
    assert (event.actor, event.deal_id, event.object_id) == (org.alice, deal.pk, str(task.pk))
    assert event.changes == {"kind": "task", "subject": "Send deck"}


def test_a_done_activity_cannot_be_completed_twice(org: Any, deal: Deal) -> None:
    call = log_activity(acting_user=org.alice, deal=deal, kind="call", subject="Intro call")
    done_at = Activity.objects.get(pk=call.pk).done_at

    with pytest.raises(InvalidInput) as refused:
        complete_activity(acting_user=org.alice, activity=call.pk)

    assert refused.value.field == "activity"
    assert Activity.objects.get(pk=call.pk).done_at == done_at
    assert not AuditEvent.objects.filter(action="activity.complete").exists()


@pytest.mark.parametrize("persona", ["bob", "vera", "charlie"])
def test_only_someone_who_may_edit_the_deal_completes_its_tasks(org: Any, deal: Deal,
                                                                persona: str) -> None:
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")

    with pytest.raises(NotAllowed):
        complete_activity(acting_user=getattr(org, persona), activity=task)

    assert Activity.objects.get(pk=task.pk).done_at is None


def test_completing_a_missing_activity_is_not_found(org: Any) -> None:
    with pytest.raises(NotFound):
        complete_activity(acting_user=org.alice, activity=999999)


def test_a_new_contact_refused_a_role_is_not_kept(org: Any, make_deal: Any) -> None:
    from dealcraft.crm.models import Contact
    from dealcraft.deals.services import name_contact_on_deal

    deal = make_deal()

    with pytest.raises(InvalidInput):
        name_contact_on_deal(acting_user=org.alice, deal=deal, role="no_such_role",
                             new_contact={"first_name": "Jared", "last_name": "Dunn"})
    assert not Contact.objects.filter(last_name="Dunn").exists()


def test_naming_a_contact_needs_exactly_one_of_existing_or_new(org: Any,
                                                               make_deal: Any) -> None:
    from dealcraft.deals.services import name_contact_on_deal

    with pytest.raises(InvalidInput) as refused:
        name_contact_on_deal(acting_user=org.alice, deal=make_deal(), role="champion")
    assert refused.value.field == "contact_id"
