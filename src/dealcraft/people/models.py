"""People: the sales organisation — users and their role, teams, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPS = "ops", "Revenue operations"
    MANAGER = "manager", "Sales manager"
    REP = "rep", "Sales rep"
    VIEWER = "viewer", "Viewer"


class Team(models.Model):
    """A sales team: reps who sell together and the managers who coach and inspect them."""

    name = models.CharField(max_length=100, unique=True)
    managers = models.ManyToManyField("people.User", related_name="managed_teams", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Anyone who signs in: a rep who owns deals, a manager, ops, an admin, or a viewer."""

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="members")
    external_source = models.CharField(max_length=30, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token an integration uses to act as a user; only its hash is stored."""

    PREFIX = "dc_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=12)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.user_id})"

    @classmethod
    def new_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return _hash(key)

    def is_usable(self, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)


class RateWindow(models.Model):
    """How many API requests, and how many of them writes, a token made in its current
    one-minute window. The counter lives in the database so that every server process
    shares it; each token keeps one row, rolled forward when a new window starts."""

    token = models.OneToOneField(ApiToken, on_delete=models.CASCADE, primary_key=True,
                                 related_name="rate_window")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    writes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.token_id} @ {self.window_start:%H:%M}: {self.count} ({self.writes} writes)"


class IdempotentRequest(models.Model):
    """A POST an API client sent with an `Idempotency-Key`, and the answer it got.

    One row per token and key (a unique constraint, so two simultaneous requests with one
    key cannot both do the work): `status` is null while the first request runs, then holds
    the stored answer that a retry with the same key and body is given instead of doing the
    work again. Rows older than a day no longer count and are pruned as new ones arrive.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    #: SHA-256 of the method, path, query, content type and body of the first request.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    body = models.BinaryField(blank=True, default=b"")
    headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token"),
        ]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.key} → {self.status or 'running'}"
