"""The process file: its model, and validation that reports every problem with its line.

A process is plain frozen data. `parse_process(text)` returns either a `Process` or the full
list of problems; nothing is half-accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .yamlsource import LDict, LList, Problem, load

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_KEY_LENGTH = 64
OUTCOMES = ("won", "lost")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "omitted")
ALL_FORECAST_CATEGORIES = (*FORECAST_CATEGORIES, "closed")
GATE_MODES = ("enforce", "warn")
ACTIVITY_KINDS = ("call", "email", "meeting", "note", "task")
FIELD_TYPES = ("text", "number", "date", "bool", "choice")
COMPARE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in")
QUESTION_LAYERS = ("current_state", "pain", "impact_urgency", "buying_process")
OBJECTION_CATEGORIES = (
    "price", "priority", "stakeholders", "implementation", "status_quo", "other",
)
QUALIFICATION_LEVEL_MAX = 3
# Deal attributes every process can test, with the type a criterion compares them as.
BUILTIN_FIELDS: dict[str, str] = {
    "name": "text",
    "account": "text",
    "amount": "number",
    "currency": "text",
    "expected_close": "date",
    "probability": "number",
    "forecast_category": "choice",
}
CRITERION_KINDS = (
    "field_set",
    "field_compare",
    "checklist",
    "stakeholder",
    "qualification_score",
    "next_step",
    "activity",
    "approval",
    "buyer_milestone",
    "workspace",
)
# What the discovery and solution workspaces of a deal can show done (kind `workspace`).
WORKSPACE_ITEMS = (
    "research_done",
    "agenda_agreed",
    "questions_answered",
    "summary_written",
    "capabilities_mapped",
    "demo_planned",
    "value_confirmed",
)
MAX_QUESTIONS = 200


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Criterion:
    """One typed exit criterion. Which attributes matter depends on `kind`."""

    key: str
    kind: str
    label: str
    prompt: str = ""
    field: str = ""
    op: str = ""
    value: Any = None
    roles: tuple[str, ...] = ()
    count: int = 1
    framework: str = ""
    min: float = 0
    within_days: int = 0
    buyer_confirmed: bool = False
    activities: tuple[str, ...] = ()
    since_stage: str = ""
    approval: str = ""
    milestone: str = ""
    item: str = ""
    layer: str = ""

    def describe(self) -> str:
        """A one-line human reading of the rule, for the process view and `process show`."""
        match self.kind:
            case "field_set":
                return f"{self.field} is set"
            case "field_compare":
                return f"{self.field} {self.op} {self.value!r}"
            case "checklist":
                return "confirmed with evidence"
            case "stakeholder":
                return f"{self.count} stakeholder(s) named as {' or '.join(self.roles)}"
            case "qualification_score":
                return f"{self.framework} score at least {self.min:g}"
            case "next_step":
                confirmed = ", confirmed by the buyer" if self.buyer_confirmed else ""
                return f"next step dated within {self.within_days} days{confirmed}"
            case "activity":
                since = f" since entering {self.since_stage}" if self.since_stage else ""
                kinds = " or ".join(self.activities)
                noun = "activity" if self.count == 1 else "activities"
                return f"{self.count} {kinds} {noun} done{since}"
            case "approval":
                return f"approval '{self.approval}' granted"
            case "buyer_milestone":
                return f"buyer milestone '{self.milestone}' done"
            case "workspace":
                return self._describe_workspace()
        return self.kind

    def _describe_workspace(self) -> str:
        if self.item == "questions_answered":
            scope = (f"{self.layer.replace('_', ' ')} discovery questions" if self.layer
                     else "discovery questions")
            return (f"at least {self.min:g} {scope} answered" if self.min
                    else f"every {scope.removesuffix('s')} answered")
        return {
            "research_done": "pre-call research written",
            "agenda_agreed": "agenda agreed by the buyer",
            "summary_written": "discovery summary and next steps written",
            "capabilities_mapped": "every recommended capability linked to a confirmed pain",
            "demo_planned": "demo planned and dated",
            "value_confirmed": "buyer confirmed the solution solves the priority issues",
        }.get(self.item, f"workspace item '{self.item}'")


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: what it is for and what leaving it forward requires."""

    key: str
    name: str
    purpose: str
    probability: int
    forecast_category: str
    rotting_days: int
    gate: str = "enforce"
    guidance: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    exit_criteria: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class CustomField:
    key: str
    label: str
    type: str
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class FrameworkCriterion:
    key: str
    name: str
    weight: float = 1.0
    prompt: str = ""


@dataclass(frozen=True)
class Framework:
    """A qualification framework such as BANT or MEDDICC."""

    key: str
    name: str
    criteria: tuple[FrameworkCriterion, ...]


@dataclass(frozen=True)
class Settings:
    visibility: str = "team"
    skip: str = "gates"
    backward: str = "reason"
    override: str = "managers"


