"""Server-rendered pages: the deal list and the deal page, plus the health check.

Views only read. Visibility comes from `people.permissions` and `deals.services.get_deal_for`,
the same rules the API and the services apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dealcraft.deals.facts import deal_facts
from dealcraft.deals.models import Deal, StageHistory, Status
from dealcraft.deals.services import get_deal_for
from dealcraft.domain.gates import evaluate_gate
from dealcraft.domain.process import Process
from dealcraft.errors import NotAllowed, NotFound
from dealcraft.people.permissions import visible_deals
from dealcraft.processes.services import active_process

PAGE_SIZE = 50


def stage_names(process: Process) -> dict[str, str]:
    return {**{s.key: s.name for s in process.stages}, "won": "Won", "lost": "Lost"}


@dataclass(frozen=True)
class DealRow:
    deal: Deal
    stage_name: str
    next_step_due: date | None
    overdue: bool


@require_GET
@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    """The deals the user may see, newest first, 50 a page, in a fixed number of queries."""
    _, process = active_process()
    deals = visible_deals(
        request.user,
        Deal.objects.select_related("account", "owner", "next_step"),
        visibility=process.settings.visibility,
    ).order_by("-id")
    page = Paginator(deals, PAGE_SIZE).get_page(request.GET.get("page"))
    names = stage_names(process)
    today = timezone.localdate()
    rows = []
    for deal in page:
        due = deal.next_step.due if deal.next_step_id and deal.next_step else None
        rows.append(DealRow(
            deal=deal,
            stage_name=names.get(deal.stage, deal.stage),
            next_step_due=due,
            overdue=deal.status == Status.OPEN and due is not None and due < today,
        ))
    return render(request, "web/deal_list.html", {"page": page, "rows": rows})


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    rule: str
    prompt: str
    met: bool
    message: str


@dataclass(frozen=True)
class HistoryRow:
    entry: StageHistory
    from_name: str
    to_name: str
    reason: str
    warnings: tuple[str, ...]


@require_GET
@login_required
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    """One deal: where it stands, what its current stage's gate still needs, and its path."""
    try:
        deal = get_deal_for(request.user, deal_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404("No such deal.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    version, process = active_process()
    names = stage_names(process)
    stage = process.stage(deal.stage) if process.has_stage(deal.stage) else None
    checklist: list[ChecklistItem] = []
    gate_mode = ""
    if deal.status == Status.OPEN and stage is not None:
        result = evaluate_gate(process, stage.key, deal_facts(deal))
        gate_mode = result.mode
        unmet = {u.key: u for u in result.unmet}
        checklist = [
            ChecklistItem(key=c.key, label=c.label, rule=c.describe(), prompt=c.prompt,
                          met=c.key not in unmet,
                          message=unmet[c.key].message if c.key in unmet else "")
            for c in stage.exit_criteria
        ]
    history = [
        HistoryRow(entry=h, from_name=names.get(h.from_stage, h.from_stage),
                   to_name=names.get(h.to_stage, h.to_stage),
                   reason=str((h.gate_result or {}).get("reason", "")),
                   warnings=tuple(str(w.get("label") or w.get("key", ""))
                                  for w in (h.gate_result or {}).get("warnings", ())))
        for h in deal.history.select_related("by", "process_version").order_by("at", "id")
    ]
    step = deal.next_step if deal.next_step_id else None
    context = {
        "deal": deal,
        "stage": stage,
        "stage_name": names.get(deal.stage, deal.stage),
        "stages": [(s.key, s.name) for s in process.stages],
        "checklist": checklist,
        "met_count": sum(1 for item in checklist if item.met),
        "gate_mode": gate_mode,
        "next_step": step,
        "next_step_overdue": bool(step and deal.status == Status.OPEN
                                  and step.due < timezone.localdate()),
        "lost_from_name": names.get(deal.lost_from_stage, deal.lost_from_stage),
        "history": history,
        "process_version": version,
    }
    return render(request, "web/deal_detail.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 `ok` once the database answers a query; 503 otherwise (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
