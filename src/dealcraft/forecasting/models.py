"""Forecast calls and the weekly record of what the forecast said.

A rep's call for a quarter and a manager's adjustment of it are append-only: the latest row
is the current number and the earlier ones show how it moved. A weekly snapshot keeps what
the pipeline said that week, per owner, forecast category and currency, so that the
forecast can later be judged against what closed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from dealcraft.audit.models import AppendOnlyModel

USER = settings.AUTH_USER_MODEL


class ForecastSubmission(AppendOnlyModel):
    """A rep's call: the amount they expect to close in a quarter from their own deals."""

    rep = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="forecast_submissions")
    team = models.ForeignKey("people.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    period = models.CharField(max_length=7)  # 2026-Q4
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    note = models.TextField(blank=True, default="")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["period", "rep", "currency", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.period} {self.rep_id}: {self.amount} {self.currency}"


class ForecastAdjustment(AppendOnlyModel):
    """A manager's change to a rep's call for a quarter, with the reason for it."""

    rep = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="forecast_adjustments")
    team = models.ForeignKey("people.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    period = models.CharField(max_length=7)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    reason = models.TextField()
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["period", "rep", "currency", "at"])]

    def __str__(self) -> str:
        return f"{self.period} {self.rep_id}: {self.amount} {self.currency} ({self.reason})"


class ForecastSnapshot(AppendOnlyModel):
    """What the forecast said in one week (the Monday it belongs to), for the quarter that
    week falls in. At most one per week, so running the snapshot again changes nothing."""

    week = models.DateField(unique=True)
    period = models.CharField(max_length=7)
    taken_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"week of {self.week} ({self.period})"


class ForecastSnapshotLine(AppendOnlyModel):
    """One owner × forecast category × currency of a snapshot: the quarter's deals in that
    category (open ones expected to close in it; won ones closed in it, as `closed`), their
    amount and their probability-weighted amount."""

    snapshot = models.ForeignKey(ForecastSnapshot, on_delete=models.PROTECT,
                                 related_name="lines")
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("people.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    category = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)
    deals = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    weighted = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "owner"])]

    def __str__(self) -> str:
        return f"{self.snapshot_id} {self.owner_id} {self.category}: {self.amount}"
