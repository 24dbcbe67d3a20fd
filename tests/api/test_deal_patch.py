"""GET and PATCH /deals/{id}: optimistic concurrency through `version` or If-Match."""

from __future__ import annotations

from typing import Any

from dealcraft.deals.models import Deal

from .conftest import assert_problem


def test_get_returns_the_deal_with_its_version_as_etag(org: Any, api_as: Any,
                                                       make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).get(f"/deals/{deal.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == deal.pk
    assert response["ETag"] == '"1"'


def test_an_unknown_deal_is_a_404(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)
    assert_problem(api.get("/deals/987654"), 404, "not-found")
    assert_problem(api.patch("/deals/987654", {"version": 1, "name": "x"}), 404, "not-found")
    assert_problem(api.get(f"/deals/{2**64}"), 422)


def test_patch_with_the_current_version_changes_the_deal(org: Any, api_as: Any,
                                                         make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).patch(f"/deals/{deal.pk}", {
        "version": 1, "name": "Acme, phase two", "amount": 51000, "probability": 20,
        "forecast_category": "best_case", "expected_close": "2031-06-30"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Acme, phase two"
    assert body["amount"] == "51000.00"
    assert body["probability"] == 20 and body["forecast_category"] == "best_case"
    assert body["version"] == 2
    assert response["ETag"] == '"2"'


def test_a_stale_version_gets_409_with_the_current_deal(org: Any, api_as: Any,
                                                        make_deal: Any) -> None:
    deal = make_deal()
    alice, mona = api_as(org.alice), api_as(org.mona)
    assert mona.patch(f"/deals/{deal.pk}", {"version": 1, "amount": "60000"}).status_code == 200

    response = alice.patch(f"/deals/{deal.pk}", {"version": 1, "amount": "45000"})

    body = assert_problem(response, 409, "edit-conflict")
    assert body["version"] == 2
    assert body["current"]["version"] == 2
    assert body["current"]["amount"] == "60000.00"
    assert body["current"]["id"] == deal.pk
    assert Deal.objects.get(pk=deal.pk).amount == 60000


def test_if_match_carries_the_version(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)

    ok = api.patch(f"/deals/{deal.pk}", {"name": "Via If-Match"}, headers={"If-Match": '"1"'})
    stale = api.patch(f"/deals/{deal.pk}", {"name": "Again"}, headers={"If-Match": '"1"'})

    assert ok.status_code == 200, ok.content
    assert assert_problem(stale, 409, "edit-conflict")["version"] == 2


def test_patch_without_a_version_is_refused(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)

    assert assert_problem(api.patch(f"/deals/{deal.pk}", {"name": "x"}), 422)["field"] \
        == "version"
    assert assert_problem(api.patch(f"/deals/{deal.pk}", {"name": "x"},
                                    headers={"If-Match": "yesterday"}), 422)["field"] \
        == "If-Match"


def test_patch_cannot_change_the_stage(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    body = assert_problem(api_as(org.alice).patch(f"/deals/{deal.pk}",
                                                  {"version": 1, "stage": "proposal"}), 422)

    assert body["field"] == "stage"
    assert Deal.objects.get(pk=deal.pk).stage == "prospecting"


def test_a_rep_cannot_reassign_but_a_manager_can(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    assert_problem(api_as(org.alice).patch(f"/deals/{deal.pk}",
                                           {"version": 1, "owner": "bob"}), 403)
    response = api_as(org.mona).patch(f"/deals/{deal.pk}", {"version": 1, "owner": "bob"})

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "bob"


def test_the_account_can_be_set_and_cleared(org: Any, api_as: Any, make_deal: Any) -> None:
    from dealcraft.crm.services import create_account

    deal = make_deal()
    account = create_account(acting_user=org.alice, name="Umbrella")
    api = api_as(org.alice)

    set_ = api.patch(f"/deals/{deal.pk}", {"version": 1, "account_id": account.pk})
    cleared = api.patch(f"/deals/{deal.pk}", {"version": 2, "account_id": None})

    assert set_.json()["account"] == "Umbrella"
    assert cleared.json()["account"] is None and cleared.json()["account_id"] is None


def test_a_category_set_through_the_api_is_shown_as_the_owners_choice(org: Any, api_as: Any,
                                                                      make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    assert api.get(f"/deals/{deal.pk}").json()["forecast_category_overridden"] is False

    response = api.patch(f"/deals/{deal.pk}", {"version": 1, "forecast_category": "commit"})

    assert response.status_code == 200, response.content
    assert response.json()["forecast_category"] == "commit"
    assert response.json()["forecast_category_overridden"] is True
