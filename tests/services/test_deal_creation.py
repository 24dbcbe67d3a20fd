"""Opening a deal: where it starts, what input it accepts, who may open it, what it records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import create_deal
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.processes.services import active_process

from .conftest import counts, reload


def test_new_deal_starts_in_the_first_stage_with_its_probability_and_category(
        make_deal: Any) -> None:
    version, process = active_process()
    first = process.first_stage

    deal = reload(make_deal())

    assert deal.stage == first.key == "prospecting"
    assert deal.probability == first.probability == 5
    assert deal.forecast_category == first.forecast_category == "pipeline"
    assert deal.status == "open"
    assert deal.version == 1
    assert deal.process_version == version


def test_new_deal_belongs_to_its_owners_team(org: Any, make_deal: Any) -> None:
    assert make_deal(owner=org.alice).team == org.alice.team
    assert make_deal(owner=org.charlie).team == org.charlie.team


@pytest.mark.parametrize(("given", "stored"), [
    ("48000.5", Decimal("48000.50")),
    ("12", Decimal("12.00")),
    (Decimal("0.10"), Decimal("0.10")),
    (1999, Decimal("1999.00")),
    (" 7.25 ", Decimal("7.25")),
])
def test_amount_is_kept_as_a_decimal_with_two_places(make_deal: Any, given: Any,
                                                     stored: Decimal) -> None:
    deal = reload(make_deal(amount=given))

    assert isinstance(deal.amount, Decimal)
    assert deal.amount == stored
    assert str(deal.amount) == str(stored)


@pytest.mark.parametrize("amount", ["12.345", "lots", "", "-1.00", "NaN", "Infinity",
                                    "1e20", None])
def test_bad_amount_is_refused_naming_the_amount_field(make_deal: Any, amount: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(amount=amount)

    assert refused.value.field == "amount"
    assert not Deal.objects.exists()


def test_currency_is_normalised_to_upper_case(make_deal: Any) -> None:
    assert reload(make_deal(currency="gbp")).currency == "GBP"


def test_deal_without_currency_takes_the_process_currency(make_deal: Any) -> None:
    _, process = active_process()

    assert make_deal(currency=None).currency == process.currency == "USD"


@pytest.mark.parametrize("currency", ["EURO", "E1R", "€", "US", 978])
def test_bad_currency_is_refused_naming_the_currency_field(make_deal: Any,
                                                           currency: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(currency=currency)

    assert refused.value.field == "currency"


@pytest.mark.parametrize("expected_close", ["2025-13-01", "next quarter", "", "31/12/2025"])
def test_bad_close_date_is_refused_naming_the_expected_close_field(
        make_deal: Any, expected_close: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(expected_close=expected_close)

    assert refused.value.field == "expected_close"


def test_close_date_may_be_given_as_iso_text(make_deal: Any) -> None:
    assert reload(make_deal(expected_close="2031-03-31")).expected_close == date(2031, 3, 31)


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_deal_needs_a_name_of_sensible_length(make_deal: Any, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(name=name)

    assert refused.value.field == "name"


def test_rep_cannot_create_a_deal_for_someone_else(org: Any) -> None:
    with pytest.raises(NotAllowed):
        create_deal(acting_user=org.alice, owner=org.bob, name="Bob's deal", amount="10",
                    currency="EUR", expected_close=timezone.localdate())

    assert not Deal.objects.exists()


def test_viewer_cannot_create_a_deal(org: Any) -> None:
    with pytest.raises(NotAllowed):
        create_deal(acting_user=org.vera, name="Vera's deal", amount="10", currency="EUR",
                    expected_close=timezone.localdate())

    assert not Deal.objects.exists()


def test_manager_creates_deals_for_their_team_but_not_for_another(org: Any) -> None:
    deal = create_deal(acting_user=org.mona, owner=org.alice, name="Assigned", amount="10",
                       currency="EUR", expected_close=timezone.localdate())
    assert deal.owner == org.alice

    with pytest.raises(NotAllowed):
        create_deal(acting_user=org.mona, owner=org.charlie, name="Not mine", amount="10",
                    currency="EUR", expected_close=timezone.localdate())


def test_creating_a_deal_writes_a_created_history_row(org: Any, make_deal: Any) -> None:
    deal = make_deal(amount="1200.00",
                     expected_close=timezone.localdate() + timedelta(days=30))

    (row,) = StageHistory.objects.filter(deal=deal)
    assert row.kind == "created"
    assert (row.from_stage, row.to_stage) == ("", "prospecting")
    assert row.by == org.alice
    assert row.amount == Decimal("1200.00")
    assert row.currency == "EUR"
    assert row.expected_close == deal.expected_close
    assert row.forecast_category == "pipeline"
    assert row.probability == 5
    assert row.process_version == deal.process_version


def test_creating_a_deal_writes_one_audit_row(org: Any, make_deal: Any) -> None:
    active_process()  # the default process is applied (and audited) on first use
    before = AuditEvent.objects.count()

    deal = make_deal()

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.get(action="deal.create")
    assert event.actor == org.alice
    assert event.deal == deal
    assert event.object_id == str(deal.pk)
    assert event.changes["amount"] == "48000.00"
    assert event.changes["stage"] == "prospecting"


def test_custom_fields_are_checked_against_the_process_and_stored(make_deal: Any) -> None:
    deal = reload(make_deal(fields={"segment": "enterprise", "lead_source": "referral",
                                    "signature_date": date(2031, 1, 15),
                                    "trigger_event": "  New compliance deadline  "}))

    assert deal.fields == {"segment": "enterprise", "lead_source": "referral",
                           "signature_date": "2031-01-15",
                           "trigger_event": "New compliance deadline"}


def test_unknown_custom_field_is_refused(make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(fields={"favourite_colour": "blue"})

    assert refused.value.field == "fields.favourite_colour"
    assert "unknown field" in refused.value.message


def test_custom_field_choice_outside_the_list_is_refused(make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(fields={"segment": "galactic"})

    assert refused.value.field == "fields.segment"
    assert "smb" in refused.value.message


def test_custom_date_field_must_be_a_date(make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(fields={"signature_date": "soon"})

    assert refused.value.field == "fields.signature_date"


def test_refused_creation_writes_nothing(org: Any, make_deal: Any) -> None:
    active_process()
    before = counts()

    with pytest.raises(InvalidInput):
        make_deal(fields={"segment": "galactic"})

    assert counts() == before
    assert not Deal.objects.exists()


def test_duplicate_external_id_is_refused_naming_the_field(make_deal: Any) -> None:
    make_deal(external_source="salesforce", external_id="006A000001")

    with pytest.raises(InvalidInput) as refused:
        make_deal(external_source="salesforce", external_id="006A000001")
    assert refused.value.field == "external_id"
    make_deal(external_source="hubspot", external_id="006A000001")  # another system's id


def test_overlong_external_id_is_refused(make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_deal(external_source="csv", external_id="x" * 101)
    assert refused.value.field == "external_id"
