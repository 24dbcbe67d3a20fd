"""The only code that changes deals. Each function is one state change: atomic, checked
against the acting user's permissions and the process, and written to the audit log."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from dealcraft.audit.services import record
from dealcraft.cleaning import clean_text
from dealcraft.crm.models import Account, Contact
from dealcraft.domain.gates import Transition, UnknownStage, check_transition
from dealcraft.domain.process import ACTIVITY_KINDS, QUALIFICATION_LEVEL_MAX, Process
from dealcraft.errors import Conflict, GateRefused, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import (
    can_edit_deal,
    can_override,
    can_view_deal,
    managed_team_ids,
)
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import active_process
from dealcraft.webhooks.services import emit as emit_webhook

from .facts import deal_facts
from .models import (
    Activity,
    Deal,
    Evidence,
    NextStep,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
    Status,
)

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("9999999999999999.99")
EVIDENCE_CONTENT_TYPES = {
    "application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "message/rfc822",
}
UPDATABLE = ("name", "account", "owner", "amount", "currency", "expected_close",
             "forecast_category", "probability", "fields")


# ---------------------------------------------------------------------------- helpers


def clean_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"amount {value!r} is not a number", "amount") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise InvalidInput("amount must be between 0 and 9,999,999,999,999,999.99", "amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("amount has more than two decimal places", "amount")
    return amount.quantize(Decimal("0.01"))


def clean_currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_RE.match(value.strip().upper()):
        raise InvalidInput(f"currency {value!r} is not a three-letter ISO 4217 code", "currency")
    return value.strip().upper()


def _clean_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} {value!r} is not a date (YYYY-MM-DD)", field) from None


def _clean_custom_fields(process: Process, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise InvalidInput("fields must be an object of field keys to values", "fields")
    out: dict[str, Any] = {}
    for key, value in values.items():
        spec = process.custom_field(key)
        where = f"fields.{key}"
        if spec is None:
            known = ", ".join(f.key for f in process.fields)
            raise InvalidInput(f"unknown field '{key}' (this process has: {known})", where)
        if value is None or value == "":
            out[key] = None
        elif spec.type == "text":
            out[key] = clean_text(value, where, max_length=5000)
        elif spec.type == "number":
            if isinstance(value, bool):
                raise InvalidInput(f"{where} must be a number", where)
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise InvalidInput(f"{where} must be a number", where) from None
            if not number.is_finite():
                raise InvalidInput(f"{where} must be a finite number", where)
            out[key] = str(number)
        elif spec.type == "date":
            out[key] = _clean_date(value, where).isoformat()
        elif spec.type == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"{where} must be true or false", where)
            out[key] = value
        elif spec.type == "choice":
            if value not in spec.choices:
                raise InvalidInput(f"{where} must be one of: {', '.join(spec.choices)}", where)
            out[key] = value
    return out


def _lock(deal: Deal | int) -> Deal:
    pk = deal.pk if isinstance(deal, Deal) else deal
    try:
        return (Deal.objects.select_for_update(of=("self",))
                .select_related("account", "next_step").get(pk=pk))
    except Deal.DoesNotExist:
        raise NotFound(f"deal {pk} does not exist") from None


def _require_edit(user: User, deal: Deal) -> None:
    if not can_edit_deal(user, deal):
        if can_view_deal(user, deal):
            raise NotAllowed("You may read this deal but not change it.")
        raise NotAllowed("You do not have access to this deal.")


def _check_version(deal: Deal, version: int | None) -> None:
    if version is not None and int(version) != deal.version:
        raise Conflict(f"The deal changed since you read it (you sent version {version}; it is "
                       f"now version {deal.version}). Reload and apply your change again.",
                       current=deal)


def _history(deal: Deal, *, kind: str, from_stage: str, to_stage: str, by: User | None,
             version: ProcessVersion | None, gate_result: dict[str, Any] | None = None,
             override_reason: str = "", at: datetime | None = None) -> StageHistory:
    return StageHistory.objects.create(
        deal=deal, kind=kind, from_stage=from_stage, to_stage=to_stage, at=at or timezone.now(),
        by=by if getattr(by, "pk", None) else None, amount=deal.amount, currency=deal.currency,
        expected_close=deal.expected_close, forecast_category=deal.forecast_category,
        probability=deal.probability, gate_result=gate_result or {},
        override_reason=override_reason, process_version=version,
    )


def _touch(deal: Deal, fields: list[str]) -> None:
    deal.version += 1
    deal.updated_at = timezone.now()
    deal.save(update_fields=[*fields, "version", "updated_at"])


def get_deal_for(user: User, deal_id: int) -> Deal:
    """A deal the user may read, or NotFound / NotAllowed."""
    deal = (Deal.objects.select_related("account", "owner", "next_step", "team")
            .filter(pk=deal_id).first())
    if deal is None:
        raise NotFound(f"deal {deal_id} does not exist")
    _, process = active_process()
    if not can_view_deal(user, deal, visibility=process.settings.visibility):
        raise NotAllowed("You do not have access to this deal.")
    return deal


# ---------------------------------------------------------------------------- deals


def create_deal(*, acting_user: User, name: str, amount: Any, currency: str | None = None,
                expected_close: Any, owner: User | None = None, account: Account | None = None,
                fields: dict[str, Any] | None = None, external_source: str = "",
                external_id: str = "") -> Deal:
    """Open a new deal in the first stage of the active process."""
    version, process = active_process()
    owner = owner or acting_user
    if owner.pk != acting_user.pk and acting_user.role not in ("admin", "manager", "ops"):
        raise NotAllowed("Reps create deals for themselves only.")
    if acting_user.role == "viewer":
        raise NotAllowed("Viewers cannot create deals.")
    if not owner.is_active:
        raise InvalidInput(f"owner {owner.username} is inactive", "owner")
    first = process.first_stage
    deal = Deal(
        name=clean_text(name, "name", max_length=255),
        amount=clean_amount(amount),
        currency=clean_currency(currency or process.currency),
        expected_close=_clean_date(expected_close, "expected_close"),
        owner=owner, team_id=owner.team_id, account=account,
        stage=first.key, forecast_category=first.forecast_category,
        probability=first.probability,
        fields=_clean_custom_fields(process, fields or {}),
        process_version=version,
        external_source=clean_text(external_source, "external_source", max_length=30,
                                    required=False),
        external_id=clean_text(external_id, "external_id", max_length=100, required=False),
    )
    if deal.external_id and Deal.objects.filter(external_source=deal.external_source,
                                                external_id=deal.external_id).exists():
        raise InvalidInput(f"a deal with external id '{deal.external_id}' from "
                           f"'{deal.external_source or 'unknown source'}' already exists",
                           "external_id")
    if acting_user.role == "manager" and not can_edit_deal(acting_user, deal):
        raise NotAllowed("Managers create deals for their own teams only.")
    with transaction.atomic():
        deal.save()
        _history(deal, kind=StageHistory.Kind.CREATED, from_stage="", to_stage=first.key,
                 by=acting_user, version=version)
        record(actor=acting_user, action="deal.create", obj=deal, deal=deal,
               changes={"name": deal.name, "amount": deal.amount, "currency": deal.currency,
                        "stage": deal.stage, "owner": owner.username})
        emit_webhook("deal.created", deal, {"stage": deal.stage})
    return deal


def update_deal(*, acting_user: User, deal: Deal | int, version: int | None,
                changes: dict[str, Any]) -> Deal:
    """Change a deal's own fields; a stale `version` raises Conflict with the current deal."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(f"cannot change: {', '.join(sorted(unknown))}", sorted(unknown)[0])
    proc_version, process = active_process()
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        _check_version(current, version)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}

        def put(attr: str, value: Any) -> None:
            old = getattr(current, attr)
            if old != value:
                before[attr], after[attr] = old, value
                setattr(current, attr, value)

        if "name" in changes:
            put("name", clean_text(changes["name"], "name", max_length=255))
        if "amount" in changes:
            put("amount", clean_amount(changes["amount"]))
        if "currency" in changes:
            put("currency", clean_currency(changes["currency"]))
        if "expected_close" in changes:
            put("expected_close", _clean_date(changes["expected_close"], "expected_close"))
        if "account" in changes:
            put("account", changes["account"])
        if "owner" in changes:
            owner = changes["owner"]
            if not isinstance(owner, User) or not owner.is_active:
                raise InvalidInput("owner must be an active user", "owner")
            if acting_user.role == "rep" and owner.pk != acting_user.pk:
                raise NotAllowed("Ask your manager to reassign a deal.")
            if acting_user.role == "manager" and owner.pk != acting_user.pk \
                    and owner.team_id not in managed_team_ids(acting_user):
                raise NotAllowed("Managers reassign deals within the teams they manage.")
            put("owner", owner)
            put("team_id", owner.team_id)
        if "forecast_category" in changes:
            category = changes["forecast_category"]
            if category not in ("pipeline", "best_case", "commit", "omitted"):
                raise InvalidInput("forecast_category must be pipeline, best_case, commit or "
                                   "omitted", "forecast_category")
            if current.status != Status.OPEN:
                raise InvalidInput("a closed deal's forecast category is closed",
                                   "forecast_category")
            put("forecast_category", category)
            # The owner's choice is kept through later stage changes (see advance_stage).
            put("forecast_category_overridden", True)
        if "probability" in changes:
            p = changes["probability"]
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 100:
                raise InvalidInput("probability must be a whole number from 0 to 100",
                                   "probability")
            put("probability", p)
        if "fields" in changes:
            merged = dict(current.fields or {})
            merged.update(_clean_custom_fields(process, changes["fields"]))
            merged = {k: v for k, v in merged.items() if v is not None}
            put("fields", merged)
        if not after:
            return current
        _touch(current, [k for k in after if k != "team_id"] + (
            ["team"] if "team_id" in after else []))
        if {"amount", "currency", "expected_close", "forecast_category"} & set(after):
            _history(current, kind=StageHistory.Kind.UPDATE, from_stage=current.stage,
                     to_stage=current.stage, by=acting_user, version=proc_version)
        record(actor=acting_user, action="deal.update", obj=current, deal=current,
               changes={k: {"from": _audit_value(before[k]), "to": _audit_value(after[k])}
                        for k in after})
    return current


