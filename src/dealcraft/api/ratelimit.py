"""Rate limits per API token: fixed one-minute windows counted in the database.

Every request of a token counts against `DEALCRAFT_API_RATE_LIMIT` requests a minute, and
every write (anything but GET, HEAD and OPTIONS) also against
`DEALCRAFT_API_WRITE_RATE_LIMIT` writes a minute; 0 disables a limit. Responses carry
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a request over a limit is
answered 429 with `Retry-After` and is not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja.errors import HttpError

from dealcraft.people.models import ApiToken
from dealcraft.people.services import count_token_request

WINDOW = timedelta(minutes=1)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_LIMIT = 600
DEFAULT_WRITE_LIMIT = 60


@dataclass(frozen=True)
class RateState:
    """The budget that binds this request: its limit, what is left, seconds to the reset."""

    limit: int
    remaining: int
    reset: int
    writes: bool
    refused: bool = False

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit),
                "RateLimit-Remaining": str(max(self.remaining, 0)),
                "RateLimit-Reset": str(self.reset)}


class RateLimited(HttpError):
    def __init__(self, state: RateState) -> None:
        what = "writes" if state.writes else "requests"
        super().__init__(429, f"This token may make {state.limit} {what} a minute; "
                              f"retry in {state.reset} seconds.")
        self.state = state


def window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def limits() -> tuple[int, int]:
    return (getattr(settings, "DEALCRAFT_API_RATE_LIMIT", DEFAULT_LIMIT),
            getattr(settings, "DEALCRAFT_API_WRITE_RATE_LIMIT", DEFAULT_WRITE_LIMIT))


def check(request: HttpRequest, token: ApiToken, *, now: datetime | None = None) -> None:
    """Count the request against the token's budgets; raises `RateLimited` over a limit.

    The state is kept on the request so that `add_headers` can report it on the response.
    """
    limit, write_limit = (max(value, 0) for value in limits())
    write = request.method not in SAFE_METHODS
    if not write:
        write_limit = 0
    if not limit and not write_limit:
        return
    now = now or timezone.now()
    start = window_start(now)
    counted, count, writes = count_token_request(token, write=write, window_start=start,
                                                 limit=limit, write_limit=write_limit)
    reset = max(1, math.ceil((start + WINDOW - now).total_seconds()))
    budgets = []
    if limit:
        budgets.append(RateState(limit, limit - count, reset, writes=False,
                                 refused=not counted and count >= limit))
    if write_limit:
        budgets.append(RateState(write_limit, write_limit - writes, reset, writes=True,
                                 refused=not counted and writes >= write_limit))
    refused = [budget for budget in budgets if budget.refused]
    state = refused[0] if refused else min(budgets, key=lambda budget: budget.remaining)
    request.rate_limit = state  # type: ignore[attr-defined]
    if state.refused:
        raise RateLimited(state)


def add_headers(request: HttpRequest, response: HttpResponseBase) -> None:
    state = getattr(request, "rate_limit", None)
    if isinstance(state, RateState):
        for name, value in state.headers().items():
            response[name] = value
        if state.refused:
            response["Retry-After"] = str(state.reset)
