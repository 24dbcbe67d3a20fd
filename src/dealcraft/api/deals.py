"""`/api/v1/deals`: deals and the records that move them through the process."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pydantic
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Router, Status
from ninja.errors import HttpError, ValidationError

from dealcraft.crm.models import Account
from dealcraft.deals import services as deal_services
from dealcraft.deals.models import Activity, Deal, Evidence, NextStep, StageHistory, Stakeholder
from dealcraft.errors import InvalidInput, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import visible_deals
from dealcraft.processes.services import active_process

from .auth import caller
from .pagination import SortKey, page, parse_sort, sorted_page
from .problems import PayloadTooLarge
from .query import reject_unknown
from .responses import responses
from .schemas import (
    DEAL_SORTS,
    ActivityFilters,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    AdvanceConflictProblem,
    AdvanceIn,
    CloseIn,
    ConflictProblem,
    DealCreateIn,
    DealFilters,
    DealOut,
    DealPage,
    DealPatchIn,
    EvidenceFilters,
    EvidenceIn,
    EvidenceOut,
    EvidencePage,
    HistoryOut,
    NextStepIn,
    NextStepPage,
    PageFilters,
    QualificationIn,
    QualificationOut,
    ReopenIn,
    StakeholderIn,
    StakeholderOut,
    StakeholderPage,
    Text,
    TransitionOut,
)
from .serializers import (
    activity_out,
    deal_out,
    deal_rows,
    evidence_out,
    history_out,
    next_step_record_out,
    qualification_out,
    stakeholder_out,
    transition_out,
)

router = Router()

MAX_ID = 2**63 - 1
#: Room for the form fields and boundaries around an evidence file in a multipart body.
FORM_OVERHEAD = 256 * 1024
_ID_RE = re.compile(r"[0-9]{1,18}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_ETAG_RE = re.compile(r'(?:W/)?"?([0-9]{1,9})"?')

DealId = PathEx[int, P(ge=1, le=MAX_ID, description="The deal's id.")]
EvidenceId = PathEx[int, P(ge=1, le=MAX_ID, description="The evidence's id.")]
ActivityId = PathEx[int, P(ge=1, le=MAX_ID, description="The activity's id.")]


def _reload(deal: Deal) -> Deal:
    return deal_rows().get(pk=deal.pk)


def _user_named(username: str | None, field: str) -> User:
    user = User.objects.filter(username=username).first() if username else None
    if user is None:
        raise InvalidInput(f"there is no user '{username or ''}'", field)
    return user


def _account(account_id: int, field: str = "account_id") -> Account:
    account = Account.objects.filter(pk=account_id).first() if 0 < account_id <= MAX_ID else None
    if account is None:
        raise InvalidInput(f"account {account_id} does not exist", field)
    return account


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _if_match(request: HttpRequest) -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    match = _ETAG_RE.fullmatch(header.strip())
    if match is None:
        raise InvalidInput('If-Match must carry the version you read, e.g. "3"', "If-Match")
    return int(match.group(1))


def _etag(response: HttpResponse, deal: Deal) -> None:
    response["ETag"] = f'"{deal.version}"'


# ---------------------------------------------------------------------------- deals


def _finite_decimal(raw: str) -> Decimal:
    value = Decimal(raw)
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


def _aware_datetime(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError("a cursor's moments carry their offset")
    return value


DEAL_SORT_KEYS = {
    "id": SortKey("id", int),
    "created_at": SortKey("created_at", _aware_datetime),
    "updated_at": SortKey("updated_at", _aware_datetime),
    "amount": SortKey("amount", _finite_decimal),
    "expected_close": SortKey("expected_close", date.fromisoformat),
    "name": SortKey("name", str),
    "probability": SortKey("probability", int),
}
assert set(DEAL_SORT_KEYS) == set(DEAL_SORTS)


@router.get("", response=responses({200: DealPage}, 422), summary="List deals")
def list_deals(request: HttpRequest, filters: Query[DealFilters]) -> dict[str, Any]:
    """Deals the caller may see, a page at a time: newest first, or in the `sort` order.
    Every filter narrows the list; an unknown parameter, filter value or sort field is a
    422 naming it."""
    reject_unknown(request, DealFilters)
    user = caller(request)
    key, descending = parse_sort(filters.sort, DEAL_SORT_KEYS)
    _, process = active_process()
    # The page is chosen on the deals table alone (only the id and the sort field), then its
    # deals are loaded with their related rows: joined into the first query, SQLite's planner
    # may start from the owners and sort every visible deal to keep 50.
    rows = visible_deals(user, Deal.objects.only("pk", key.field),
                         visibility=process.settings.visibility)
    if filters.stage:
        stages = [stage.key for stage in process.stages] + ["won", "lost"]
        if filters.stage not in stages:
            raise InvalidInput(f"'{filters.stage}' is not a stage of the active process; use "
                               f"one of: {', '.join(stages)}", "stage")
        rows = rows.filter(stage=filters.stage)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.owner:
        if _ID_RE.fullmatch(filters.owner):
            rows = rows.filter(owner_id=int(filters.owner))
        else:
            rows = rows.filter(owner__username=filters.owner)
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.account_id is not None:
        rows = rows.filter(account_id=filters.account_id)
    if filters.forecast_category:
        rows = rows.filter(forecast_category=filters.forecast_category)
    if filters.currency:
        if not _CURRENCY_RE.fullmatch(filters.currency.upper()):
            raise InvalidInput("currency is a three-letter ISO 4217 code", "currency")
        rows = rows.filter(currency=filters.currency.upper())
    _range(filters.expected_close_from, filters.expected_close_to, "expected_close")
    if filters.expected_close_from is not None:
        rows = rows.filter(expected_close__gte=filters.expected_close_from)
    if filters.expected_close_to is not None:
        rows = rows.filter(expected_close__lte=filters.expected_close_to)
    _range(filters.amount_min, filters.amount_max, "amount")
    if filters.amount_min is not None:
        rows = rows.filter(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        rows = rows.filter(amount__lte=filters.amount_max)
    if filters.updated_since is not None:
        rows = rows.filter(updated_at__gte=_aware(filters.updated_since))
    if key.field == "id" and descending:
        # The default order keeps the cursors lists have always had.
        chosen, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    else:
        chosen, next_cursor = sorted_page(rows, key=key, descending=descending,
                                          cursor=filters.cursor, limit=filters.limit)
    loaded = deal_rows().in_bulk([deal.pk for deal in chosen])
    return {"items": [deal_out(loaded[deal.pk]) for deal in chosen if deal.pk in loaded],
            "next_cursor": next_cursor}


def _range(low: Any, high: Any, name: str) -> None:
    if low is not None and high is not None and low > high:
        bound = "_to" if name == "expected_close" else "_max"
        raise InvalidInput(f"{name}{bound} is before {name}"
                           f"{'_from' if bound == '_to' else '_min'}; the range is empty",
                           name + bound)


@router.post("", response=responses({201: DealOut}, 422), summary="Create a deal")
def create_deal(request: HttpRequest, payload: DealCreateIn) -> Status:
    """Open a deal in the process's first stage, owned by the caller unless `owner` says."""
    user = caller(request)
    deal = deal_services.create_deal(
        acting_user=user, name=payload.name, amount=payload.amount, currency=payload.currency,
        expected_close=payload.expected_close,
        owner=_user_named(payload.owner, "owner") if payload.owner is not None else None,
        account=_account(payload.account_id) if payload.account_id is not None else None,
        fields=payload.fields,
    )
    return Status(201, deal_out(_reload(deal)))


