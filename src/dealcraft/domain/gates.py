"""Stage-gate evaluation: which exit criteria a deal meets, and whether a move is allowed.

Everything here works on `DealFacts`, a plain snapshot of what the deal's record proves, so a
gate can be evaluated — and tested — without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .process import Criterion, Process
from .scoring import framework_score

RESEARCH_PARTS = ("company", "role", "trigger events", "likely pains")


@dataclass(frozen=True)
class WorkspaceFacts:
    """What a deal's discovery and solution workspaces hold, for `workspace` criteria."""

    research: frozenset[str] = frozenset()  # the RESEARCH_PARTS written
    agenda_agreed: bool = False
    answered_questions: frozenset[str] = frozenset()
    summary_written: bool = False
    next_steps_written: bool = False
    capabilities_recommended: int = 0
    capabilities_unlinked: int = 0  # recommended without a confirmed pain: feature dumping
    demo_plan_written: bool = False
    demo_date: date | None = None
    value_answer: str = ""  # the buyer's answer at the value checkpoint: yes | partly | no


@dataclass(frozen=True)
class DealFacts:
    """What a deal's record shows at one moment, as gate evaluation needs it."""

    today: date
    fields: Mapping[str, Any] = field(default_factory=dict)
    evidence: frozenset[str] = frozenset()
    stakeholder_roles: Mapping[str, int] = field(default_factory=dict)
    qualification: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    next_step_due: date | None = None
    next_step_buyer_confirmed: bool = False
    activities_done: Sequence[tuple[str, datetime]] = ()
    stage_entered: Mapping[str, datetime] = field(default_factory=dict)
    approvals: frozenset[str] = frozenset()
    milestones_done: frozenset[str] = frozenset()
    workspace: WorkspaceFacts = field(default_factory=WorkspaceFacts)


@dataclass(frozen=True)
class Unmet:
    """A criterion that is not met, with a message a rep can act on."""

    key: str
    label: str
    message: str
    stage: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "message": self.message,
                "stage": self.stage}


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate (a stage's exit criteria, or `won`'s criteria)."""

    stage: str
    mode: str
    met: tuple[str, ...]
    unmet: tuple[Unmet, ...]

    @property
    def passed(self) -> bool:
        return not self.unmet

    @property
    def total(self) -> int:
        return len(self.met) + len(self.unmet)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "mode": self.mode, "met": list(self.met),
                "unmet": [u.as_dict() for u in self.unmet]}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _comparable(value: Any, ftype: str, choices: Sequence[str]) -> Any:
    """Bring a stored value and a criterion's value to one comparable form, or raise."""
    if ftype == "number":
        if isinstance(value, bool):
            raise ValueError
        number = Decimal(str(value))
        if number.is_nan():  # NaN cannot be ordered: Decimal raises rather than answer
            raise ValueError
        return number
    if ftype == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value))
    if ftype == "choice" and choices:
        return choices.index(str(value))
    if ftype == "bool":
        if not isinstance(value, bool):
            raise ValueError
        return value
    return str(value)


def _compare(process: Process, criterion: Criterion, actual: Any) -> bool:
    custom = process.custom_field(criterion.field)
    from .process import ALL_FORECAST_CATEGORIES, BUILTIN_FIELDS

    ftype = custom.type if custom else BUILTIN_FIELDS.get(criterion.field, "text")
    choices: Sequence[str] = custom.choices if custom else (
        ALL_FORECAST_CATEGORIES if criterion.field == "forecast_category" else ())
    try:
        left = _comparable(actual, ftype, choices)
        if criterion.op == "in":
            return left in [_comparable(v, ftype, choices) for v in criterion.value]
        right = _comparable(criterion.value, ftype, choices)
    except (ValueError, TypeError, InvalidOperation):
        return False
    match criterion.op:
        case "eq":
            return bool(left == right)
        case "ne":
            return bool(left != right)
        case "gt":
            return bool(left > right)
        case "gte":
            return bool(left >= right)
        case "lt":
            return bool(left < right)
        case "lte":
            return bool(left <= right)
    return False


