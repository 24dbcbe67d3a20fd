"""The report pages: every report of the registry as a chart and the same figures as tables,
filtered by the GET form at the top (it works without JavaScript). Results come from the
registry's cache until the extract changes, so a page renders in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dealcraft.analytics.registry import reports, run
from dealcraft.analytics.scope import PARAM_NAMES, Params
from dealcraft.errors import InvalidInput


@dataclass
class Table:
    title: str
    columns: list[tuple[str, bool]]  # header, numbers (right-aligned)
    rows: list[list[tuple[str, bool]]]


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return "; ".join(_cell(v.get("text", v) if isinstance(v, dict) else v)
                         for v in value) or "—"
    return str(value)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _rows_table(title: str, rows: list[dict[str, Any]], key: str = "") -> Table:
    headers: list[str] = []
    for row in rows:
        headers += [h for h in row if h not in headers]
    body = [[_cell(row.get(h)) for h in headers] for row in rows]
    numeric = [all(_is_number(row.get(h)) or row.get(h) is None for row in rows)
               and any(row.get(h) is not None for row in rows) for h in headers]
    return Table(title, [(_label(h), n) for h, n in zip(headers, numeric, strict=True)],
                 [list(zip(row, numeric, strict=True)) for row in body])


def tables(result: dict[str, Any], prefix: str = "") -> tuple[list[tuple[str, str]], list[Table]]:
    """A report's figures as (label, value) facts and tables: every list of rows becomes a
    table, every map of rows a table keyed by its first column."""
    facts: list[tuple[str, str]] = []
    out: list[Table] = []
    for name, value in result.items():
        title = f"{prefix}{_label(name)}" if not prefix else f"{prefix} — {name.replace('_', ' ')}"
        if name == "params":
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.append(_rows_table(title, value))
        elif isinstance(value, dict) and value and all(isinstance(v, list)
                                                       for v in value.values()):
            for key, rows in value.items():
                if rows and all(isinstance(v, dict) for v in rows):
                    out.append(_rows_table(f"{title} by {key.replace('_', ' ')}", rows))
        elif isinstance(value, dict) and value and all(isinstance(v, dict)
                                                       for v in value.values()):
            flat = all(not isinstance(x, dict | list) for v in value.values() for x in v.values())
            if flat:
                head = ("currency" if all(len(str(k)) == 3 and str(k).isupper() for k in value)
                        else "name")
                rows = [{head: k, **v} for k, v in value.items()]
                table = _rows_table(title, rows)
                out.append(table)
            else:
                for key, inner in value.items():
                    more_facts, more = tables(inner, f"{title} {key}")
                    facts += more_facts
                    out += more
        elif isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
            more_facts, more = tables(value, title)
            facts += more_facts
            out += more
        elif isinstance(value, list) and not value:
            facts.append((title, "none"))
        else:
            facts.append((title, _cell(value) if value != {} else "none"))
    return facts, out


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Every report, with what it shows."""
    return render(request, "web/reports/index.html", {"reports": list(reports().values())})


@require_GET
@login_required
def report(request: HttpRequest, name: str) -> HttpResponse:
    """One report over the deals the signed-in user may see."""
    found = reports().get(name)
    if found is None:
        raise Http404(f"there is no report named '{name}'")
    values = {k: v for k, v in request.GET.items() if k in PARAM_NAMES and v != ""}
    error, result, chart = "", None, None
    facts: list[tuple[str, str]] = []
    table_list: list[Table] = []
    try:
        params = Params.parse(values)
        result = run(name, request.user, params)
    except InvalidInput as exc:
        error = exc.message
    if result is not None:
        facts, table_list = tables(result)
        chart = found.chart(result) if found.chart else None
    status = 400 if error else 200
    return render(request, "web/reports/report.html", {
        "report": found, "reports": list(reports().values()), "values": values,
        "error": error, "facts": facts, "tables": table_list, "chart": chart,
        "result": result,
    }, status=status)
