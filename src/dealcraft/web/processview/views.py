"""The team's playbook as people read it: the active process file (or an older version),
the list of versions, and what changed between two of them. Every signed-in role may read
the process; only revenue operations and admins change it (through `dealcraft process apply`
or the API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dealcraft.domain.process import QUESTION_LAYERS, Process
from dealcraft.domain.process_diff import diff_processes, diff_text
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import active_version, parse

LAYER_NAMES = {
    "current_state": "Current state",
    "pain": "Pain",
    "impact_urgency": "Impact and urgency",
    "buying_process": "Buying process",
}
FORECAST_NAMES = {"pipeline": "Pipeline", "best_case": "Best case", "commit": "Commit",
                  "omitted": "Omitted", "closed": "Closed"}
SETTING_TEXT = {
    ("visibility", "team"): "Reps read their own team's deals.",
    ("visibility", "all"): "Reps read every deal.",
    ("skip", "forbid"): "Deals move one stage at a time; skipping ahead is refused.",
    ("skip", "gates"): "Skipping ahead needs the gate of every skipped stage to pass.",
    ("skip", "allow"): "Deals may skip ahead; only the current stage's gate applies.",
    ("backward", "allow"): "Deals may move back freely.",
    ("backward", "reason"): "Moving a deal back needs a written reason.",
    ("backward", "forbid"): "Deals never move back.",
    ("override", "managers"): "A manager of the deal's team (or an admin) may push a deal "
                              "past an unmet gate, with a written reason.",
    ("override", "nobody"): "Nobody may push a deal past an unmet gate.",
}
SETTING_NAMES = {"visibility": "Who reads which deals", "skip": "Skipping stages",
                 "backward": "Moving back", "override": "Overriding a gate"}


def _number(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a version number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a version number, not {value!r}")
    return number


def _version(number: int) -> ProcessVersion:
    version = ProcessVersion.objects.select_related("applied_by").filter(number=number).first()
    if version is None:
        raise Http404(f"There is no process version {number}.")
    return version


def questions_by_layer(process: Process) -> list[tuple[str, list[Any]]]:
    layers = list(QUESTION_LAYERS)
    layers += sorted({q.get("layer", "") for q in process.discovery_questions} - set(layers))
    grouped = [(LAYER_NAMES.get(layer, layer),
                [q for q in process.discovery_questions if q.get("layer") == layer])
               for layer in layers]
    return [(name, questions) for name, questions in grouped if questions]


@require_GET
@login_required
def process_page(request: HttpRequest) -> HttpResponse:
    """The active process, or version `?version=N`, laid out for people to read."""
    try:
        number = _number(request.GET.get("version"), "version")
    except ValueError as exc:
        return render(request, "web/processview/error.html", {"message": str(exc)}, status=400)
    active = active_version()
    version = active if number is None or number == active.number else _version(number)
    process = parse(version)
    names = {**{s.key: s.name for s in process.stages}, "won": "Won"}
    frameworks = [
        (fw, sum(c.weight for c in fw.criteria)) for fw in process.frameworks
    ]
    return render(request, "web/processview/process.html", {
        "version": version,
        "active": active,
        "process": process,
        "library": process.library,
        "frameworks": frameworks,
        "qualifying": (process.framework(process.qualification_framework)
                       if process.qualification_framework else None),
        "questions": questions_by_layer(process),
        "stages": [(stage, FORECAST_NAMES.get(stage.forecast_category, stage.forecast_category),
                    [names.get(key, key) for key in stage.next]) for stage in process.stages],
        "settings": [(title, SETTING_TEXT.get((key, getattr(process.settings, key)),
                                              getattr(process.settings, key)))
                     for key, title in SETTING_NAMES.items()],
    })


@require_GET
@login_required
def versions(request: HttpRequest) -> HttpResponse:
    """Every applied version, newest first, with a form to compare any two."""
    active_version()  # a fresh database gets its default process here, as everywhere
    rows = list(ProcessVersion.objects.select_related("applied_by").order_by("-number")
                .defer("source"))
    return render(request, "web/processview/versions.html", {
        "versions": rows,
        "rows": [(v, rows[i + 1].number if i + 1 < len(rows) else None)
                 for i, v in enumerate(rows)],
    })


@require_GET
@login_required
def diff(request: HttpRequest) -> HttpResponse:
    """What changed from version `a` to version `b` (by default: the active version against
    the one before it), as a summary of meaning and as a line diff of the file."""
    try:
        a = _number(request.GET.get("a"), "a")
        b = _number(request.GET.get("b"), "b")
    except ValueError as exc:
        return render(request, "web/processview/error.html", {"message": str(exc)}, status=400)
    numbers = list(ProcessVersion.objects.order_by("-number").values_list("number", flat=True))
    if not numbers:
        numbers = [active_version().number]
    if b is None:
        b = numbers[0]
    if a is None:
        a = next((n for n in numbers if n < b), b)
    old, new = _version(a), _version(b)
    summary = diff_processes(parse(old), parse(new))
    lines = diff_text(old.source, new.source, f"version {old.number}", f"version {new.number}")
    return render(request, "web/processview/diff.html", {
        "old": old, "new": new, "summary": summary, "lines": lines, "numbers": numbers,
    })