def _audit_value(value: Any) -> Any:
    if hasattr(value, "pk"):
        return str(value)
    return value


# ---------------------------------------------------------------------------- evidence etc.


def record_evidence(*, acting_user: User, deal: Deal | int, criterion: str, kind: str = "text",
                    text: str = "", url: str = "", file: UploadedFile | None = None) -> Evidence:
    """Record proof against an exit criterion: a note, a link or a file."""
    _, process = active_process()
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        if process.criterion(criterion) is None:
            raise InvalidInput(f"'{criterion}' is not an exit criterion of the active process",
                               "criterion")
        stage = next((s for s, c in process.all_criteria() if c.key == criterion), "")
        evidence = Evidence(deal=current, criterion=criterion, stage=stage,
                            recorded_by=acting_user)
        if kind == "text":
            evidence.kind = Evidence.Kind.TEXT
            evidence.text = clean_text(text, "text", max_length=20000)
        elif kind == "link":
            evidence.kind = Evidence.Kind.LINK
            url = clean_text(url, "url", max_length=2000)
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise InvalidInput(f"{url!r} is not an http(s) link", "url") from None
            evidence.url = url
            evidence.text = clean_text(text, "text", max_length=20000, required=False)
        elif kind == "file":
            if file is None:
                raise InvalidInput("a file is required", "file")
            limit = settings.DEALCRAFT_EVIDENCE_MAX_BYTES
            if file.size is None or file.size > limit:
                raise InvalidInput(f"the file is larger than {limit // (1024 * 1024)} MiB", "file")
            ctype = (file.content_type or "").split(";")[0].strip().lower()
            if ctype not in EVIDENCE_CONTENT_TYPES:
                raise InvalidInput(f"files of type {ctype or 'unknown'} are not accepted; use "
                                   "PDF, text, CSV, images or Office documents", "file")
            evidence.kind = Evidence.Kind.FILE
            evidence.file_name = clean_text(file.name or "evidence", "file name",
                                             max_length=255)
            evidence.content_type, evidence.size = ctype, file.size
            evidence.file.save(evidence.file_name, file, save=False)
            evidence.text = clean_text(text, "text", max_length=20000, required=False)
        else:
            raise InvalidInput("kind must be text, link or file", "kind")
        evidence.save()
        current.updated_at = timezone.now()
        current.save(update_fields=["updated_at"])
        record(actor=acting_user, action="evidence.record", obj=evidence, deal=current,
               changes={"criterion": criterion, "kind": evidence.kind})
    return evidence


