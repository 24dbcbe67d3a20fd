"""Outgoing webhooks: the endpoints admins register and every delivery made to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    DEAL_CREATED = "deal.created", "Deal created"
    DEAL_STAGE_CHANGED = "deal.stage_changed", "Deal changed stage"
    DEAL_WON = "deal.won", "Deal won"
    DEAL_LOST = "deal.lost", "Deal lost"
    DEAL_REOPENED = "deal.reopened", "Deal reopened"


class WebhookEndpoint(models.Model):
    """A URL that receives signed POSTs for the events it subscribes to."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    # Kept in clear: every delivery is signed with it. The API shows it once, at creation.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event: str) -> bool:
        return event in (self.events or [])


class WebhookDelivery(models.Model):
    """One event for one endpoint, from its creation to delivery or final failure."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"
