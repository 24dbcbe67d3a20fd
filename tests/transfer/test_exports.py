"""Exports: what each reader may take out, the filters they chose, the audit trail, and files
that open right in a spreadsheet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.services import create_account
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import close_lost, log_activity, record_evidence
from dealcraft.errors import InvalidInput
from dealcraft.transfer import exports
from dealcraft.transfer.exports import neutralise
from dealcraft.transfer.services import DealScope, start_export

from .conftest import body, read_csv, read_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org: Any, make_deal: Any) -> dict[str, Deal]:
    north = make_deal(name="North rollout")
    log_activity(acting_user=org.alice, deal=north, kind="call", subject="Discovery call")
    bobs = make_deal(owner=org.bob, name="Bob's renewal", amount="1200.50", currency="USD")
    south = make_deal(owner=org.charlie, name="South rollout")
    log_activity(acting_user=org.charlie, deal=south, kind="call", subject="South-only call")
    record_evidence(acting_user=org.charlie, deal=south, criterion="problem_confirmed",
                    text="South's secret pain")
    return {"north": north, "bobs": bobs, "south": south}


def names(rows: list[dict[str, str]], column: str = "name") -> set[str]:
    return {row[column] for row in rows}


# ---------------------------------------------------------------------------- who sees what


def test_rep_cannot_export_another_teams_deals(web: Any, deals: dict[str, Deal]) -> None:
    response = web("alice").get("/exports/deals/")
    assert response.status_code == 200
    assert names(read_csv(body(response))) == {"North rollout", "Bob's renewal"}


def test_rep_cannot_export_another_teams_activities_or_evidence(
        web: Any, deals: dict[str, Deal]) -> None:
    activities = read_csv(body(web("alice").get("/exports/activities/")))
    assert names(activities, "subject") == {"Discovery call"}
    evidence = read_csv(body(web("alice").get("/exports/evidence/")))
    assert evidence == []
    history = read_csv(body(web("alice").get("/exports/history/")))
    assert names(history, "deal") == {"North rollout", "Bob's renewal"}


def test_manager_exports_their_team_and_ops_everything(web: Any, deals: dict[str, Deal]) -> None:
    assert names(read_csv(body(web("mona").get("/exports/deals/")))) == {
        "North rollout", "Bob's renewal"}
    assert names(read_csv(body(web("olivia").get("/exports/deals/")))) == {
        "North rollout", "Bob's renewal", "South rollout"}
    assert names(read_csv(body(web("charlie").get("/exports/evidence/"))), "text") == {
        "South's secret pain"}


def test_api_export_is_limited_to_the_tokens_user(api: Any, deals: dict[str, Deal]) -> None:
    response = api("charlie")("/exports/deals", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert names(read_csv(body(response))) == {"South rollout"}


def test_api_refuses_an_unknown_format_or_kind(api: Any, deals: dict[str, Deal]) -> None:
    get = api("alice")
    assert get("/exports/deals", {"format": "ods"}).status_code == 422
    assert get("/exports/passwords").status_code == 422


def test_anonymous_visitor_is_sent_to_sign_in(client: Any, deals: dict[str, Deal]) -> None:
    response = client.get("/exports/deals/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/api/v1/exports/deals").status_code == 401


def test_unknown_export_is_not_found_and_bad_format_is_refused(web: Any) -> None:
    assert web("alice").get("/exports/passwords/").status_code == 404
    response = web("alice").get("/exports/deals/", {"format": "pdf"})
    assert response.status_code == 400
    assert b"unknown format 'pdf'" in response.content


# ---------------------------------------------------------------------------- filters


def test_board_download_honours_status_and_the_boards_filters(
        org: Any, web: Any, make_deal: Any, deals: dict[str, Deal]) -> None:
    close_lost(acting_user=org.alice, deal=make_deal(name="Lost one"), reason="Budget")
    rows = read_csv(body(web("mona").get("/exports/deals/", {"status": "open"})))
    assert names(rows) == {"North rollout", "Bob's renewal"}
    rows = read_csv(body(web("mona").get("/exports/deals/", {
        "status": "open", "owner": str(org.bob.pk), "amount_max": "5000"})))
    assert names(rows) == {"Bob's renewal"}
    rows = read_csv(body(web("mona").get("/exports/deals/", {"status": "lost"})))
    assert names(rows) == {"Lost one"}


def test_a_filter_cannot_widen_what_a_rep_sees(org: Any, web: Any,
                                               deals: dict[str, Deal]) -> None:
    rows = read_csv(body(web("alice").get("/exports/deals/", {
        "team": str(deals["south"].team_id)})))
    assert rows == []


# ---------------------------------------------------------------------------- audit


def test_every_export_is_audited_with_its_door_filters_and_row_count(
        org: Any, web: Any, api: Any, run: Any, tmp_path: Any, deals: dict[str, Deal]) -> None:
    body(web("alice").get("/exports/deals/", {"status": "open"}))
    body(api("charlie")("/exports/activities", {"format": "xlsx"}))
    assert run("export", "history", "--out", str(tmp_path / "h.csv"))[0] == 0
    events = list(AuditEvent.objects.filter(action__startswith="export.").order_by("id"))
    assert [(e.action, e.actor, e.changes["via"], e.changes["format"], e.changes["rows"])
            for e in events] == [
        ("export.deals", org.alice, "web", "csv", 2),
        ("export.activities", org.charlie, "api", "xlsx", 1),
        ("export.history", None, "cli", "csv", StageHistory.objects.count()),
    ]
    assert events[0].changes["filters"] == {"status": "open"}


def test_an_inactive_user_cannot_export(org: Any, deals: dict[str, Deal]) -> None:
    org.alice.is_active = False
    org.alice.save()
    with pytest.raises(Exception, match="Sign in"):
        start_export(acting_user=org.alice, kind="deals", fmt="csv", via="web")


def test_unknown_kind_format_or_status_is_refused_before_anything_is_written(org: Any) -> None:
    for kwargs in ({"kind": "users", "fmt": "csv"}, {"kind": "deals", "fmt": "pdf"}):
        with pytest.raises(InvalidInput):
            start_export(acting_user=org.ada, via="web", **kwargs)
    with pytest.raises(InvalidInput, match="unknown status"):
        start_export(acting_user=org.ada, kind="deals", fmt="csv", via="web",
                     scope=DealScope(status="maybe"))
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


# ---------------------------------------------------------------------------- the files


def test_csv_keeps_accents_and_types_and_starts_with_a_byte_order_mark(
        org: Any, web: Any, make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Société Générale Müller")
    deal = make_deal(name="Café crème – 北京", account=account, amount="1234567.89")
    data = body(web("alice").get("/exports/deals/"))
    [row] = read_csv(data)
    assert row["name"] == "Café crème – 北京"
    assert row["account"] == "Société Générale Müller"
    assert row["amount"] == "1234567.89" and row["currency"] == "EUR"
    assert row["id"] == str(deal.pk)
    assert row["owner"] == "alice" and row["team"] == "North"
    assert row["expected_close"] == (timezone.localdate() + timedelta(days=60)).isoformat()
    assert row["stage_name"] and row["status"] == "open"


def test_xlsx_has_typed_cells(org: Any, web: Any, make_deal: Any) -> None:
    make_deal(name="Café crème", amount="99.5")
    response = web("alice").get("/exports/deals/", {"format": "xlsx"})
    assert response["Content-Type"] == exports_xlsx_type()
    [row] = read_xlsx(body(response))
    assert row["name"].value == "Café crème" and row["name"].data_type == "s"
    assert row["amount"].data_type == "n" and Decimal(str(row["amount"].value)) == Decimal("99.5")
    assert row["expected_close"].is_date


def exports_xlsx_type() -> str:
    from dealcraft.transfer.responses import XLSX_TYPE

    return XLSX_TYPE


def test_rows_are_read_in_pages_each_row_exactly_once(
        org: Any, make_deal: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK", 3)
    made = [make_deal(name=f"Deal {i}").pk for i in range(8)]
    export = start_export(acting_user=org.alice, kind="deals", fmt="csv", via="cli")
    assert [row[0] for row in export.raw_rows()] == sorted(made)


def test_web_csv_is_streamed_in_a_fixed_number_of_queries(
        org: Any, web: Any, make_deal: Any, django_assert_max_num_queries: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK", 5)
    for i in range(12):
        make_deal(name=f"Deal {i}")
    client = web("alice")
    response = client.get("/exports/deals/")
    assert response.streaming
    # Three pages of five; the cost is two queries a page, not one a row.
    with django_assert_max_num_queries(7):
        rows = read_csv(body(response))
    assert len(rows) == 12


def test_neutralise_prefixes_each_formula_start_and_nothing_else() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"):
        assert neutralise(start + "1+1") == "'" + start + "1+1"
    for text in ("", "Acme", "1-800 flowers", " =1", "'quoted", "a=b"):
        assert neutralise(text) == text


def test_the_board_links_to_an_export_of_what_it_shows(org: Any, web: Any,
                                                      deals: dict[str, Deal]) -> None:
    import html
    import re

    client = web("mona")
    page = client.get("/pipeline/", {"owner": str(org.bob.pk)}).content.decode()
    [link] = re.findall(r'href="(/exports/deals/\?format=csv[^"]*)"', page)
    rows = read_csv(body(client.get(html.unescape(link))))
    assert names(rows) == {"Bob's renewal"}


def test_the_deal_list_links_to_every_export(web: Any, deals: dict[str, Deal]) -> None:
    page = web("alice").get("/deals/").content.decode()
    for kind in ("deals", "history", "activities", "evidence"):
        for fmt in ("csv", "xlsx"):
            assert f'href="/exports/{kind}/?format={fmt}"' in page
