"""Starting an export (what the reader may see, limited by their filters, and its audit row),
and the steps of an import started from the web page.

An export changes nothing, but it takes data out of dealcraft, so each one is written to the
audit log (`export.deals`, `export.history`, …) with who asked, through which door, the
filters and the number of rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.audit.services import record
from dealcraft.deals.models import Deal, Status
from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound
from dealcraft.people.permissions import visible_deals
from dealcraft.processes.services import active_process

from . import uploads as uploads_module
from .exports import FORMATS, KINDS, Export, export_for
from .models import ImportRun

VIAS = ("cli", "web", "api")


@dataclass(frozen=True)
class DealScope:
    """Which deals an export covers, within those the reader may see. Empty: all of them."""

    status: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    forecast: str = ""

    @property
    def empty(self) -> bool:
        return not any(value not in (None, "") for value in asdict(self).values())

    def describe(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()
                if value not in (None, "")}

    def apply(self, deals: Any) -> Any:
        if self.status:
            deals = deals.filter(status=self.status)
        if self.owner_id is not None:
            deals = deals.filter(owner_id=self.owner_id)
        if self.team_id is not None:
            deals = deals.filter(team_id=self.team_id)
        if self.close_from:
            deals = deals.filter(expected_close__gte=self.close_from)
        if self.close_to:
            deals = deals.filter(expected_close__lte=self.close_to)
        if self.amount_min is not None:
            deals = deals.filter(amount__gte=self.amount_min)
        if self.amount_max is not None:
            deals = deals.filter(amount__lte=self.amount_max)
        if self.forecast:
            deals = deals.filter(forecast_category=self.forecast)
        return deals


def start_export(*, acting_user: Any, kind: str, fmt: str, via: str,
                 scope: DealScope | None = None) -> Export:
    """An export of `kind` of what `acting_user` may see (everything for the console, None).

    Writes the audit row, with the number of rows, before the first row is read.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown export '{kind}'; choose one of {', '.join(KINDS)}", "kind")
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format '{fmt}'; choose csv or xlsx", "format")
    if via not in VIAS:
        raise InvalidInput(f"unknown channel '{via}'", "via")
    scope = scope or DealScope()
    if scope.status and scope.status not in Status.values:
        raise InvalidInput(f"unknown status '{scope.status}'; choose open, won or lost",
                           "status")
    if acting_user is not None and not (getattr(acting_user, "is_authenticated", False)
                                        and acting_user.is_active):
        raise NotAllowed("Sign in to export.")
    _, process = active_process()
    names = {**{s.key: s.name for s in process.stages}, "won": "Won", "lost": "Lost"}
    everything = Deal.objects.all()
    deals = everything if acting_user is None else visible_deals(
        acting_user, everything, visibility=process.settings.visibility)
    # `visible_deals` hands back the very queryset it was given when the user sees every deal.
    all_deals = deals is everything and scope.empty
    export = export_for(kind, scope.apply(deals), all_deals=all_deals, stage_names=names)
    with transaction.atomic():
        AuditEvent.objects.create(
            actor=acting_user if getattr(acting_user, "pk", None) else None,
            action=f"export.{kind}", object_type="export", object_id="",
            changes={"format": fmt, "via": via, "rows": export.count(),
                     "filters": scope.describe()})
    return export


# ---------------------------------------------------------------------------- imports from the web

IMPORT_ROLES = ("admin", "ops")


def _require_importer(user: Any) -> None:
    if not (getattr(user, "is_authenticated", False) and user.is_active
            and user.role in IMPORT_ROLES):
        raise NotAllowed("Only admins and revenue operations import data.")


def import_run_for(user: Any, run_id: int) -> ImportRun:
    """An import run an importer may see (every admin and ops user sees every run)."""
    _require_importer(user)
    run = ImportRun.objects.select_related("created_by").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"there is no import {run_id}")
    return run


