"""`Idempotency-Key` on POST: a retried request is answered from the first one's response.

A client that sends `Idempotency-Key: <key>` with a POST may send the same request again
(after a timeout, a dropped connection…) and be sure the work is done once. The first request
with a key reserves it for the token; once it succeeds, its status, body and `Location` /
`ETag` headers are kept for `IDEMPOTENCY_TTL`, and a repeat with the same key and the same
request (method, path, query, content type and body) gets that response again, marked
`Idempotent-Replayed: true`, without running. The same key with another request is a 422;
while the first request is still running, a repeat is a 409 with `Retry-After`.

Only successful (2xx) responses are kept: a refused or failed request changed nothing
(services are atomic), so the key is released and a corrected retry may use it again.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from dealcraft.people.models import ApiToken, IdempotentRequest
from dealcraft.people.services import (
    IDEMPOTENCY_TTL,
    claim_idempotency_key,
    release_idempotency_key,
    store_idempotent_response,
)

from . import problems as p

HEADER = "Idempotency-Key"
#: Visible ASCII, 1 to 255 characters: a UUID, a hash, an order number…
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)
#: Response headers a replay repeats; the rate-limit headers are always the current ones.
KEPT_HEADERS = ("Location", "ETag")
#: Room for the form fields and boundaries around an evidence file in a multipart body.
_FORM_OVERHEAD = 256 * 1024

OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    "description": "A key of your choosing (e.g. a UUID) that makes this POST safe to retry: "
                   "a repeat with the same key and body within 24 hours gets the first "
                   "response again (with `Idempotent-Replayed: true`) and does nothing twice; "
                   "the same key with another body is a 422 `idempotency-key-reused`, and a "
                   "repeat while the first is still running a 409 `idempotency-key-in-use`.",
}


def fingerprint(request: HttpRequest) -> str | None:
    """A digest of what the request asks for, or None when it is too large to read here (the
    operation then refuses it with 413 before doing anything)."""
    digest = hashlib.sha256()
    content_type = (request.content_type or "").lower()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", ""),
                 content_type):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    if content_type == "multipart/form-data":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DEALCRAFT_EVIDENCE_MAX_BYTES + _FORM_OVERHEAD:
            return None
        # Reading `request.body` would refuse any upload over Django's in-memory limit; the
        # parsed fields and the files' contents identify the request as well.
        for name, values in sorted(request.POST.lists()):
            digest.update(repr((name, values)).encode("utf-8", "surrogateescape"))
        for name, uploads in sorted(request.FILES.lists()):
            for upload in uploads:
                digest.update(repr((name, upload.name, upload.content_type,
                                    upload.size)).encode("utf-8", "surrogateescape"))
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(row: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status or 200,
                            content_type=row.content_type or None)
    for name, value in (row.headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def honour_key(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps every API operation (after authentication and validation): a POST carrying an
    `Idempotency-Key` runs only when its key is new for the token."""

    @functools.wraps(operation)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        token = getattr(request, "api_token", None)
        if request.method != "POST" or key is None or not isinstance(token, ApiToken):
            return operation(request, *args, **kwargs)
        if not _KEY_RE.fullmatch(key):
            return p.problem(request, p.INVALID_INPUT,
                             f"{HEADER} is 1 to 255 visible ASCII characters (no spaces), "
                             "e.g. a UUID.", field=HEADER)
        digest = fingerprint(request)
        if digest is None:
            return operation(request, *args, **kwargs)
        claim = claim_idempotency_key(token=token, key=key, fingerprint=digest)
        if claim.outcome == "mismatch":
            return p.problem(request, p.IDEMPOTENCY_KEY_REUSED,
                             f"This {HEADER} was used for a different request in the last "
                             f"{int(IDEMPOTENCY_TTL.total_seconds() // 3600)} hours; send "
                             "a new key for a new request.", field=HEADER)
        if claim.outcome == "running":
            return p.problem(request, p.IDEMPOTENCY_KEY_IN_USE,
                             f"A request with this {HEADER} is still being processed; "
                             "retry in a moment to get its response.",
                             headers={"Retry-After": "1"})
        if claim.outcome == "replay":
            return _replay(claim.row)
        request.idempotent_request = claim.row  # type: ignore[attr-defined]
        try:
            return operation(request, *args, **kwargs)
        except BaseException:
            release_idempotency_key(claim.row)
            del request.idempotent_request  # type: ignore[attr-defined]
            raise

    return wrapped


def finish(request: HttpRequest, response: HttpResponseBase) -> None:
    """Keep a successful response for replays, or release the key of one that failed."""
    row = getattr(request, "idempotent_request", None)
    if not isinstance(row, IdempotentRequest):
        return
    del request.idempotent_request  # type: ignore[attr-defined]
    if 200 <= response.status_code < 300 and isinstance(response, HttpResponse):
        store_idempotent_response(
            row, status=response.status_code,
            content_type=response.get("Content-Type", ""), body=response.content,
            headers={name: response[name] for name in KEPT_HEADERS if name in response})
    else:
        release_idempotency_key(row)
