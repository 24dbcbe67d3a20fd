"""An import started from the web page, from upload to result."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportRun(models.Model):
    """One import an ops user started in the web app: the files they uploaded, the stage
    mapping they chose, the dry run's preview, and the outcome of the real run.

    The import itself runs outside the request, in a background thread; its live progress is
    kept in a file beside the upload (see `transfer.jobs`), because the import holds its
    database transaction until it ends."""

    class Source(models.TextChoices):
        SALESFORCE = "salesforce", "Salesforce data export (zip of the folder)"
        HUBSPOT = "hubspot", "HubSpot deal export"
        PIPEDRIVE = "pipedrive", "Pipedrive deal export"
        CSV = "csv", "Any CSV, with a mapping file"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREVIEWING = "previewing", "Checking (dry run)"
        PREVIEWED = "previewed", "Checked"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        REFUSED = "refused", "Not imported: problems found"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=12, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    folder = models.CharField(max_length=500)
    files = models.JSONField(default=list)
    stages = models.JSONField(default=list)
    stage_map = models.JSONField(null=True, blank=True)
    date_format = models.CharField(max_length=3, blank=True, default="")
    preview = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} import #{self.pk} ({self.status})"
