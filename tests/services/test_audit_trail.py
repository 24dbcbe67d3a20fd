"""Every service call writes exactly one audit row naming the person who acted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Deal
from dealcraft.deals.services import (
    advance_stage,
    answer_qualification,
    close_lost,
    close_won,
    log_activity,
    name_stakeholder,
    record_evidence,
    reopen_deal,
    set_next_step,
    update_deal,
)
from dealcraft.people.services import create_token, create_user
from dealcraft.processes.services import active_process, apply_process

from .conftest import edited_process


@dataclass
class World:
    """What a call under test acts on: the personas, a deal of Alice's and a contact."""

    org: Any
    deal: Deal
    contact: Contact


def _lost(w: World) -> Deal:
    return close_lost(acting_user=w.org.alice, deal=w.deal, reason="Timing")


def _no_setup(w: World) -> Deal:
    return w.deal


# Each case: who acts, the action audited, setup that is not under test, and the call.
CASES: dict[str, tuple[str, str, Callable[[World], Deal], Callable[[World], Any]]] = {
    "update_deal": ("alice", "deal.update", _no_setup, lambda w: update_deal(
        acting_user=w.org.alice, deal=w.deal, version=w.deal.version,
        changes={"amount": "1.00"})),
    "record_evidence": ("alice", "evidence.record", _no_setup, lambda w: record_evidence(
        acting_user=w.org.alice, deal=w.deal, criterion="problem_confirmed", text="Said so")),
    "set_next_step": ("alice", "deal.next_step", _no_setup, lambda w: set_next_step(
        acting_user=w.org.alice, deal=w.deal, text="Call",
        due=timezone.localdate() + timedelta(days=2))),
    "log_activity": ("alice", "activity.log", _no_setup, lambda w: log_activity(
        acting_user=w.org.alice, deal=w.deal, kind="call", subject="Intro call")),
    "name_stakeholder": ("alice", "stakeholder.name", _no_setup, lambda w: name_stakeholder(
        acting_user=w.org.alice, deal=w.deal, contact=w.contact, role="champion")),
    "answer_qualification": ("alice", "qualification.answer", _no_setup,
                             lambda w: answer_qualification(
                                 acting_user=w.org.alice, deal=w.deal, framework="meddicc",
                                 criterion="metrics", level=2)),
    "advance_stage": ("alice", "deal.advance", _no_setup, lambda w: advance_stage(
        acting_user=w.org.alice, deal=w.deal, to="qualification")),
    "override": ("mona", "deal.override", _no_setup, lambda w: advance_stage(
        acting_user=w.org.mona, deal=w.deal, to="discovery", override_reason="Exec sponsor")),
    "close_won": ("mona", "deal.won", _no_setup, lambda w: close_won(
        acting_user=w.org.mona, deal=w.deal, override_reason="Signed")),
    "close_lost": ("alice", "deal.lost", _no_setup, _lost),
    "reopen_deal": ("alice", "deal.reopen", _lost, lambda w: reopen_deal(
        acting_user=w.org.alice, deal=w.deal, reason="Back")),
    "create_account": ("alice", "account.create", _no_setup, lambda w: create_account(
        acting_user=w.org.alice, name="Globex")),
    "create_contact": ("alice", "contact.create", _no_setup, lambda w: create_contact(
        acting_user=w.org.alice, account=None, email="pat@buyer.example")),
    "apply_process": ("olivia", "process.apply", _no_setup, lambda w: apply_process(
        edited_process((r"^        min: 60$", "        min: 50")), acting_user=w.org.olivia)),
    "create_user": ("ada", "user.create", _no_setup, lambda w: create_user(
        acting_user=w.org.ada, username="nina", role="rep", team="North")),
    "create_token": ("alice", "token.create", _no_setup, lambda w: create_token(
        acting_user=w.org.alice, user=w.org.alice)),
}


@pytest.mark.parametrize("case", CASES)
def test_service_writes_exactly_one_audit_row_with_the_acting_user(
        org: Any, make_deal: Any, case: str) -> None:
    persona, action, setup, call = CASES[case]
    contact = create_contact(acting_user=org.alice, account=None, first_name="Dana",
                             last_name="Buyer")
    world = World(org, make_deal(), contact)
    world.deal = Deal.objects.get(pk=setup(world).pk)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    call(world)

    (event,) = AuditEvent.objects.filter(id__gt=last)
    assert event.action == action
    assert event.actor == getattr(org, persona)


def test_creating_a_deal_writes_exactly_one_audit_row(org: Any, make_deal: Any) -> None:
    active_process()
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    make_deal()

    (event,) = AuditEvent.objects.filter(id__gt=last)
    assert (event.action, event.actor) == ("deal.create", org.alice)


def test_deal_changes_are_found_from_the_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    close_lost(acting_user=org.alice, deal=deal, reason="Price")

    assert list(deal.audit_events.order_by("id").values_list("action", flat=True)) == [
        "deal.create", "deal.advance", "deal.lost"]
