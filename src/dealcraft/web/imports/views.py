"""The import page: ops and admins bring another CRM's export in, step by step.

1. Upload (`/imports/`): what the files are (Salesforce zip, HubSpot or Pipedrive exports, or a
   CSV with its mapping file) and the files themselves.
2. Mapping (`/imports/<id>/`): each stage of the export onto a stage of the active process, or
   the default, keeping the export's stages as a process of their own.
3. Preview: a dry run (counts, the mapping, every problem), run in the background.
4. Run: the import, in the background; the page shows its progress, polled by htmx every two
   seconds, or refreshed by the browser every three without JavaScript.
5. Result, with the row-level error report to download.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.processes.services import active_process
from dealcraft.transfer import jobs
from dealcraft.transfer.models import ImportRun
from dealcraft.transfer.services import (
    IMPORT_ROLES,
    choose_import_mapping,
    create_import_run,
    finish_import_job,
    import_run_for,
    start_import_job,
)
from dealcraft.transfer.uploads import ERROR_REPORT, MAX_UPLOAD_BYTES

RUNNING = (ImportRun.Status.PREVIEWING, ImportRun.Status.RUNNING)
KEEP = ""  # the mapping form's value for "keep the export's own stages"


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if user.role not in IMPORT_ROLES:
        raise PermissionDenied("Only admins and revenue operations import data.")
    return user


def _run(request: HttpRequest, run_id: int) -> ImportRun:
    try:
        run = import_run_for(_user(request), run_id)
    except NotFound:
        raise Http404("There is no such import.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    if jobs.is_stale(run):
        run = finish_import_job(
            run_id=run.pk, dry_run=run.status == ImportRun.Status.PREVIEWING, summary=None,
            error="the import stopped without finishing (the server was restarted); its "
                  "transaction was rolled back, so nothing was imported — start it again")
    return run


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def imports(request: HttpRequest) -> HttpResponse:
    """The upload form and the recent imports."""
    user = _user(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            run = create_import_run(acting_user=user, source=request.POST.get("source", ""),
                                    uploads=request.FILES.getlist("files"),
                                    date_format=request.POST.get("date_format", ""))
        except InvalidInput as exc:
            error, status = exc.message, 422
        else:
            return redirect("web:import-run", run.pk)
    return render(request, "web/imports/imports.html", {
        "sources": ImportRun.Source.choices,
        "runs": ImportRun.objects.select_related("created_by")[:20],
        "error": error, "chosen": request.POST.get("source", ""),
        "max_mb": MAX_UPLOAD_BYTES // 2**20,
    }, status=status)


def _context(run: ImportRun, **extra: Any) -> dict[str, Any]:
    _, process = active_process()
    targets = [(s.key, s.name) for s in process.stages] + [("won", "Won"), ("lost", "Lost")]
    chosen = run.stage_map or {}
    summary = run.result or run.preview or {}
    return {
        "run": run, "targets": targets, "keep": run.stage_map is None,
        "stage_rows": [(name, chosen.get(name, "")) for name in run.stages],
        "summary": summary, "counts": sorted((summary.get("counts") or {}).items()),
        "problems": summary.get("problem_list", []),
        "unmatched": sorted((summary.get("unmatched") or {}).items()),
        "running": run.status in RUNNING, "progress": jobs.read_progress(run),
        "has_report": (Path(run.folder) / ERROR_REPORT).is_file(),
        "can_run": (run.status == ImportRun.Status.PREVIEWED and run.preview is not None
                    and not run.preview.get("fatal_problems")),
        **extra,
    }


@never_cache
@require_GET
@login_required
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    return render(request, "web/imports/run.html", _context(run))


@require_POST
@login_required
def mapping(request: HttpRequest, run_id: int) -> HttpResponse:
    """Save the stage mapping and start the dry run."""
    user = _user(request)
    run = _run(request, run_id)
    stage_map: dict[str, str] | None = None
    if request.POST.get("mode") == "map":
        stage_map = {name: request.POST.get(f"stage-{i}", "")
                     for i, name in enumerate(run.stages)}
    try:
        choose_import_mapping(acting_user=user, run=run, stage_map=stage_map)
        start_import_job(acting_user=user, run=run, dry_run=True)
    except (InvalidInput, Conflict) as exc:
        return render(request, "web/imports/run.html", _context(run, error=exc.message),
                      status=409 if isinstance(exc, Conflict) else 422)
    return redirect("web:import-run", run.pk)


@require_POST
@login_required
def start(request: HttpRequest, run_id: int) -> HttpResponse:
    """Run the import the dry run checked."""
    user = _user(request)
    run = _run(request, run_id)
    try:
        start_import_job(acting_user=user, run=run, dry_run=False)
    except (InvalidInput, Conflict) as exc:
        return render(request, "web/imports/run.html", _context(run, error=exc.message),
                      status=409 if isinstance(exc, Conflict) else 422)
    messages.info(request, "The import has started; this page follows it.")
    return redirect("web:import-run", run.pk)


@never_cache
@require_GET
@login_required
def progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress panel (htmx polls it); once the job ends, htmx reloads the whole page."""
    run = _run(request, run_id)
    response = render(request, "web/imports/_progress.html", _context(run))
    if getattr(request, "htmx", False) and run.status not in RUNNING:
        response["HX-Refresh"] = "true"
    return response


@require_GET
@login_required
def error_report(request: HttpRequest, run_id: int) -> FileResponse:
    run = _run(request, run_id)
    path = Path(run.folder) / ERROR_REPORT
    if not path.is_file():
        raise Http404("This import has no error report.")
    response = FileResponse(path.open("rb"), as_attachment=True,
                            filename=f"import-{run.pk}-errors.csv",
                            content_type="text/csv; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