def set_next_step(*, acting_user: User, deal: Deal | int, text: str, due: Any,
                  owner: User | None = None, buyer_confirmed: bool = False) -> NextStep:
    """Give the deal its dated next step; the previous one stays in the step history."""
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        step = NextStep.objects.create(
            deal=current, text=clean_text(text, "text", max_length=500),
            due=_clean_date(due, "due"), owner=owner or current.owner,
            buyer_confirmed=bool(buyer_confirmed), set_by=acting_user,
        )
        current.next_step = step
        _touch(current, ["next_step"])
        record(actor=acting_user, action="deal.next_step", obj=step, deal=current,
               changes={"text": step.text, "due": step.due,
                        "buyer_confirmed": step.buyer_confirmed})
    return step


def log_activity(*, acting_user: User, deal: Deal | int, kind: str, subject: str,
                 body: str = "", due_at: datetime | None = None,
                 done_at: datetime | None = None, done: bool | None = None) -> Activity:
    """Log a call, email, meeting or note (done now unless dated), or schedule a task."""
    if kind not in ACTIVITY_KINDS:
        raise InvalidInput(f"kind must be one of: {', '.join(ACTIVITY_KINDS)}", "kind")
    if done is None:
        done = kind != "task"
    if done and done_at is None:
        done_at = timezone.now()
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        activity = Activity.objects.create(
            deal=current, kind=kind, subject=clean_text(subject, "subject", max_length=255),
            body=clean_text(body, "body", max_length=50000, required=False),
            owner=acting_user, due_at=due_at, done_at=done_at if done else None,
        )
        current.updated_at = timezone.now()
        current.save(update_fields=["updated_at"])
        record(actor=acting_user, action="activity.log", obj=activity, deal=current,
               changes={"kind": kind, "subject": activity.subject})
    return activity


