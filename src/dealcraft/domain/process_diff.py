"""What changed between two versions of the process file, in words a sales team reads.

`diff_processes(old, new)` compares two parsed processes by meaning: stages added, removed
or reordered; per stage, its settings and exit criteria added, removed or changed (old → new);
process settings, qualification, frameworks and the readiness library. `diff_text` is the
line-by-line unified diff of the two YAML sources, for whoever wants every comma.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .process import Criterion, Framework, Process, Stage


@dataclass(frozen=True)
class Change:
    """One difference: `old` is None for something added, `new` is None for something removed."""

    what: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class CriterionRef:
    key: str
    label: str
    rule: str


@dataclass(frozen=True)
class CriterionChange:
    key: str
    label: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class StageDiff:
    """The changes inside one stage kept by both versions (or inside the `won` outcome)."""

    key: str
    name: str
    changes: tuple[Change, ...] = ()
    criteria_added: tuple[CriterionRef, ...] = ()
    criteria_removed: tuple[CriterionRef, ...] = ()
    criteria_changed: tuple[CriterionChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.changes or self.criteria_added or self.criteria_removed
                    or self.criteria_changed)


@dataclass(frozen=True)
class StageRef:
    key: str
    name: str


@dataclass(frozen=True)
class ProcessDiff:
    """Everything that differs between two processes, grouped as the process view shows it.

    `order_before`/`order_after` are set only when the stages both versions keep changed
    their relative order.
    """

    stages_added: tuple[StageRef, ...] = ()
    stages_removed: tuple[StageRef, ...] = ()
    order_before: tuple[str, ...] = ()
    order_after: tuple[str, ...] = ()
    stages: tuple[StageDiff, ...] = ()
    settings: tuple[Change, ...] = ()
    frameworks: tuple[Change, ...] = ()
    library: tuple[Change, ...] = ()

    @property
    def reordered(self) -> bool:
        return bool(self.order_before)

    @property
    def is_empty(self) -> bool:
        return not (self.stages_added or self.stages_removed or self.order_before
                    or self.stages or self.settings or self.frameworks or self.library)


@dataclass(frozen=True)
class DiffLine:
    """A line of the unified text diff: kind is `file`, `hunk`, `add`, `del` or `same`."""

    kind: str
    text: str


# ---------------------------------------------------------------------------- rendering values


def show(value: Any) -> str:
    """A value as the process file would spell it, for `old → new` lines."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) if value else "(none)"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {show(v)}" for k, v in value.items())
    return str(value)


def _compare(what: str, old: Any, new: Any) -> list[Change]:
    return [] if old == new else [Change(what, show(old), show(new))]


def _compare_lines(what: str, old: Sequence[Any], new: Sequence[Any]) -> list[Change]:
    """Lists of sentences (guidance, messaging…): each line added or removed."""
    old_items, new_items = [show(v) for v in old], [show(v) for v in new]
    out = [Change(what, None, item) for item in new_items if item not in old_items]
    out += [Change(what, item, None) for item in old_items if item not in new_items]
    if not out and old_items != new_items:
        out.append(Change(f"{what} order", " | ".join(old_items), " | ".join(new_items)))
    return out


def _compare_keyed(what: str, old: Iterable[Mapping[str, Any]],
                   new: Iterable[Mapping[str, Any]], title: Callable[[Mapping[str, Any]], str],
                   ) -> list[Change]:
    """Lists of items with a `key` (personas, questions…): added, removed, or changed field."""
    before = {str(item.get("key")): item for item in old}
    after = {str(item.get("key")): item for item in new}
    out = [Change(what, None, title(after[k])) for k in after if k not in before]
    out += [Change(what, title(before[k]), None) for k in before if k not in after]
    for key in after:
        if key not in before or before[key] == after[key]:
            continue
        names = list(dict.fromkeys([*before[key], *after[key]]))
        for name in names:
            if name == "key":
                continue
            out += _compare(f"{what} '{title(after[key])}' {name}",
                            before[key].get(name), after[key].get(name))
    return out


# ---------------------------------------------------------------------------- criteria & stages