def unmet_reason(process: Process, criterion: Criterion, facts: DealFacts) -> str | None:
    """None when the criterion is met; otherwise what is missing, in words a rep can act on."""
    c = criterion
    match c.kind:
        case "field_set":
            if _empty(facts.fields.get(c.field)):
                return f"Set {_field_label(process, c.field)}."
        case "field_compare":
            actual = facts.fields.get(c.field)
            if _empty(actual) or not _compare(process, c, actual):
                shown = "not set" if _empty(actual) else _show(actual)
                wanted = " ".join(w for w in (_OPS[c.op], _show(c.value)) if w)
                return f"{_field_label(process, c.field)} must be {wanted} (now {shown})."
        case "checklist":
            if c.key not in facts.evidence:
                return "Confirm with evidence (a note, a link or a file)."
        case "stakeholder":
            named = sum(facts.stakeholder_roles.get(r, 0) for r in c.roles)
            if named < c.count:
                names = " or ".join(_role_name(process, r) for r in c.roles)
                return f"Name {c.count - named} more stakeholder(s) as {names}."
        case "qualification_score":
            try:
                framework = process.framework(c.framework)
            except KeyError:
                return f"Framework '{c.framework}' is not in this process."
            score = framework_score(framework, facts.qualification.get(c.framework, {}))
            if score < c.min:
                return f"{framework.name} score is {score:g}; it must reach {c.min:g}."
        case "next_step":
            due = facts.next_step_due
            if due is None:
                return f"Set a next step dated within {c.within_days} days."
            if due < facts.today:
                return f"The next step was due {due.isoformat()}; date a new one."
            if due > facts.today + timedelta(days=c.within_days):
                return (f"The next step ({due.isoformat()}) is more than {c.within_days} days "
                        "away.")
            if c.buyer_confirmed and not facts.next_step_buyer_confirmed:
                return "The buyer has not confirmed the next step."
        case "activity":
            since = None
            if c.since_stage:
                since = facts.stage_entered.get(c.since_stage)
                if since is None:
                    return f"Log a {' or '.join(c.activities)} after entering {c.since_stage}."
            done = sum(1 for kind, at in facts.activities_done
                       if kind in c.activities and (since is None or at >= since))
            if done < c.count:
                where = f" since entering {c.since_stage}" if c.since_stage else ""
                return (f"Log {c.count - done} more {' or '.join(c.activities)} "
                        f"activit{'y' if c.count - done == 1 else 'ies'}{where}.")
        case "approval":
            if c.approval not in facts.approvals:
                return f"Approval '{c.approval}' has not been granted."
        case "buyer_milestone":
            if c.milestone not in facts.milestones_done:
                return f"The buyer has not marked '{c.milestone}' done."
        case "workspace":
            return _workspace_reason(process, c, facts.workspace)
        case _:
            return f"Unknown criterion kind '{c.kind}'."
    return None


def _workspace_reason(process: Process, c: Criterion, ws: WorkspaceFacts) -> str | None:
    match c.item:
        case "research_done":
            missing = [part for part in RESEARCH_PARTS if part not in ws.research]
            if missing:
                return f"Write the pre-call research on: {', '.join(missing)}."
        case "agenda_agreed":
            if not ws.agenda_agreed:
                return "Agree the call's agenda with the buyer and record it."
        case "questions_answered":
            keys = process.discovery_question_keys(c.layer)
            needed = int(c.min) if c.min else len(keys)
            answered = sum(1 for k in keys if k in ws.answered_questions)
            if answered < needed:
                scope = f"{c.layer.replace('_', ' ')} " if c.layer else ""
                return (f"Answer {needed - answered} more {scope}discovery "
                        f"question{'' if needed - answered == 1 else 's'} "
                        f"({answered} of {needed} answered).")
        case "summary_written":
            missing = [part for part, done in (("the discovery summary", ws.summary_written),
                                               ("its next steps", ws.next_steps_written))
                       if not done]
            if missing:
                return f"Write {' and '.join(missing)}."
        case "capabilities_mapped":
            if not ws.capabilities_recommended:
                return "Recommend at least one capability, linked to a confirmed pain."
            if ws.capabilities_unlinked:
                n = ws.capabilities_unlinked
                return (f"Link {n} recommended capabilit{'y' if n == 1 else 'ies'} to a "
                        "confirmed pain (an unlinked recommendation is feature dumping).")
        case "demo_planned":
            missing = [part for part, done in (("its agenda and scenarios", ws.demo_plan_written),
                                               ("a date", ws.demo_date is not None))
                       if not done]
            if missing:
                return f"Plan the demo: {' and '.join(missing)}."
        case "value_confirmed":
            if ws.value_answer != "yes":
                heard = {"partly": "partly", "no": "no"}.get(ws.value_answer)
                now = f" (the buyer said {heard})" if heard else ""
                return ("The buyer has not confirmed that the solution solves the priority "
                        f"issues{now}.")
        case _:
            return f"Unknown workspace item '{c.item}'."
    return None


_OPS = {"eq": "", "ne": "other than", "gt": "more than", "gte": "at least", "lt": "less than",
        "lte": "at most", "in": "one of"}