def complete_activity(*, acting_user: User, activity: Activity | int) -> Activity:
    """Mark an open activity (usually a scheduled task) done now."""
    pk = activity.pk if isinstance(activity, Activity) else activity
    deal_id = Activity.objects.filter(pk=pk).values_list("deal_id", flat=True).first()
    if deal_id is None:
        raise NotFound(f"activity {pk} does not exist")
    with transaction.atomic():
        # The deal is locked first, as every other deal service does, so two writers on the
        # same deal always queue in the same order.
        current = _lock(deal_id)
        _require_edit(acting_user, current)
        done = Activity.objects.select_for_update().get(pk=pk)
        if done.done_at is not None:
            raise InvalidInput("this activity is already done", "activity")
        done.done_at = timezone.now()
        done.save(update_fields=["done_at"])
        current.updated_at = done.done_at
        current.save(update_fields=["updated_at"])
        record(actor=acting_user, action="activity.complete", obj=done, deal=current,
               changes={"kind": done.kind, "subject": done.subject})
    return done


def name_stakeholder(*, acting_user: User, deal: Deal | int, contact: Contact, role: str,
                     influence: int = 2, support: int = 0) -> Stakeholder:
    """Name a contact's role on the deal (economic buyer, champion…)."""
    _, process = active_process()
    roles = dict(process.stakeholder_roles)
    if role not in roles:
        raise InvalidInput(f"role must be one of: {', '.join(roles)}", "role")
    if influence not in (1, 2, 3) or support not in (-1, 0, 1):
        raise InvalidInput("influence is 1–3 and support is -1, 0 or 1", "influence")
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        stakeholder, created = Stakeholder.objects.get_or_create(
            deal=current, contact=contact, role=role,
            defaults={"influence": influence, "support": support, "added_by": acting_user})
        if not created:
            stakeholder.influence, stakeholder.support = influence, support
            stakeholder.save(update_fields=["influence", "support"])
        record(actor=acting_user, action="stakeholder.name", obj=stakeholder, deal=current,
               changes={"contact": contact.name, "role": role})
    return stakeholder