@dataclass(frozen=True)
class Process:
    """A whole validated process file."""

    name: str
    stages: tuple[Stage, ...]
    stakeholder_roles: tuple[tuple[str, str], ...]
    description: str = ""
    currency: str = "USD"
    settings: Settings = field(default_factory=Settings)
    fields: tuple[CustomField, ...] = ()
    frameworks: tuple[Framework, ...] = ()
    qualification_framework: str = ""
    qualification_threshold: float = 0
    won_gate: str = "enforce"
    won_criteria: tuple[Criterion, ...] = ()
    checkins_days: tuple[int, ...] = ()
    lost_reasons: tuple[tuple[str, str], ...] = ()
    library: Mapping[str, Any] = field(default_factory=dict)
    discovery_questions: tuple[Mapping[str, str], ...] = ()
    capabilities: tuple[Mapping[str, Any], ...] = ()

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def has_stage(self, key: str) -> bool:
        return any(s.key == key for s in self.stages)

    def index(self, key: str) -> int:
        """Position in the pipeline; `won` sits after the last stage."""
        if key == "won":
            return len(self.stages)
        return self.stage_keys.index(key)

    def framework(self, key: str) -> Framework:
        for fw in self.frameworks:
            if fw.key == key:
                return fw
        raise KeyError(key)

    def custom_field(self, key: str) -> CustomField | None:
        return next((f for f in self.fields if f.key == key), None)

    def all_criteria(self) -> Iterable[tuple[str, Criterion]]:
        """Every criterion with the stage (or `won`) it belongs to."""
        for stage in self.stages:
            for criterion in stage.exit_criteria:
                yield stage.key, criterion
        for criterion in self.won_criteria:
            yield "won", criterion

    def criterion(self, key: str) -> Criterion | None:
        return next((c for _, c in self.all_criteria() if c.key == key), None)

    def discovery_question_keys(self, layer: str = "") -> tuple[str, ...]:
        """Keys of the question bank's questions, only those of `layer` when given."""
        return tuple(q["key"] for q in self.discovery_questions
                     if not layer or q.get("layer") == layer)

    def forward_targets(self, key: str) -> tuple[str, ...]:
        """Stages (and `won`) a deal may move forward to in one step, skip rules aside."""
        stage = self.stage(key)
        if stage.next:
            return stage.next
        i = self.index(key)
        return (self.stage_keys[i + 1],) if i + 1 < len(self.stages) else ("won",)


def parse_process(text: str) -> tuple[Process | None, list[Problem]]:
    """Validate process-file text. Returns the process, or None with every problem found."""
    data, problems = load(text)
    if data is None and problems:
        return None, problems
    validator = _Validator(problems)
    validator.validate(data)
    problems.sort(key=lambda p: (p.line, p.message))
    if problems:
        return None, problems
    return _build(data), []


# ---------------------------------------------------------------------------- validation

Check = Callable[[Any, int, str], bool]


def _type_name(value: Any) -> str:
    if isinstance(value, LDict):
        return "a mapping"
    if isinstance(value, LList):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    return "text"


