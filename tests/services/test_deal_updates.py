"""Changing a deal's own fields: optimistic concurrency, permissions, audit and history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import StageHistory
from dealcraft.deals.services import update_deal
from dealcraft.errors import Conflict, InvalidInput, NotAllowed

from .conftest import counts, reload


def test_update_with_the_current_version_changes_the_deal_and_bumps_the_version(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()

    updated = update_deal(acting_user=org.alice, deal=deal, version=1,
                          changes={"name": "Acme, phase 2", "amount": "52000"})

    stored = reload(deal)
    assert stored.name == updated.name == "Acme, phase 2"
    assert stored.amount == Decimal("52000.00")
    assert stored.version == updated.version == 2


def test_stale_version_is_a_conflict_carrying_the_current_deal(org: Any,
                                                               make_deal: Any) -> None:
    deal = make_deal()
    update_deal(acting_user=org.alice, deal=deal, version=1, changes={"amount": "50000"})

    with pytest.raises(Conflict) as conflict:
        update_deal(acting_user=org.alice, deal=deal, version=1, changes={"amount": "1.00"})

    assert conflict.value.current.pk == deal.pk
    assert conflict.value.current.version == 2
    assert conflict.value.current.amount == Decimal("50000.00")
    assert "version 2" in conflict.value.message
    assert reload(deal).amount == Decimal("50000.00")


def test_conflict_writes_nothing(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    update_deal(acting_user=org.alice, deal=deal, version=1, changes={"amount": "50000"})
    before = counts()

    with pytest.raises(Conflict):
        update_deal(acting_user=org.alice, deal=deal, version=1, changes={"name": "Stale"})

    assert counts() == before
    assert reload(deal).version == 2


def test_changes_are_audited_with_from_and_to(org: Any, make_deal: Any) -> None:
    deal = make_deal(amount="48000.00")
    new_close = timezone.localdate() + timedelta(days=90)

    update_deal(acting_user=org.alice, deal=deal, version=1,
                changes={"amount": "60000", "expected_close": new_close,
                         "name": deal.name})

    event = AuditEvent.objects.get(action="deal.update")
    assert event.actor == org.alice
    assert event.deal_id == deal.pk
    assert event.changes == {
        "amount": {"from": "48000.00", "to": "60000.00"},
        "expected_close": {"from": deal.expected_close.isoformat(),
                           "to": new_close.isoformat()},
    }


@pytest.mark.parametrize("changes", [
    {"amount": "99.99"},
    {"expected_close": "2032-06-30"},
    {"currency": "GBP"},
])
def test_amount_or_close_date_change_writes_an_update_history_row(
        org: Any, make_deal: Any, changes: dict[str, Any]) -> None:
    deal = make_deal()

    update_deal(acting_user=org.alice, deal=deal, version=1, changes=changes)

    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert row.kind == "update"
    assert row.from_stage == row.to_stage == "prospecting"
    assert row.by == org.alice
    stored = reload(deal)
    assert (row.amount, row.currency, row.expected_close) == (
        stored.amount, stored.currency, stored.expected_close)


def test_renaming_a_deal_writes_no_history_row(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    update_deal(acting_user=org.alice, deal=deal, version=1, changes={"name": "Renamed"})

    assert list(StageHistory.objects.filter(deal=deal).values_list("kind", flat=True)) == [
        "created"]


def test_update_that_changes_nothing_keeps_the_version_and_writes_nothing(
        org: Any, make_deal: Any) -> None:
    deal = make_deal(amount="48000.00")
    before = counts()

    update_deal(acting_user=org.alice, deal=deal, version=1,
                changes={"amount": "48000", "name": deal.name})

    assert counts() == before
    assert reload(deal).version == 1


def test_rep_on_another_team_cannot_edit_norths_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        update_deal(acting_user=org.charlie, deal=deal, version=1, changes={"amount": "1"})

    assert reload(deal).amount == Decimal("48000.00")


def test_rep_cannot_edit_a_teammates_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        update_deal(acting_user=org.bob, deal=deal, version=1, changes={"amount": "1"})


def test_viewer_cannot_edit_a_deal_she_can_read(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed) as refused:
        update_deal(acting_user=org.vera, deal=deal, version=1, changes={"name": "Vera's"})

    assert "read" in refused.value.message
    assert reload(deal).name == "Acme platform rollout"


def test_manager_edits_a_deal_of_their_team(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    update_deal(acting_user=org.mona, deal=deal, version=1, changes={"probability": 35})

    assert reload(deal).probability == 35
    assert AuditEvent.objects.get(action="deal.update").actor == org.mona


def test_rep_cannot_hand_a_deal_to_someone_else(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        update_deal(acting_user=org.alice, deal=deal, version=1, changes={"owner": org.bob})


def test_manager_reassigns_a_deal_and_it_follows_the_new_owners_team(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()

    update_deal(acting_user=org.mona, deal=deal, version=1, changes={"owner": org.bob})

    stored = reload(deal)
    assert stored.owner == org.bob
    assert stored.team == org.bob.team
    changes = AuditEvent.objects.get(action="deal.update").changes
    assert changes["owner"] == {"from": "alice", "to": "bob"}


def test_manager_cannot_hand_a_deal_to_a_team_they_do_not_manage(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        update_deal(acting_user=org.mona, deal=deal, version=1, changes={"owner": org.charlie})
    assert reload(deal).owner == org.alice


def test_stage_cannot_be_changed_by_an_update(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        update_deal(acting_user=org.alice, deal=deal, version=1,
                    changes={"stage": "negotiation"})

    assert refused.value.field == "stage"
    assert reload(deal).stage == "prospecting"


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "12.345"}, "amount"),
    ({"currency": "EURO"}, "currency"),
    ({"expected_close": "someday"}, "expected_close"),
    ({"probability": 101}, "probability"),
    ({"probability": True}, "probability"),
    ({"forecast_category": "closed"}, "forecast_category"),
    ({"fields": {"urgency": "extreme"}}, "fields.urgency"),
    ({"fields": {"nope": 1}}, "fields.nope"),
])
def test_bad_update_is_refused_naming_the_field(org: Any, make_deal: Any,
                                                changes: dict[str, Any], field: str) -> None:
    deal = make_deal()

    with pytest.raises(InvalidInput) as refused:
        update_deal(acting_user=org.alice, deal=deal, version=1, changes=changes)

    assert refused.value.field == field
    assert reload(deal).version == 1


def test_custom_fields_are_merged_and_cleared_with_none(org: Any, make_deal: Any) -> None:
    deal = make_deal(fields={"segment": "smb", "urgency": "low"})

    update_deal(acting_user=org.alice, deal=deal, version=1,
                changes={"fields": {"urgency": "high", "segment": None}})

    assert reload(deal).fields == {"urgency": "high"}
