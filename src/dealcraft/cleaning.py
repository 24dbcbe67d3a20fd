"""Cleaning of free text that services store: one rule for every service."""

from __future__ import annotations

from typing import Any

from dealcraft.errors import InvalidInput


def clean_text(value: Any, field: str, *, max_length: int, required: bool = True,
               when_empty: str = "") -> str:
    """Text without NUL characters (PostgreSQL refuses them) or surrounding space, within
    `max_length`; None reads as empty. `when_empty` adds a hint to the refusal of empty text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field)
    value = value.replace("\x00", "").strip()
    if required and not value:
        hint = f": {when_empty}" if when_empty else ""
        raise InvalidInput(f"{field} must not be empty{hint}", field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field)
    return value
