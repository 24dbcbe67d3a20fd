"""Stored versions of the team's process file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProcessVersion(models.Model):
    """One applied version of the process file; exactly one is active at a time.

    The YAML source is kept verbatim so that any gate can be re-read under the rules it was
    evaluated by.
    """

    number = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    source = models.TextField()
    sha256 = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False)
    applied_at = models.DateTimeField(default=timezone.now)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="one_active_process_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}"