class _Validator:
    """Walks the line-aware data, recording every structural and semantic problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    # -- primitive checks; each returns whether the value is acceptable

    def text(self, value: Any, line: int, where: str) -> bool:
        if isinstance(value, str) and value.strip():
            return True
        shown = "blank" if isinstance(value, str) else _type_name(value)
        self.error(line, f"{where} must be non-empty text, not {shown}")
        return False

    def key(self, value: Any, line: int, where: str) -> bool:
        if not isinstance(value, str):
            self.error(line, f"{where} must be a key (text), not {_type_name(value)}")
            return False
        if not KEY_RE.match(value) or len(value) > MAX_KEY_LENGTH:
            self.error(
                line,
                f"{where} '{value}' is not a valid key: use lower-case letters, digits and "
                f"underscores, starting with a letter, at most {MAX_KEY_LENGTH} characters",
            )
            return False
        return True

    def boolean(self, value: Any, line: int, where: str) -> bool:
        if isinstance(value, bool):
            return True
        self.error(line, f"{where} must be true or false, not {_type_name(value)}")
        return False

    def integer(self, value: Any, line: int, where: str, lo: int, hi: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(line, f"{where} must be a whole number, not {_type_name(value)}")
            return False
        if not lo <= value <= hi:
            self.error(line, f"{where} {value} is out of range ({lo} to {hi})")
            return False
        return True

    def number(self, value: Any, line: int, where: str, lo: float, hi: float, *,
               exclusive_lo: bool = False) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(line, f"{where} must be a number, not {_type_name(value)}")
            return False
        # Written as a range test so that NaN (`.nan` in YAML) is out of range too.
        if not lo <= value <= hi or (exclusive_lo and value == lo):
            low = f"more than {lo:g}" if exclusive_lo else f"{lo:g}"
            self.error(line, f"{where} {value:g} is out of range ({low} to {hi:g})")
            return False
        return True

    def choice(self, value: Any, line: int, where: str, allowed: Iterable[str]) -> bool:
        allowed = tuple(allowed)
        if isinstance(value, str) and value in allowed:
            return True
        shown = "nothing" if value is None else repr(value)
        self.error(line, f"{where} is {shown}; expected one of: {', '.join(allowed)}")
        return False

    def mapping(self, value: Any, line: int, where: str, allowed: Iterable[str],
                required: Iterable[str] = ()) -> LDict | None:
        if not isinstance(value, LDict):
            self.error(line, f"{where} must be a mapping, not {_type_name(value)}")
            return None
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                self.error(
                    value.line_of(key),
                    f"unknown key '{key}' in {where}; allowed: {', '.join(allowed)}",
                )
        for key in required:
            if key not in value:
                self.error(value.line, f"{where} is missing required key '{key}'")
        return value

    def seq(self, value: Any, line: int, where: str, *, non_empty: bool = False) -> LList | None:
        if not isinstance(value, LList):
            self.error(line, f"{where} must be a list, not {_type_name(value)}")
            return None
        if non_empty and not value:
            self.error(line, f"{where} must not be empty")
        return value

    def text_list(self, value: Any, line: int, where: str) -> None:
        items = self.seq(value, line, where)
        for i, item in enumerate(items or ()):
            self.text(item, items.line_of(i), f"{where} item {i + 1}")  # type: ignore[union-attr]

    def keyed_items(self, value: Any, line: int, where: str, allowed: Iterable[str],
                    required: Iterable[str], *, non_empty: bool = False
                    ) -> list[tuple[LDict, str | None]]:
        """A list of mappings each with a unique `key`; returns (item, valid key or None)."""
        items = self.seq(value, line, where, non_empty=non_empty)
        out: list[tuple[LDict, str | None]] = []
        seen: dict[str, int] = {}
        allowed, required = tuple(allowed), tuple(required)
        for i, raw in enumerate(items or ()):
            item_line = items.line_of(i)  # type: ignore[union-attr]
            item = self.mapping(raw, item_line, f"{where} item {i + 1}", allowed, required)
            if item is None:
                continue
            key: str | None = None
            if "key" in item and self.key(item["key"], item.line_of("key"), f"{where} key"):
                key = item["key"]
                if key in seen:
                    self.error(item.line_of("key"),
                               f"duplicate {where} key '{key}' (first on line {seen[key]})")
                    key = None
                else:
                    seen[key] = item.line_of("key")
            for name in ("name", "label"):
                if name in item and name in required:
                    self.text(item[name], item.line_of(name), f"{where} '{key}' {name}")
            out.append((item, key))
        return out

    # -- the file

    def validate(self, data: Any) -> None:
        top = self.mapping(
            data, getattr(data, "line", 1), "the process file",
            ("name", "description", "currency", "settings", "library", "fields",
             "stakeholder_roles", "frameworks", "qualification", "discovery", "capabilities",
             "stages", "outcomes"),
            ("name", "stakeholder_roles", "stages", "outcomes"),
        )
        if top is None:
            return
        if "name" in top:
            self.text(top["name"], top.line_of("name"), "name")
        if "description" in top:
            self.text(top["description"], top.line_of("description"), "description")
        if "currency" in top:
            cur = top["currency"]
            if not (isinstance(cur, str) and re.fullmatch(r"[A-Z]{3}", cur)):
                self.error(top.line_of("currency"),
                           f"currency {cur!r} must be a three-letter ISO 4217 code such as USD")
        if "settings" in top:
            self.settings(top["settings"], top.line_of("settings"))
        if "library" in top:
            self.library(top["library"], top.line_of("library"))
        self.field_types: dict[str, str] = dict(BUILTIN_FIELDS)
        self.field_choices: dict[str, tuple[str, ...]] = {
            "forecast_category": ALL_FORECAST_CATEGORIES}
        if "fields" in top:
            self.custom_fields(top["fields"], top.line_of("fields"))
        self.roles: set[str] = set()
        if "stakeholder_roles" in top:
            for _item, key in self.keyed_items(
                top["stakeholder_roles"], top.line_of("stakeholder_roles"), "stakeholder role",
                ("key", "name", "description"), ("key", "name"), non_empty=True,
            ):
                if key:
                    self.roles.add(key)
        self.frameworks: set[str] = set()
        if "frameworks" in top:
            self.framework_list(top["frameworks"], top.line_of("frameworks"))
        if "qualification" in top:
            self.qualification(top["qualification"], top.line_of("qualification"))
        # Questions per layer ("" counts them all) and capabilities, for `workspace` criteria.
        self.question_counts: dict[str, int] = {}
        self.capability_count = 0
        if "discovery" in top:
            self.discovery(top["discovery"], top.line_of("discovery"))
        if "capabilities" in top:
            for item, key in self.keyed_items(
                top["capabilities"], top.line_of("capabilities"), "capability",
                ("key", "name", "description", "pains"), ("key", "name"),
            ):
                self.capability_count += 1
                if "description" in item:
                    self.text(item["description"], item.line_of("description"),
                              f"capability '{key}' description")
                if "pains" in item:
                    self.text_list(item["pains"], item.line_of("pains"),
                                   f"capability '{key}' pains")
        self.criterion_keys: dict[str, int] = {}
        self.stage_keys: list[str] = []
        stages = []
        if "stages" in top:
            stages = self.keyed_items(
                top["stages"], top.line_of("stages"), "stage",
                ("key", "name", "purpose", "guidance", "probability", "forecast_category",
                 "rotting_days", "gate", "next", "exit_criteria"),
                ("key", "name", "purpose", "probability", "forecast_category", "rotting_days"),
                non_empty=True,
            )
            for item, key in stages:
                if key in OUTCOMES:
                    self.error(item.line_of("key"),
                               f"stage key '{key}' is reserved for the outcome of a deal")
                elif key:
                    self.stage_keys.append(key)
            for item, key in stages:
                self.stage(item, key or "?")
            self.reachability(stages)
        if "outcomes" in top:
            self.outcomes(top["outcomes"], top.line_of("outcomes"))

    def settings(self, value: Any, line: int) -> None:
        allowed = {
            "visibility": ("team", "all"),
            "skip": ("forbid", "gates", "allow"),
            "backward": ("allow", "reason", "forbid"),
            "override": ("managers", "nobody"),
        }
        settings = self.mapping(value, line, "settings", allowed)
        for key, choices in allowed.items():
            if settings is not None and key in settings:
                self.choice(settings[key], settings.line_of(key), f"settings.{key}", choices)

    def library(self, value: Any, line: int) -> None:
        lib = self.mapping(
            value, line, "library",
            ("icp", "problems_we_solve", "outcomes_we_prove", "personas", "differentiators",
             "proof_points", "messaging", "objections", "pricing_guardrails", "competitors",
             "red_flags"),
        )
        if lib is None:
            return
        for name in ("problems_we_solve", "outcomes_we_prove", "differentiators", "proof_points",
                     "messaging", "pricing_guardrails"):
            if name in lib:
                self.text_list(lib[name], lib.line_of(name), f"library.{name}")
        if "icp" in lib:
            icp = self.mapping(lib["icp"], lib.line_of("icp"), "library.icp",
                               ("description", "fit_rules"))
            if icp is not None and "description" in icp:
                self.text(icp["description"], icp.line_of("description"), "library.icp.description")
            if icp is not None and "fit_rules" in icp:
                for item, key in self.keyed_items(
                    icp["fit_rules"], icp.line_of("fit_rules"), "fit rule",
                    ("key", "description", "field", "op", "value", "weight"),
                    ("key", "description"),
                ):
                    self.text(item.get("description"), item.line_of("description"),
                              f"fit rule '{key}' description")
                    if "op" in item:
                        self.choice(item["op"], item.line_of("op"), f"fit rule '{key}' op",
                                    COMPARE_OPS)
                    if "weight" in item:
                        self.number(item["weight"], item.line_of("weight"),
                                    f"fit rule '{key}' weight", 0, 100, exclusive_lo=True)
        described = {
            "personas": ("persona", ("key", "name", "description"), ("key", "name")),
            "objections": ("objection", ("key", "category", "objection", "response"),
                           ("key", "category", "objection", "response")),
            "competitors": ("competitor", ("key", "name", "notes"), ("key", "name")),
            "red_flags": ("red flag", ("key", "description"), ("key", "description")),
        }
        for name, (what, allowed, required) in described.items():
            if name not in lib:
                continue
            for item, key in self.keyed_items(lib[name], lib.line_of(name), what, allowed,
                                              required):
                for text_key in ("description", "objection", "response", "notes"):
                    if text_key in item:
                        self.text(item[text_key], item.line_of(text_key),
                                  f"{what} '{key}' {text_key}")
                if what == "objection" and "category" in item:
                    self.choice(item["category"], item.line_of("category"),
                                f"objection '{key}' category", OBJECTION_CATEGORIES)

    def custom_fields(self, value: Any, line: int) -> None:
        for item, key in self.keyed_items(value, line, "field",
                                          ("key", "label", "type", "choices", "help"),
                                          ("key", "label", "type")):
            if key in BUILTIN_FIELDS:
                self.error(item.line_of("key"), f"field key '{key}' is a built-in deal field")
                key = None
            ftype = item.get("type")
            type_ok = "type" in item and self.choice(
                ftype, item.line_of("type"), f"field '{key}' type", FIELD_TYPES)
            if "help" in item:
                self.text(item["help"], item.line_of("help"), f"field '{key}' help")
            choices: tuple[str, ...] = ()
            if ftype == "choice":
                if "choices" not in item:
                    self.error(item.line, f"field '{key}' of type choice needs 'choices'")
                else:
                    items = self.seq(item["choices"], item.line_of("choices"),
                                     f"field '{key}' choices", non_empty=True)
                    ok = items is not None and all(
                        self.text(c, items.line_of(i), f"field '{key}' choice {i + 1}")
                        for i, c in enumerate(items))
                    if ok and items is not None:
                        choices = tuple(items)
                        if len(set(choices)) != len(choices):
                            self.error(items.line, f"field '{key}' has duplicate choices")
            elif "choices" in item:
                self.error(item.line_of("choices"),
                           f"field '{key}' has choices but its type is not 'choice'")
            if key and type_ok and isinstance(ftype, str):
                self.field_types[key] = ftype
                if choices:
                    self.field_choices[key] = choices

    def framework_list(self, value: Any, line: int) -> None:
        for item, key in self.keyed_items(value, line, "framework",
                                          ("key", "name", "criteria"),
                                          ("key", "name", "criteria")):
            if "criteria" in item:
                for crit, ckey in self.keyed_items(
                    item["criteria"], item.line_of("criteria"), f"framework '{key}' criterion",
                    ("key", "name", "weight", "prompt"), ("key", "name"), non_empty=True,
                ):
                    if "weight" in crit:
                        self.number(crit["weight"], crit.line_of("weight"),
                                    f"framework '{key}' criterion '{ckey}' weight", 0, 100,
                                    exclusive_lo=True)
                    if "prompt" in crit:
                        self.text(crit["prompt"], crit.line_of("prompt"),
                                  f"framework '{key}' criterion '{ckey}' prompt")
            if key:
                self.frameworks.add(key)

    def qualification(self, value: Any, line: int) -> None:
        q = self.mapping(value, line, "qualification", ("framework", "threshold"),
                         ("framework", "threshold"))
        if q is None:
            return
        if "framework" in q:
            self.framework_ref(q["framework"], q.line_of("framework"), "qualification.framework")
        if "threshold" in q:
            self.number(q["threshold"], q.line_of("threshold"), "qualification.threshold", 0, 100)

    def framework_ref(self, value: Any, line: int, where: str) -> None:
        if self.key(value, line, where) and value not in self.frameworks:
            known = ", ".join(sorted(self.frameworks)) or "none defined"
            self.error(line, f"{where} names unknown framework '{value}' (known: {known})")

    def discovery(self, value: Any, line: int) -> None:
        d = self.mapping(value, line, "discovery", ("questions",))
        if d is None or "questions" not in d:
            return
        for item, key in self.keyed_items(d["questions"], d.line_of("questions"),
                                          "discovery question",
                                          ("key", "layer", "text", "purpose"),
                                          ("key", "layer", "text")):
            if "layer" in item and self.choice(item["layer"], item.line_of("layer"),
                                               f"discovery question '{key}' layer",
                                               QUESTION_LAYERS):
                for counted in ("", item["layer"]):
                    self.question_counts[counted] = self.question_counts.get(counted, 0) + 1
            for name in ("text", "purpose"):
                if name in item:
                    self.text(item[name], item.line_of(name), f"discovery question '{key}' {name}")

    def stage(self, item: LDict, key: str) -> None:
        where = f"stage '{key}'"
        for name in ("purpose",):
            if name in item:
                self.text(item[name], item.line_of(name), f"{where} {name}")
        if "guidance" in item:
            self.text_list(item["guidance"], item.line_of("guidance"), f"{where} guidance")
        if "probability" in item:
            self.integer(item["probability"], item.line_of("probability"),
                         f"{where} probability", 0, 100)
        if "forecast_category" in item:
            self.choice(item["forecast_category"], item.line_of("forecast_category"),
                        f"{where} forecast_category", FORECAST_CATEGORIES)
        if "rotting_days" in item:
            self.integer(item["rotting_days"], item.line_of("rotting_days"),
                         f"{where} rotting_days", 1, 3650)
        if "gate" in item:
            self.choice(item["gate"], item.line_of("gate"), f"{where} gate", GATE_MODES)
        if "next" in item:
            targets = self.seq(item["next"], item.line_of("next"), f"{where} next", non_empty=True)
            for i, target in enumerate(targets or ()):
                tline = targets.line_of(i)  # type: ignore[union-attr]
                if target == "won":
                    continue
                if self.key(target, tline, f"{where} next") and target not in self.stage_keys:
                    self.error(tline, f"{where} next names unknown stage '{target}'")
                elif target == key:
                    self.error(tline, f"{where} next names the stage itself")
                elif (target in self.stage_keys and key in self.stage_keys
                      and self.stage_keys.index(target) < self.stage_keys.index(key)):
                    self.error(tline, f"{where} next names earlier stage '{target}'; "
                                      "moving back is governed by settings.backward")
        if "exit_criteria" in item:
            self.criteria(item["exit_criteria"], item.line_of("exit_criteria"), where)

    def criteria(self, value: Any, line: int, where: str) -> None:
        common: tuple[str, ...] = ("key", "kind", "label", "prompt")
        allowed: tuple[str, ...]
        required: tuple[str, ...]
        per_kind: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "field_set": (("field",), ("field",)),
            "field_compare": (("field", "op", "value"), ("field", "op", "value")),
            "checklist": ((), ()),
            "stakeholder": (("roles", "count"), ("roles",)),
            "qualification_score": (("framework", "min"), ("framework", "min")),
            "next_step": (("within_days", "buyer_confirmed"), ("within_days",)),
            "activity": (("activity", "count", "since_stage"), ("activity",)),
            "approval": (("approval",), ("approval",)),
            "buyer_milestone": (("milestone",), ("milestone",)),
            "workspace": (("item", "layer", "min"), ("item",)),
        }
        items = self.seq(value, line, f"{where} exit_criteria")
        for i, raw in enumerate(items or ()):
            iline = items.line_of(i)  # type: ignore[union-attr]
            if not isinstance(raw, LDict):
                self.error(iline, f"{where} criterion {i + 1} must be a mapping, "
                                  f"not {_type_name(raw)}")
                continue
            kind: str = raw.get("kind", "")
            if "kind" not in raw:
                self.error(raw.line, f"{where} criterion {i + 1} is missing required key 'kind'")
                allowed, required = common, ()
            elif not self.choice(kind, raw.line_of("kind"), f"{where} criterion kind",
                                 CRITERION_KINDS):
                allowed, required = common + tuple(k for a, _ in per_kind.values() for k in a), ()
            else:
                extra, needed = per_kind[kind]
                allowed, required = common + extra, needed
            key: str = raw.get("key", "")
            crit = self.mapping(raw, iline, f"{where} criterion '{key or i + 1}'", allowed,
                                ("key", "label", *required))
            if crit is None:
                continue
            cwhere = f"criterion '{key}'"
            if "key" in crit and self.key(key, crit.line_of("key"), f"{where} criterion key"):
                if key in self.criterion_keys:
                    self.error(crit.line_of("key"), f"duplicate criterion key '{key}' "
                                                    f"(first on line {self.criterion_keys[key]})")
                else:
                    self.criterion_keys[key] = crit.line_of("key")
            for name in ("label", "prompt"):
                if name in crit:
                    self.text(crit[name], crit.line_of(name), f"{cwhere} {name}")
            if kind in CRITERION_KINDS:
                self.criterion_specifics(crit, kind, cwhere)

    def criterion_specifics(self, crit: LDict, kind: str, where: str) -> None:
        def at(name: str) -> int:
            return crit.line_of(name)

        if kind in ("field_set", "field_compare") and "field" in crit:
            fname = crit["field"]
            if self.key(fname, at("field"), f"{where} field") and fname not in self.field_types:
                self.error(at("field"), f"{where} names unknown field '{fname}'; define it under "
                                        "'fields' or use a built-in field "
                                        f"({', '.join(BUILTIN_FIELDS)})")
            if (kind == "field_compare" and "op" in crit and "value" in crit
                    and self.choice(crit["op"], at("op"), f"{where} op", COMPARE_OPS)):
                self.compare_value(crit, where)
        elif kind == "stakeholder" and "roles" in crit:
            roles = self.seq(crit["roles"], at("roles"), f"{where} roles", non_empty=True)
            for i, role in enumerate(roles or ()):
                rline = roles.line_of(i)  # type: ignore[union-attr]
                if self.key(role, rline, f"{where} role") and role not in self.roles:
                    self.error(rline, f"{where} names unknown stakeholder role '{role}'")
            if "count" in crit:
                self.integer(crit["count"], at("count"), f"{where} count", 1, 50)
        elif kind == "qualification_score":
            if "framework" in crit:
                self.framework_ref(crit["framework"], at("framework"), f"{where} framework")
            if "min" in crit:
                self.number(crit["min"], at("min"), f"{where} min", 0, 100)
        elif kind == "next_step":
            if "within_days" in crit:
                self.integer(crit["within_days"], at("within_days"), f"{where} within_days", 1, 365)
            if "buyer_confirmed" in crit:
                self.boolean(crit["buyer_confirmed"], at("buyer_confirmed"),
                             f"{where} buyer_confirmed")
        elif kind == "activity":
            if "activity" in crit:
                kinds = crit["activity"]
                if isinstance(kinds, LList):
                    if not kinds:
                        self.error(at("activity"), f"{where} activity list must not be empty")
                    for i, k in enumerate(kinds):
                        self.choice(k, kinds.line_of(i), f"{where} activity", ACTIVITY_KINDS)
                else:
                    self.choice(kinds, at("activity"), f"{where} activity", ACTIVITY_KINDS)
            if "count" in crit:
                self.integer(crit["count"], at("count"), f"{where} count", 1, 1000)
            if "since_stage" in crit:
                since = crit["since_stage"]
                if self.key(since, at("since_stage"), f"{where} since_stage") \
                        and since not in self.stage_keys:
                    self.error(at("since_stage"), f"{where} names unknown stage '{since}'")
        elif kind == "approval" and "approval" in crit:
            self.key(crit["approval"], at("approval"), f"{where} approval")
        elif kind == "buyer_milestone" and "milestone" in crit:
            self.key(crit["milestone"], at("milestone"), f"{where} milestone")
        elif kind == "workspace" and "item" in crit:
            self.workspace_criterion(crit, where)

    def workspace_criterion(self, crit: LDict, where: str) -> None:
        item = crit["item"]
        if not self.choice(item, crit.line_of("item"), f"{where} item", WORKSPACE_ITEMS):
            return
        if item != "questions_answered":
            for name in ("layer", "min"):
                if name in crit:
                    self.error(crit.line_of(name), f"{where} '{name}' applies only to item "
                                                   "questions_answered")
            if item == "capabilities_mapped" and not self.capability_count:
                self.error(crit.line_of("item"), f"{where} maps capabilities, but the process "
                                                 "defines no 'capabilities'")
            return
        layer = ""
        if "layer" in crit:
            if not self.choice(crit["layer"], crit.line_of("layer"), f"{where} layer",
                               QUESTION_LAYERS):
                return
            layer = crit["layer"]
        available = self.question_counts.get(layer, 0)
        if not available:
            scope = f"in layer '{layer}'" if layer else "at all"
            self.error(crit.line_of("layer" if layer else "item"),
                       f"{where} counts answered discovery questions, but the process has no "
                       f"discovery questions {scope}")
            return
        if "min" in crit and self.integer(crit["min"], crit.line_of("min"), f"{where} min", 1,
                                          MAX_QUESTIONS) and crit["min"] > available:
            scope = f"layer '{layer}'" if layer else "the question bank"
            self.error(crit.line_of("min"), f"{where} min {crit['min']} is more than the "
                                            f"{available} question(s) in {scope}")

    def compare_value(self, crit: LDict, where: str) -> None:
        fname, op, value = crit["field"], crit["op"], crit["value"]
        line = crit.line_of("value")
        ftype = self.field_types.get(fname) if isinstance(fname, str) else None
        if ftype is None:
            return
        values = value if op == "in" else [value]
        if op == "in" and not isinstance(value, LList):
            self.error(line, f"{where} op 'in' needs a list of values, not {_type_name(value)}")
            return
        for v in values:
            if ftype == "number" and (isinstance(v, bool) or not isinstance(v, int | float)):
                self.error(line, f"{where} compares number field '{fname}' with {_type_name(v)}")
            elif ftype == "date" and not isinstance(v, date):
                self.error(line, f"{where} compares date field '{fname}' with {_type_name(v)}; "
                                 "write dates as YYYY-MM-DD")
            elif ftype == "bool" and not isinstance(v, bool):
                self.error(line, f"{where} compares true/false field '{fname}' "
                                 f"with {_type_name(v)}")
            elif ftype == "bool" and op not in ("eq", "ne"):
                self.error(line, f"{where} can only test true/false field '{fname}' with eq or ne")
            elif ftype in ("text", "choice") and not isinstance(v, str):
                self.error(line, f"{where} compares text field '{fname}' with {_type_name(v)}")
            elif ftype == "choice" and v not in self.field_choices.get(fname, (v,)):
                self.error(line, f"{where} value '{v}' is not one of field '{fname}' choices")
            elif ftype == "text" and op in ("gt", "gte", "lt", "lte"):
                self.error(line, f"{where} cannot order text field '{fname}' with '{op}'")

    def reachability(self, stages: list[tuple[LDict, str | None]]) -> None:
        keys = [k for _, k in stages if k and k not in OUTCOMES]
        if not keys or not any("next" in item for item, _ in stages):
            return
        edges: dict[str, list[str]] = {}
        for i, (item, key) in enumerate(stages):
            if not key:
                continue
            nxt = item.get("next")
            if isinstance(nxt, LList):
                edges[key] = [t for t in nxt if isinstance(t, str)]
            else:
                edges[key] = [stages[i + 1][1] or ""] if i + 1 < len(stages) else ["won"]
        seen = {keys[0]}
        todo = [keys[0]]
        while todo:
            for target in edges.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for item, key in stages:
            if key and key not in seen:
                self.error(item.line_of("key"),
                           f"stage '{key}' is unreachable: no stage's 'next' leads to it "
                           f"from the first stage '{keys[0]}'")
        if "won" not in seen:
            self.error(stages[0][0].line, "no path through the stages leads to 'won'")

    def outcomes(self, value: Any, line: int) -> None:
        out = self.mapping(value, line, "outcomes", ("won", "lost"), ("won", "lost"))
        if out is None:
            return
        if "won" in out:
            won = self.mapping(out["won"], out.line_of("won"), "outcomes.won",
                               ("gate", "criteria", "checkins_days"))
            if won is not None:
                if "gate" in won:
                    self.choice(won["gate"], won.line_of("gate"), "outcomes.won.gate", GATE_MODES)
                if "criteria" in won:
                    self.criteria(won["criteria"], won.line_of("criteria"), "outcomes.won")
                if "checkins_days" in won:
                    days = self.seq(won["checkins_days"], won.line_of("checkins_days"),
                                    "outcomes.won.checkins_days")
                    for i, d in enumerate(days or ()):
                        self.integer(d, days.line_of(i),  # type: ignore[union-attr]
                                     "outcomes.won.checkins_days item", 1, 3650)
        if "lost" in out:
            lost = self.mapping(out["lost"], out.line_of("lost"), "outcomes.lost", ("reasons",))
            if lost is not None and "reasons" in lost:
                self.keyed_items(lost["reasons"], lost.line_of("reasons"), "loss reason",
                                 ("key", "name"), ("key", "name"))


# ---------------------------------------------------------------------------- building


def _plain(value: Any) -> Any:
    """Line-aware containers to ordinary ones (for JSON and for immutable storage)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return float(value)
    return value


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def _criterion(raw: Mapping[str, Any]) -> Criterion:
    value = raw.get("value")
    if isinstance(value, list):
        value = tuple(value)
    return Criterion(
        key=raw["key"], kind=raw["kind"], label=raw["label"], prompt=raw.get("prompt", ""),
        field=raw.get("field", ""), op=raw.get("op", ""), value=value,
        roles=tuple(raw.get("roles", ())), count=raw.get("count", 1),
        framework=raw.get("framework", ""), min=raw.get("min", 0),
        within_days=raw.get("within_days", 0), buyer_confirmed=raw.get("buyer_confirmed", False),
        activities=_as_tuple(raw.get("activity", ())), since_stage=raw.get("since_stage", ""),
        approval=raw.get("approval", ""), milestone=raw.get("milestone", ""),
        item=raw.get("item", ""), layer=raw.get("layer", ""),
    )


