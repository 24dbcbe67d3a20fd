"""Reading what a deal's records prove, as `DealFacts` for gate evaluation.

`facts_for_deals` loads the facts of any number of deals in a fixed number of queries, so
lists and boards can show gate readiness without one query per deal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Count, IntegerField, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Length
from django.utils import timezone

from dealcraft.discovery.models import CapabilityRecommendation
from dealcraft.domain.gates import (
    RESEARCH_PARTS,
    DealFacts,
    GateResult,
    WorkspaceFacts,
    evaluate_gate,
)
from dealcraft.domain.process import Process

from .models import (
    Activity,
    Deal,
    Evidence,
    NextStep,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
)


def deal_field_values(deal: Deal) -> dict[str, Any]:
    values: dict[str, Any] = dict(deal.fields or {})
    values.update(
        name=deal.name,
        account=deal.account.name if deal.account_id and deal.account else None,
        amount=deal.amount,
        currency=deal.currency,
        expected_close=deal.expected_close,
        probability=deal.probability,
        forecast_category=deal.forecast_category,
    )
    return values


def facts_for_deals(deals: Sequence[Deal], today: date | None = None) -> dict[int, DealFacts]:
    """Facts for each deal, in six queries whatever the number of deals.

    Deals should come with `account` and `next_step` selected.
    """
    today = today or timezone.localdate()
    ids = [d.pk for d in deals]
    if not ids:
        return {}
    evidence: dict[int, set[str]] = defaultdict(set)
    for deal_id, criterion in (Evidence.objects.filter(deal_id__in=ids)
                               .values_list("deal_id", "criterion").order_by().distinct()):
        evidence[deal_id].add(criterion)
    roles: dict[int, dict[str, int]] = defaultdict(dict)
    for deal_id, role, n in (Stakeholder.objects.filter(deal_id__in=ids)
                             .values_list("deal_id", "role").annotate(n=Count("id"))
                             .values_list("deal_id", "role", "n")):
        roles[deal_id][role] = n
    answers: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for deal_id, framework, criterion, level in (
            QualificationAnswer.objects.filter(deal_id__in=ids)
            .values_list("deal_id", "framework", "criterion", "level")):
        answers[deal_id][framework][criterion] = level
    activities: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for deal_id, kind, done_at in (Activity.objects.filter(deal_id__in=ids, done_at__isnull=False)
                                   .values_list("deal_id", "kind", "done_at")):
        if done_at is not None:
            activities[deal_id].append((kind, done_at))
    entered: dict[int, dict[str, datetime]] = defaultdict(dict)
    for deal_id, stage, at in (StageHistory.objects.filter(deal_id__in=ids)
                               .exclude(kind=StageHistory.Kind.UPDATE)
                               .values_list("deal_id", "to_stage").annotate(at=Max("at"))
                               .values_list("deal_id", "to_stage", "at")):
        entered[deal_id][stage] = at
    workspaces = _workspace_facts(ids)
    out: dict[int, DealFacts] = {}
    for deal in deals:
        step: NextStep | None = deal.next_step if deal.next_step_id else None
        out[deal.pk] = DealFacts(
            today=today,
            fields=deal_field_values(deal),
            evidence=frozenset(evidence[deal.pk]),
            stakeholder_roles=roles[deal.pk],
            qualification={k: dict(v) for k, v in answers[deal.pk].items()},
            next_step_due=step.due if step else None,
            next_step_buyer_confirmed=bool(step and step.buyer_confirmed),
            activities_done=tuple(activities[deal.pk]),
            stage_entered=entered[deal.pk],
            workspace=workspaces.get(deal.pk, WorkspaceFacts()),
        )
    return out


def _recommendations(**filters: Any) -> Coalesce:
    counted = (CapabilityRecommendation.objects.filter(deal=OuterRef("pk"), **filters)
               .order_by().values("deal").annotate(n=Count("id")).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


_RESEARCH_COLUMNS = ("research_company", "research_role", "research_triggers", "research_pains")


def _workspace_facts(ids: list[int]) -> dict[int, WorkspaceFacts]:
    """The discovery and solution workspaces of the deals, in one query.

    Text is measured, not read, so a board's worth of deals does not pull every note; the
    answers join yields one row per answered question (or one row when there are none).
    """
    sizes = {name: Length(f"discovery_workspace__{name}") for name in (
        *_RESEARCH_COLUMNS, "summary", "next_steps")}
    rows = (Deal.objects.filter(pk__in=ids).order_by()
            .annotate(**{f"{name}_len": size for name, size in sizes.items()},
                      demo_plan_len=Length("solution_workspace__demo_plan"),
                      recommended=_recommendations(),
                      unlinked=_recommendations(pain=""))
            .values_list("pk", *(f"{name}_len" for name in sizes), "demo_plan_len",
                         "discovery_workspace__agenda_agreed", "solution_workspace__demo_date",
                         "solution_workspace__value_answer", "recommended", "unlinked",
                         "discovery_answers__question"))
    answered: dict[int, set[str]] = defaultdict(set)
    first: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        first.setdefault(row[0], row)
        if row[-1]:
            answered[row[0]].add(row[-1])
    out: dict[int, WorkspaceFacts] = {}
    for deal_id, row in first.items():
        (_, company, role, triggers, pains, summary, next_steps, demo_plan, agreed, demo_date,
         value, recommended, unlinked, _question) = row
        out[deal_id] = WorkspaceFacts(
            research=frozenset(part for part, size in zip(
                RESEARCH_PARTS, (company, role, triggers, pains), strict=True) if size),
            agenda_agreed=bool(agreed),
            answered_questions=frozenset(answered[deal_id]),
            summary_written=bool(summary),
            next_steps_written=bool(next_steps),
            capabilities_recommended=recommended,
            capabilities_unlinked=unlinked,
            demo_plan_written=bool(demo_plan),
            demo_date=demo_date,
            value_answer=value or "",
        )
    return out


def deal_facts(deal: Deal, today: date | None = None) -> DealFacts:
    return facts_for_deals([deal], today)[deal.pk]


def gate_readiness(process: Process, deals: Iterable[Deal],
                   facts: dict[int, DealFacts]) -> dict[int, GateResult]:
    """The current stage's gate for each open deal (closed deals and unknown stages skipped)."""
    out: dict[int, GateResult] = {}
    for deal in deals:
        if deal.status == "open" and process.has_stage(deal.stage):
            out[deal.pk] = evaluate_gate(process, deal.stage, facts[deal.pk])
    return out
