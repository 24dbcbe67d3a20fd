"""Reading what a deal's records prove, as `DealFacts` for gate evaluation.

`facts_for_deals` loads the facts of any number of deals in a fixed number of queries, so
lists and boards can show gate readiness without one query per deal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from dealcraft.domain.gates import DealFacts, GateResult, evaluate_gate
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
    """Facts for each deal, in five queries whatever the number of deals.

    Deals should come with `account` and `next_step` selected.
    """
    today = today or timezone.localdate()
    ids = [d.pk for d in deals]
    if not ids:
        return {}
    evidence: dict[int, set[str]] = defaultdict(set)
    for deal_id, criterion in (Evidence.objects.filter(deal_id__in=ids)
                               .values_list("deal_id", "criterion").distinct()):
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
