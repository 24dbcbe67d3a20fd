"""GET/POST /accounts and /contacts."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.crm.services import create_account, create_contact

from .conftest import assert_problem


def test_an_account_is_created_and_listed(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    created = api.post("/accounts", {"name": "Initech", "domain": "initech.example",
                                     "industry": "Software", "employees": 420,
                                     "country": "us"})
    listed = api.get("/accounts", {"q": "inite"})

    assert created.status_code == 201, created.content
    assert created.json()["owner"] == "alice" and created.json()["country"] == "US"
    assert [a["name"] for a in listed.json()["items"]] == ["Initech"]


def test_an_account_needs_a_name(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.alice).post("/accounts", {"name": "  "}), 422)
    assert body["field"] == "name"


def test_accounts_are_paginated(org: Any, api_as: Any) -> None:
    for i in range(5):
        create_account(acting_user=org.alice, name=f"Account {i}")
    api = api_as(org.alice)

    first = api.get("/accounts", {"limit": 3}).json()
    second = api.get("/accounts", {"limit": 3, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 3 and len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_a_contact_is_created_on_an_account_and_filtered_by_it(org: Any, api_as: Any) -> None:
    account = create_account(acting_user=org.alice, name="Vandelay")
    create_contact(acting_user=org.alice, account=None, first_name="Other", last_name="Person")
    api = api_as(org.alice)

    created = api.post("/contacts", {"account_id": account.pk, "first_name": "Art",
                                     "last_name": "Vandelay", "email": "art@vandelay.example",
                                     "title": "Importer"})
    by_account = api.get("/contacts", {"account_id": account.pk}).json()["items"]
    by_query = api.get("/contacts", {"q": "vandelay.example"}).json()["items"]

    assert created.status_code == 201, created.content
    assert created.json()["account"] == "Vandelay" and created.json()["name"] == "Art Vandelay"
    assert [c["name"] for c in by_account] == ["Art Vandelay"]
    assert [c["name"] for c in by_query] == ["Art Vandelay"]


def test_a_contact_needs_a_name_or_email_and_a_real_account(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)
    assert_problem(api.post("/contacts", {"title": "Nobody"}), 422)
    assert assert_problem(api.post("/contacts", {"first_name": "A", "account_id": 424242}),
                          422)["field"] == "account_id"


@pytest.mark.parametrize("path", ["/accounts", "/contacts"])
def test_a_misspelt_filter_is_a_422_not_the_whole_list(org: Any, api_as: Any,
                                                       path: str) -> None:
    body = assert_problem(api_as(org.alice).get(path, {"name": "Acme"}), 422, "invalid-input")
    assert body["field"] == "name"
