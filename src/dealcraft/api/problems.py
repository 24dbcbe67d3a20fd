"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error the API returns — refused by a service, rejected by validation, or unexpected —
goes through `problem()`, so clients can rely on one shape: `type`, `title`, `status`,
`detail`, `instance`, plus extra members that depend on the type (`field`, `errors`, `unmet`,
`current`…).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse

MEDIA_TYPE = "application/problem+json"
#: Problem type URIs are relative to the API root and documented in docs/api.md.
TYPE_PREFIX = "/api/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug


BAD_REQUEST = ProblemType("bad-request", "Malformed request", 400)
UNAUTHENTICATED = ProblemType("unauthenticated", "Authentication required", 401)
NOT_ALLOWED = ProblemType("not-allowed", "Not allowed", 403)
READ_ONLY_TOKEN = ProblemType("read-only-token", "Read-only token", 403)
NOT_FOUND = ProblemType("not-found", "Not found", 404)
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", "Method not allowed", 405)
EDIT_CONFLICT = ProblemType("edit-conflict", "Edit conflict", 409)
GATE_REFUSED = ProblemType("gate-refused", "Stage gate not met", 409)
TOO_LARGE = ProblemType("payload-too-large", "Request too large", 413)
INVALID_INPUT = ProblemType("invalid-input", "Invalid input", 422)
INVALID_PROCESS = ProblemType("invalid-process", "Invalid process file", 422)
TOO_MANY_REQUESTS = ProblemType("too-many-requests", "Too many requests", 429)
RATE_LIMITED = ProblemType("rate-limited", "Rate limit exceeded", 429)
SERVER_ERROR = ProblemType("server-error", "Internal server error", 500)

IDEMPOTENCY_KEY_IN_USE = ProblemType("idempotency-key-in-use",
                                     "Request with this key still running", 409)
IDEMPOTENCY_KEY_REUSED = ProblemType("idempotency-key-reused",
                                     "Idempotency key reused with another request", 422)

ALL_TYPES = (BAD_REQUEST, UNAUTHENTICATED, NOT_ALLOWED, READ_ONLY_TOKEN, NOT_FOUND,
             METHOD_NOT_ALLOWED, EDIT_CONFLICT, GATE_REFUSED, TOO_LARGE, INVALID_INPUT,
             INVALID_PROCESS, TOO_MANY_REQUESTS, RATE_LIMITED, SERVER_ERROR,
             IDEMPOTENCY_KEY_IN_USE, IDEMPOTENCY_KEY_REUSED)


def problem(request: HttpRequest | None, kind: ProblemType, detail: str, *,
            status: int | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> HttpResponse:
    """A problem-details response of `kind`; `extra` becomes additional members."""
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": status or kind.status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.path
    body.update(extra)
    response = HttpResponse(json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
                            status=body["status"], content_type=f"{MEDIA_TYPE}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class PayloadTooLarge(Exception):
    """The request (or the file in it) is larger than the API accepts."""

    def __init__(self, max_bytes: int | None = None) -> None:
        super().__init__("payload too large")
        self.max_bytes = max_bytes
