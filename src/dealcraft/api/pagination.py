"""Cursor pagination: over id, newest first, or over a sort field and id.

A cursor is opaque to clients. Unlike an offset, it stays correct while rows are added, and
the database seeks to it through the primary key instead of counting past skipped rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from dealcraft.errors import InvalidInput

M = TypeVar("M", bound=Model)

_CURSOR_RE = re.compile(r"id:([1-9][0-9]{0,18})")
MAX_ID = 2**63 - 1


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
    last_id = int(match.group(1))
    if last_id > MAX_ID:
        raise InvalidInput("cursor is not one this API returned", "cursor")
    return last_id


def page(rows: QuerySet[M], *, cursor: str | None, limit: int) -> tuple[list[M], str | None]:
    """One page of `rows` (newest first) after `cursor`, and the cursor of the next page."""
    if cursor:
        rows = rows.filter(pk__lt=decode_cursor(cursor))
    items: list[Any] = list(rows.order_by("-pk")[: limit + 1])
    if len(items) > limit:
        items = items[:limit]
        return items, encode_cursor(items[-1].pk)
    return items, None


# ---------------------------------------------------------------------------- sorted lists


@dataclass(frozen=True)
class SortKey:
    """A field a list may be sorted by, and how its values travel in a cursor."""

    field: str
    parse: Callable[[str], Any]

    def dump(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, date | datetime) else str(value)


def parse_sort(sort: str, keys: dict[str, SortKey]) -> tuple[SortKey, bool]:
    """`-amount` → (the amount key, descending). An unknown field is a 422 naming the
    fields the list may be sorted by."""
    descending = sort.startswith("-")
    key = keys.get(sort.removeprefix("-").removeprefix("+"))
    if key is None:
        allowed = ", ".join(sorted(keys))
        raise InvalidInput(f"cannot sort by '{sort}'; sort by one of: {allowed} "
                           "(prefix - for descending)", "sort")
    return key, descending


def sorted_page(rows: QuerySet[M], *, key: SortKey, descending: bool, cursor: str | None,
                limit: int) -> tuple[list[M], str | None]:
    """One page of `rows` ordered by `key` (then id, in the same direction) after `cursor`.

    Keyset pagination: the cursor carries the sort value and id of the last row, and the
    next page starts strictly after that pair, so rows are neither skipped nor repeated
    while others are added, and no rows are counted past.
    """
    sort = ("-" if descending else "") + key.field
    if cursor:
        value, last_id = _decode_sorted(cursor, sort, key)
        after = "lt" if descending else "gt"
        rows = rows.filter(Q(**{f"{key.field}__{after}": value})
                           | Q(**{key.field: value, f"pk__{after}": last_id}))
    direction = "-" if descending else ""
    items: list[Any] = list(rows.order_by(f"{direction}{key.field}", f"{direction}pk")
                            [: limit + 1])
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        return items, _encode_sorted(sort, key.dump(getattr(last, key.field)), last.pk)
    return items, None


def _encode_sorted(sort: str, value: str, last_id: int) -> str:
    raw = json.dumps([sort, value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_sorted(cursor: str, sort: str, key: SortKey) -> tuple[Any, int]:
    bad = InvalidInput("cursor is not one this API returned for this sort order", "cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if not (isinstance(data, list) and len(data) == 3 and data[0] == sort
            and isinstance(data[1], str) and type(data[2]) is int
            and 0 < data[2] <= MAX_ID):
        raise bad
    try:
        value = key.parse(data[1])
    except (ValueError, ArithmeticError):
        raise bad from None
    return value, data[2]
