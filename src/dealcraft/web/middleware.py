"""Security headers every response carries.

The Content-Security-Policy allows scripts, styles, fonts and connections from this origin
only, so an injected `<script>`, inline event handler or `style=""` attribute does nothing even
if some text escaped the templates' auto-escaping. Templates therefore hold no inline script
or style: page behaviour lives in static files.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
])

# Powerful browser features the app never uses are switched off for it and anything it embeds.
PERMISSIONS_POLICY = ", ".join([
    "accelerometer=()",
    "camera=()",
    "geolocation=()",
    "gyroscope=()",
    "magnetometer=()",
    "microphone=()",
    "payment=()",
    "usb=()",
])


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and Permissions-Policy unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
