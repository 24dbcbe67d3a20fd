"""The documented responses of an operation: its success bodies plus the problems it may send."""

from __future__ import annotations

from typing import Any

from .schemas import FieldProblem, ProblemDetails, TooLargeProblem

ERROR_SCHEMAS: dict[int, Any] = {
    400: ProblemDetails,
    401: ProblemDetails,
    403: ProblemDetails,
    404: ProblemDetails,
    409: ProblemDetails,
    413: TooLargeProblem,
    422: FieldProblem,
    429: ProblemDetails,
    500: ProblemDetails,
}


def responses(ok: dict[int, Any], *codes: int) -> dict[int, Any]:
    """`ok` (and any specific error schema in it) plus the listed error codes.

    Every operation may answer 400 (malformed request), 401 (no or bad token), 403 (a
    read-only token writing, or not permitted), 429 (the token's rate limit) and 500.
    """
    out = dict(ok)
    for code in (400, 401, 403, *codes, 429, 500):
        out.setdefault(code, ERROR_SCHEMAS[code])
    return dict(sorted(out.items()))
