"""The REST API (`/api/v1/`): the NinjaAPI object, its error handling and its routers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from dealcraft.audit.services import record_refusal
from dealcraft.deals.models import Deal
from dealcraft.errors import (
    Conflict,
    GateRefused,
    InvalidInput,
    NotAllowed,
    NotFound,
    ServiceError,
)
from dealcraft.people.models import ApiToken
from dealcraft.processes.services import ProcessInvalid
from dealcraft.transfer import api as transfer_api

from . import crm, deals, idempotency, links, people, process, ratelimit, reports, webhooks
from . import problems as p
from .auth import BearerToken, InvalidToken, ReadOnlyToken
from .schemas import EvidenceIn, FieldProblem, ProblemDetails
from .serializers import deal_out, deal_rows, unmet_out

logger = logging.getLogger("dealcraft.api")

DESCRIPTION = """\
The dealcraft REST API. Authenticate with `Authorization: Bearer <token>`
(`dealcraft token create USERNAME`). Errors are RFC 9457 problem details
(`application/problem+json`). See docs/api.md for examples."""


def _problem_on_405(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        ratelimit.add_headers(request, response)
        idempotency.finish(request, response)
        if isinstance(response, HttpResponseNotAllowed):
            return p.problem(request, p.METHOD_NOT_ALLOWED,
                             f"{request.method} is not allowed here; use {response['Allow']}.",
                             headers={"Allow": response["Allow"]})
        return response

    return wrapped


class DealcraftAPI(NinjaAPI):
    """NinjaAPI whose every error, including ninja's own, is a problem document."""

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        # ninja answers a known path with the wrong method in plain text; make it a problem.
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_on_405(pattern.callback)
        return patterns, app_name, namespace

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # Error bodies are sent as problem+json; ninja documents every body with the renderer's
        # media type, so the error responses are relabelled here.
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        response["content"] = {p.MEDIA_TYPE: content.pop("application/json")}
        # Every POST honours an Idempotency-Key (see idempotency.py), and may answer with its
        # two problems.
        for operations in schema["paths"].values():
            post = operations.get("post")
            if post is not None:
                post.setdefault("parameters", []).append(idempotency.OPENAPI_PARAMETER)
                for status in (409, 422):
                    post["responses"].setdefault(status, {
                        "description": HTTPStatus(status).phrase,
                        "content": {p.MEDIA_TYPE: {"schema": {
                            "$ref": "#/components/schemas/ProblemDetails"}}}})
        # The evidence operation parses its own body (JSON or multipart); its JSON schema is
        # referenced from the operation and so must be listed here.
        schema["components"]["schemas"]["EvidenceIn"] = EvidenceIn.model_json_schema(
            ref_template="#/components/schemas/{model}")
        _document_common_problems(schema)
        # How the ids in one response feed the next call (see links.py).
        links.add_links(schema)
        return schema


def _document_common_problems(schema: dict[str, Any]) -> None:
    """Statuses any operation may answer, whichever router declared it: 429 when its token is
    over a rate limit, and 422 when it takes parameters or a body and they do not parse (a
    path such as `/deals/abc` included)."""
    components = schema["components"]["schemas"]
    for model in (ProblemDetails, FieldProblem):
        components.setdefault(model.__name__, model.model_json_schema(
            ref_template="#/components/schemas/{model}"))
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            documented = {int(status) for status in responses}
            wanted = {429: ProblemDetails.__name__}
            if operation.get("parameters") or operation.get("requestBody"):
                wanted[422] = FieldProblem.__name__
            for status, model_name in wanted.items():
                if status not in documented:
                    responses[status] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {p.MEDIA_TYPE: {"schema": {
                            "$ref": f"#/components/schemas/{model_name}"}}}}


