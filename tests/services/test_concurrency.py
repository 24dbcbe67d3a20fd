"""Two people saving the same deal at once: exactly one wins, the other gets a Conflict."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import advance_stage, update_deal
from dealcraft.errors import Conflict

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks between concurrent writers need PostgreSQL; SQLite "
                              "serialises whole-database writes"),
]


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result is a value or an exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever was raised
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    return results


def test_two_updates_with_the_same_version_one_wins_one_conflicts(org: Any,
                                                                   make_deal: Any) -> None:
    deal = make_deal()

    results = _race(
        lambda: update_deal(acting_user=org.alice, deal=deal.pk, version=1,
                            changes={"amount": "50000.00"}),
        lambda: update_deal(acting_user=org.mona, deal=deal.pk, version=1,
                            changes={"amount": "70000.00"}),
    )

    won = [r for r in results if isinstance(r, Deal)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert (len(won), len(lost)) == (1, 1), results
    stored = Deal.objects.get(pk=deal.pk)
    assert stored.version == 2
    assert stored.amount == won[0].amount
    assert lost[0].current.version == 2
    assert lost[0].current.amount == won[0].amount
    assert AuditEvent.objects.filter(action="deal.update").count() == 1
    assert StageHistory.objects.filter(deal=deal, kind="update").count() == 1


def test_two_advances_with_the_same_version_move_the_deal_once(org: Any,
                                                               make_deal: Any) -> None:
    deal = make_deal()

    results = _race(*[
        lambda: advance_stage(acting_user=org.alice, deal=deal.pk, to="qualification",
                              version=1)
        for _ in range(2)
    ])

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Deal"], results
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.stage, stored.version) == ("qualification", 2)
    assert StageHistory.objects.filter(deal=deal, kind="advance").count() == 1
