"""Webhook endpoints and their delivery log, for admins: register, delete, watch deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dealcraft.errors import NotFound, ServiceError
from dealcraft.webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from dealcraft.webhooks.services import (
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    may_manage_webhooks,
)

LOG_ROWS = 100


def _require_admin(request: HttpRequest) -> None:
    if not may_manage_webhooks(request.user):
        raise PermissionDenied("Webhooks are managed by admins.")


def _page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    endpoints = list(WebhookEndpoint.objects.select_related("created_by"))
    deliveries = [{"delivery": d, "deal_id": ((d.payload or {}).get("deal") or {}).get("id")}
                  for d in WebhookDelivery.objects.select_related("endpoint")[:LOG_ROWS]]
    return render(request, "web/webhooks/webhooks.html", {
        "endpoints": endpoints,
        "deliveries": deliveries,
        "log_rows": LOG_ROWS,
        "events": Event.choices,
        "form": {"url": "", "description": "", "events": []},
        **extra,
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    if request.method == "GET":
        return _page(request)
    url = request.POST.get("url", "")
    description = request.POST.get("description", "")
    events = request.POST.getlist("events")
    form = {"url": url, "description": description, "events": events}
    try:
        endpoint, secret = create_endpoint(acting_user=request.user, url=url, events=events,
                                           description=description)
    except ServiceError as exc:
        return _page(request, status=422, form=form, error=exc.message,
                     error_field=getattr(exc, "field", ""))
    # The secret is shown in this response only; it is never displayed again.
    return _page(request, status=201, created=endpoint, secret=secret)


@require_POST
@login_required
def delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    _require_admin(request)
    try:
        endpoint = get_endpoint(acting_user=request.user, endpoint_id=endpoint_id)
    except NotFound:
        raise Http404("No such webhook.") from None
    delete_endpoint(acting_user=request.user, endpoint=endpoint)
    messages.success(request, f"Webhook {endpoint.url} deleted.")
    return redirect("web:webhooks")
