"""The columnar extract: its tables, incremental refresh, rebuilds, and readers that never see
half a refresh. Tests of the shared extract file need committed data a second connection can
read (PostgreSQL here; SQLite files are covered through the `dealcraft` program in
test_demo_company_reports.py)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from dealcraft.analytics import extract
from dealcraft.analytics.extract import columnar, refresh
from dealcraft.deals.services import advance_stage, close_lost

from .conftest import Company


def need_shared_source() -> None:
    if not extract.shared_source_visible():
        pytest.skip("an in-memory SQLite test database cannot be read by a second connection")


def tables(con: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for name, order in (("deals", "id"), ("history", "id"),
                        ("gate_criteria", "history_id, gate, criterion"),
                        ("users", "id"), ("teams", "id"), ("team_managers", "team_id")):
        out[name] = con.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()
    return out


@pytest.mark.django_db
def test_gate_results_are_flattened_per_criterion(company: Company) -> None:
    with columnar() as con:
        rows = con.execute("""
            SELECT d.name, g.gate, g.mode, g.criterion, g.met, g.override, g.kind
            FROM gate_criteria g JOIN deals d ON d.id = g.deal_id ORDER BY 1, 4""").fetchall()
    assert rows == [
        ("D1 won-straight", "prospecting", "enforce", "a", True, False, "advance"),
        ("D1 won-straight", "prospecting", "enforce", "b", True, False, "advance"),
        ("D3 skipped", "qualification", "warn", "x", True, False, "skip"),
        ("D3 skipped", "qualification", "warn", "y", False, False, "skip"),
        ("D5 won-fast", "negotiation", "enforce", "signed", False, True, "won"),
    ]


@pytest.mark.django_db
def test_deals_carry_process_fields_and_loss_details(company: Company) -> None:
    with columnar() as con:
        row = con.execute("""
            SELECT segment, lead_source, buyer_loss_reason, lost_reason_category,
                   lost_from_stage, status, amount, currency, has_next_step
            FROM deals WHERE name = 'D2 lost-in-discovery'""").fetchone()
    assert row is not None
    assert row[:6] == ("smb", "outbound", "no_budget", "price", "discovery", "lost")
    assert (str(row[6]), row[7], row[8]) == ("50.00", "EUR", False)


@pytest.mark.django_db(transaction=True)
def test_a_change_through_a_service_is_read_incrementally(org: Any, make_deal: Any) -> None:
    need_shared_source()
    deals = [make_deal(name=f"Deal {i}") for i in range(3)]
    first = refresh()
    assert (first.kind, first.deals) == ("full", 3)
    assert refresh().kind == "none"

    advance_stage(acting_user=org.alice, deal=deals[0], to="qualification")
    close_lost(acting_user=org.alice, deal=deals[1], reason="No budget")
    again = refresh()

    assert again.kind == "incremental"
    # Two history rows are new; deals changed in the last minutes are all read again (the
    # safety margin for transactions still open at the previous refresh).
    assert again.history == 2 and 2 <= again.deals <= 3
    with columnar(refresh_first=False) as con:
        incremental = tables(con)
    refresh(full=True)
    with columnar(refresh_first=False) as con:
        rebuilt = tables(con)
    assert incremental == rebuilt
    assert [r[8] for r in rebuilt["deals"] if r[0] == deals[0].pk] == ["qualification"]


@pytest.mark.django_db(transaction=True)
def test_a_new_process_version_rebuilds_the_extract(org: Any, make_deal: Any) -> None:
    need_shared_source()
    from dealcraft.processes.services import apply_process, default_process_source

    make_deal()
    refresh()
    apply_process(default_process_source().replace("rotting_days: 14", "rotting_days: 15", 1),
                  acting_user=org.ada, note="slower")
    assert refresh().kind == "full"


@pytest.mark.django_db(transaction=True)
def test_readers_keep_the_generation_they_opened(org: Any, make_deal: Any,
                                                 analytics_dir: Any) -> None:
    need_shared_source()
    make_deal()
    with columnar() as before:
        make_deal()
        refresh()
        # The reader opened before the refresh still sees one deal, never a half refresh.
        assert before.execute("SELECT count(*) FROM deals").fetchone() == (1,)
        with columnar() as after:
            assert after.execute("SELECT count(*) FROM deals").fetchone() == (2,)
    assert len(list(analytics_dir.glob("extract-*.duckdb"))) <= 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_publish_one_generation(org: Any, make_deal: Any) -> None:
    need_shared_source()
    make_deal()
    refresh()
    make_deal(expected_close=date(2031, 1, 1))
    results: list[str] = []

    def work() -> None:
        from django.db import connection

        try:
            results.append(refresh().kind)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["incremental", "none", "none"]
    with columnar() as con:
        assert con.execute("SELECT count(*) FROM deals").fetchone() == (2,)
