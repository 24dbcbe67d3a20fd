"""Template filters for the web pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: Any = "") -> str:
    """`48000` and `EUR` → `48,000.00 EUR`; amounts of different currencies never mix."""
    if amount is None:
        return "-"
    return f"{amount:,.2f} {currency}".strip()