def _show(value: Any) -> str:
    """A value as a rep reads it: dates in ISO form, booleans as in the process file."""
    if isinstance(value, tuple | list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _field_label(process: Process, key: str) -> str:
    custom = process.custom_field(key)
    return custom.label if custom else key.replace("_", " ")


def _role_name(process: Process, key: str) -> str:
    return dict(process.stakeholder_roles).get(key, key)


def evaluate_gate(process: Process, stage_key: str, facts: DealFacts) -> GateResult:
    """Evaluate the exit criteria of a stage (or the `won` criteria) against a deal's facts."""
    if stage_key == "won":
        criteria, mode = process.won_criteria, process.won_gate
    else:
        stage = process.stage(stage_key)
        criteria, mode = stage.exit_criteria, stage.gate
    met: list[str] = []
    unmet: list[Unmet] = []
    for criterion in criteria:
        reason = unmet_reason(process, criterion, facts)
        if reason is None:
            met.append(criterion.key)
        else:
            unmet.append(Unmet(criterion.key, criterion.label, reason, stage_key))
    return GateResult(stage_key, mode, tuple(met), tuple(unmet))


@dataclass(frozen=True)
class Transition:
    """What moving a deal from one stage to another requires, before anyone acts on it.

    `blocking` lists the unmet criteria of enforce-mode gates (and rule violations, with key
    `rule:*`); the move may happen only when it is empty or a permitted override is given.
    `warnings` lists unmet criteria of warn-mode gates, recorded with the move.
    """

    from_stage: str
    to_stage: str
    direction: str  # forward | skip | backward | won
    gates: tuple[GateResult, ...]
    blocking: tuple[Unmet, ...]
    warnings: tuple[Unmet, ...]
    needs_reason: bool = False

    @property
    def allowed(self) -> bool:
        return not self.blocking

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_stage, "to": self.to_stage, "direction": self.direction,
            "gates": [g.as_dict() for g in self.gates],
            "blocking": [u.as_dict() for u in self.blocking],
            "warnings": [u.as_dict() for u in self.warnings],
        }


class UnknownStage(ValueError):
    """The target is not a stage of the process (nor `won`)."""


def check_transition(process: Process, from_stage: str, to_stage: str, facts: DealFacts,
                     ) -> Transition:
    """Decide what a move needs under the process's gates and skip/backward rules."""
    if to_stage != "won" and not process.has_stage(to_stage):
        raise UnknownStage(f"'{to_stage}' is not a stage of this process "
                           f"({', '.join(process.stage_keys)}, won)")
    if not process.has_stage(from_stage):
        # The deal sits in a stage a later process version dropped: any move is forward.
        gates: tuple[GateResult, ...] = ()
        if to_stage == "won":
            gates = (evaluate_gate(process, "won", facts),)
        return _decide(from_stage, to_stage, "won" if to_stage == "won" else "forward", gates)
    if to_stage == from_stage:
        raise UnknownStage(f"the deal is already in '{to_stage}'")
    src, dst = process.index(from_stage), process.index(to_stage)
    if dst < src:
        rule = process.settings.backward
        blocking: tuple[Unmet, ...] = ()
        if rule == "forbid":
            blocking = (Unmet("rule:backward", "Moving back", "This process does not allow "
                              "moving a deal back to an earlier stage.", from_stage),)
        return Transition(from_stage, to_stage, "backward", (), blocking, (),
                          needs_reason=rule == "reason")
    targets = process.forward_targets(from_stage)
    stage = process.stage(from_stage)
    gate_stages = [from_stage]
    rule_block: list[Unmet] = []
    direction = "won" if to_stage == "won" else "forward"
    if to_stage not in targets:
        if stage.next:
            rule_block.append(Unmet("rule:next", "Allowed moves", f"From {stage.name} a deal "
                                    f"may move to {', '.join(stage.next)}.", from_stage))
        elif process.settings.skip == "forbid":
            rule_block.append(Unmet("rule:skip", "Skipping stages", "This process does not "
                                    "allow skipping stages.", from_stage))
        elif process.settings.skip == "gates":
            gate_stages += [k for k in process.stage_keys[src + 1:dst]]
        direction = "won" if to_stage == "won" else "skip"
    gate_results = [evaluate_gate(process, k, facts) for k in gate_stages]
    if to_stage == "won":
        gate_results.append(evaluate_gate(process, "won", facts))
    result = _decide(from_stage, to_stage, direction, tuple(gate_results))
    if rule_block:
        return Transition(result.from_stage, result.to_stage, direction, result.gates,
                          tuple(rule_block) + result.blocking, result.warnings)
    return result


def _decide(from_stage: str, to_stage: str, direction: str, gates: tuple[GateResult, ...],
            ) -> Transition:
    blocking = tuple(u for g in gates if g.mode == "enforce" for u in g.unmet)
    warnings = tuple(u for g in gates if g.mode == "warn" for u in g.unmet)
    return Transition(from_stage, to_stage, direction, gates, blocking, warnings)
