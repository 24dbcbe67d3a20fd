"""Audit log entries, written by services alongside every change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Rows of an immutable record: bulk updates and deletes are refused."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError(f"{self.model.__name__} rows are immutable")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self.model.__name__} rows are immutable")


class AppendOnlyModel(models.Model):
    """A model whose rows, once written, are never changed or removed."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{type(self).__name__} rows are immutable")


class AuditEvent(AppendOnlyModel):
    """One change made through a service: the actor, the action, the object and the change."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True, default="")
    deal = models.ForeignKey("deals.Deal", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="audit_events")
    changes = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class SignInAttempt(AppendOnlyModel):
    """One try at the web sign-in form, kept to throttle password guessing.

    `username` is stored lower-cased as typed, whether or not such a user exists, so that the
    throttle treats known and unknown names alike and reveals nothing about who has an account.
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused while locked out"

    at = models.DateTimeField(default=timezone.now)
    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        indexes = [models.Index(fields=["username", "at"]), models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.outcome}"