@router.get("/{deal_id}", response=responses({200: DealOut}, 404), summary="Get a deal")
def get_deal(request: HttpRequest, response: HttpResponse, deal_id: DealId,
             ) -> dict[str, Any]:
    """The deal; its `ETag` is its version, for `If-Match` on PATCH."""
    deal = deal_services.get_deal_for(caller(request), deal_id)
    _etag(response, deal)
    return deal_out(deal)


@router.patch("/{deal_id}", response=responses({200: DealOut, 409: ConflictProblem}, 404, 422),
              summary="Change a deal",
              openapi_extra={"parameters": [{
                  "in": "header", "name": "If-Match", "required": False,
                  "schema": {"type": "string"},
                  "description": 'The version you read, as `"3"`; instead of `version`.'}]})
def patch_deal(request: HttpRequest, response: HttpResponse, payload: DealPatchIn,
               deal_id: DealId) -> dict[str, Any]:
    """Change the deal's own fields. Send the `version` you read: a stale one gets 409 with the
    deal as it is now. Stages change through `advance`, `close` and `reopen`."""
    user = caller(request)
    version = payload.version if payload.version is not None else _if_match(request)
    if version is None:
        raise InvalidInput("send the version you read, as `version` or an If-Match header",
                           "version")
    sent = payload.model_fields_set - {"version"}
    changes: dict[str, Any] = {
        name: getattr(payload, name)
        for name in ("name", "amount", "currency", "expected_close", "forecast_category",
                     "probability", "fields")
        if name in sent
    }
    if "owner" in sent:
        changes["owner"] = _user_named(payload.owner, "owner")
    if "account_id" in sent:
        changes["account"] = (None if payload.account_id is None
                              else _account(payload.account_id))
    deal = deal_services.update_deal(acting_user=user, deal=deal_id, version=version,
                                     changes=changes)
    deal = _reload(deal)
    _etag(response, deal)
    return deal_out(deal)


