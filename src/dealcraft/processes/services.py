"""Applying process files and reading the active process."""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from typing import Any

from django.db import connection, transaction

from dealcraft.audit.services import record
from dealcraft.domain.process import Process, parse_process
from dealcraft.domain.yamlsource import Problem
from dealcraft.errors import InvalidInput, NotAllowed

from .models import ProcessVersion

_parsed: dict[tuple[int, str], Process] = {}
# An arbitrary constant naming the PostgreSQL advisory lock taken while a version is applied.
APPLY_LOCK_KEY = 0x0DEA1C4A
_lock = threading.Lock()


class ProcessInvalid(InvalidInput):
    """The process file has problems; `problems` holds every one with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the process file has {len(problems)} problem(s)")
        self.problems = problems


def default_process_source() -> str:
    return resources.files("dealcraft.processes").joinpath("default_process.yaml").read_text(
        encoding="utf-8")


def parse(version: ProcessVersion) -> Process:
    """The parsed process of a stored version (parsed once per process, then cached)."""
    key = (version.pk, version.sha256)
    process = _parsed.get(key)
    if process is None:
        parsed, problems = parse_process(version.source)
        if parsed is None:  # only possible if someone edited the table by hand
            raise ProcessInvalid(problems)
        with _lock:
            _parsed[key] = process = parsed
    return process


def active_version() -> ProcessVersion:
    """The active version; the default process is applied on first use of an empty database."""
    version = ProcessVersion.objects.filter(is_active=True).first()
    if version is None:
        version = apply_process(default_process_source(), acting_user=None,
                                note="default process")
    return version


def active_process() -> tuple[ProcessVersion, Process]:
    version = active_version()
    return version, parse(version)


def apply_process(source: str, *, acting_user: Any, note: str = "") -> ProcessVersion:
    """Validate and store a process file as the new active version."""
    if acting_user is not None and getattr(acting_user, "role", None) not in ("admin", "ops"):
        raise NotAllowed("Only revenue operations and admins may apply a process file.")
    process, problems = parse_process(source)
    if process is None:
        raise ProcessInvalid(problems)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Serialise appliers: row locks cannot, since the first version has no row to
            # lock yet. SQLite's immediate transactions already serialise writers.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLY_LOCK_KEY])
        previous = ProcessVersion.objects.select_for_update().filter(is_active=True).first()
        if previous is not None and previous.sha256 == digest:
            return previous
        last = ProcessVersion.objects.order_by("-number").values_list("number", flat=True).first()
        ProcessVersion.objects.filter(is_active=True).update(is_active=False)
        version = ProcessVersion.objects.create(
            number=(last or 0) + 1, name=process.name[:200], source=source, sha256=digest,
            is_active=True, applied_by=acting_user if getattr(acting_user, "pk", None) else None,
            note=note[:300],
        )
        record(actor=acting_user, action="process.apply", obj=version,
               changes={"number": version.number, "previous": previous.number if previous
                        else None, "name": process.name})
    return version
