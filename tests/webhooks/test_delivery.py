"""Deal events reach subscribed endpoints signed, are retried with backoff, and fail for good
after the last attempt; a change that rolls back sends nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from dealcraft.api.serializers import deal_out, deal_rows
from dealcraft.deals.services import advance_stage, close_lost, close_won, reopen_deal
from dealcraft.errors import GateRefused
from dealcraft.webhooks.delivery import BACKOFF_SECONDS, backoff, deliver_due
from dealcraft.webhooks.models import WebhookDelivery
from dealcraft.webhooks.services import EVENTS, MAX_ATTEMPTS, create_endpoint

pytestmark = pytest.mark.django_db


def subscribe(org: Any, url: str, events: list[str] | None = None) -> Any:
    endpoint, secret = create_endpoint(acting_user=org.ada, url=url,
                                       events=list(events or EVENTS))
    return endpoint, secret


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# From prospecting, a fresh deal may not skip to discovery: only an override moves it there.
GATED_STAGE = "discovery"


def test_a_new_deal_is_posted_signed_with_the_api_deal_shape(org: Any, make_deal: Any,
                                                             receiver: Any) -> None:
    _, secret = subscribe(org, receiver.url)
    deal = make_deal()

    (delivery,) = deliver_due()

    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "dealcraft-webhooks"
    assert headers["x-dealcraft-event"] == "deal.created"
    assert headers["x-dealcraft-delivery"] == str(delivery.event_id)
    timestamp = headers["x-dealcraft-timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    assert hmac.compare_digest(headers["x-dealcraft-signature"],
                               expected_signature(secret, timestamp, request.body))
    assert headers["x-dealcraft-signature"] != expected_signature("whsec_wrong", timestamp,
                                                                  request.body)
    payload = json.loads(request.body)
    assert set(payload) == {"id", "event", "occurred_at", "deal", "data"}
    assert payload["id"] == str(delivery.event_id)
    assert payload["event"] == "deal.created"
    api_deal = json.loads(json.dumps(deal_out(deal_rows().get(pk=deal.pk)), default=str))
    assert set(payload["deal"]) == set(api_deal)
    assert payload["deal"]["id"] == deal.pk and payload["deal"]["name"] == deal.name
    assert payload["deal"]["amount"] == "48000.00" and payload["deal"]["owner"] == "alice"
    assert payload["data"] == {"stage": deal.stage}


def test_stage_changes_wins_losses_and_reopening_are_each_an_event(
        org: Any, make_deal: Any, receiver: Any) -> None:
    subscribe(org, receiver.url)
    deal = make_deal()
    target = GATED_STAGE
    advance_stage(acting_user=org.mona, deal=deal, to=target, override_reason="verbal yes")
    close_lost(acting_user=org.alice, deal=deal, reason="Budget cut")
    reopen_deal(acting_user=org.alice, deal=deal, reason="Budget back")
    close_won(acting_user=org.mona, deal=deal, override_reason="signed early")

    deliver_due(limit=50)

    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["event"] for b in bodies] == ["deal.created", "deal.stage_changed", "deal.lost",
                                            "deal.reopened", "deal.won"]
    moved, lost, reopened, won = bodies[1:]
    first = bodies[0]["deal"]["stage"]
    assert moved["data"]["from"] == first and moved["data"]["to"] == target
    assert moved["data"]["kind"] == "override"
    assert moved["data"]["override_reason"] == "verbal yes"
    assert moved["deal"]["stage"] == target
    assert lost["data"] == {"from": target, "to": "lost", "reason": "Budget cut",
                            "category": lost["data"]["category"]}
    assert lost["deal"]["status"] == "lost"
    assert reopened["data"] == {"from": "lost", "to": target, "reason": "Budget back"}
    assert won["data"]["to"] == "won" and won["deal"]["status"] == "won"
    assert len({b["id"] for b in bodies}) == 5


def test_a_refused_or_rolled_back_change_emits_nothing(org: Any, make_deal: Any,
                                                        receiver: Any) -> None:
    subscribe(org, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_deal(name="Never happened")
        raise RuntimeError("the surrounding work failed")
    deal = make_deal()
    WebhookDelivery.objects.all().delete()
    with pytest.raises(GateRefused):
        advance_stage(acting_user=org.alice, deal=deal, to=GATED_STAGE)

    assert WebhookDelivery.objects.count() == 0
    assert deliver_due() == []
    assert receiver.requests == []


def test_only_subscribed_events_reach_an_endpoint(org: Any, make_deal: Any,
                                                  receiver: Any) -> None:
    subscribe(org, receiver.url, ["deal.won"])
    deal = make_deal()
    close_lost(acting_user=org.alice, deal=deal, reason="No budget")
    reopen_deal(acting_user=org.alice, deal=deal, reason="Budget found")

    assert deliver_due() == []
    assert receiver.requests == []

    close_won(acting_user=org.mona, deal=deal, override_reason="signed")
    deliver_due()
    assert [json.loads(r.body)["event"] for r in receiver.requests] == ["deal.won"]


def test_a_500_is_retried_after_the_backoff_then_delivered(org: Any, make_deal: Any,
                                                           receiver: Any) -> None:
    subscribe(org, receiver.url)
    receiver.statuses = [500]
    make_deal()
    start = timezone.now()

    (first,) = deliver_due(now=start)

    assert first.status == "pending" and first.attempts == 1
    assert first.last_status_code == 500 and "500" in first.last_error
    wait = first.next_attempt_at - start
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=36)
    assert deliver_due(now=start + timedelta(seconds=20)) == []

    (second,) = deliver_due(now=first.next_attempt_at)

    assert second.status == "delivered" and second.attempts == 2
    assert second.last_status_code == 200 and second.last_error == ""
    assert second.next_attempt_at is None
    ids = [r.headers["X-Dealcraft-Delivery"] for r in receiver.requests]
    assert ids == [str(first.event_id)] * 2


def test_backoff_grows_from_30_seconds_to_6_hours_with_jitter() -> None:
    rng = random.Random(7)
    for attempt, base in enumerate((30, 120, 600, 3600, 21600, 21600, 21600), start=1):
        waits = [backoff(attempt, rng).total_seconds() for _ in range(50)]
        assert all(base * 0.8 <= w <= base * 1.2 for w in waits), attempt
        assert len(set(waits)) > 1, "retries must not all land at the same moment"
    assert list(BACKOFF_SECONDS) == sorted(BACKOFF_SECONDS)


def test_a_delivery_fails_for_good_after_the_last_attempt(org: Any, make_deal: Any,
                                                          receiver: Any) -> None:
    subscribe(org, receiver.url)
    receiver.statuses = [503] * MAX_ATTEMPTS
    make_deal()
    now = timezone.now()
    delivery = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (delivery,) = deliver_due(now=now)
        assert delivery.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert delivery.status == "pending"
            now = delivery.next_attempt_at

    assert delivery is not None
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.last_status_code == 503
    assert deliver_due(now=now + timedelta(days=30)) == []
    assert len(receiver.requests) == MAX_ATTEMPTS == 8


def test_an_unreachable_endpoint_is_a_failed_attempt_with_the_reason(
        org: Any, make_deal: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(org, f"http://127.0.0.1:{port}/hooks")
    make_deal()

    (delivery,) = deliver_due()

    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code is None
    assert "connection failed" in delivery.last_error


def test_a_redirect_is_not_followed(org: Any, make_deal: Any, receiver: Any) -> None:
    subscribe(org, receiver.url)
    receiver.statuses = [302]
    make_deal()

    (delivery,) = deliver_due()

    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_with_no_endpoint_a_deal_change_writes_no_delivery(org: Any, make_deal: Any,
                                                           django_assert_num_queries: Any
                                                           ) -> None:
    deal = make_deal()
    from dealcraft.webhooks.services import emit

    with django_assert_num_queries(1):
        assert emit("deal.created", deal) == []
    assert WebhookDelivery.objects.count() == 0


def test_the_verification_snippet_in_the_docs_accepts_real_deliveries_only(
        org: Any, make_deal: Any, receiver: Any) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text("utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", doc, re.S)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - the documented code, run as a receiver would
    verify = namespace["verify"]
    _, secret = subscribe(org, receiver.url)
    make_deal()
    deliver_due()
    (request,) = receiver.requests
    headers = {k.title(): v for k, v in request.headers.items()}

    assert verify(secret, headers, request.body)
    assert not verify("whsec_someone_else", headers, request.body)
    assert not verify(secret, headers, request.body.replace(b"48000.00", b"1.00"))
    an_hour_ago = str(int(headers["X-Dealcraft-Timestamp"]) - 3600)
    replayed = {**headers, "X-Dealcraft-Timestamp": an_hour_ago,
                "X-Dealcraft-Signature": expected_signature(secret, an_hour_ago, request.body)}
    assert not verify(secret, replayed, request.body)


def test_an_endpoint_deleted_while_its_delivery_is_sent_ends_the_attempt_quietly(
        org: Any, make_deal: Any, receiver: Any) -> None:
    from dealcraft.webhooks.services import claim_due, delete_endpoint, record_attempt

    endpoint, _ = subscribe(org, receiver.url)
    make_deal()
    (claimed,) = claim_due()
    delete_endpoint(acting_user=org.ada, endpoint=endpoint)

    record_attempt(delivery=claimed, status_code=200, error="", retry_in=timedelta(seconds=30))

    assert WebhookDelivery.objects.count() == 0