# ---------------------------------------------------------------------------- evidence


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _json_body(request: HttpRequest, schema: type[pydantic.BaseModel]) -> Any:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "Cannot parse request body") from None
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError([{"loc": ["body", "payload", *e["loc"]], "msg": e["msg"],
                                "type": e["type"]}
                               for e in exc.errors(include_url=False)]) from None


_EVIDENCE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/EvidenceIn"}},
        "multipart/form-data": {"schema": {
            "type": "object",
            "required": ["criterion", "file"],
            "properties": {
                "criterion": {"type": "string"},
                "text": {"type": "string", "description": "An optional note on the file."},
                "file": {"type": "string", "format": "binary"},
            },
        }},
    },
}


@router.post("/{deal_id}/evidence", response=responses({201: EvidenceOut}, 404, 413, 422),
             summary="Record evidence for an exit criterion",
             openapi_extra={"requestBody": _EVIDENCE_BODY})
def add_evidence(request: HttpRequest, deal_id: DealId) -> Status:
    """A note or a link as JSON, or a file as multipart/form-data. Files larger than the
    configured maximum get 413; types other than PDF, text, CSV, images, Office documents
    and e-mail get 422."""
    user = caller(request)
    limit = settings.DEALCRAFT_EVIDENCE_MAX_BYTES
    upload = None
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # Refuse before Django streams a huge upload to disk.
        if _content_length(request) > limit + FORM_OVERHEAD:
            raise PayloadTooLarge(limit)
        upload = request.FILES.get("file")
        if upload is not None and (upload.size or 0) > limit:
            raise PayloadTooLarge(limit)
        form = {k: request.POST.get(k, "").replace("\x00", "") for k in ("criterion", "text",
                                                                          "url", "kind")}
        kind = "file" if upload is not None else (form["kind"] or "text")
        criterion, text, url = form["criterion"], form["text"], form["url"]
    else:
        body: EvidenceIn = _json_body(request, EvidenceIn)
        kind, criterion, text, url = body.kind, body.criterion, body.text, body.url
    evidence = deal_services.record_evidence(acting_user=user, deal=deal_id, criterion=criterion,
                                             kind=kind, text=text, url=url, file=upload)
    return Status(201, evidence_out(evidence))


