"""Running an import outside the request that started it.

An import of a large export takes minutes, longer than any request may last, so the web page
starts it in a background thread of the server process and then shows its progress. The
importer holds one database transaction until it ends (all or nothing), and on SQLite no other
connection may write meanwhile, so live progress cannot go into the database: the job writes
it to `progress.json` in the import's folder (replaced atomically, at most twice a second),
which any server process can read. The outcome goes into the `ImportRun` row at the end.

A job whose server process stopped (a restart, a crash) leaves its run "running" with a
progress file that no longer changes: after `STALE_AFTER` the page reports it interrupted —
its transaction was rolled back, so nothing was imported — and it can be started again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from .models import ImportRun

logger = logging.getLogger("dealcraft.transfer")

PROGRESS = "progress.json"
#: Progress older than this, on a run still marked running, means its process is gone.
STALE_AFTER = 300.0
#: Tests run jobs in the request's thread, where the test database is visible.
RUN_IN_BACKGROUND = True


class Progress:
    """The importer's progress callback, `(phase, rows_done)`, kept in a file."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / PROGRESS
        self.started = time.time()
        self.last = 0.0

    def __call__(self, phase: str, rows: int) -> None:
        now = time.time()
        if now - self.last < 0.5:
            return
        self.last = now
        self.write({"phase": phase, "rows": rows, "at": now,
                    "rate": rows / max(now - self.started, 1e-6)})

    def write(self, data: dict[str, Any]) -> None:
        part = self.path.with_name(f".{PROGRESS}.{os.getpid()}.{threading.get_ident()}")
        part.write_text(json.dumps(data), encoding="utf-8")
        os.replace(part, self.path)


def read_progress(run: ImportRun) -> dict[str, Any]:
    try:
        data = json.loads((Path(run.folder) / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def clear_progress(run: ImportRun) -> None:
    Progress(Path(run.folder)).write({"phase": "starting", "rows": 0, "at": time.time(),
                                      "rate": 0})


def is_stale(run: ImportRun, now: float | None = None) -> bool:
    """A run marked running whose progress has not moved for `STALE_AFTER` seconds."""
    if run.status not in (ImportRun.Status.PREVIEWING, ImportRun.Status.RUNNING):
        return False
    beat = read_progress(run).get("at")
    if not isinstance(beat, int | float):
        beat = run.started_at.timestamp() if run.started_at else 0
    return (now or time.time()) - float(beat) > STALE_AFTER


def launch(run_id: int, *, dry_run: bool) -> None:
    if not RUN_IN_BACKGROUND:
        work(run_id, dry_run=dry_run, close=False)
        return
    thread = threading.Thread(target=work, args=(run_id,), kwargs={"dry_run": dry_run},
                              name=f"dealcraft-import-{run_id}", daemon=True)
    thread.start()


def work(run_id: int, *, dry_run: bool, close: bool = True) -> None:
    """Run one import (or its dry run) and record how it ended."""
    from dealcraft.errors import ServiceError
    from dealcraft.imports.services import run_import

    from .services import finish_import_job
    from .uploads import ERROR_REPORT, read_export

    try:
        run = ImportRun.objects.select_related("created_by").get(pk=run_id)
        folder = Path(run.folder)
        export, extra = read_export(run.source, folder, run.files, run.date_format)
        if run.stage_map is not None:
            extra["stage_map"] = run.stage_map
        # Inside an enclosing transaction the importer leaves SQLite's journal mode and
        # other connection-wide settings alone: the server's other connections stay open
        # while it runs, and switching WAL off needs the database to itself.
        with transaction.atomic():
            result = run_import(export, acting_user=run.created_by, dry_run=dry_run,
                                progress=Progress(folder), report_path=folder / ERROR_REPORT,
                                **extra)
        summary = result.summary()
        summary["problem_list"] = [
            {"file": p.file, "row": p.row, "column": p.column, "message": p.message,
             "value": p.value, "fatal": p.fatal} for p in result.problems[:200]]
        finish_import_job(run_id=run_id, dry_run=dry_run, summary=summary)
    except ServiceError as exc:
        finish_import_job(run_id=run_id, dry_run=dry_run, summary=None, error=exc.message)
    except Exception as exc:
        logger.exception("import %s failed", run_id)
        finish_import_job(run_id=run_id, dry_run=dry_run, summary=None,
                          error=f"the import failed: {type(exc).__name__}: {exc}"[:2000])
    finally:
        if close:
            connection.close()
