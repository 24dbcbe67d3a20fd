"""`/api/v1/process`: the active process, and applying a new version of the process file."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from dealcraft.processes.services import active_process, active_version, apply_process, parse

from .auth import caller
from .responses import responses
from .schemas import FieldProblem, ProcessIn, ProcessOut, ProcessProblem
from .serializers import process_version_out

router = Router()


@router.get("", response=responses({200: ProcessOut}), summary="The active process")
def get_process(request: HttpRequest) -> dict[str, Any]:
    """The active version: its number, when it was applied, and the whole process as JSON in
    the shape of the process file."""
    caller(request)
    version, process = active_process()
    return process_version_out(version, process)


@router.post("", response=responses({200: ProcessOut, 201: ProcessOut,
                                     422: ProcessProblem | FieldProblem}),
             summary="Apply a process file")
def post_process(request: HttpRequest, payload: ProcessIn) -> Status:
    """Validate the YAML `source` and make it the active version (revenue operations and
    admins). 201 with the new version; 200 when the source is the active one already; 422
    with every `problem` and its line when the file is invalid."""
    user = caller(request)
    before = active_version().pk
    version = apply_process(payload.source, acting_user=user, note=payload.note)
    return Status(200 if version.pk == before else 201,
                  process_version_out(version, parse(version)))