def _build(data: LDict) -> Process:
    settings = data.get("settings", {})
    qualification = data.get("qualification", {})
    won = data["outcomes"].get("won") or {}
    lost = data["outcomes"].get("lost") or {}
    return Process(
        name=data["name"],
        description=data.get("description", ""),
        currency=data.get("currency", "USD"),
        settings=Settings(**{k: settings[k] for k in settings}),
        stakeholder_roles=tuple((r["key"], r["name"]) for r in data["stakeholder_roles"]),
        fields=tuple(
            CustomField(key=f["key"], label=f["label"], type=f["type"],
                        choices=tuple(f.get("choices", ())), help=f.get("help", ""))
            for f in data.get("fields", ())
        ),
        frameworks=tuple(
            Framework(key=fw["key"], name=fw["name"], criteria=tuple(
                FrameworkCriterion(key=c["key"], name=c["name"], weight=float(c.get("weight", 1)),
                                   prompt=c.get("prompt", ""))
                for c in fw["criteria"]))
            for fw in data.get("frameworks", ())
        ),
        qualification_framework=qualification.get("framework", ""),
        qualification_threshold=float(qualification.get("threshold", 0)),
        stages=tuple(
            Stage(key=s["key"], name=s["name"], purpose=s["purpose"],
                  probability=s["probability"], forecast_category=s["forecast_category"],
                  rotting_days=s["rotting_days"], gate=s.get("gate", "enforce"),
                  guidance=tuple(s.get("guidance", ())), next=tuple(s.get("next", ())),
                  exit_criteria=tuple(_criterion(c) for c in s.get("exit_criteria", ())))
            for s in data["stages"]
        ),
        won_gate=won.get("gate", "enforce"),
        won_criteria=tuple(_criterion(c) for c in won.get("criteria", ())),
        checkins_days=tuple(won.get("checkins_days", ())),
        lost_reasons=tuple((r["key"], r["name"]) for r in lost.get("reasons", ())),
        library=_plain(data.get("library", {})),
        discovery_questions=tuple(_plain(q) for q in
                                  (data.get("discovery") or {}).get("questions", ())),
        capabilities=tuple(_plain(c) for c in data.get("capabilities", ())),
    )
