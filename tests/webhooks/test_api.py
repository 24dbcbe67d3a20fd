"""`/api/v1/webhooks`: admins register, list and delete endpoints and read the delivery log;
everyone else is refused."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.webhooks.delivery import deliver_due
from dealcraft.webhooks.models import WebhookEndpoint
from dealcraft.webhooks.services import create_endpoint

from .conftest import Api, assert_problem

pytestmark = pytest.mark.django_db


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)

    created = api.post("/webhooks", {"url": "https://hooks.example.com/dealcraft",
                                     "events": ["deal.won", "deal.created"],
                                     "description": "Finance sync"})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["events"] == ["deal.created", "deal.won"]
    assert body["created_by"] == "ada" and body["active"] is True
    listed = api.get("/webhooks").json()["items"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert body["secret"] not in api.get("/webhooks").content.decode()
    audit = AuditEvent.objects.get(action="webhook.create")
    assert audit.actor == org.ada and body["secret"] not in str(audit.changes)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "javascript:alert(1)", "example.com",
                                 "http://", "https://user:pw@example.com/", ""])
def test_only_http_and_https_addresses_are_accepted(org: Any, api_as: Any, url: str) -> None:
    response = api_as(org.ada).post("/webhooks", {"url": url, "events": ["deal.won"]})

    assert_problem(response, 422)
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("events", [[], ["deal.deleted"], ["deal.won", "nope"]])
def test_events_must_be_known_and_not_empty(org: Any, api_as: Any, events: list[str]) -> None:
    response = api_as(org.ada).post("/webhooks", {"url": "https://example.com/h",
                                                  "events": events})

    assert assert_problem(response, 422)["field"] == "events"


def test_the_delivery_log_shows_status_attempts_code_and_error(
        org: Any, api_as: Any, make_deal: Any, receiver: Any) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url=receiver.url, events=["deal.created"])
    receiver.statuses = [500]
    deal = make_deal()
    deliver_due()

    response = api_as(org.ada).get(f"/webhooks/{endpoint.pk}/deliveries")

    assert response.status_code == 200
    (row,) = response.json()["items"]
    assert row["event"] == "deal.created" and row["deal_id"] == deal.pk
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status_code"] == 500 and "500" in row["last_error"]
    assert row["next_attempt_at"] is not None
    failed = api_as(org.ada).get(f"/webhooks/{endpoint.pk}/deliveries", {"status": "delivered"})
    assert failed.json()["items"] == []


def test_deleting_an_endpoint_stops_its_deliveries_and_is_audited(
        org: Any, api_as: Any, make_deal: Any, receiver: Any) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url=receiver.url, events=["deal.created"])
    api = api_as(org.ada)

    assert api.delete(f"/webhooks/{endpoint.pk}").status_code == 200
    make_deal()

    assert deliver_due() == []
    assert receiver.requests == []
    assert AuditEvent.objects.filter(action="webhook.delete", actor=org.ada).count() == 1
    missing = api.delete(f"/webhooks/{endpoint.pk}")
    assert_problem(missing, 404)


@pytest.mark.parametrize("persona", ["mona", "olivia", "alice", "charlie", "vera"])
def test_everyone_but_an_admin_is_refused(org: Any, api_as: Any, persona: str) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url="https://example.com/h",
                                  events=["deal.won"])
    api = api_as(getattr(org, persona))

    assert_problem(api.get("/webhooks"), 403)
    assert_problem(api.post("/webhooks", {"url": "https://evil.example/h",
                                          "events": ["deal.won"]}), 403)
    assert_problem(api.get(f"/webhooks/{endpoint.pk}/deliveries"), 403)
    assert_problem(api.delete(f"/webhooks/{endpoint.pk}"), 403)
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == ["https://example.com/h"]


def test_anonymous_callers_and_read_only_tokens_are_refused(org: Any, api_as: Any) -> None:
    anonymous = Api(None)
    assert_problem(anonymous.get("/webhooks"), 401)
    assert_problem(anonymous.post("/webhooks", {"url": "https://e.example/h",
                                                "events": ["deal.won"]}), 401)
    read_only = api_as(org.ada, read_only=True)
    assert read_only.get("/webhooks").status_code == 200
    assert_problem(read_only.post("/webhooks", {"url": "https://e.example/h",
                                                "events": ["deal.won"]}), 403)
    assert WebhookEndpoint.objects.count() == 0
