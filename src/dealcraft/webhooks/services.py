"""The only code that changes webhook endpoints and deliveries.

`emit` is called by the deal services inside their transactions: it only writes delivery
rows, so a change that rolls back emits nothing, and no service waits on the network. The
worker (`delivery.py`) claims due rows and records each attempt through this module.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from dealcraft.audit.services import record
from dealcraft.errors import InvalidInput, NotAllowed, NotFound

from .models import Event, WebhookDelivery, WebhookEndpoint

EVENTS: tuple[str, ...] = tuple(Event.values)
MAX_ATTEMPTS = 8
# A claimed delivery is not offered to another worker for this long: longer than one send.
CLAIM_LEASE = timedelta(seconds=60)


def may_manage_webhooks(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role == "admin")


def require_admin(user: Any) -> None:
    if not may_manage_webhooks(user):
        raise NotAllowed("Only admins manage webhooks.")


# ---------------------------------------------------------------------------- endpoints


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("url is required", "url")
    url = url.strip()
    if len(url) > 2000:
        raise InvalidInput("url is longer than 2000 characters", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an http:// or https:// address", "url")
    if any(ch.isspace() for ch in url) or parts.username or parts.password:
        raise InvalidInput("url must not contain spaces or credentials", "url")
    return url


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise InvalidInput(f"events must list one or more of: {', '.join(EVENTS)}", "events")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"unknown event {unknown[0]!r}; events are: {', '.join(EVENTS)}",
                           "events")
    return [e for e in EVENTS if e in events]


def create_endpoint(*, acting_user: Any, url: str, events: list[str],
                    description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown to the admin once)."""
    require_admin(acting_user)
    description = (description or "").strip()
    if len(description) > 200:
        raise InvalidInput("description is longer than 200 characters", "description")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(url=_clean_url(url), events=_clean_events(events),
                               description=description, secret=secret,
                               created_by=acting_user)
    with transaction.atomic():
        endpoint.save()
        record(actor=acting_user, action="webhook.create", obj=endpoint,
               changes={"url": endpoint.url, "events": endpoint.events})
    return endpoint, secret


def get_endpoint(*, acting_user: Any, endpoint_id: int) -> WebhookEndpoint:
    require_admin(acting_user)
    endpoint = (WebhookEndpoint.objects.filter(pk=endpoint_id).first()
                if 0 < endpoint_id < 2**63 else None)
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} does not exist")
    return endpoint


def delete_endpoint(*, acting_user: Any, endpoint: WebhookEndpoint | int) -> None:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    require_admin(acting_user)
    with transaction.atomic():
        pk = endpoint if isinstance(endpoint, int) else endpoint.pk
        current = WebhookEndpoint.objects.select_for_update().filter(pk=pk).first()
        if current is None:
            raise NotFound(f"webhook {pk} does not exist")
        record(actor=acting_user, action="webhook.delete", obj=current,
               changes={"url": current.url, "events": current.events})
        current.delete()


# ---------------------------------------------------------------------------- emitting


def _deal_json(deal: Any) -> dict[str, Any]:
    # The same shape as the API's deal; imported here so the deal services do not load the API.
    from dealcraft.api.serializers import deal_out, deal_rows

    row = deal_rows().get(pk=deal.pk)
    out: dict[str, Any] = json.loads(json.dumps(deal_out(row), cls=DjangoJSONEncoder))
    return out


def emit(event: str, deal: Any, extra: dict[str, Any] | None = None) -> list[WebhookDelivery]:
    """Queue `event` for every active endpoint subscribed to it; call inside the change's
    transaction so the deliveries exist exactly when the change does."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if e.subscribes_to(event)]
    if not endpoints:
        return []
    now = timezone.now()
    deal_json = _deal_json(deal)
    data = json.loads(json.dumps(extra or {}, cls=DjangoJSONEncoder))
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(endpoint=endpoint, event=event, created_at=now,
                                   next_attempt_at=now)
        delivery.payload = {"id": str(delivery.event_id), "event": event,
                            "occurred_at": now.isoformat().replace("+00:00", "Z"),
                            "deal": deal_json, "data": data}
        deliveries.append(delivery)
    return WebhookDelivery.objects.bulk_create(deliveries)


# ---------------------------------------------------------------------------- the worker's side


def claim_due(*, now: datetime | None = None, limit: int = 20) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries for this worker.

    Each claimed row's next attempt moves one lease ahead before the send, so another worker
    (or this one, after a crash) retries it only once the lease has passed. On PostgreSQL
    concurrent workers skip each other's locked rows instead of waiting for them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = (WebhookDelivery.objects
               .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                       endpoint__active=True)
               .order_by("next_attempt_at", "id"))
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        else:
            due = due.select_for_update()
        claimed = list(due.select_related("endpoint")[:limit])
        if claimed:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                next_attempt_at=now + CLAIM_LEASE)
    return claimed


def record_attempt(*, delivery: WebhookDelivery, status_code: int | None, error: str,
                   retry_in: timedelta, now: datetime | None = None) -> WebhookDelivery:
    """Note one send: 2xx delivers; anything else retries after `retry_in`, and the last
    allowed attempt fails the delivery for good."""
    now = now or timezone.now()
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if current is None:  # its endpoint was deleted while it was being sent
            return delivery
        current.attempts += 1
        current.last_status_code = status_code
        current.last_error = error[:2000]
        if status_code is not None and 200 <= status_code < 300:
            current.status = WebhookDelivery.Status.DELIVERED
            current.delivered_at = now
            current.next_attempt_at = None
            current.last_error = ""
        elif current.attempts >= MAX_ATTEMPTS:
            current.status = WebhookDelivery.Status.FAILED
            current.next_attempt_at = None
        else:
            current.next_attempt_at = now + retry_in
        current.save(update_fields=["attempts", "last_status_code", "last_error", "status",
                                    "delivered_at", "next_attempt_at"])
    return current
