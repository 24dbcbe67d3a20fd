"""Deals and the records that prove where they stand in the process."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from dealcraft.audit.models import AppendOnlyModel

USER = settings.AUTH_USER_MODEL


class Status(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    CLOSED = "closed", "Closed"
    OMITTED = "omitted", "Omitted"


class Deal(models.Model):
    """An opportunity moving through the sales process, from first stage to won or lost.

    `version` increases with every change; writers send the version they read so that a stale
    edit is refused instead of silently overwriting someone else's.
    """

    name = models.CharField(max_length=255)
    account = models.ForeignKey("crm.Account", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="deals")
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="owned_deals")
    team = models.ForeignKey("people.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="deals")
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    expected_close = models.DateField()
    stage = models.CharField(max_length=64)
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    forecast_category = models.CharField(max_length=10, choices=ForecastCategory.choices,
                                         default=ForecastCategory.PIPELINE)
    # Set when the owner chose the category: a stage change then keeps it instead of applying
    # the stage's mapped category. Closing or reopening the deal clears it.
    forecast_category_overridden = models.BooleanField(default=False, db_default=False)
    probability = models.PositiveSmallIntegerField(default=0)
    fields = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    process_version = models.ForeignKey("processes.ProcessVersion", null=True,
                                        on_delete=models.PROTECT, related_name="+")
    next_step = models.OneToOneField("deals.NextStep", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="current_for")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.TextField(blank=True, default="")
    lost_reason_category = models.CharField(max_length=64, blank=True, default="")
    lost_from_stage = models.CharField(max_length=64, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    external_source = models.CharField(max_length=30, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The board: per-stage totals by currency and the cards of a column, for open
            # deals, read from the index alone even at 100,000 open deals.
            models.Index(fields=["status", "stage", "currency", "team", "owner", "amount"],
                         name="deal_board_totals"),
            models.Index(fields=["status", "stage", "expected_close", "id"],
                         name="deal_board_cards"),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["team", "status"]),
            models.Index(fields=["expected_close"]),
            # API clients syncing changes: `updated_since` and `sort=-updated_at`.
            models.Index(fields=["updated_at", "id"], name="deal_updated"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_source", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="deal_external_id_unique"),
            models.CheckConstraint(condition=models.Q(probability__lte=100),
                                   name="deal_probability_at_most_100"),
        ]

    def __str__(self) -> str:
        return self.name


class Stakeholder(models.Model):
    """A contact's role on a deal (economic buyer, champion…), with influence and support."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stakeholders")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE,
                                related_name="stakeholder_roles")
    role = models.CharField(max_length=64)
    influence = models.PositiveSmallIntegerField(default=2)  # 1 low – 3 high
    support = models.SmallIntegerField(default=0)  # -1 opposes, 0 neutral, 1 supports
    added_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact", "role"],
                                    name="stakeholder_once_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} as {self.role}"


class Evidence(models.Model):
    """Proof that an exit criterion is met: a note, a link or a file; who recorded it, when."""

    class Kind(models.TextChoices):
        TEXT = "text", "Note"
        LINK = "link", "Link"
        FILE = "file", "File"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="evidence")
    criterion = models.CharField(max_length=64)
    stage = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    text = models.TextField(blank=True, default="")
    url = models.URLField(max_length=2000, blank=True, default="")
    file = models.FileField(upload_to="evidence/%Y/%m/", blank=True, default="")
    file_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    size = models.PositiveIntegerField(default=0)
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["deal", "criterion"])]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.kind}"


class Activity(models.Model):
    """Something done or to be done with the buyer: a call, email, meeting, note or task."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        NOTE = "note", "Note"
        TASK = "task", "Task"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True, default="")
    owner = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    external_source = models.CharField(max_length=30, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deal", "kind"]), models.Index(fields=["owner", "due_at"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class NextStep(models.Model):
    """The dated next step a deal carries; earlier ones stay as its history."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="next_steps")
    text = models.CharField(max_length=500)
    due = models.DateField()
    owner = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    buyer_confirmed = models.BooleanField(default=False)
    set_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-set_at", "-id"]

    def __str__(self) -> str:
        return f"{self.due}: {self.text}"


class QualificationAnswer(models.Model):
    """A deal's answer to one criterion of a qualification framework, on a 0–3 level."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="qualification")
    framework = models.CharField(max_length=64)
    criterion = models.CharField(max_length=64)
    level = models.PositiveSmallIntegerField(default=0)
    evidence = models.TextField(blank=True, default="")
    answered_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "framework", "criterion"],
                                    name="one_answer_per_criterion"),
            models.CheckConstraint(condition=models.Q(level__lte=3), name="level_at_most_3"),
        ]

    def __str__(self) -> str:
        return f"{self.framework}.{self.criterion}={self.level}"


class StageHistory(AppendOnlyModel):
    """One immutable entry in a deal's path: a stage change (or a change of amount or close
    date), with the gate result it was judged by and the process version it ran under."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ADVANCE = "advance", "Advanced"
        SKIP = "skip", "Skipped ahead"
        BACKWARD = "backward", "Moved back"
        OVERRIDE = "override", "Advanced by override"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        REOPEN = "reopen", "Reopened"
        UPDATE = "update", "Amount or date changed"

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="history")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_stage = models.CharField(max_length=64, blank=True, default="")
    to_stage = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    expected_close = models.DateField(null=True)
    forecast_category = models.CharField(max_length=10)
    probability = models.PositiveSmallIntegerField(default=0)
    gate_result = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    override_reason = models.TextField(blank=True, default="")
    process_version = models.ForeignKey("processes.ProcessVersion", null=True,
                                        on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["deal", "at"]), models.Index(fields=["to_stage"])]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"
