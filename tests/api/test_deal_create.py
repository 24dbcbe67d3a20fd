"""POST /deals: the four required fields, owner rules, and validation as problems."""

from __future__ import annotations

from typing import Any

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.services import create_account
from dealcraft.deals.models import Deal, StageHistory

from .conftest import assert_problem

MINIMAL = {"name": "Globex renewal", "amount": "12500.50", "currency": "usd",
           "expected_close": "2031-03-31"}


def test_four_fields_make_a_deal_owned_by_the_caller_in_the_first_stage(org: Any,
                                                                        api_as: Any) -> None:
    response = api_as(org.alice).post("/deals", MINIMAL)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "alice"
    assert body["stage"] == "prospecting" and body["status"] == "open"
    assert body["amount"] == "12500.50" and body["currency"] == "USD"
    assert body["expected_close"] == "2031-03-31"
    assert body["next_step"] is None and body["account"] is None
    assert body["version"] == 1
    deal = Deal.objects.get(pk=body["id"])
    assert deal.team == org.alice.team
    assert StageHistory.objects.filter(deal=deal, kind="created").exists()
    assert AuditEvent.objects.filter(action="deal.create", actor=org.alice).exists()


def test_an_account_and_custom_fields_may_be_given(org: Any, api_as: Any) -> None:
    account = create_account(acting_user=org.alice, name="Globex")

    response = api_as(org.alice).post("/deals", {**MINIMAL, "account_id": account.pk,
                                                 "fields": {"lead_source": "inbound"}})

    assert response.status_code == 201, response.content
    assert response.json()["account"] == "Globex"
    assert response.json()["fields"] == {"lead_source": "inbound"}


def test_a_manager_creates_a_deal_for_a_rep_of_the_team(org: Any, api_as: Any) -> None:
    response = api_as(org.mona).post("/deals", {**MINIMAL, "owner": "bob"})

    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "bob"


def test_a_rep_cannot_create_a_deal_for_someone_else(org: Any, api_as: Any) -> None:
    assert_problem(api_as(org.alice).post("/deals", {**MINIMAL, "owner": "bob"}), 403,
                   "not-allowed")
    assert not Deal.objects.exists()


def test_a_missing_field_is_a_422_naming_it(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.alice).post("/deals", {"name": "No amount",
                                                            "currency": "EUR",
                                                            "expected_close": "2031-01-01"}),
                          422, "invalid-input")
    assert body["field"] == "amount"
    assert body["errors"][0]["loc"] == ["body", "payload", "amount"]


def test_service_validation_comes_back_as_a_422_with_the_field(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    currency = assert_problem(api.post("/deals", {**MINIMAL, "currency": "EURO"}), 422)
    amount = assert_problem(api.post("/deals", {**MINIMAL, "amount": "-5"}), 422)
    unknown_field = assert_problem(api.post("/deals", {**MINIMAL, "fields": {"nope": 1}}), 422)

    assert currency["field"] == "currency"
    assert amount["field"] == "amount"
    assert unknown_field["field"] == "fields.nope"


def test_unknown_keys_are_refused(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.alice).post("/deals", {**MINIMAL, "stage": "proposal"}),
                          422)
    assert body["field"] == "stage"


def test_an_unknown_owner_or_account_is_a_422(org: Any, api_as: Any) -> None:
    api = api_as(org.mona)
    assert assert_problem(api.post("/deals", {**MINIMAL, "owner": "ghost"}), 422)["field"] \
        == "owner"
    assert assert_problem(api.post("/deals", {**MINIMAL, "account_id": 999999}), 422)["field"] \
        == "account_id"


def test_a_viewer_cannot_create_a_deal(org: Any, api_as: Any) -> None:
    assert_problem(api_as(org.vera).post("/deals", MINIMAL), 403, "not-allowed")