class _UtcEncoder(NinjaJSONEncoder):
    """Every timestamp goes out in UTC with its offset, as the description's `date-time` says.

    The analytics layer computes in naive UTC (its columnar engine has no time zones); a naive
    datetime reaching a response is therefore UTC, and is sent as such rather than bare.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and o.tzinfo is None:
            o = o.replace(tzinfo=UTC)
        return super().default(o)


class _Renderer(JSONRenderer):
    encoder_class = _UtcEncoder


api = DealcraftAPI(
    title="dealcraft",
    version="1",
    description=DESCRIPTION,
    auth=BearerToken(),
    urls_namespace="api-v1",
    renderer=_Renderer(),
)


# ---------------------------------------------------------------------------- error handlers


def _audit_refusal(request: HttpRequest) -> None:
    actor = getattr(request, "auth", None)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if actor is None and scheme.lower() == "bearer" and key.strip():
        # A read-only token is refused before ninja sets `request.auth`: find its user.
        token = (ApiToken.objects.select_related("user")
                 .filter(key_hash=ApiToken.hash_key(key.strip())).first())
        actor = token.user if token else None
    record_refusal(actor=actor, method=request.method or "",
                   path=request.path, via="api")


def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if isinstance(exc, ProcessInvalid):
        return p.problem(request, p.INVALID_PROCESS, exc.message,
                         problems=[{"line": pr.line, "message": pr.message}
                                   for pr in exc.problems])
    if isinstance(exc, InvalidInput):
        return p.problem(request, p.INVALID_INPUT, exc.message, field=exc.field or None)
    if isinstance(exc, NotAllowed):
        _audit_refusal(request)
        return p.problem(request, p.NOT_ALLOWED, exc.message)
    if isinstance(exc, NotFound):
        return p.problem(request, p.NOT_FOUND, exc.message)
    if isinstance(exc, Conflict):
        extra: dict[str, Any] = {}
        if isinstance(exc.current, Deal):
            current = deal_rows().filter(pk=exc.current.pk).first() or exc.current
            extra = {"version": current.version, "current": deal_out(current)}
        return p.problem(request, p.EDIT_CONFLICT, exc.message, **extra)
    if isinstance(exc, GateRefused):
        transition = exc.transition
        return p.problem(request, p.GATE_REFUSED, exc.message,
                         unmet=[unmet_out(u) for u in transition.blocking],
                         warnings=[unmet_out(u) for u in transition.warnings],
                         to=transition.to_stage)
    return p.problem(request, p.BAD_REQUEST, exc.message)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if isinstance(exc, InvalidToken):
        challenge = ('Bearer realm="dealcraft", error="invalid_token", '
                     f'error_description="{exc.message}"')
        return p.problem(request, p.UNAUTHENTICATED, exc.message,
                         headers={"WWW-Authenticate": challenge})
    if isinstance(exc, AuthenticationError):
        return p.problem(request, p.UNAUTHENTICATED,
                         "Send an API token as `Authorization: Bearer <token>`.",
                         headers={"WWW-Authenticate": 'Bearer realm="dealcraft"'})
    if isinstance(exc, ratelimit.RateLimited):
        return p.problem(request, p.RATE_LIMITED, exc.message, limit=exc.state.limit)
    if isinstance(exc, ReadOnlyToken):
        _audit_refusal(request)
        return p.problem(request, p.READ_ONLY_TOKEN, exc.message)
    known = {t.status: t for t in (p.BAD_REQUEST, p.NOT_ALLOWED, p.NOT_FOUND,
                                   p.TOO_LARGE, p.TOO_MANY_REQUESTS)}
    kind = known.get(status)
    if kind is None:
        kind = p.ProblemType("http-error", HTTPStatus(status).phrase, status)
    detail = exc.message
    if status == 400 and detail.startswith("Cannot parse request body"):
        detail = "The request body is not valid JSON."
    return p.problem(request, kind, detail)


def _field_of(loc: Sequence[Any]) -> str:
    """`["body", "payload", "fields", "x"]` → `fields.x`; `["query", "limit"]` → `limit`."""
    parts = loc[2:] if loc and loc[0] == "body" and len(loc) > 2 else loc[1:]
    return ".".join(str(part) for part in parts)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors]
    field = (_field_of(errors[0]["loc"]) or None) if errors else None
    detail = "; ".join(f"{_field_of(e['loc']) or 'body'}: {e['msg']}"
                       for e in errors[:5]) or "The request is not valid."
    return p.problem(request, p.INVALID_INPUT, detail, field=field, errors=errors)


def _too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    max_bytes = getattr(exc, "max_bytes", None)
    if max_bytes is None:
        max_bytes = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None)
    detail = "The request body is too large."
    if isinstance(exc, p.PayloadTooLarge) and max_bytes:
        detail = f"The file is larger than the {max_bytes:,} bytes accepted."
    return p.problem(request, p.TOO_LARGE, detail, max_bytes=max_bytes)


def _malformed_multipart(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Django cannot read the form (e.g. `multipart/form-data` without its boundary): the
    # client's fault, not ours.
    return p.problem(request, p.BAD_REQUEST,
                     "The multipart/form-data body cannot be read; send it with its boundary "
                     "(or send JSON).")


def _suspicious(request: HttpRequest, exc: Exception) -> HttpResponse:
    return p.problem(request, p.BAD_REQUEST, "The request was refused as malformed.")


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return p.problem(request, p.NOT_FOUND, "There is nothing at this address.")


def _permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    _audit_refusal(request)
    return p.problem(request, p.NOT_ALLOWED, "You may not do this.")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The cause goes to the log only: a response must never carry a traceback or internals.
    logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return p.problem(request, p.SERVER_ERROR,
                     "Something went wrong on our side; it has been logged.")


E = TypeVar("E", bound=Exception)


def _handle(exc_class: type[E], handler: Callable[[HttpRequest, E], HttpResponse]) -> None:
    # ninja types a handler's argument as "the exception or its class"; it only passes
    # instances, so the handlers are registered with their precise types through here.
    api.add_exception_handler(exc_class, cast(Any, handler))


api.add_decorator(idempotency.honour_key, mode="operation")

_handle(ServiceError, _service_error)
_handle(HttpError, _http_error)
_handle(ValidationError, _validation_error)
_handle(RequestDataTooBig, _too_large)
_handle(p.PayloadTooLarge, _too_large)
_handle(SuspiciousOperation, _suspicious)
_handle(MultiPartParserError, _malformed_multipart)
_handle(Http404, _not_found)
_handle(PermissionDenied, _permission_denied)
_handle(Exception, _unexpected)


# ---------------------------------------------------------------------------- routers

api.add_router("/deals", deals.router, tags=["deals"])
api.add_router("/process", process.router, tags=["process"])
api.add_router("/reports", reports.router, tags=["reports"])
api.add_router("/webhooks", webhooks.router, tags=["webhooks"])
api.add_router("/exports", transfer_api.router, tags=["exports"])
api.add_router("", crm.router, tags=["accounts and contacts"])
api.add_router("", people.router, tags=["users and teams"])
api.add_router("/forecast", "dealcraft.api.forecast.router", tags=["forecast"])

# Registered last so that it only catches what no operation matched.
fallback = Router(auth=None)


@fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}",
                        include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    return _not_found(request, Http404())


api.add_router("", fallback)
