"""Template filters for the forecast pages: shares, intervals and amounts given as text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def share(value: Any) -> str:
    """0.4567 → `45.7%`; None → `—`."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter
def signed_share(value: Any) -> str:
    """0.123 → `+12.3%`, -0.05 → `−5.0%`: which way a forecast ran."""
    if value is None or value == "":
        return "—"
    number = float(value) * 100
    return f"{'+' if number > 0 else '−' if number < 0 else ''}{abs(number):.1f}%"


@register.filter
def span(pair: Any) -> str:
    """[0.12, 0.34] → `12.0% to 34.0%`; None → `—`."""
    if not pair:
        return "—"
    low, high = pair
    return f"{float(low) * 100:.1f}% to {float(high) * 100:.1f}%"


@register.filter
def amount(value: Any, currency: Any = "") -> str:
    """`"1234.5"` → `1,234.50 EUR`."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "—"
    return f"{number:,.2f} {currency}".strip()