def name_contact_on_deal(*, acting_user: User, deal: Deal | int, role: str,
                         contact_id: int | None = None,
                         new_contact: dict[str, str] | None = None,
                         influence: int = 2, support: int = 0) -> Stakeholder:
    """Name an existing contact of the deal's account, or a new contact created at that
    account, in a role. The new contact and its role are one change: a refused role leaves
    no stray contact behind."""
    from dealcraft.crm.services import create_contact

    if (contact_id is None) == (new_contact is None):
        raise InvalidInput("give either an existing contact or a new one", "contact_id")
    contact: Contact | None = None
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        if new_contact is not None:
            contact = create_contact(acting_user=acting_user, account=current.account,
                                     **new_contact)
        elif contact_id is not None:
            contact = Contact.objects.filter(pk=contact_id).first()
            if contact is None:
                raise InvalidInput(f"contact {contact_id} does not exist", "contact_id")
            if current.account_id is not None and contact.account_id != current.account_id:
                raise InvalidInput("pick a contact of the deal's account", "contact_id")
        assert contact is not None  # one of the two branches above ran
        return name_stakeholder(acting_user=acting_user, deal=current, contact=contact,
                                role=role, influence=influence, support=support)


def answer_qualification(*, acting_user: User, deal: Deal | int, framework: str, criterion: str,
                         level: int, evidence: str = "") -> QualificationAnswer:
    """Score one criterion of a qualification framework (0 unknown … 3 confirmed)."""
    _, process = active_process()
    try:
        fw = process.framework(framework)
    except KeyError:
        raise InvalidInput(f"unknown framework '{framework}'", "framework") from None
    if criterion not in {c.key for c in fw.criteria}:
        raise InvalidInput(f"'{criterion}' is not a criterion of {fw.name}", "criterion")
    if isinstance(level, bool) or not isinstance(level, int) \
            or not 0 <= level <= QUALIFICATION_LEVEL_MAX:
        raise InvalidInput("level must be 0, 1, 2 or 3", "level")
    if level == QUALIFICATION_LEVEL_MAX and not evidence.strip():
        raise InvalidInput("level 3 means confirmed with evidence: say what the evidence is",
                           "evidence")
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        answer, _ = QualificationAnswer.objects.update_or_create(
            deal=current, framework=framework, criterion=criterion,
            defaults={"level": level, "answered_by": acting_user, "answered_at": timezone.now(),
                      "evidence": clean_text(evidence, "evidence", max_length=5000,
                                              required=False)})
        record(actor=acting_user, action="qualification.answer", obj=answer, deal=current,
               changes={"framework": framework, "criterion": criterion, "level": level})
    return answer


# ---------------------------------------------------------------------------- stage moves


def preview_move(deal: Deal, to: str) -> Transition:
    """What moving the deal to `to` would need, without changing anything."""
    _, process = active_process()
    try:
        return check_transition(process, deal.stage, to, deal_facts(deal))
    except UnknownStage as exc:
        raise InvalidInput(str(exc), "to") from None


