"""On PostgreSQL, workers running at once skip each other's claimed deliveries: none is sent
twice."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction

from dealcraft.webhooks.delivery import deliver_due
from dealcraft.webhooks.models import WebhookDelivery
from dealcraft.webhooks.services import EVENTS, claim_due, create_endpoint

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks with SKIP LOCKED are a PostgreSQL feature"),
]


def queue(org: Any, make_deal: Any, url: str, n: int) -> None:
    create_endpoint(acting_user=org.ada, url=url, events=list(EVENTS))
    for i in range(n):
        make_deal(name=f"Deal {i}")


def test_a_row_locked_by_one_worker_is_skipped_by_another(org: Any, make_deal: Any,
                                                          receiver: Any) -> None:
    queue(org, make_deal, receiver.url, 3)
    locked = threading.Event()
    release = threading.Event()
    first_id = WebhookDelivery.objects.order_by("next_attempt_at", "id").first().pk

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                list(WebhookDelivery.objects.select_for_update().filter(pk=first_id))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        claimed = claim_due()
    finally:
        release.set()
        holder.join(10)

    assert len(claimed) == 2 and first_id not in {d.pk for d in claimed}


def test_two_workers_at_once_send_each_delivery_exactly_once(org: Any, make_deal: Any,
                                                             receiver: Any) -> None:
    queue(org, make_deal, receiver.url, 12)
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait(10)
            while deliver_due(limit=2):
                pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    sent = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(sent) == 12 and len(set(sent)) == 12
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
