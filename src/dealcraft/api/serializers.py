"""Model and domain objects to the plain data the response schemas describe.

Serializers only read attributes already loaded: callers select the related rows
(`deal_rows()`), which keeps list endpoints at a constant number of queries.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from dealcraft.crm.models import Account, Contact
from dealcraft.deals.models import (
    Activity,
    Deal,
    Evidence,
    NextStep,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
)
from dealcraft.domain.gates import GateResult, Transition, Unmet
from dealcraft.domain.process import Criterion, Process
from dealcraft.processes.models import ProcessVersion


def decimal_string(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


def deal_rows() -> QuerySet[Deal]:
    """Deals with everything `deal_out` reads, in one query."""
    return Deal.objects.select_related("account", "owner", "next_step__owner", "process_version")


def deal_out(deal: Deal) -> dict[str, Any]:
    step = deal.next_step if deal.next_step_id else None
    return {
        "id": deal.pk,
        "name": deal.name,
        "account": deal.account.name if deal.account_id and deal.account else None,
        "account_id": deal.account_id,
        "owner": deal.owner.username,
        "owner_id": deal.owner_id,
        "team_id": deal.team_id,
        "stage": deal.stage,
        "status": deal.status,
        "amount": decimal_string(deal.amount),
        "currency": deal.currency,
        "expected_close": deal.expected_close,
        "forecast_category": deal.forecast_category,
        "forecast_category_overridden": deal.forecast_category_overridden,
        "probability": deal.probability,
        "next_step": None if step is None else {
            "text": step.text,
            "due": step.due,
            "owner": _username(step.owner),
            "buyer_confirmed": step.buyer_confirmed,
        },
        "stage_entered_at": deal.stage_entered_at,
        "created_at": deal.created_at,
        "updated_at": deal.updated_at,
        "closed_at": deal.closed_at,
        "fields": deal.fields or {},
        "lost_reason": deal.lost_reason,
        "lost_reason_category": deal.lost_reason_category,
        "lost_from_stage": deal.lost_from_stage,
        "external_source": deal.external_source,
        "external_id": deal.external_id,
        "process_version": deal.process_version.number if deal.process_version_id
        and deal.process_version else None,
        "version": deal.version,
    }


def unmet_out(unmet: Unmet) -> dict[str, str]:
    return unmet.as_dict()


def gate_out(gate: GateResult) -> dict[str, Any]:
    return {"stage": gate.stage, "mode": gate.mode, "passed": gate.passed,
            "met": list(gate.met), "unmet": [unmet_out(u) for u in gate.unmet]}


def transition_out(transition: Transition) -> dict[str, Any]:
    return {
        "from_": transition.from_stage,
        "to": transition.to_stage,
        "direction": transition.direction,
        "allowed": transition.allowed,
        "needs_reason": transition.needs_reason,
        "gates": [gate_out(g) for g in transition.gates],
        "blocking": [unmet_out(u) for u in transition.blocking],
        "warnings": [unmet_out(u) for u in transition.warnings],
    }


def history_out(entry: StageHistory) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "from_": entry.from_stage or None,
        "to": entry.to_stage,
        "at": entry.at,
        "by": _username(entry.by),
        "override_reason": entry.override_reason,
        "amount": decimal_string(entry.amount),
        "currency": entry.currency,
        "expected_close": entry.expected_close,
        "forecast_category": entry.forecast_category,
        "probability": entry.probability,
        "gate_result": entry.gate_result or {},
        "process_version": entry.process_version.number if entry.process_version else None,
    }


def evidence_out(evidence: Evidence) -> dict[str, Any]:
    return {
        "id": evidence.pk,
        "deal_id": evidence.deal_id,
        "criterion": evidence.criterion,
        "stage": evidence.stage,
        "kind": evidence.kind,
        "text": evidence.text,
        "url": evidence.url,
        "file_name": evidence.file_name,
        "content_type": evidence.content_type,
        "size": evidence.size,
        "recorded_by": _username(evidence.recorded_by),
        "recorded_at": evidence.recorded_at,
    }


def activity_out(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "deal_id": activity.deal_id,
        "kind": activity.kind,
        "subject": activity.subject,
        "body": activity.body,
        "owner": _username(activity.owner),
        "due_at": activity.due_at,
        "done_at": activity.done_at,
        "created_at": activity.created_at,
    }


def next_step_record_out(step: NextStep, *, current_id: int | None) -> dict[str, Any]:
    return {
        "id": step.pk,
        "deal_id": step.deal_id,
        "text": step.text,
        "due": step.due,
        "owner": _username(step.owner),
        "buyer_confirmed": step.buyer_confirmed,
        "set_by": _username(step.set_by),
        "set_at": step.set_at,
        "current": step.pk == current_id,
    }


def contact_out(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "account_id": contact.account_id,
        "account": contact.account.name if contact.account_id and contact.account else None,
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "title": contact.title,
        "created_at": contact.created_at,
    }


def stakeholder_out(stakeholder: Stakeholder) -> dict[str, Any]:
    return {
        "id": stakeholder.pk,
        "deal_id": stakeholder.deal_id,
        "contact": contact_out(stakeholder.contact),
        "role": stakeholder.role,
        "influence": stakeholder.influence,
        "support": stakeholder.support,
        "added_by": _username(stakeholder.added_by),
        "added_at": stakeholder.added_at,
    }


def qualification_out(answer: QualificationAnswer) -> dict[str, Any]:
    return {
        "deal_id": answer.deal_id,
        "framework": answer.framework,
        "criterion": answer.criterion,
        "level": answer.level,
        "evidence": answer.evidence,
        "answered_by": _username(answer.answered_by),
        "answered_at": answer.answered_at,
    }


def account_out(account: Account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": account.name,
        "domain": account.domain,
        "industry": account.industry,
        "employees": account.employees,
        "country": account.country,
        "owner": _username(account.owner),
        "external_source": account.external_source,
        "external_id": account.external_id,
        "created_at": account.created_at,
    }


# ---------------------------------------------------------------------------- process


def criterion_to_dict(criterion: Criterion) -> dict[str, Any]:
    data = dataclasses.asdict(criterion)
    data["description"] = criterion.describe()
    return data


def process_to_dict(process: Process) -> dict[str, Any]:
    """The process in the shape of the process file (see docs/process-file.md)."""
    data = dataclasses.asdict(process)
    return {
        "name": process.name,
        "description": process.description,
        "currency": process.currency,
        "settings": data["settings"],
        "stages": [
            {**{k: v for k, v in dataclasses.asdict(stage).items() if k != "exit_criteria"},
             "exit_criteria": [criterion_to_dict(c) for c in stage.exit_criteria]}
            for stage in process.stages
        ],
        "stakeholder_roles": [{"key": k, "name": n} for k, n in process.stakeholder_roles],
        "fields": data["fields"],
        "frameworks": data["frameworks"],
        "qualification": {"framework": process.qualification_framework,
                          "threshold": process.qualification_threshold},
        "outcomes": {
            "won": {"gate": process.won_gate,
                    "criteria": [criterion_to_dict(c) for c in process.won_criteria],
                    "checkins_days": list(process.checkins_days)},
            "lost": {"reasons": [{"key": k, "name": n} for k, n in process.lost_reasons]},
        },
        "library": data["library"],
        "discovery_questions": data["discovery_questions"],
        "capabilities": data["capabilities"],
    }


def process_version_out(version: ProcessVersion, process: Process) -> dict[str, Any]:
    return {
        "version": version.number,
        "name": version.name,
        "applied_at": version.applied_at,
        "applied_by": _username(version.applied_by),
        "note": version.note,
        "sha256": version.sha256,
        "process": process_to_dict(process),
    }
