"""The pipeline board's filters, read from the query string."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict

from dealcraft.deals.models import ForecastCategory

CLOSE_PERIODS = [
    ("", "Any time"),
    ("this_quarter", "This quarter"),
    ("next_quarter", "Next quarter"),
    ("custom", "Between dates"),
]
# Closed and omitted deals never sit on the board, so only the open categories are offered.
OPEN_FORECAST_CATEGORIES = [(c.value, c.label) for c in ForecastCategory
                            if c.value not in ("closed",)]
MAX_ID = 2**63 - 1  # the largest primary key a database column holds
#: The query-string parameters that make up a board view, in the order they are written.
FILTER_PARAMS = ("owner", "team", "close", "close_from", "close_to", "amount_min",
                 "amount_max", "forecast")


class BoardFilters(forms.Form):
    """Which open deals the board shows. Invalid values are reported and then ignored."""

    # Any id parses; `visible_deals` decides which deals there are to show. The select's
    # options (the people and teams the user can see) are only what the page offers.
    owner = forms.IntegerField(label="Owner", required=False, min_value=1, max_value=MAX_ID,
                               widget=forms.Select)
    team = forms.IntegerField(label="Team", required=False, min_value=1, max_value=MAX_ID,
                              widget=forms.Select)
    close = forms.ChoiceField(label="Expected close", required=False, choices=CLOSE_PERIODS)
    close_from = forms.DateField(label="Closing from", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    close_to = forms.DateField(label="Closing to", required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.DecimalField(label="Amount at least", required=False, min_value=0,
                                    max_digits=18, decimal_places=2,
                                    widget=forms.NumberInput(attrs={"step": "any"}))
    amount_max = forms.DecimalField(label="Amount at most", required=False, min_value=0,
                                    max_digits=18, decimal_places=2,
                                    widget=forms.NumberInput(attrs={"step": "any"}))
    forecast = forms.ChoiceField(label="Forecast category", required=False,
                                 choices=[("", "Any"), *OPEN_FORECAST_CATEGORIES])

    def __init__(self, data: QueryDict | dict[str, Any] | None, *,
                 owners: Iterable[tuple[int, str]] = (),
                 teams: Iterable[tuple[int, str]] = ()) -> None:
        super().__init__(data)
        self.fields["owner"].widget.choices = [("", "Anyone"), *owners]
        self.fields["team"].widget.choices = [("", "Any team"), *teams]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The highest amount is below the lowest.")
        start, end = data.get("close_from"), data.get("close_to")
        if start and end and start > end:
            self.add_error("close_to", "This date is before the start date.")
        return data

    def valid(self) -> dict[str, Any]:
        """The values that parsed, without the ones in error."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def filter_query(values: dict[str, Any]) -> str:
    """The canonical query string of parsed filter values (empty when nothing filters)."""
    pairs = []
    for name in FILTER_PARAMS:
        value = values.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        pairs.append((name, str(value)))
    return urlencode(pairs)
