"""What the web app keeps for its users besides the sales records themselves."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SavedView(models.Model):
    """A named set of pipeline-board filters a user saved to open again with one click,
    such as "My commit deals closing this quarter". Only its owner sees and deletes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name
