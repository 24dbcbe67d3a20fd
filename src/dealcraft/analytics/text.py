"""Any report's JSON as readable plain text: numbers and short values as `name: value`
lines, lists of rows and maps of rows as aligned tables. The CLI prints this."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

NUMERIC = (int, float)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "; ".join(_cell(v.get("text", v) if isinstance(v, dict) else v)
                         for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = [[_cell(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in body]
    return "\n".join(line.rstrip() for line in lines)


def _rows_table(title: str, rows: list[dict[str, Any]]) -> str:
    headers: list[str] = []
    for row in rows:
        for name in row:
            if name not in headers:
                headers.append(name)
    return f"{title}\n" + table(headers, [[row.get(h) for h in headers] for row in rows])


def _keyed(title: str, value: dict[str, dict[str, Any]]) -> str:
    headers: list[str] = []
    for row in value.values():
        for name in row:
            if name not in headers:
                headers.append(name)
    data = [[k, *[row.get(h) for h in headers]] for k, row in value.items()]
    return f"{title}\n" + table(["", *headers], data)


def render(report: dict[str, Any], *, title: str = "", keys: Iterable[str] | None = None) -> str:
    """The report as text; `keys` limits it to those top-level entries."""
    tables: list[str] = []
    scalars: list[str] = []
    for name, value in report.items():
        if keys is not None and name not in keys:
            continue
        label = name.replace("_", " ")
        if name == "params" and isinstance(value, dict):
            given = {k: v for k, v in value.items() if v is not None}
            scalars.append("params: " + (_cell(given) if given else "none"))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append(_rows_table(label, value))
        elif isinstance(value, dict) and value and all(isinstance(v, list)
                                                       for v in value.values()):
            tables.append(render({f"{label} by {k}": v for k, v in value.items()}))
        elif isinstance(value, dict) and value and all(isinstance(v, dict)
                                                       for v in value.values()):
            nested = any(isinstance(x, dict | list) for v in value.values() for x in v.values())
            tables.append(render({f"{label} {k}": v for k, v in value.items()}) if nested
                          else _keyed(label, value))
        elif isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
            tables.append(render(value, title=label))
        else:
            scalars.append(f"{label}: {_cell(value) if value not in ({}, []) else 'none'}")
    parts = [title, "\n".join(scalars), *tables]
    return "\n\n".join(p for p in parts if p)


def velocity_lines(velocity: dict[str, dict[str, Any]]) -> str:
    """Deal velocity per currency, one sentence each."""
    lines = []
    for currency, v in velocity.items():
        rate = "-" if v["win_rate"] is None else f"{v['win_rate'] * 100:.1f}%"
        lines.append(f"velocity {currency}: {_cell(v['per_day'])} a day = {v['open_deals']} "
                     f"open x {rate} win rate x {_cell(v['average_won'])} average won / "
                     f"{_cell(v['cycle_days'])} days average cycle")
    return "\n".join(lines) or "velocity: no deals"
