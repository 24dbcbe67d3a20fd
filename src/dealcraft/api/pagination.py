"""Cursor pagination over id, newest first.

A cursor is opaque to clients. Unlike an offset, it stays correct while rows are added, and
the database seeks to it through the primary key instead of counting past skipped rows.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from dealcraft.errors import InvalidInput

M = TypeVar("M", bound=Model)

_CURSOR_RE = re.compile(r"id:([1-9][0-9]{0,18})")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raw = ""
    match = _CURSOR_RE.fullmatch(raw)
    if match is None:
        raise InvalidInput("cursor is not one this API returned", "cursor")
    return int(match.group(1))


def page(rows: QuerySet[M], *, cursor: str | None, limit: int) -> tuple[list[M], str | None]:
    """One page of `rows` (newest first) after `cursor`, and the cursor of the next page."""
    if cursor:
        rows = rows.filter(pk__lt=decode_cursor(cursor))
    items: list[Any] = list(rows.order_by("-pk")[: limit + 1])
    if len(items) > limit:
        items = items[:limit]
        return items, encode_cursor(items[-1].pk)
    return items, None
