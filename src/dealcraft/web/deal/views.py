"""The deal page and the forms on it.

Each POST parses its form, calls one service and redirects back to the page (to the section
it changed). A refusal re-renders the page with the error next to the form that caused it:
422 for invalid input, 409 for a refused gate or a stale edit (htmx requests get 200 with the
status in `X-Deal-Refused`), 403 for anyone who may read the deal but not change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account
from dealcraft.crm.services import create_account
from dealcraft.deals import services
from dealcraft.deals.models import Activity, Deal, Evidence
from dealcraft.domain.process import Process
from dealcraft.errors import Conflict, GateRefused, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import can_edit_deal, can_view_deal
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import active_process

from . import forms
from .page import (
    CAP,
    AccountPick,
    Failed,
    Refusal,
    account_matches,
    audit_rows,
    conflict_view,
    deal_page,
    history_rows,
    refusal_for,
    since_version,
    stage_names,
)

Loaded = tuple[Deal, ProcessVersion, Process]


def _load(request: HttpRequest, deal_id: int) -> Loaded:
    """The deal if the user may read it: 404 when it does not exist, 403 when it is not theirs
    to see."""
    version, process = active_process()
    deal = (Deal.objects.select_related("account", "owner", "team", "next_step__owner")
            .filter(pk=deal_id).first())
    if deal is None:
        raise Http404("No such deal.")
    if not can_view_deal(request.user, deal, visibility=process.settings.visibility):
        raise PermissionDenied("You do not have access to this deal.")
    return deal, version, process


def _load_for_edit(request: HttpRequest, deal_id: int) -> Loaded:
    loaded = _load(request, deal_id)
    if not can_edit_deal(request.user, loaded[0]):
        raise PermissionDenied("You may read this deal but not change it.")
    return loaded


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required guarantees it
    return user


#: Carries a refusal's status on htmx requests, which are answered 200 (see `_page`).
REFUSED_HEADER = "X-Deal-Refused"


def _page(request: HttpRequest, loaded: Loaded, *, status: int = 200,
          **state: Any) -> HttpResponse:
    deal, version, process = loaded
    context = deal_page(_user(request), deal, version, process, **state)
    if status != 200 and getattr(request, "htmx", False):
        # htmx leaves non-2xx answers unswapped and the browser logs them as errors; a refusal
        # here is an ordinary page to show, so htmx gets it as 200 with the status alongside.
        response = render(request, "web/deal/page.html", context)
        response[REFUSED_HEADER] = str(status)
        return response
    return render(request, "web/deal/page.html", context, status=status)


def _back(deal: Deal, anchor: str, message: str, request: HttpRequest) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("web:deal-detail", args=[deal.pk]) + f"#{anchor}")


def _refused(request: HttpRequest, loaded: Loaded, form: str, values: Mapping[str, Any],
             errors: Mapping[str, str], *, status: int = 422) -> HttpResponse:
    errors = dict(errors)
    errors.setdefault("form", next(iter(errors.values()), "Not saved."))
    return _page(request, loaded, status=status,
                 failed=Failed(form=form, values=dict(values), errors=errors))


def _invalid(request: HttpRequest, loaded: Loaded, form: str, values: Mapping[str, Any],
             exc: InvalidInput) -> HttpResponse:
    field = exc.field.split(".")[0] if exc.field else "form"
    if field == "fields":
        field = "field_" + exc.field.split(".", 1)[1]
    return _refused(request, loaded, form, values, {field: exc.message, "form": exc.message})


def _values(request: HttpRequest) -> dict[str, Any]:
    return {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}


def services_refusal_is_403(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A service's NotAllowed is a 403 like any other, whichever form asked."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None

    return wrapper


# ---------------------------------------------------------------------------- reading


@require_GET
@login_required
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    """One deal: where it stands in the process, what its gate needs, and its records."""
    return _page(request, _load(request, deal_id))


@require_GET
@login_required
def evidence_download(request: HttpRequest, deal_id: int, evidence_id: int) -> FileResponse:
    """An evidence file, for those who may read the deal, always as a download: it is the
    buyer's document, never a page of this site."""
    deal, _, _ = _load(request, deal_id)
    evidence = Evidence.objects.filter(pk=evidence_id, deal=deal,
                                       kind=Evidence.Kind.FILE).first()
    if evidence is None or not evidence.file:
        raise Http404("No such file.")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=evidence.file_name,
                            content_type=evidence.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def history_list(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal, _, process = _load(request, deal_id)
    page = Paginator(deal.history.select_related("by", "process_version").order_by("at", "id"),
                     CAP).get_page(request.GET.get("page"))
    return render(request, "web/deal/history.html", {
        "deal": deal, "page": page, "rows": history_rows(process, page)})


@require_GET
@login_required
def audit_list(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal, _, process = _load(request, deal_id)
    page = Paginator(AuditEvent.objects.filter(deal=deal).select_related("actor")
                     .order_by("-at", "-id"), CAP).get_page(request.GET.get("page"))
    return render(request, "web/deal/audit.html", {
        "deal": deal, "page": page, "rows": audit_rows(process, page)})


def _evidence_list(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal, _, process = _load(request, deal_id)
    criterion = request.GET.get("criterion", "")
    rows = Evidence.objects.filter(deal=deal).select_related("recorded_by")
    if criterion:
        rows = rows.filter(criterion=criterion)
    page = Paginator(rows.order_by("-recorded_at", "-id"), CAP).get_page(request.GET.get("page"))
    labels = {c.key: c.label for _, c in process.all_criteria()}
    return render(request, "web/deal/evidence.html", {
        "deal": deal, "page": page, "criterion": criterion,
        "criterion_label": labels.get(criterion, criterion),
        "rows": [(ev, labels.get(ev.criterion, ev.criterion)) for ev in page]})


# ---------------------------------------------------------------------------- the records


@require_http_methods(["GET", "POST"])
@login_required
@services_refusal_is_403
def evidence(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: all the deal's evidence, a page at a time. POST: record a note, link or file."""
    if request.method == "GET":
        return _evidence_list(request, deal_id)
    loaded = _load_for_edit(request, deal_id)
    form = forms.EvidenceForm(request.POST, request.FILES)
    key = request.POST.get("criterion", "")
    name = f"evidence-{key}"
    if not form.is_valid():
        return _refused(request, loaded, name, _values(request), forms.first_errors(form))
    try:
        services.record_evidence(acting_user=_user(request), deal=loaded[0], criterion=key,
                                 kind=form.kind, text=form.cleaned_data["text"],
                                 url=form.cleaned_data["url"], file=form.cleaned_data["file"])
    except InvalidInput as exc:
        return _invalid(request, loaded, name, _values(request), exc)
    return _back(loaded[0], f"criterion-{key}", "Evidence recorded.", request)


@require_POST
@login_required
@services_refusal_is_403
def answer_qualification(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    form = forms.QualificationForm(request.POST)
    name = f"qualification-{request.POST.get('framework', '')}-{request.POST.get('criterion', '')}"
    if not form.is_valid():
        return _refused(request, loaded, name, _values(request), forms.first_errors(form))
    data = form.cleaned_data
    try:
        services.answer_qualification(acting_user=_user(request), deal=loaded[0],
                                      framework=data["framework"], criterion=data["criterion"],
                                      level=data["level"], evidence=data["evidence"])
    except InvalidInput as exc:
        return _invalid(request, loaded, name, _values(request), exc)
    return _back(loaded[0], f"q-{data['framework']}-{data['criterion']}",
                 "Qualification answer saved.", request)


@require_POST
@login_required
@services_refusal_is_403
def add_stakeholder(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    deal = loaded[0]
    form = forms.StakeholderForm(request.POST)
    if not form.is_valid():
        return _refused(request, loaded, "stakeholder", _values(request),
                        forms.first_errors(form))
    data = form.cleaned_data
    new_contact = None if data["contact"] else {
        "first_name": data["first_name"], "last_name": data["last_name"],
        "email": data["email"], "title": data["title"]}
    try:
        stakeholder = services.name_contact_on_deal(
            acting_user=_user(request), deal=deal, role=data["role"],
            contact_id=data["contact"] or None, new_contact=new_contact,
            influence=data["influence"], support=data["support"])
    except InvalidInput as exc:
        return _invalid(request, loaded, "stakeholder", _values(request), exc)
    return _back(deal, "stakeholders", f"{stakeholder.contact.name} named as a stakeholder.",
                 request)


@require_POST
@login_required
@services_refusal_is_403
def set_next_step(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    deal = loaded[0]
    form = forms.NextStepForm(request.POST)
    if not form.is_valid():
        return _refused(request, loaded, "next-step", _values(request), forms.first_errors(form))
    data = form.cleaned_data
    owner = deal.owner
    if data["owner"] and data["owner"] != deal.owner_id:
        found = User.objects.filter(pk=data["owner"], is_active=True).first()
        if found is None:
            return _refused(request, loaded, "next-step", _values(request),
                            {"owner": "Pick an active user.", "form": "Pick an active user."})
        owner = found
    try:
        services.set_next_step(acting_user=_user(request), deal=deal, text=data["text"],
                               due=data["due"] or "", owner=owner,
                               buyer_confirmed=data["buyer_confirmed"])
    except InvalidInput as exc:
        return _invalid(request, loaded, "next-step", _values(request), exc)
    return _back(deal, "next-step", "Next step set.", request)


@require_http_methods(["GET", "POST"])
@login_required
@services_refusal_is_403
def activities(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: the whole timeline, a page at a time. POST: log an activity or schedule a task."""
    if request.method == "GET":
        deal, _, _ = _load(request, deal_id)
        page = Paginator(Activity.objects.filter(deal=deal).select_related("owner")
                         .order_by("-created_at", "-id"), CAP).get_page(request.GET.get("page"))
        return render(request, "web/deal/activities.html", {"deal": deal, "page": page})
    loaded = _load_for_edit(request, deal_id)
    form = forms.ActivityForm(request.POST)
    if not form.is_valid():
        return _refused(request, loaded, "activity", _values(request), forms.first_errors(form))
    data = form.cleaned_data
    is_task = data["kind"] == "task"
    try:
        services.log_activity(acting_user=_user(request), deal=loaded[0], kind=data["kind"],
                              subject=data["subject"], body=data["body"],
                              due_at=data["due"] if is_task else None)
    except InvalidInput as exc:
        return _invalid(request, loaded, "activity", _values(request), exc)
    return _back(loaded[0], "activities", "Task scheduled." if is_task else "Activity logged.",
                 request)


@require_POST
@login_required
@services_refusal_is_403
def complete_activity(request: HttpRequest, deal_id: int, activity_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    if not Activity.objects.filter(pk=activity_id, deal=loaded[0]).exists():
        raise Http404("No such activity on this deal.")
    try:
        services.complete_activity(acting_user=_user(request), activity=activity_id)
    except InvalidInput as exc:
        return _invalid(request, loaded, "activity", {}, exc)
    except NotFound:
        raise Http404("No such activity.") from None
    return _back(loaded[0], "activities", "Marked done.", request)


@require_POST
@login_required
@services_refusal_is_403
def edit_fields(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    deal, _, process = loaded
    form = forms.DealFieldsForm(process, request.POST)
    if not form.is_valid():
        return _refused(request, loaded, "fields", _values(request), forms.first_errors(form))
    sent_version = form.cleaned_data["version"]
    changes = form.changes()
    if not changes:
        return _back(deal, "deal-fields", "Nothing to save: no field was changed.", request)
    try:
        services.update_deal(acting_user=_user(request), deal=deal, version=sent_version,
                             changes=changes)
    except Conflict as exc:
        # Nothing was written. The form comes back holding the user's edits over the current
        # values and version, so sending it again applies those edits on top of the others.
        sent = _values(request)
        view = conflict_view(process, deal, sent, since_version(deal, sent_version),
                             exc.message)
        return _page(request, loaded, status=409, conflict=view,
                     failed=Failed(form="fields", values=sent, errors={"form": exc.message}))
    except InvalidInput as exc:
        return _invalid(request, loaded, "fields", _values(request), exc)
    return _back(deal, "deal-fields", "Deal saved.", request)


@require_GET
@login_required
def account_search(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The account picker's suggestions for `?q=`: the accounts whose name starts with it."""
    _load_for_edit(request, deal_id)
    return render(request, "web/deal/_account_options.html",
                  {"accounts": account_matches(request.GET.get("q", ""))})


def _picked_account(data: Mapping[str, Any]) -> Account | AccountPick:
    """The account the picker names: the one picked from the list while the name typed is still
    its name, else the only account with the typed name; an `AccountPick` when that is not one."""
    typed = data["account_name"].strip()
    if data["account"]:
        picked = Account.objects.filter(pk=data["account"]).first()
        if picked is not None and picked.name.casefold() == typed.casefold():
            return picked
    if not typed:
        raise InvalidInput("type an account's name, or pick one from the list", "account_name")
    matches = account_matches(typed, exact=True)
    if len(matches) == 1:
        return matches[0]
    return AccountPick(name=typed, choices=tuple(matches))


def _ask_to_pick(request: HttpRequest, loaded: Loaded, pick: AccountPick) -> HttpResponse:
    if pick.choices:
        message = f"Several accounts are called “{pick.name}”: pick one."
    else:
        message = f"No account is called “{pick.name}”: create it, or pick another."
    return _page(request, loaded, status=422, account_pick=pick,
                 failed=Failed(form="account", values=_values(request),
                               errors={"account_name": message, "form": message}))


@require_POST
@login_required
@services_refusal_is_403
def set_account(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Set the deal's account (an existing one, or a new one by that name) or clear it."""
    loaded = _load_for_edit(request, deal_id)
    deal, _, process = loaded
    form = forms.AccountForm(request.POST)
    if not form.is_valid():
        return _refused(request, loaded, "account", _values(request), forms.first_errors(form))
    data = form.cleaned_data
    user = _user(request)
    action = data["action"] or "set"
    try:
        # A new account and the deal's change are one: a stale version leaves no stray account.
        with transaction.atomic():
            account: Account | AccountPick | None = None
            if action == "create":
                account = create_account(acting_user=user, name=data["account_name"])
            elif action == "set":
                account = _picked_account(data)
            if isinstance(account, AccountPick):
                return _ask_to_pick(request, loaded, account)
            services.update_deal(acting_user=user, deal=deal, version=data["version"],
                                 changes={"account": account})
    except Conflict as exc:
        sent = _values(request)
        view = conflict_view(process, deal, sent, since_version(deal, data["version"]),
                             exc.message)
        return _page(request, loaded, status=409, conflict=view,
                     failed=Failed(form="account", values=sent, errors={"form": exc.message}))
    except InvalidInput as exc:
        field = "account_name" if exc.field in ("name", "account_name") else "form"
        return _refused(request, loaded, "account", _values(request),
                        {field: exc.message, "form": exc.message})
    done = f"Account set to {account.name}." if account is not None else "Account cleared."
    return _back(deal, "account-picker", done, request)


# ---------------------------------------------------------------------------- stage moves


@require_POST
@login_required
@services_refusal_is_403
def advance(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Move the deal to another stage (or to won) through the gate; a manager may override."""
    loaded = _load_for_edit(request, deal_id)
    deal, _, process = loaded
    form = forms.MoveForm(request.POST)
    form_name = "override" if request.POST.get("override") else "move"
    if not form.is_valid():
        errors = forms.first_errors(form)
        if form_name == "override":
            # The override form lives in the refusal panel: show the panel again around it.
            refusal = _current_refusal(process, deal, request.POST.get("to", ""))
            errors.setdefault("form", next(iter(errors.values())))
            return _page(request, loaded, status=422, refusal=refusal,
                         failed=Failed(form=form_name, values=_values(request), errors=errors))
        return _refused(request, loaded, form_name, _values(request), errors)
    data = form.cleaned_data
    reason = data["override_reason"] if data["override"] else ""
    try:
        moved = services.advance_stage(acting_user=_user(request), deal=deal, to=data["to"],
                                       override_reason=reason, reason=data["reason"])
    except GateRefused as exc:
        return _page(request, loaded, status=409,
                     refusal=refusal_for(process, deal, exc.transition, exc.message))
    except InvalidInput as exc:
        return _invalid(request, loaded, form_name, _values(request), exc)
    names = stage_names(process)
    done = "Closed as won." if moved.status == "won" else f"Moved to {names[moved.stage]}."
    return _back(moved, "stage-path", done, request)


def _current_refusal(process: Process, deal: Deal, to: str) -> Refusal | None:
    try:
        transition = services.preview_move(deal, to)
    except InvalidInput:
        return None
    if transition.allowed:
        return None
    return refusal_for(process, deal, transition,
                       f"Cannot move to {stage_names(process).get(to, to)}: "
                       f"{len(transition.blocking)} exit criteria not met.")


@require_POST
@login_required
@services_refusal_is_403
def close_lost(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    form = forms.CloseLostForm(request.POST)
    form.is_valid()  # both fields are optional text; the service says what is missing
    try:
        services.close_lost(acting_user=_user(request), deal=loaded[0],
                            reason=form.cleaned_data.get("reason", ""),
                            category=form.cleaned_data.get("category", ""))
    except InvalidInput as exc:
        return _invalid(request, loaded, "close-lost", _values(request), exc)
    return _back(loaded[0], "stage-path", "Closed as lost.", request)


@require_POST
@login_required
@services_refusal_is_403
def reopen(request: HttpRequest, deal_id: int) -> HttpResponse:
    loaded = _load_for_edit(request, deal_id)
    form = forms.ReopenForm(request.POST)
    form.is_valid()
    try:
        services.reopen_deal(acting_user=_user(request), deal=loaded[0],
                             reason=form.cleaned_data.get("reason", ""),
                             to=form.cleaned_data.get("to", ""))
    except InvalidInput as exc:
        return _invalid(request, loaded, "reopen", _values(request), exc)
    return _back(loaded[0], "stage-path", "Reopened.", request)
