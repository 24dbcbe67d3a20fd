"""`/api/v1/webhooks`: outgoing webhook endpoints and their delivery log (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from dealcraft.webhooks.models import WebhookDelivery, WebhookEndpoint
from dealcraft.webhooks.services import (
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    require_admin,
)

from .auth import caller
from .pagination import page
from .query import reject_unknown
from .responses import responses
from .schemas import Input, Text

router = Router()


class WebhookIn(Input):
    url: Text = Field(..., examples=["https://example.com/hooks/dealcraft"])
    events: list[Text] = Field(..., examples=[["deal.created", "deal.won"]],
                               description="deal.created, deal.stage_changed, deal.won, "
                                           "deal.lost, deal.reopened")
    description: Text = ""


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_by: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(..., description="The signing secret; it is shown only this once.")


class WebhookList(Schema):
    items: list[WebhookOut]


class DeliveryOut(Schema):
    id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    deal_id: int | None


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(Schema):
    status: Text | None = Field(None, description="pending, delivered or failed")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


def webhook_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
        "created_by": endpoint.created_by.username if endpoint.created_by else None,
        "created_at": endpoint.created_at,
    }


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    deal = (delivery.payload or {}).get("deal") or {}
    return {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
        "deal_id": deal.get("id"),
    }


@router.get("", response=responses({200: WebhookList}), summary="List webhook endpoints")
def list_webhooks(request: HttpRequest) -> dict[str, Any]:
    """Every endpoint, newest first (admins only). Secrets are never listed."""
    require_admin(caller(request))
    rows = WebhookEndpoint.objects.select_related("created_by")
    return {"items": [webhook_out(e) for e in rows]}


@router.post("", response=responses({201: WebhookCreated}, 422),
             summary="Register a webhook endpoint")
def post_webhook(request: HttpRequest, payload: WebhookIn) -> Status:
    """Admins only. The response carries the signing secret, once."""
    endpoint, secret = create_endpoint(acting_user=caller(request), **payload.model_dump())
    return Status(201, {**webhook_out(endpoint), "secret": secret})


@router.delete("/{webhook_id}", response=responses({200: WebhookOut}, 404),
               summary="Delete a webhook endpoint")
def remove_webhook(request: HttpRequest, webhook_id: int) -> dict[str, Any]:
    """Admins only; answers with the endpoint removed. Its delivery log goes with it."""
    user = caller(request)
    endpoint = get_endpoint(acting_user=user, endpoint_id=webhook_id)
    out = webhook_out(endpoint)
    delete_endpoint(acting_user=user, endpoint=endpoint)
    return out


@router.get("/{webhook_id}/deliveries", response=responses({200: DeliveryPage}, 404, 422),
            summary="List an endpoint's deliveries")
def list_deliveries(request: HttpRequest, webhook_id: int,
                    filters: Query[DeliveryFilters]) -> dict[str, Any]:
    """The delivery log, newest first (admins only)."""
    reject_unknown(request, DeliveryFilters)
    endpoint = get_endpoint(acting_user=caller(request), endpoint_id=webhook_id)
    rows = endpoint.deliveries.all()
    if filters.status:
        rows = rows.filter(status=filters.status)
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [delivery_out(d) for d in items], "next_cursor": next_cursor}