def advance_stage(*, acting_user: User, deal: Deal | int, to: str, override_reason: str = "",
                  reason: str = "", version: int | None = None) -> Deal:
    """Move an open deal to another stage (or to `won`) through the process's gates.

    Refused moves raise GateRefused carrying the unmet list. A manager of the deal's team (or
    an admin) may pass `override_reason` to move anyway; the reason is kept in history.
    Moving back may need `reason`, per the process settings.
    """
    override_reason = clean_text(override_reason, "override_reason", max_length=2000,
                                  required=False)
    reason = clean_text(reason, "reason", max_length=2000, required=False)
    proc_version, process = active_process()
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        _check_version(current, version)
        if current.status != Status.OPEN:
            raise InvalidInput(f"the deal is {current.status}; reopen it first", "to")
        if override_reason and (process.settings.override == "nobody"
                                or not can_override(acting_user, current)):
            raise NotAllowed("Only a manager of the deal's team or an admin may override a "
                             "stage gate." if process.settings.override == "managers" else
                             "This process does not allow overriding stage gates.")
        try:
            transition = check_transition(process, current.stage, to, deal_facts(current))
        except UnknownStage as exc:
            raise InvalidInput(str(exc), "to") from None
        if transition.needs_reason and not (reason or override_reason):
            raise InvalidInput("Moving a deal back needs a reason.", "reason")
        if not transition.allowed and not override_reason:
            raise GateRefused(_refusal(process, transition), transition)
        kind = {"forward": StageHistory.Kind.ADVANCE, "skip": StageHistory.Kind.SKIP,
                "backward": StageHistory.Kind.BACKWARD, "won": StageHistory.Kind.WON,
                }[transition.direction]
        if not transition.allowed:
            kind = StageHistory.Kind.WON if to == "won" else StageHistory.Kind.OVERRIDE
        gate_result = transition.as_dict()
        if reason:
            gate_result["reason"] = reason
        from_stage = current.stage
        if to == "won":
            _close(current, Status.WON)
        else:
            stage = process.stage(to)
            current.stage = to
            current.probability = stage.probability
            if not current.forecast_category_overridden:
                current.forecast_category = stage.forecast_category
            current.stage_entered_at = timezone.now()
        current.process_version = proc_version
        _touch(current, ["stage", "status", "probability", "forecast_category",
                         "forecast_category_overridden", "stage_entered_at", "closed_at",
                         "process_version"])
        _history(current, kind=kind, from_stage=from_stage, to_stage=to, by=acting_user,
                 version=proc_version, gate_result=gate_result,
                 override_reason=override_reason if not transition.allowed else "")
        record(actor=acting_user, action=f"deal.{kind}", obj=current, deal=current,
               changes={"from": from_stage, "to": to,
                        "override_reason": override_reason if not transition.allowed else "",
                        "unmet": [u.key for u in transition.blocking],
                        "warnings": [u.key for u in transition.warnings]})
        emit_webhook("deal.won" if to == "won" else "deal.stage_changed", current,
                     {"from": from_stage, "to": to, "kind": str(kind), "reason": reason,
                      "override_reason": override_reason if not transition.allowed else ""})
    return current


def _refusal(process: Process, transition: Transition) -> str:
    n = len(transition.blocking)
    target = "won" if transition.to_stage == "won" else process.stage(transition.to_stage).name
    return f"Cannot move to {target}: {n} exit criteri{'on is' if n == 1 else 'a are'} not met."


def _close(deal: Deal, status: str) -> None:
    deal.status = status
    deal.closed_at = timezone.now()
    deal.stage_entered_at = deal.closed_at
    deal.forecast_category_overridden = False
    if status == Status.WON:
        deal.stage, deal.probability, deal.forecast_category = "won", 100, "closed"
    else:
        deal.lost_from_stage = deal.stage
        deal.stage, deal.probability, deal.forecast_category = "lost", 0, "omitted"