# ---------------------------------------------------------------------------- the deal's records


@router.post("/{deal_id}/next-step", response=responses({200: DealOut}, 404, 422),
             summary="Set the next step")
def set_next_step(request: HttpRequest, payload: NextStepIn, deal_id: DealId,
                  ) -> dict[str, Any]:
    """Give the deal a dated next step (the previous one stays in its history); returns the
    deal, whose `version` has moved on."""
    user = caller(request)
    deal_services.set_next_step(
        acting_user=user, deal=deal_id, text=payload.text, due=payload.due,
        owner=_user_named(payload.owner, "owner") if payload.owner is not None else None,
        buyer_confirmed=payload.buyer_confirmed,
    )
    return deal_out(deal_rows().get(pk=deal_id))


@router.post("/{deal_id}/activities", response=responses({201: ActivityOut}, 404, 422),
             summary="Log an activity")
def log_activity(request: HttpRequest, payload: ActivityIn, deal_id: DealId) -> Status:
    """A call, email, meeting or note (done now unless `done` is false), or a task."""
    activity = deal_services.log_activity(
        acting_user=caller(request), deal=deal_id, kind=payload.kind, subject=payload.subject,
        body=payload.body, due_at=_aware(payload.due_at), done=payload.done)
    return Status(201, activity_out(activity))


@router.post("/{deal_id}/stakeholders", response=responses({201: StakeholderOut}, 404, 422),
             summary="Name a stakeholder")
def add_stakeholder(request: HttpRequest, payload: StakeholderIn, deal_id: DealId,
                    ) -> Status:
    """Name an existing contact of the deal's account (`contact_id`) or a new one
    (`contact`) in a role."""
    contact_id = payload.contact_id
    if contact_id is not None and not 0 < contact_id <= MAX_ID:
        raise InvalidInput(f"contact {contact_id} does not exist", "contact_id")
    stakeholder = deal_services.name_contact_on_deal(
        acting_user=caller(request), deal=deal_id, role=payload.role, contact_id=contact_id,
        new_contact=payload.contact.model_dump() if payload.contact is not None else None,
        influence=payload.influence, support=payload.support)
    return Status(201, stakeholder_out(stakeholder))


@router.post("/{deal_id}/qualification", response=responses({200: QualificationOut}, 404, 422),
             summary="Answer a qualification criterion")
def answer_qualification(request: HttpRequest, payload: QualificationIn,
                         deal_id: DealId) -> dict[str, Any]:
    """Score one criterion of a framework from 0 (unknown) to 3 (confirmed, with evidence)."""
    answer = deal_services.answer_qualification(
        acting_user=caller(request), deal=deal_id, framework=payload.framework,
        criterion=payload.criterion, level=payload.level, evidence=payload.evidence)
    return qualification_out(answer)


# ---------------------------------------------------------------------------- reading the records


@router.get("/{deal_id}/stakeholders", response=responses({200: StakeholderPage}, 404, 422),
            summary="List a deal's stakeholders")
def list_stakeholders(request: HttpRequest, deal_id: DealId,
                      filters: Query[PageFilters]) -> dict[str, Any]:
    """The contacts named on the deal and their roles, most recently named first."""
    reject_unknown(request, PageFilters)
    deal = deal_services.get_deal_for(caller(request), deal_id)
    rows = Stakeholder.objects.filter(deal=deal).select_related("contact__account", "added_by")
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [stakeholder_out(s) for s in items], "next_cursor": next_cursor}


@router.get("/{deal_id}/activities", response=responses({200: ActivityPage}, 404, 422),
            summary="List a deal's activities and tasks")
