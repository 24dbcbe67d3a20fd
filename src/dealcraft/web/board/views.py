"""The pipeline board: columns of open deals per stage, moving deals through their gates.

Every endpoint answers an htmx request with the fragment it swaps and any other request with
a whole page (or a redirect after a change), so the board works without JavaScript. Moves go
through `deals.services.advance_stage`, the same service the API calls. As on the deal page,
a move the gate refuses answers 409 and invalid input 422, each with the panel to act on
(htmx requests get 200 with that status in `X-Board-Status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dealcraft.deals.models import Deal
from dealcraft.deals.services import (
    advance_stage,
    get_deal_for,
    preview_move,
    record_evidence,
    set_next_step,
)
from dealcraft.domain.gates import Transition, Unmet
from dealcraft.domain.process import Process
from dealcraft.errors import GateRefused, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import can_edit_deal, can_override
from dealcraft.processes.services import active_process
from dealcraft.web import services as web_services
from dealcraft.web.models import SavedView

from . import queries
from .forms import BoardFilters, filter_query

#: The response header telling board.js how a move ended, so a dragged card can go back.
MOVE_HEADER = "X-Board-Move"


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here requires one)."""
    return cast(User, request.user)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _filters(params: QueryDict | str) -> tuple[dict[str, Any], str]:
    """Parsed filter values and their canonical query string (never anything else)."""
    if isinstance(params, str):
        params = QueryDict(params)
    values = BoardFilters(params).valid()
    return values, filter_query(values)


def _board_url(query: str, anchor: str = "") -> str:
    url = reverse("web:board") + (f"?{query}" if query else "")
    return url + (f"#{anchor}" if anchor else "")


