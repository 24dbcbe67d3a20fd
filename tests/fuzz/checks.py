"""dealcraft's own checks, run by Schemathesis on every response of the API fuzz.

Loaded through `hooks = "tests/fuzz/checks.py"` in tests/fuzz/schemathesis.toml. Schemathesis'
built-in checks already hold every response to the OpenAPI description (documented status,
media type, body schema); these add what the description cannot say:

- every error is an RFC 9457 problem whose `status` is the HTTP status;
- no response ever carries a Python stack trace;
- with a read-only token (DEALCRAFT_FUZZ_READ_ONLY=1), no write succeeds.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

PROBLEM_JSON = "application/problem+json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/')


@schemathesis.check
def errors_are_problem_details(ctx: Any, response: Any, case: Any) -> None:
    """A 4xx or 5xx answer is `application/problem+json` with type, title, status and detail."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith(PROBLEM_JSON):
        raise AssertionError(f"a {response.status_code} was sent as {content_type!r}, "
                             f"not {PROBLEM_JSON}")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {response.status_code} problem is not JSON") from None
    missing = [key for key in ("type", "title", "status", "detail") if key not in body]
    if missing:
        raise AssertionError(f"the problem lacks {', '.join(missing)}")
    if body["status"] != response.status_code:
        raise AssertionError(f"the problem says status {body['status']} but the response is "
                             f"{response.status_code}")


@schemathesis.check
def no_stack_traces(ctx: Any, response: Any, case: Any) -> None:
    """Internals stay in the server's log: no body shows a traceback."""
    text = response.content.decode("utf-8", errors="replace")
    for marker in TRACEBACK_MARKERS:
        if marker in text:
            raise AssertionError(f"the response shows a stack trace ({marker!r})")


@schemathesis.check
def read_only_token_never_writes(ctx: Any, response: Any, case: Any) -> None:
    """With a read-only token, every write is refused: never a 2xx to anything but a read."""
    if os.environ.get("DEALCRAFT_FUZZ_READ_ONLY") != "1":
        return
    if case.method.upper() not in SAFE_METHODS and 200 <= response.status_code < 300:
        raise AssertionError(f"a read-only token's {case.method.upper()} was accepted with "
                             f"{response.status_code}")
