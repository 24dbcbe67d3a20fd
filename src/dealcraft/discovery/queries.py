"""Reading a deal's discovery and solution workspaces as the pages show them.

Read-only, and in a fixed number of queries whatever the number of answers, notes or
recommendations: each loader reads each table once, with the people who wrote the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dealcraft.deals.models import Deal
from dealcraft.domain.process import QUESTION_LAYERS, CustomField, Process

from .models import (
    CapabilityRecommendation,
    DiscoveryWorkspace,
    QuestionAnswer,
    QuestionNote,
    SolutionWorkspace,
)
from .services import IMPACT_FIELD, URGENCY_FIELD

LAYER_NAMES = {
    "current_state": "Current state",
    "pain": "Pain",
    "impact_urgency": "Impact and urgency",
    "buying_process": "Buying process",
}


@dataclass
class Question:
    key: str
    text: str
    purpose: str
    answer: QuestionAnswer | None = None
    notes: list[QuestionNote] = field(default_factory=list)


@dataclass
class Layer:
    key: str
    name: str
    questions: list[Question]

    @property
    def answered(self) -> int:
        return sum(1 for q in self.questions if q.answer is not None)


@dataclass
class Discovery:
    workspace: DiscoveryWorkspace
    layers: list[Layer]
    # Answers and notes to questions the active process no longer asks, kept readable.
    retired: list[Question]
    impact_field: CustomField | None
    urgency_field: CustomField | None
    impact: Any
    urgency: Any

    @property
    def answered(self) -> int:
        return sum(layer.answered for layer in self.layers)

    @property
    def question_count(self) -> int:
        return sum(len(layer.questions) for layer in self.layers)


def _discovery_workspace(deal: Deal) -> DiscoveryWorkspace:
    workspace = (DiscoveryWorkspace.objects
                 .select_related("research_by", "agenda_by", "agreement_by", "summary_by")
                 .filter(deal=deal).first())
    return workspace or DiscoveryWorkspace(deal=deal)


def load_discovery(deal: Deal, process: Process) -> Discovery:
    """The discovery workspace with the question bank grouped by layer, in the order the
    process asks them: current state, pain, impact and urgency, buying process."""
    answers = {a.question: a for a in
               QuestionAnswer.objects.filter(deal=deal).select_related("answered_by")}
    notes: dict[str, list[QuestionNote]] = defaultdict(list)
    for note in QuestionNote.objects.filter(deal=deal).select_related("written_by"):
        notes[note.question].append(note)
    by_layer: dict[str, list[Question]] = {layer: [] for layer in QUESTION_LAYERS}
    asked = set()
    for q in process.discovery_questions:
        asked.add(q["key"])
        by_layer[q["layer"]].append(Question(
            key=q["key"], text=q["text"], purpose=q.get("purpose", ""),
            answer=answers.get(q["key"]), notes=notes.get(q["key"], [])))
    retired = [Question(key=key, text=key.replace("_", " "), purpose="",
                        answer=answers.get(key), notes=notes.get(key, []))
               for key in sorted((set(answers) | set(notes)) - asked)]
    fields = deal.fields or {}
    return Discovery(
        workspace=_discovery_workspace(deal),
        layers=[Layer(key, LAYER_NAMES.get(key, key), questions)
                for key, questions in by_layer.items() if questions],
        retired=retired,
        impact_field=process.custom_field(IMPACT_FIELD),
        urgency_field=process.custom_field(URGENCY_FIELD),
        impact=fields.get(IMPACT_FIELD),
        urgency=fields.get(URGENCY_FIELD),
    )


@dataclass
class Recommendation:
    key: str
    name: str
    description: str
    answers: tuple[str, ...]  # the pains the process says this capability answers
    record: CapabilityRecommendation

    @property
    def feature_dumping(self) -> bool:
        return not self.record.pain


@dataclass
class Capability:
    key: str
    name: str
    description: str
    answers: tuple[str, ...]


@dataclass
class Solution:
    workspace: SolutionWorkspace
    discovery: DiscoveryWorkspace
    recommendations: list[Recommendation]
    available: list[Capability]

    @property
    def unlinked(self) -> int:
        return sum(1 for r in self.recommendations if r.feature_dumping)


def load_solution(deal: Deal, process: Process) -> Solution:
    """The solution workspace: the capability map (in the order recommended), the capabilities
    still available, the demo plan and the value checkpoint, with discovery's recap."""
    catalogue = {c["key"]: c for c in process.capabilities}
    records = list(CapabilityRecommendation.objects.filter(deal=deal)
                   .select_related("recommended_by"))
    recommendations = []
    for record in records:
        spec = catalogue.get(record.capability, {})
        recommendations.append(Recommendation(
            key=record.capability, name=spec.get("name", record.capability),
            description=spec.get("description", ""),
            answers=tuple(spec.get("pains", ())), record=record))
    taken = {r.capability for r in records}
    available = [Capability(key=c["key"], name=c["name"], description=c.get("description", ""),
                            answers=tuple(c.get("pains", ())))
                 for c in process.capabilities if c["key"] not in taken]
    workspace = (SolutionWorkspace.objects.select_related("demo_by", "value_by")
                 .filter(deal=deal).first()) or SolutionWorkspace(deal=deal)
    return Solution(workspace=workspace, discovery=_discovery_workspace(deal),
                    recommendations=recommendations, available=available)
