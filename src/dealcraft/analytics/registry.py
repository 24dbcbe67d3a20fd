"""The reports: one registry behind the API (`GET /api/v1/reports/<name>`), the CLI
(`dealcraft report <name>`) and the web pages (`/reports/<name>/`).

A report is a name, a title, a `compute(user, params)` that returns a JSON-ready dict, and
the ninja/pydantic schema of that dict (so the OpenAPI description is exact). Adding one takes
a few lines in any module::

    from dealcraft.analytics.extract import columnar
    from dealcraft.analytics.registry import register
    from dealcraft.analytics.scope import Params, deal_scope

    @register("forecast", "Forecast", MyForecastOut,
              description="P10/P50/P90 per period.", chart=my_chart)
    def forecast(user, params: Params) -> dict:
        with columnar() as con:
            where, args = deal_scope(con, user, visibility, params)
            ...
        return {...}

then add a line for it to `CATALOGUE` below (name → its module and a one-line description),
document the JSON in docs/reports.md and the command in docs/cli.md
(`## dealcraft report <name>`, tests/test_docs.py lists the commands). The entry points pick
it up: the API route, the CLI sub-command and the web page appear with no further code.
`chart(result)` (optional) returns what the page's chart draws — ``{"type": "bar" | "line",
"labels": [...], "series": [{"label": ..., "data": [...]}]}`` — and every list of rows in the
result is also shown as a table.

`run()` caches results per extract generation, caller and parameters, so a report is computed
once per refresh of the extract (and at most every `CACHE_SECONDS` for the same request).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from .scope import Params

#: Every report: name → (the module that registers it, what it shows in one line). Read
#: without importing the modules, so the CLI can build its parser before Django starts.
CATALOGUE: dict[str, tuple[str, str]] = {
    "pipeline": ("dealcraft.analytics.builtin",
                 "deal counts, win rate, stage conversion, time in stage, velocity"),
    "stuck": ("dealcraft.analytics.builtin",
              "open deals past their stage's p90 stay or rotting days, with the reason"),
    "velocity": ("dealcraft.analytics.builtin",
                 "deal velocity per currency, overall, per team and per segment"),
    "cohorts": ("dealcraft.analytics.builtin",
                "win rate and cycle length by rep, team, segment, lead source and month"),
    "losses": ("dealcraft.analytics.builtin",
               "loss reasons, stage lost from, rep's reason against the buyer's"),
    "adherence": ("dealcraft.analytics.builtin",
                  "per rep: skips, overrides, next steps, evidence, next to outcomes"),
    "changes": ("dealcraft.analytics.builtin",
                "pipeline change between two dates: new, pulled in, pushed out, slipped, "
                "amount up or down, won, lost"),
    "forecast": ("dealcraft.forecasting.reports", "forecast per period with P10/P50/P90"),
    "accuracy": ("dealcraft.forecasting.reports", "forecast accuracy: error and bias"),
    "calibration": ("dealcraft.forecasting.reports",
                    "stage probabilities against actual win rates"),
    "criteria": ("dealcraft.forecasting.reports", "exit criteria that predict winning"),
}
#: The modules that register reports, imported on first use of the registry.
REPORT_MODULES: list[str] = list(dict.fromkeys(module for module, _ in CATALOGUE.values()))
CACHE_SECONDS = 300

Compute = Callable[[Any, Params], dict[str, Any]]
Chart = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    compute: Compute
    schema: Any
    chart: Chart | None = None


REGISTRY: dict[str, Report] = {}
_loaded = False


def register(name: str, title: str, schema: Any, *, description: str = "",
             chart: Chart | None = None) -> Callable[[Compute], Compute]:
    """Register `compute` as report `name` (a decorator)."""

    def decorate(compute: Compute) -> Compute:
        REGISTRY[name] = Report(name=name, title=title,
                                description=description or (compute.__doc__ or "").strip(),
                                compute=compute, schema=schema, chart=chart)
        return compute

    return decorate


def reports() -> dict[str, Report]:
    """Every registered report, by name, in registration order."""
    global _loaded
    if not _loaded:
        for module in REPORT_MODULES:
            importlib.import_module(module)
        _loaded = True
        ordered = {name: REGISTRY[name] for name in CATALOGUE if name in REGISTRY}
        ordered.update(REGISTRY)
        REGISTRY.clear()
        REGISTRY.update(ordered)
    return REGISTRY


def get(name: str) -> Report:
    from dealcraft.errors import NotFound

    found = reports().get(name)
    if found is None:
        raise NotFound(f"there is no report named '{name}'; reports: "
                       f"{', '.join(reports())}")
    return found


def run(name: str, user: Any, params: Params | None = None, *,
        use_cache: bool = True) -> dict[str, Any]:
    """Report `name` for `user` (None: every deal), from the cache when the extract has not
    changed since it was computed."""
    from .extract import current_generation

    report = get(name)
    params = params or Params()
    generation = current_generation() if use_cache else None
    if generation is None:
        return report.compute(user, params)
    who = "all" if user is None else f"user:{user.pk}"
    key = f"dealcraft:report:{name}:{generation}:{who}:{params.cache_key()}"
    found = cache.get(key)
    if found is not None:
        return dict(found)
    result = report.compute(user, params)
    cache.set(key, result, CACHE_SECONDS)
    return result
