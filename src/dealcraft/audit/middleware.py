"""Records every refusal (403) of a web page in the audit trail.

The API records its own refusals where it turns them into problem documents, so its paths are
skipped here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .services import record_refusal

API_PREFIX = "/api/"


class RefusalAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403 and not request.path.startswith(API_PREFIX):
            record_refusal(actor=getattr(request, "user", None), method=request.method or "",
                           path=request.path, via="web")
        return response
