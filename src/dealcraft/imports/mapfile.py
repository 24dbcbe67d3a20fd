"""The value mapping file of the vendor imports (`dealcraft import salesforce DIR --map FILE`):
where stages land in the active process, which user each source owner is, and how forecast
categories and currencies translate. Reference: docs/imports.md.

    stages:                      # source stage → stage key or name of the active process
      Prospecting: prospecting   #   (or won / lost)
      Closed Won: won
    owners:                      # source owner id, email or name → dealcraft username
      005000000000001AAA: alice
    forecast_category:           # source value → pipeline, best_case, commit, closed, omitted
      Upside: best_case
    currency:                    # source value → ISO code
      "€": EUR
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealcraft.domain.yamlsource import load

from .records import Problem

KEYS = ("stages", "owners", "forecast_category", "currency")


@dataclass
class ValueMap:
    stages: dict[str, str] | None = None
    owners: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


class ValueMapInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the mapping file has {len(problems)} problem(s)")
        self.problems = problems


def load_value_map(path: str | Path) -> ValueMap:
    """Read and check a value mapping file; raises ValueMapInvalid with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueMapInvalid([Problem(path.name, None, "",
                                       f"cannot read the mapping file: {exc}")]) from None
    data, yproblems = load(text)
    problems = [Problem(path.name, p.line, "", p.message) for p in yproblems]
    if not problems and not isinstance(data, Mapping):
        problems.append(Problem(path.name, 1, "", "the mapping file must be a mapping"))
    if problems:
        raise ValueMapInvalid(problems)
    result = ValueMap()

    def line(key: str) -> int | None:
        return data.line_of(key) if hasattr(data, "line_of") else None

    for key, value in data.items():
        if key not in KEYS:
            problems.append(Problem(path.name, line(key), key,
                                    f"unknown key '{key}' (known: {', '.join(KEYS)})"))
            continue
        table = _strings(value)
        if table is None:
            problems.append(Problem(path.name, line(key), key,
                                    f"{key} is a mapping of source value → value"))
            continue
        if key == "stages":
            result.stages = table
        elif key == "owners":
            result.owners = table
        else:
            result.values[key] = table
    if problems:
        raise ValueMapInvalid(problems)
    return result


def _strings(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return None
    out = {}
    for k, v in value.items():
        if v is None or isinstance(v, list | dict):
            return None
        out[str(k)] = str(v)
    return out