def _deal(request: HttpRequest, deal_id: int) -> Deal:
    try:
        return get_deal_for(_user(request), deal_id)
    except NotFound:
        raise Http404("No such deal.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None


def _stage_name(process: Process, key: str) -> str:
    if key == "won":
        return "Won"
    return process.stage(key).name if process.has_stage(key) else key


# ---------------------------------------------------------------------------- the board


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    """A column per open stage with its totals; each column's cards load on their own."""
    _, process = active_process()
    user = _user(request)
    form = BoardFilters(request.GET, owners=queries.owner_choices(user, process),
                        teams=queries.team_choices(user, process))
    values = form.valid()
    query = filter_query(values)
    deals = queries.open_deals(user, process, values)
    return render(request, "web/board/board.html", {
        "form": form,
        "query": query,
        "filtered": bool(values),
        "columns": queries.columns(process, deals),
        "saved_views": list(SavedView.objects.filter(user=user)),
        "page_size": queries.PAGE_SIZE,
    })


@require_GET
@login_required
def column(request: HttpRequest, stage: str) -> HttpResponse:
    """One page of a column's cards: a fragment for htmx, else a page of its own."""
    _, process = active_process()
    if not process.has_stage(stage):
        raise Http404("No such stage.")
    values, query = _filters(request.GET)
    deals = queries.open_deals(_user(request), process, values)
    after = queries.Cursor.parse(request.GET.get("after"))
    page = queries.card_page(_user(request), process, deals, stage, after)
    context = {"page": page, "stage": process.stage(stage), "query": query, "after": after}
    if _htmx(request):
        return render(request, "web/board/_cards.html", context)
    context["column"] = queries.columns(process, deals, (stage,))[0]
    return render(request, "web/board/column.html", context)


# ---------------------------------------------------------------------------- moving a deal


@dataclass(frozen=True)
class Fix:
    """An unmet criterion and how the panel offers to meet it."""

    key: str
    label: str
    message: str
    how: str  # evidence | stakeholder | next_step | deal | none
    buyer_confirmed: bool = False  # a next step the buyer must have confirmed


def _fixes(process: Process, unmet: tuple[Unmet, ...]) -> list[Fix]:
    out = []
    for item in unmet:
        criterion = process.criterion(item.key)
        kind = criterion.kind if criterion else ""
        how = {"checklist": "evidence", "stakeholder": "stakeholder",
               "next_step": "next_step"}.get(kind, "deal" if criterion else "none")
        out.append(Fix(item.key, item.label, item.message, how,
                       buyer_confirmed=bool(criterion and criterion.buyer_confirmed)))
    return out


#: Carries a refusal's status on htmx requests, which are answered 200 (see `_panel`).
STATUS_HEADER = "X-Board-Status"


def _panel(request: HttpRequest, process: Process, deal: Deal, to: str, *, outcome: str,
           query: str, transition: Transition | None = None, error: str = "",
           notice: str = "", status: int = 200, oob_card: bool = False) -> HttpResponse:
    """The move panel: what a move needs and the ways to meet it, or why it failed."""
    user = _user(request)
    blocked = transition is not None and not transition.allowed
    context = {
        "deal": deal,
        "to": to,
        "to_name": _stage_name(process, to),
        "from_name": _stage_name(process, deal.stage),
        "outcome": outcome,
        "transition": transition,
        "fixes": _fixes(process, transition.blocking) if transition else [],
        "warnings": transition.warnings if transition else (),
        "needs_reason": bool(transition and transition.needs_reason),
        "can_edit": can_edit_deal(user, deal),
        "can_override": blocked and process.settings.override != "nobody"
        and can_override(user, deal),
        "error": error,
        "notice": notice,
        "query": query,
        "board_url": _board_url(query, f"column-{deal.stage}"),
    }
    if _htmx(request):
        if oob_card:
            context["card"] = queries.card_for(user, process, deal.pk)
        # htmx gets 200 so the browser logs no failed request for an expected refusal; the
        # real status travels in a header, as on the deal page.
        refused = status in (409, 422)
        response = render(request, "web/board/_panel.html", context,
                          status=200 if refused else status)
        response[STATUS_HEADER] = str(status)
    else:
        response = render(request, "web/board/move.html", context, status=status)
    response[MOVE_HEADER] = outcome
    return response


def _not_allowed(request: HttpRequest, process: Process, deal: Deal, to: str, query: str,
                 exc: NotAllowed) -> HttpResponse:
    if not _htmx(request):
        raise PermissionDenied(exc.message)
    return _panel(request, process, deal, to, outcome="error", query=query, error=exc.message,
                  status=403)


@require_http_methods(["GET", "POST"])
@login_required
def move(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: what moving the deal to `to` needs. POST: move it (with a reason or override)."""
    _, process = active_process()
    deal = _deal(request, deal_id)
    data = request.POST if request.method == "POST" else request.GET
    to = data.get("to", "")
    _, query = _filters(data.get("filters", ""))
    if request.method == "GET":
        try:
            transition = preview_move(deal, to)
        except InvalidInput as exc:
            return _panel(request, process, deal, to, outcome="error", query=query,
                          error=exc.message, status=422)
        return _panel(request, process, deal, to, outcome="preview", query=query,
                      transition=transition)

    overriding = "override" in request.POST
    override_reason = request.POST.get("override_reason", "") if overriding else ""
    if overriding and not override_reason.strip():
        return _panel(request, process, deal, to, outcome="refused", query=query,
                      transition=preview_move(deal, to),
                      error="Give the reason for overriding the gate.", status=422)
    from_stage = deal.stage
    try:
        moved = advance_stage(acting_user=_user(request), deal=deal, to=to,
                              override_reason=override_reason,
                              reason=request.POST.get("reason", ""))
    except GateRefused as exc:
        return _panel(request, process, deal, to, outcome="refused", query=query,
                      transition=exc.transition, status=409)
    except NotAllowed as exc:
        return _not_allowed(request, process, deal, to, query, exc)
    except InvalidInput as exc:
        if exc.field == "reason":
            return _panel(request, process, deal, to, outcome="refused", query=query,
                          transition=preview_move(deal, to), error=exc.message, status=422)
        return _panel(request, process, deal, to, outcome="error", query=query,
                      error=exc.message, status=422)

    notice = f"Moved “{moved.name}” to {_stage_name(process, to)}."
    if not _htmx(request):
        messages.success(request, notice)
        return HttpResponseRedirect(_board_url(query, f"column-{moved.stage}"
                                               if moved.status == "open" else ""), status=303)
    values, _ = _filters(query)
    affected = tuple(k for k in (from_stage, moved.stage) if process.has_stage(k))
    response = render(request, "web/board/_moved.html", {
        "deal": moved,
        "notice": notice,
        "columns": queries.columns(process, queries.open_deals(_user(request), process, values),
                                   affected),
        "query": query,
    })
    response[MOVE_HEADER] = "moved"
    return response


def _after_fix(request: HttpRequest, process: Process, deal_id: int, to: str, query: str,
               notice: str) -> HttpResponse:
    """After evidence or a next step is recorded: the move's needs again, or back to them."""
    if not _htmx(request):
        messages.success(request, notice)
        params = QueryDict(mutable=True)
        params.update({"to": to, "filters": query})
        return HttpResponseRedirect(
            reverse("web:board-move", args=[deal_id]) + "?" + params.urlencode(), status=303)
    deal = _deal(request, deal_id)  # read again: the change may have moved its next step
    try:
        transition = preview_move(deal, to)
    except InvalidInput as exc:
        return _panel(request, process, deal, to, outcome="error", query=query,
                      error=exc.message, status=422)
    return _panel(request, process, deal, to, outcome="preview", query=query,
                  transition=transition, notice=notice, oob_card=True)


def _fix_failed(request: HttpRequest, process: Process, deal: Deal, to: str, query: str,
                exc: InvalidInput) -> HttpResponse:
    try:
        transition = preview_move(deal, to)
    except InvalidInput:
        transition = None
    return _panel(request, process, deal, to, outcome="preview", query=query,
                  transition=transition, error=exc.message, status=422)


@require_POST
@login_required
def add_evidence(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Record a note as evidence for an exit criterion, from the move panel."""
    _, process = active_process()
    deal = _deal(request, deal_id)
    to = request.POST.get("to", "")
    _, query = _filters(request.POST.get("filters", ""))
    criterion = request.POST.get("criterion", "")
    try:
        record_evidence(acting_user=_user(request), deal=deal,
                        criterion=criterion, kind="text", text=request.POST.get("text", ""))
    except NotAllowed as exc:
        return _not_allowed(request, process, deal, to, query, exc)
    except InvalidInput as exc:
        return _fix_failed(request, process, deal, to, query, exc)
    found = process.criterion(criterion)
    label = found.label if found else criterion
    return _after_fix(request, process, deal.pk, to, query, f"Evidence recorded for “{label}”.")


@require_POST
@login_required
def set_step(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Give the deal a dated next step, from the move panel."""
    _, process = active_process()
    deal = _deal(request, deal_id)
    to = request.POST.get("to", "")
    _, query = _filters(request.POST.get("filters", ""))
    try:
        step = set_next_step(acting_user=_user(request), deal=deal,
                             text=request.POST.get("text", ""),
                             due=request.POST.get("due", ""),
                             buyer_confirmed=request.POST.get("buyer_confirmed") == "on")
    except NotAllowed as exc:
        return _not_allowed(request, process, deal, to, query, exc)
    except InvalidInput as exc:
        return _fix_failed(request, process, deal, to, query, exc)
    return _after_fix(request, process, deal.pk, to, query,
                      f"Next step set for {step.due.isoformat()}.")


# ---------------------------------------------------------------------------- saved views


@require_POST
@login_required
def save_view(request: HttpRequest) -> HttpResponse:
    """Save the filters in use under a name, then show the board with them."""
    _, query = _filters(request.POST.get("filters", ""))
    try:
        web_services.save_view(acting_user=_user(request), name=request.POST.get("name", ""),
                               query=query)
    except InvalidInput as exc:
        messages.error(request, f"The view was not saved: {exc.message}.")
    else:
        messages.success(request, f"Saved the view “{request.POST.get('name', '').strip()}”.")
    return HttpResponseRedirect(_board_url(query), status=303)


@require_POST
@login_required
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete one of your own saved views."""
    try:
        web_services.delete_view(acting_user=_user(request), view=view_id)
    except NotFound:
        raise Http404("No such saved view.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, "Deleted the saved view.")
    _, query = _filters(request.POST.get("filters", ""))
    return HttpResponseRedirect(_board_url(query), status=303)
