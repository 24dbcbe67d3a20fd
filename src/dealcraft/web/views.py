"""Server-rendered pages: the deal list, plus the health check.

Views only read. Visibility comes from `people.permissions`, the same rules the API and the
services apply. The deal page lives in `web.deal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dealcraft.deals.models import Deal, Status
from dealcraft.domain.process import Process
from dealcraft.errors import InvalidInput
from dealcraft.people.models import User
from dealcraft.people.permissions import visible_deals
from dealcraft.people.services import change_password
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


@login_required
@never_cache
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; the session stays signed in, other sessions end."""
    user = request.user
    assert isinstance(user, User)  # login_required
    error, field = "", ""
    if request.method == "POST":
        try:
            change_password(acting_user=user,
                            old_password=request.POST.get("old_password", ""),
                            new_password=request.POST.get("new_password", ""),
                            repeat=request.POST.get("repeat", ""))
        except InvalidInput as exc:
            error, field = exc.message, exc.field
        else:
            update_session_auth_hash(request, user)
            messages.success(request, "Your password has been changed.")
            return redirect("web:password-change")
    return render(request, "web/password_change.html", {"error": error, "error_field": field},
                  status=422 if error else 200)
