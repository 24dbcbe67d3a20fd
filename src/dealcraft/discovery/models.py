"""Discovery and solution workspace records (see the package docstring).

A deal has at most one discovery workspace and one solution workspace, created by the first
edit. Answers, notes and capability recommendations hang off the deal directly and name the
process-file key they belong to (a discovery question, a capability), so a later process
version that drops a question keeps the old answer readable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

USER = settings.AUTH_USER_MODEL


class DiscoveryWorkspace(models.Model):
    """Step 4 of the sales process for one deal: the pre-call research, the agenda with the
    buyer's agreement, the pains the buyer confirmed, and the discovery summary with its next
    steps.

    Each section keeps who saved it last and when; an editor sends the time it read, and a
    save against a section someone changed since is refused instead of overwriting it.
    """

    deal = models.OneToOneField("deals.Deal", on_delete=models.CASCADE,
                                related_name="discovery_workspace")
    research_company = models.TextField(blank=True, default="")
    research_role = models.TextField(blank=True, default="")
    research_triggers = models.TextField(blank=True, default="")
    research_pains = models.TextField(blank=True, default="")
    research_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    research_at = models.DateTimeField(null=True, blank=True)
    agenda = models.TextField(blank=True, default="")
    agenda_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    agenda_at = models.DateTimeField(null=True, blank=True)
    # The buyer's agreement applies to the agenda text it was given for: editing the agenda
    # clears it. `agreement_by` is the seller who recorded it.
    agenda_agreed = models.BooleanField(default=False)
    agreement_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    agreement_at = models.DateTimeField(null=True, blank=True)
    confirmed_pains = models.TextField(blank=True, default="")  # one pain a line
    summary = models.TextField(blank=True, default="")
    next_steps = models.TextField(blank=True, default="")
    summary_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    summary_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Discovery of deal {self.deal_id}"

    @property
    def pains(self) -> list[str]:
        """The confirmed pains, one per non-blank line, in the order written."""
        return [line.strip() for line in self.confirmed_pains.splitlines() if line.strip()]


class QuestionAnswer(models.Model):
    """What the buyer said in answer to one question of the process's discovery question bank
    (`discovery.questions`), in their words. One answer per question; clearing it removes it."""

    deal = models.ForeignKey("deals.Deal", on_delete=models.CASCADE,
                             related_name="discovery_answers")
    question = models.CharField(max_length=64)
    text = models.TextField()
    answered_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "question"], name="one_answer_per_question"),
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.text[:40]}"


class QuestionNote(models.Model):
    """A note taken while listening, tied to one discovery question: the detail behind the
    answer (who said it, a number, a follow-up). Notes accumulate; they are not edited."""

    deal = models.ForeignKey("deals.Deal", on_delete=models.CASCADE,
                             related_name="discovery_notes")
    question = models.CharField(max_length=64)
    text = models.TextField()
    written_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["written_at", "id"]
        indexes = [models.Index(fields=["deal", "question"])]

    def __str__(self) -> str:
        return f"{self.question}: {self.text[:40]}"


class ValueAnswer(models.TextChoices):
    YES = "yes", "Yes"
    PARTLY = "partly", "Partly"
    NO = "no", "No"


class SolutionWorkspace(models.Model):
    """Step 5 of the sales process for one deal: the demo plan (agenda, scenarios, date) and
    the value-confirmation checkpoint — the buyer's answer to "Based on what we've covered,
    does this solve the priority issues we discussed?", in their words.

    The capability map is the deal's `CapabilityRecommendation` rows.
    """

    deal = models.OneToOneField("deals.Deal", on_delete=models.CASCADE,
                                related_name="solution_workspace")
    demo_plan = models.TextField(blank=True, default="")
    demo_date = models.DateField(null=True, blank=True)
    demo_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    demo_at = models.DateTimeField(null=True, blank=True)
    value_answer = models.CharField(max_length=6, choices=ValueAnswer.choices, blank=True,
                                    default="")
    value_buyer_words = models.TextField(blank=True, default="")
    value_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    value_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Solution of deal {self.deal_id}"


class CapabilityRecommendation(models.Model):
    """A capability (from the process's `capabilities`) recommended to the buyer, tied to the
    pain confirmed in discovery that it answers. A recommendation with no pain is feature
    dumping: it is flagged, and the `capabilities_mapped` criterion stays unmet."""

    deal = models.ForeignKey("deals.Deal", on_delete=models.CASCADE,
                             related_name="capability_recommendations")
    capability = models.CharField(max_length=64)
    pain = models.CharField(max_length=500, blank=True, default="")
    recommended_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL,
                                       related_name="+")
    recommended_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recommended_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "capability"],
                                    name="one_recommendation_per_capability"),
        ]

    def __str__(self) -> str:
        return f"{self.capability} for {self.pain or '(no pain)'}"
