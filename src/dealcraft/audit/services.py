"""Writing audit rows; called by every other service inside its transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEvent


def record(*, actor: Any, action: str, obj: models.Model, deal: Any = None,
           changes: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.model_name or type(obj).__name__.lower(),
        object_id=str(obj.pk or ""),
        deal=deal,
        changes=changes or {},
    )