def close_won(*, acting_user: User, deal: Deal | int, override_reason: str = "",
              version: int | None = None) -> Deal:
    """Close as won: the last stage's gate and the handoff criteria must be met."""
    return advance_stage(acting_user=acting_user, deal=deal, to="won",
                         override_reason=override_reason, version=version)


def close_lost(*, acting_user: User, deal: Deal | int, reason: str, category: str = "",
               version: int | None = None) -> Deal:
    """Close as lost, with a written reason; records the stage it was lost from."""
    reason = clean_text(reason, "reason", max_length=5000)
    proc_version, process = active_process()
    categories = dict(process.lost_reasons)
    if category and category not in categories:
        raise InvalidInput(f"loss category must be one of: {', '.join(categories)}", "category")
    if not category:
        lowered = reason.casefold()
        category = next((k for k, name in categories.items()
                         if lowered in (k.casefold(), name.casefold())), "")
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        _check_version(current, version)
        if current.status != Status.OPEN:
            raise InvalidInput(f"the deal is already {current.status}", "outcome")
        from_stage = current.stage
        _close(current, Status.LOST)
        current.lost_reason, current.lost_reason_category = reason, category
        current.process_version = proc_version
        _touch(current, ["stage", "status", "probability", "forecast_category",
                         "forecast_category_overridden", "stage_entered_at", "closed_at",
                         "lost_reason", "lost_reason_category", "lost_from_stage",
                         "process_version"])
        _history(current, kind=StageHistory.Kind.LOST, from_stage=from_stage, to_stage="lost",
                 by=acting_user, version=proc_version,
                 gate_result={"reason": reason, "category": category})
        record(actor=acting_user, action="deal.lost", obj=current, deal=current,
               changes={"from": from_stage, "reason": reason, "category": category})
        emit_webhook("deal.lost", current, {"from": from_stage, "to": "lost", "reason": reason,
                                            "category": category})
    return current


def reopen_deal(*, acting_user: User, deal: Deal | int, reason: str, to: str = "",
                version: int | None = None) -> Deal:
    """Reopen a closed deal, by default in the stage it was lost from (or the last stage)."""
    reason = clean_text(reason, "reason", max_length=2000)
    proc_version, process = active_process()
    with transaction.atomic():
        current = _lock(deal)
        _require_edit(acting_user, current)
        _check_version(current, version)
        if current.status == Status.OPEN:
            raise InvalidInput("the deal is already open", "to")
        target = to or (current.lost_from_stage if current.status == Status.LOST
                        else process.stages[-1].key)
        if not process.has_stage(target):
            target = process.stages[-1].key if not to else target
            if not process.has_stage(target):
                raise InvalidInput(f"'{to}' is not a stage of this process", "to")
        from_status = current.status
        stage = process.stage(target)
        current.status, current.stage, current.closed_at = Status.OPEN, target, None
        current.probability, current.forecast_category = stage.probability, stage.forecast_category
        current.stage_entered_at = timezone.now()
        current.process_version = proc_version
        # An open deal carries no loss; the `lost` history row keeps what it was.
        current.lost_reason = current.lost_reason_category = current.lost_from_stage = ""
        _touch(current, ["status", "stage", "closed_at", "probability", "forecast_category",
                         "forecast_category_overridden", "stage_entered_at",
                         "process_version", "lost_reason",
                         "lost_reason_category", "lost_from_stage"])
        _history(current, kind=StageHistory.Kind.REOPEN, from_stage=from_status,
                 to_stage=target, by=acting_user, version=proc_version,
                 gate_result={"reason": reason})
        record(actor=acting_user, action="deal.reopen", obj=current, deal=current,
               changes={"from": from_status, "to": target, "reason": reason})
        emit_webhook("deal.reopened", current, {"from": from_status, "to": target,
                                                "reason": reason})
    return current