def list_activities(request: HttpRequest, deal_id: DealId,
                    filters: Query[ActivityFilters]) -> dict[str, Any]:
    """Calls, emails, meetings, notes and tasks, newest first. `kind=task&open=true` gives
    the tasks still to do."""
    reject_unknown(request, ActivityFilters)
    deal = deal_services.get_deal_for(caller(request), deal_id)
    rows = Activity.objects.filter(deal=deal).select_related("owner")
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.open is not None:
        rows = rows.filter(done_at__isnull=filters.open)
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [activity_out(a) for a in items], "next_cursor": next_cursor}


@router.post("/{deal_id}/activities/{activity_id}/complete",
             response=responses({200: ActivityOut}, 404, 422),
             summary="Mark a task or activity done")
def complete_activity(request: HttpRequest, deal_id: DealId,
                      activity_id: ActivityId) -> dict[str, Any]:
    """Mark an open task (or any activity not done yet) done now; one already done is a 422
    with `field: "activity"`."""
    user = caller(request)
    deal_services.get_deal_for(user, deal_id)
    if not Activity.objects.filter(pk=activity_id, deal_id=deal_id).exists():
        raise NotFound(f"deal {deal_id} has no activity {activity_id}")
    activity = deal_services.complete_activity(acting_user=user, activity=activity_id)
    activity = Activity.objects.select_related("owner").get(pk=activity.pk)
    return activity_out(activity)


@router.get("/{deal_id}/evidence", response=responses({200: EvidencePage}, 404, 422),
            summary="List a deal's evidence")
def list_evidence(request: HttpRequest, deal_id: DealId,
                  filters: Query[EvidenceFilters]) -> dict[str, Any]:
    """Notes, links and files recorded against exit criteria, newest first. A file's content
    is at `/deals/{deal_id}/evidence/{evidence_id}/file`."""
    reject_unknown(request, EvidenceFilters)
    deal = deal_services.get_deal_for(caller(request), deal_id)
    rows = Evidence.objects.filter(deal=deal).select_related("recorded_by")
    if filters.criterion:
        rows = rows.filter(criterion=filters.criterion)
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [evidence_out(e) for e in items], "next_cursor": next_cursor}