_RULE_FIELDS = tuple(f.name for f in fields(Criterion)
                     if f.name not in ("key", "kind", "label", "prompt"))


def _criterion_ref(criterion: Criterion) -> CriterionRef:
    return CriterionRef(criterion.key, criterion.label, criterion.describe())


def _criterion_changes(old: Criterion, new: Criterion) -> tuple[Change, ...]:
    changes = _compare("label", old.label, new.label)
    changes += _compare("prompt", old.prompt, new.prompt)
    changes += _compare("kind", old.kind, new.kind)
    if old.describe() != new.describe():
        changes.append(Change("rule", old.describe(), new.describe()))
    else:
        # Some settings (an activity's stage, a compared value's type) need not show in the
        # one-line reading; name them so no change goes unmentioned.
        for name in _RULE_FIELDS:
            changes += _compare(name.replace("_", " "), getattr(old, name), getattr(new, name))
    return tuple(changes)


def _criteria_diff(key: str, name: str, old: Sequence[Criterion], new: Sequence[Criterion],
                   changes: list[Change]) -> StageDiff:
    before = {c.key: c for c in old}
    after = {c.key: c for c in new}
    changed = []
    for c in new:
        if c.key in before and before[c.key] != c:
            changed.append(CriterionChange(c.key, c.label, _criterion_changes(before[c.key], c)))
    kept_before = [k for k in before if k in after]
    kept_after = [k for k in after if k in before]
    if kept_before != kept_after:
        changes.append(Change("criteria order", ", ".join(kept_before), ", ".join(kept_after)))
    return StageDiff(
        key=key, name=name, changes=tuple(changes),
        criteria_added=tuple(_criterion_ref(c) for c in new if c.key not in before),
        criteria_removed=tuple(_criterion_ref(c) for c in old if c.key not in after),
        criteria_changed=tuple(changed),
    )


def _stage_diff(old: Stage, new: Stage) -> StageDiff:
    changes = _compare("name", old.name, new.name)
    changes += _compare("purpose", old.purpose, new.purpose)
    changes += _compare("probability", f"{old.probability}%", f"{new.probability}%")
    changes += _compare("forecast category", old.forecast_category, new.forecast_category)
    changes += _compare("rotting days", old.rotting_days, new.rotting_days)
    changes += _compare("gate mode", old.gate, new.gate)
    changes += _compare("next stages", old.next, new.next)
    changes += _compare_lines("guidance", old.guidance, new.guidance)
    return _criteria_diff(new.key, new.name, old.exit_criteria, new.exit_criteria, changes)


def _frameworks_diff(old: Sequence[Framework], new: Sequence[Framework]) -> list[Change]:
    before = {fw.key: fw for fw in old}
    after = {fw.key: fw for fw in new}
    out = [Change("framework", None, fw.name) for fw in new if fw.key not in before]
    out += [Change("framework", fw.name, None) for fw in old if fw.key not in after]
    for fw in new:
        if fw.key not in before or before[fw.key] == fw:
            continue
        prior = before[fw.key]
        out += _compare(f"{fw.name} name", prior.name, fw.name)
        out += _compare_keyed(
            f"{fw.name} criterion",
            [{"key": c.key, "name": c.name, "weight": c.weight, "prompt": c.prompt}
             for c in prior.criteria],
            [{"key": c.key, "name": c.name, "weight": c.weight, "prompt": c.prompt}
             for c in fw.criteria],
            lambda item: str(item.get("name")),
        )
    return out


# ---------------------------------------------------------------------------- the whole file

_LIBRARY_TITLES = {
    "icp": "ICP", "problems_we_solve": "problems we solve",
    "outcomes_we_prove": "outcomes we prove", "personas": "persona",
    "differentiators": "differentiator", "proof_points": "proof point",
    "messaging": "messaging", "objections": "objection",
    "pricing_guardrails": "pricing guardrail", "competitors": "competitor",
    "red_flags": "red flag",
}


def _title(item: Mapping[str, Any]) -> str:
    for name in ("name", "objection", "text", "description"):
        if item.get(name):
            return str(item[name])
    return str(item.get("key"))


