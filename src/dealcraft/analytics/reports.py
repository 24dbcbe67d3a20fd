"""The pipeline report for callers that want it directly (the team page, older code): the
`pipeline` entry of the report registry, computed on the columnar extract."""

from __future__ import annotations

from typing import Any

from .registry import run
from .scope import Params


def pipeline_report(user: Any = None, params: Params | None = None) -> dict[str, Any]:
    """The pipeline report over every deal (user None) or the deals a user may see.

    `reached`: deals that were ever in the stage; `advanced`: those of them that later entered
    a later stage or won; `conversion` = advanced ÷ reached; `median_days_in_stage` over
    completed stays (entry to the next stage change). Amounts are never summed across
    currencies. docs/reports.md describes the rest of the JSON.
    """
    return run("pipeline", user, params)