def safe_filename(name: str) -> str:
    """A file name fit for a Content-Disposition header: no path, no control or formatting
    characters (which could split a header or disguise the extension), at most 150
    characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.strip().strip(".") or "evidence"
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:150]
    return name


_FILE_RESPONSE = {200: {"description": "The file, as an attachment.",
                        "content": {"application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}}}}}


@router.get("/{deal_id}/evidence/{evidence_id}/file", response=responses({200: None}, 404),
            summary="Download an evidence file",
            openapi_extra={"responses": _FILE_RESPONSE})
def download_evidence(request: HttpRequest, deal_id: DealId,
                      evidence_id: EvidenceId) -> FileResponse:
    """The file of a `file` evidence, for those who may read the deal; always served as an
    attachment (`Content-Disposition: attachment`), with `X-Content-Type-Options: nosniff`.
    404 for evidence that is a note or a link, or whose file is gone."""
    deal = deal_services.get_deal_for(caller(request), deal_id)
    evidence = Evidence.objects.filter(pk=evidence_id, deal=deal).first()
    if evidence is None:
        raise NotFound(f"deal {deal_id} has no evidence {evidence_id}")
    if evidence.kind != Evidence.Kind.FILE or not evidence.file:
        raise NotFound(f"evidence {evidence_id} is a {evidence.get_kind_display().lower()}, "
                       "not a file")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise NotFound(f"the file of evidence {evidence_id} is missing from storage") from None
    response = FileResponse(handle, as_attachment=True,
                            filename=safe_filename(evidence.file_name),
                            content_type=evidence.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/{deal_id}/next-steps", response=responses({200: NextStepPage}, 404, 422),
            summary="A deal's next step and its earlier ones")
def list_next_steps(request: HttpRequest, deal_id: DealId,
                    filters: Query[PageFilters]) -> dict[str, Any]:
    """`current` is the deal's next step (or null); `items` every next step ever set on it,
    newest first, a page at a time."""
    reject_unknown(request, PageFilters)
    deal = deal_services.get_deal_for(caller(request), deal_id)
    rows = NextStep.objects.filter(deal=deal).select_related("owner", "set_by")
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    current = deal.next_step_id
    current_row = next((s for s in items if s.pk == current), None)
    if current is not None and current_row is None:
        current_row = rows.filter(pk=current).first()
    return {"current": (next_step_record_out(current_row, current_id=current)
                        if current_row is not None else None),
            "items": [next_step_record_out(s, current_id=current) for s in items],
            "next_cursor": next_cursor}


# ---------------------------------------------------------------------------- stage moves


@router.get("/{deal_id}/gate", response=responses({200: TransitionOut}, 404, 422),
            by_alias=True, summary="Preview a stage move")
def preview_gate(request: HttpRequest, to: Text, deal_id: DealId) -> dict[str, Any]:
    """What moving the deal to `to` needs: each gate's met and unmet criteria, and whether the
    move would be allowed. Changes nothing."""
    deal = deal_services.get_deal_for(caller(request), deal_id)
    if deal.status != "open":
        raise InvalidInput(f"the deal is {deal.status}; reopen it first", "to")
    return transition_out(deal_services.preview_move(deal, to))


@router.post("/{deal_id}/advance",
             response=responses({200: DealOut, 409: AdvanceConflictProblem}, 404, 422),
             summary="Move a deal to another stage")
def advance(request: HttpRequest, payload: AdvanceIn, deal_id: DealId) -> dict[str, Any]:
    """Move through the process's gates. Refused moves get 409 with the `unmet` criteria;
    a manager of the deal's team or an admin may send `override_reason` to move anyway.
    `to: "won"` closes the deal as won."""
    deal = deal_services.advance_stage(
        acting_user=caller(request), deal=deal_id, to=payload.to,
        override_reason=payload.override_reason, reason=payload.reason, version=payload.version)
    return deal_out(_reload(deal))


@router.post("/{deal_id}/close",
             response=responses({200: DealOut, 409: AdvanceConflictProblem}, 404, 422),
             summary="Close a deal as won or lost")
def close(request: HttpRequest, payload: CloseIn, deal_id: DealId) -> dict[str, Any]:
    """Won goes through the won gate (the handoff criteria); lost needs a `reason`."""
    user = caller(request)
    if payload.outcome == "won":
        deal = deal_services.close_won(acting_user=user, deal=deal_id,
                                       override_reason=payload.override_reason,
                                       version=payload.version)
    else:
        deal = deal_services.close_lost(acting_user=user, deal=deal_id, reason=payload.reason,
                                        category=payload.category, version=payload.version)
    return deal_out(_reload(deal))


@router.post("/{deal_id}/reopen", response=responses({200: DealOut, 409: ConflictProblem},
                                                     404, 422),
             summary="Reopen a closed deal")
def reopen(request: HttpRequest, payload: ReopenIn, deal_id: DealId) -> dict[str, Any]:
    """Back into the stage it was lost from (or the last stage), or into `to`."""
    deal = deal_services.reopen_deal(acting_user=caller(request), deal=deal_id,
                                     reason=payload.reason, to=payload.to,
                                     version=payload.version)
    return deal_out(_reload(deal))


@router.get("/{deal_id}/history", response=responses({200: list[HistoryOut]}, 404),
            by_alias=True, summary="A deal's stage history")
def history(request: HttpRequest, deal_id: DealId) -> list[dict[str, Any]]:
    """Every stage change, oldest first, with the gate result and process version it ran
    under."""
    deal = deal_services.get_deal_for(caller(request), deal_id)
    rows = (StageHistory.objects.filter(deal=deal).select_related("by", "process_version")
            .order_by("at", "id"))
    return [history_out(entry) for entry in rows]
