"""My day: the signed-in user's overdue next steps, deals without a next step, stuck deals
and tasks, most urgent first (the order is documented in `analytics.today`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dealcraft.analytics.today import my_day
from dealcraft.processes.services import active_process


@require_GET
@login_required
def today(request: HttpRequest) -> HttpResponse:
    """Everyone sees the deals they own; nobody sees anyone else's day."""
    _, process = active_process()
    day = my_day(request.user, process)
    return render(request, "web/today/today.html",
                  {"day": day, "today": timezone.localdate()})
