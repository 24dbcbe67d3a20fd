"""Query-string checks shared by the list operations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Schema

from dealcraft.errors import InvalidInput


def reject_unknown(request: HttpRequest, *schemas: type[Schema], allowed: tuple[str, ...] = (),
                   ) -> None:
    """A query parameter that no schema names is a 422, so a misspelt filter is never
    silently ignored (and the whole list returned instead of the filtered one)."""
    known = set(allowed)
    for schema in schemas:
        known |= set(schema.model_fields)
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise InvalidInput(f"unknown query parameter '{unknown[0]}'; this list takes: "
                           f"{', '.join(sorted(known))}", unknown[0])
