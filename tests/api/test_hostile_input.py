"""Hostile and unusual text is stored and returned as data, never as markup or an error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from .conftest import assert_problem

XSS = '<img src=x onerror=alert(1)>'
SCRIPT = '</script><script>alert("x")</script>'
RTL = "\u202eexe.fdp"  # a right-to-left override that makes a name read backwards
EMOJI = "Deal 🚀👩🏽‍💻 with 東京 & Zoë"
COMBINING = "Ä\u0308\u0301 zalgo"


@pytest.mark.parametrize("name", [XSS, SCRIPT, RTL, EMOJI, COMBINING])
def test_names_round_trip_exactly(org: Any, api_as: Any, name: str) -> None:
    api = api_as(org.alice)

    created = api.post("/deals", {"name": name, "amount": "1.00", "currency": "EUR",
                                  "expected_close": "2031-01-01"})

    assert created.status_code == 201, created.content
    assert created["Content-Type"].startswith("application/json")
    assert created["X-Content-Type-Options"] == "nosniff"
    fetched = api.get(f"/deals/{created.json()['id']}")
    assert fetched.json()["name"] == name
    assert json.loads(fetched.content)["name"] == name


def test_nul_characters_are_dropped_not_stored(org: Any, api_as: Any, make_deal: Any) -> None:
    api = api_as(org.alice)

    created = api.post("/deals", {"name": "Before\x00After", "amount": "1.00",
                                  "currency": "EUR", "expected_close": "2031-01-01"})
    account = api.post("/accounts", {"name": "Nul\x00Corp", "domain": "nul\x00.example"})
    contact = api.post("/contacts", {"first_name": "A\x00da", "email": "ada\x00@example.com"})
    deal = make_deal()
    evidence = api.post(f"/deals/{deal.pk}/evidence", {"criterion": "problem_confirmed",
                                                       "text": "proof\x00"})

    assert created.status_code == 201 and created.json()["name"] == "BeforeAfter"
    assert account.status_code == 201 and account.json()["name"] == "NulCorp"
    assert contact.status_code == 201 and contact.json()["first_name"] == "Ada"
    assert evidence.status_code == 201 and evidence.json()["text"] == "proof"


def test_nul_in_query_parameters_is_harmless(org: Any, api_as: Any, make_deal: Any) -> None:
    make_deal()
    api = api_as(org.alice)

    for params in ({"stage": "prospecting\x00"}, {"owner": "alice\x00"}, {"cursor": "\x00"}):
        response = api.get("/deals", params)
        assert response.status_code in (200, 422), (params, response.content)


def test_hostile_text_in_a_file_upload_form(org: Any, api_as: Any, make_deal: Any,
                                            settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    deal = make_deal()
    upload = SimpleUploadedFile("../../etc/passwd.txt", b"hello", content_type="text/plain")

    response = api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": XSS + "\x00", "file": upload})

    assert response.status_code == 201, response.content
    assert response.json()["text"] == XSS
    assert ".." not in response.json()["file_name"]


def test_a_process_file_with_nul_is_refused_with_a_problem(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.olivia).post("/process", {"source": "name: x\x00\n"}),
                          422, "invalid-process")
    assert body["problems"]


def test_huge_numbers_are_refused_not_crashed(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    amount = api.post("/deals", {"name": "Big", "amount": "1e400", "currency": "EUR",
                                 "expected_close": "2031-01-01"})
    account = api.post("/deals", {"name": "Big", "amount": "1", "currency": "EUR",
                                  "expected_close": "2031-01-01", "account_id": 10**30})

    assert_problem(amount, 422)
    assert_problem(account, 422)
    assert_problem(api.get("/contacts", {"account_id": 10**30}), 422)
    assert_problem(api.get(f"/deals/{10**30}/history"), 422)