def _library_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    for section in dict.fromkeys([*_LIBRARY_TITLES, *old, *new]):
        before, after = old.get(section), new.get(section)
        if before == after:
            continue
        what = _LIBRARY_TITLES.get(section, section.replace("_", " "))
        if section == "icp":
            before, after = before or {}, after or {}
            out += _compare("ICP description", before.get("description"),
                            after.get("description"))
            out += _compare_keyed("ICP fit rule", before.get("fit_rules", ()),
                                  after.get("fit_rules", ()), lambda item: str(item.get("key")))
        elif all(isinstance(v, Mapping) for v in [*(before or ()), *(after or ())]):
            out += _compare_keyed(what, before or (), after or (), _title)
        else:
            out += _compare_lines(what, before or (), after or ())
    return out


def _settings_diff(old: Process, new: Process) -> list[Change]:
    out = _compare("process name", old.name, new.name)
    out += _compare("description", old.description, new.description)
    out += _compare("currency", old.currency, new.currency)
    for name in ("visibility", "skip", "backward", "override"):
        out += _compare(f"settings.{name}", getattr(old.settings, name),
                        getattr(new.settings, name))
    out += _compare("qualification framework", old.qualification_framework,
                    new.qualification_framework)
    out += _compare("qualification threshold", old.qualification_threshold,
                    new.qualification_threshold)
    out += _compare("post-sale check-in days", old.checkins_days, new.checkins_days)
    return out


def diff_processes(old: Process, new: Process) -> ProcessDiff:
    """The meaningful differences from `old` to `new`."""
    old_keys, new_keys = old.stage_keys, new.stage_keys
    kept_before = tuple(k for k in old_keys if k in new_keys)
    kept_after = tuple(k for k in new_keys if k in old_keys)
    reordered = kept_before != kept_after
    stages = [d for d in (_stage_diff(old.stage(k), new.stage(k)) for k in kept_after)
              if not d.is_empty]
    won = _criteria_diff("won", "Won (closing the deal)", old.won_criteria, new.won_criteria,
                         _compare("gate mode", old.won_gate, new.won_gate))
    if not won.is_empty:
        stages.append(won)
    library = _library_diff(old.library, new.library)
    library += _compare_keyed("stakeholder role", _pairs(old.stakeholder_roles),
                              _pairs(new.stakeholder_roles), _title)
    library += _compare_keyed("loss reason", _pairs(old.lost_reasons), _pairs(new.lost_reasons),
                              _title)
    library += _compare_keyed(
        "custom field",
        [{"key": f.key, "label": f.label, "type": f.type, "choices": f.choices, "help": f.help}
         for f in old.fields],
        [{"key": f.key, "label": f.label, "type": f.type, "choices": f.choices, "help": f.help}
         for f in new.fields],
        lambda item: str(item.get("label")),
    )
    library += _compare_keyed("discovery question", old.discovery_questions,
                              new.discovery_questions, _title)
    library += _compare_keyed("capability", old.capabilities, new.capabilities, _title)
    return ProcessDiff(
        stages_added=tuple(StageRef(s.key, s.name) for s in new.stages if s.key not in old_keys),
        stages_removed=tuple(StageRef(s.key, s.name) for s in old.stages
                             if s.key not in new_keys),
        order_before=tuple(old.stage(k).name for k in kept_before) if reordered else (),
        order_after=tuple(new.stage(k).name for k in kept_after) if reordered else (),
        stages=tuple(stages),
        settings=tuple(_settings_diff(old, new)),
        frameworks=tuple(_frameworks_diff(old.frameworks, new.frameworks)),
        library=tuple(library),
    )


def _pairs(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": key, "name": name} for key, name in pairs]


def diff_text(old: str, new: str, old_name: str = "old", new_name: str = "new",
              context: int = 3) -> list[DiffLine]:
    """The unified diff of two process-file sources, each line tagged with its kind."""
    out: list[DiffLine] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name,
                                     n=context, lineterm=""):
        if line.startswith(("---", "+++")) and len(out) < 2:
            out.append(DiffLine("file", line))
        elif line.startswith("@@"):
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", line))
        elif line.startswith("-"):
            out.append(DiffLine("del", line))
        else:
            out.append(DiffLine("same", line))
    return out
