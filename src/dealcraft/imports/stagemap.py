"""Where each source stage lands: a stage of the active process (through a map), or a stage of
a process generated from the export itself.

Pure Python (no Django): the importer hands in the export's stages and the target process, and
gets back the resolution and every problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import yaml

from dealcraft.domain.process import Process, parse_process

from .records import Problem, SourceStage

WON, LOST = "won", "lost"
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
#: How exports spell forecast categories (Salesforce's ForecastCategoryName, HubSpot's labels).
FORECAST_SYNONYMS = {
    "pipeline": "pipeline", "best_case": "best_case", "bestcase": "best_case",
    "upside": "best_case", "commit": "commit", "committed": "commit", "closed": "closed",
    "closed_won": "closed", "omitted": "omitted", "omit": "omitted", "not_forecasted": "omitted",
}
DEFAULT_ROLES = (("economic_buyer", "Economic buyer"), ("champion", "Champion"),
                 ("decision_maker", "Decision maker"), ("influencer", "Influencer"))
_NON_KEY = re.compile(r"[^a-z0-9]+")


def slug_key(text: str, *, prefix: str = "stage") -> str:
    """A process-file key for a name: `Négociation/Revue` gives `negociation_revue`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    key = _NON_KEY.sub("_", folded).strip("_")[:60].rstrip("_")
    if not key or not key[0].isalpha():
        key = f"{prefix}_{key}".rstrip("_")
    return key


def forecast_category(text: str) -> str | None:
    """dealcraft's forecast category for an export's spelling, or None when none matches."""
    if not text.strip():
        return None
    return FORECAST_SYNONYMS.get(slug_key(text, prefix="x"))


@dataclass(slots=True)
class StagePlan:
    """Where every source stage goes. `target[name]` is a stage key of `process`, or `won` /
    `lost`; `open_order` ranks the open stage keys for telling advances from moves back."""

    process: Process
    source: str | None  # the generated process file, or None when mapping onto the active one
    target: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)

    def order(self, key: str) -> int:
        """The key's place: open stages in process order, `won` after them, `lost` before."""
        ranks = self.ranks
        if not ranks:
            ranks.update({k: i for i, k in enumerate(self.process.stage_keys)})
            ranks[WON], ranks[LOST] = len(self.process.stages), -1
        return ranks[key]

    def outcome(self, key: str) -> str:
        return key if key in (WON, LOST) else "open"


def generate_process(stages: Iterable[SourceStage], *, source_name: str, currency: str = "USD",
                     roles: Iterable[str] = ()) -> tuple[str, StagePlan]:
    """A process file whose stages are the export's open stages, in the export's order and
    spelled exactly as exported; closed stages become the won and lost outcomes."""
    ordered = sorted(stages, key=lambda s: (s.order, s.name))
    entries: list[dict[str, object]] = []
    target: dict[str, str] = {}
    problems: list[Problem] = []
    used: set[str] = {WON, LOST}
    lost_reasons: list[dict[str, str]] = []
    for stage in ordered:
        if stage.name in target:
            continue
        if stage.is_closed:
            target[stage.name] = WON if stage.is_won else LOST
            if not stage.is_won:
                reason = _unique(slug_key(stage.name, prefix="reason"), {r["key"] for r in
                                                                          lost_reasons})
                lost_reasons.append({"key": reason, "name": stage.name})
            continue
        key = _unique(slug_key(stage.name), used)
        used.add(key)
        target[stage.name] = key
        category = forecast_category(stage.forecast_category) or "pipeline"
        if category == "closed":
            category = "commit"
        probability = stage.probability if stage.probability is not None else 0
        entries.append({
            "key": key, "name": stage.name,
            "purpose": f"Imported from {source_name}: the stage '{stage.name}'.",
            "probability": max(0, min(100, probability)), "forecast_category": category,
            "rotting_days": 30, "gate": "warn",
        })
    if not entries:
        problems.append(Problem("", None, "stage", "the export has no open stage: a process "
                                "needs at least one"))
    role_keys = dict(DEFAULT_ROLES)
    for role in roles:
        if role.strip():
            role_keys.setdefault(slug_key(role, prefix="role"), role.strip())
    document: dict[str, object] = {
        "name": f"Imported from {source_name}",
        "description": f"The stages of the {source_name} export, as it spells them.",
        "currency": currency,
        "settings": {"visibility": "team", "skip": "allow", "backward": "allow",
                     "override": "managers"},
        "stakeholder_roles": [{"key": k, "name": n} for k, n in role_keys.items()],
        "stages": entries,
        "outcomes": {"won": {"gate": "warn"},
                     "lost": {"reasons": lost_reasons or [{"key": "lost", "name": "Lost"}]}},
    }
    text = ("# Generated by `dealcraft import` from the export's stages; edit it and apply it\n"
            "# with `dealcraft process apply` to add exit criteria.\n"
            + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100))
    process = None
    if entries:
        process, invalid = parse_process(text)
        for p in invalid:
            problems.append(Problem("", p.line, "stage", f"generated process: {p.message}"))
    if process is None:
        process = Process(name="(none)", stages=(), stakeholder_roles=())
    plan = StagePlan(process=process, source=text, target=target, problems=problems)
    return text, plan


def map_onto(process: Process, stages: Iterable[SourceStage],
             stage_map: Mapping[str, str], *, map_file: str = "") -> StagePlan:
    """Map the export's stages onto an existing process through `stage_map` (source stage name
    → stage key or name of the process, or `won` / `lost`). A closed source stage needs no
    entry: its outcome decides. A stage with no entry is a problem, reported with its name."""
    plan = StagePlan(process=process, source=None)
    by_name = {s.name.casefold(): s.key for s in process.stages}
    keys = set(process.stage_keys)
    folded_map = {k.casefold(): (k, v) for k, v in stage_map.items()}
    for stage in stages:
        entry = stage_map.get(stage.name)
        if entry is None and stage.name.casefold() in folded_map:
            entry = folded_map[stage.name.casefold()][1]
        if entry is None:
            if stage.is_closed:
                plan.target[stage.name] = WON if stage.is_won else LOST
            else:
                plan.problems.append(Problem(map_file, None, "stage",
                                             f"the stage '{stage.name}' is not in the mapping",
                                             stage.name))
            continue
        wanted = str(entry).strip()
        key = (wanted if wanted in keys or wanted in (WON, LOST)
               else by_name.get(wanted.casefold()))
        if key is None:
            plan.problems.append(Problem(
                map_file, None, "stage", f"the stage '{stage.name}' maps to '{wanted}', which "
                f"is not a stage of the active process ({', '.join(process.stage_keys)}, won, "
                "lost)", wanted))
            continue
        if stage.is_closed and key != (WON if stage.is_won else LOST):
            key = WON if stage.is_won else LOST
        plan.target[stage.name] = key
    return plan


def _unique(key: str, used: set[str]) -> str:
    if key not in used:
        return key
    n = 2
    while f"{key}_{n}" in used:
        n += 1
    return f"{key}_{n}"