def create_import_run(*, acting_user: Any, source: str, uploads: Sequence[UploadedFile],
                      date_format: str = "") -> ImportRun:
    """Store uploaded files for an import and read the stages they hold."""
    _require_importer(acting_user)
    if source not in ImportRun.Source.values:
        raise InvalidInput(f"choose what the files are: {', '.join(ImportRun.Source.values)}",
                           "source")
    if date_format not in ("", "dmy", "mdy"):
        raise InvalidInput("the date order is dmy, mdy or automatic", "date_format")
    folder = uploads_module.new_folder()
    try:
        files = uploads_module.store_uploads(source, uploads, folder)
        export, extra = uploads_module.read_export(source, folder, files, date_format)
        stages = [stage.name for stage in sorted(export.stages, key=lambda s: s.order)]
        with transaction.atomic():
            run = ImportRun.objects.create(
                created_by=acting_user, source=source, folder=str(folder), files=files,
                stages=stages, stage_map=extra.get("stage_map"), date_format=date_format)
            record(actor=acting_user, action="import_run.create", obj=run,
                   changes={"source": source, "files": files, "stages": len(stages)})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return run


def _target_keys() -> dict[str, str]:
    _, process = active_process()
    return {**{s.key: s.name for s in process.stages}, "won": "Won", "lost": "Lost"}


def choose_import_mapping(*, acting_user: Any, run: ImportRun,
                          stage_map: dict[str, str] | None) -> ImportRun:
    """Map the export's stages onto the active process, or (None) keep them as their own."""
    _require_importer(acting_user)
    if run.status in (ImportRun.Status.PREVIEWING, ImportRun.Status.RUNNING):
        raise Conflict("the import is running; wait for it to finish", current=run)
    if run.status in (ImportRun.Status.DONE,):
        raise InvalidInput("this import is finished; start a new one", "stage_map")
    if stage_map is not None:
        targets = _target_keys()
        missing = [name for name in run.stages if not stage_map.get(name)]
        if missing:
            raise InvalidInput(f"choose a stage for {', '.join(missing[:5])}", "stage_map")
        unknown = sorted({v for v in stage_map.values() if v not in targets})
        if unknown:
            raise InvalidInput(f"unknown stage {', '.join(unknown)}", "stage_map")
        stage_map = {name: stage_map[name] for name in run.stages}
    with transaction.atomic():
        run.stage_map = stage_map
        run.status = ImportRun.Status.UPLOADED
        run.preview = None
        run.save(update_fields=["stage_map", "status", "preview"])
        record(actor=acting_user, action="import_run.map", obj=run,
               changes={"stage_map": stage_map or "own process"})
    return run


def start_import_job(*, acting_user: Any, run: ImportRun, dry_run: bool) -> ImportRun:
    """Start the dry run (the preview) or the import itself, outside the request."""
    from . import jobs

    _require_importer(acting_user)
    with transaction.atomic():
        current = ImportRun.objects.select_for_update().get(pk=run.pk)
        if current.status in (ImportRun.Status.PREVIEWING, ImportRun.Status.RUNNING):
            raise Conflict("the import is already running", current=current)
        if current.status == ImportRun.Status.DONE:
            raise InvalidInput("this import is finished; start a new one", "run")
        if not dry_run:
            if current.status != ImportRun.Status.PREVIEWED or current.preview is None:
                raise InvalidInput("check the import (dry run) before running it", "run")
            if current.preview.get("fatal_problems"):
                raise InvalidInput("the dry run found problems that stop the import; fix the "
                                   "files and upload them again", "run")
        current.status = (ImportRun.Status.PREVIEWING if dry_run else ImportRun.Status.RUNNING)
        current.started_at = timezone.now()
        current.finished_at = None
        current.error = ""
        current.save(update_fields=["status", "started_at", "finished_at", "error"])
        record(actor=acting_user, action="import_run.preview" if dry_run else "import_run.start",
               obj=current, changes={"source": current.source})
    jobs.clear_progress(current)
    transaction.on_commit(lambda: jobs.launch(current.pk, dry_run=dry_run))
    return current


def finish_import_job(*, run_id: int, dry_run: bool, summary: dict[str, Any] | None,
                      error: str = "") -> ImportRun:
    """Record how a background import ended (called by the job itself)."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        if error:
            run.status = ImportRun.Status.FAILED
            run.error = error
        elif dry_run:
            run.status = ImportRun.Status.PREVIEWED
            run.preview = summary
        else:
            run.result = summary
            run.status = (ImportRun.Status.DONE if summary and summary.get("committed")
                          else ImportRun.Status.REFUSED)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "preview", "result", "finished_at"])
        record(actor=run.created_by, action="import_run.finish", obj=run,
               changes={"status": run.status, "dry_run": dry_run, "error": error[:500]})
    return run
