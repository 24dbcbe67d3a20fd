"""What the deal page shows, read in a fixed number of queries however long the deal's history.

Long lists (activities, evidence, stage history, audit) are capped on the page; the rest is a
"show all" link away. Everything here reads; the views in `views.py` call the services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account, Contact
from dealcraft.deals.facts import facts_for_deals
from dealcraft.deals.models import (
    Activity,
    Deal,
    Evidence,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
    Status,
)
from dealcraft.domain.gates import DealFacts, GateResult, Transition, check_transition
from dealcraft.domain.gates import evaluate_gate as gate_for
from dealcraft.domain.process import Criterion, Process
from dealcraft.domain.scoring import LEVELS, framework_score
from dealcraft.people.models import User
from dealcraft.people.permissions import can_edit_deal, can_override
from dealcraft.processes.models import ProcessVersion

#: Rows of a long list shown on the page itself; the rest sits behind "show all".
CAP = 50
EVIDENCE_PER_CRITERION = 5
CONTACT_CHOICES = 200
#: Accounts offered for a typed name, in the picker's list or as the choices of an ambiguous name.
ACCOUNT_MATCHES = 20
INFLUENCE = {1: "Low", 2: "Medium", 3: "High"}
SUPPORT = {-1: "Opposes", 0: "Neutral", 1: "Supports"}
ACTIONS = {
    "deal.create": "Created the deal",
    "deal.update": "Changed the deal",
    "deal.next_step": "Set the next step",
    "deal.advance": "Advanced the stage",
    "deal.skip": "Skipped ahead",
    "deal.backward": "Moved back",
    "deal.override": "Advanced by override",
    "deal.won": "Closed as won",
    "deal.lost": "Closed as lost",
    "deal.reopen": "Reopened",
    "evidence.record": "Recorded evidence",
    "activity.log": "Logged an activity",
    "activity.complete": "Completed an activity",
    "stakeholder.name": "Named a stakeholder",
    "qualification.answer": "Answered qualification",
}
# What each kind of criterion is met by, when evidence is not the way: (anchor, action).
MEET_BY = {
    "field_set": ("", "Set it in the deal's fields"),
    "field_compare": ("", "Change it in the deal's fields"),
    "stakeholder": ("stakeholders", "Name a stakeholder"),
    "qualification_score": ("qualification", "Answer the qualification scorecard"),
    "next_step": ("next-step", "Date the next step"),
    "activity": ("activities", "Log the activity"),
    "workspace": ("workspaces", "Work on it in the discovery and solution workspaces"),
}


@dataclass
class Form:
    """What a form shows: its values (current ones, or what the user typed when it was
    refused) and the errors by field; `errors["form"]` is about the form as a whole."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """A posted form the services refused: which form, what was typed, and why."""

    form: str
    values: Mapping[str, Any]
    errors: Mapping[str, str]


@dataclass(frozen=True)
class AccountPick:
    """A typed account name the page could not settle on: several accounts bear it (`choices`,
    to pick one from) or none does (no choices; it may be created)."""

    name: str
    choices: tuple[Account, ...] = ()


@dataclass(frozen=True)
class RefusedItem:
    """An unmet criterion of a refused move, and the anchor of the form that meets it."""

    key: str
    label: str
    message: str
    anchor: str


@dataclass(frozen=True)
class Refusal:
    """A stage move a gate refused, with what is unmet."""

    to: str
    to_name: str
    message: str
    items: tuple[RefusedItem, ...]


@dataclass(frozen=True)
class ConflictView:
    """A stale edit: what the user sent, what the deal holds now, and who changed it since."""

    message: str
    yours: tuple[tuple[str, str, str], ...]  # (label, yours, current) of fields that differ
    changes: tuple[AuditRow, ...]


@dataclass(frozen=True)
class PathStage:
    key: str
    name: str
    state: str  # passed | skipped | current | ahead | won | lost | lost-from
    met: int = 0
    total: int = 0
    mode: str = ""

    @property
    def summary(self) -> str:
        if self.state == "current":
            return f"{self.met} of {self.total} met"
        if self.state == "ahead" and self.key != "lost":
            return f"{self.total} exit criteri{'on' if self.total == 1 else 'a'}"
        return {"passed": "passed", "skipped": "skipped", "won": "won", "lost": "lost",
                "lost-from": "lost here"}.get(self.state, "")


@dataclass
class ChecklistItem:
    criterion: Criterion
    met: bool
    message: str
    evidence: list[Evidence]
    evidence_total: int
    form: Form
    meet_anchor: str = ""
    meet_action: str = ""

    @property
    def key(self) -> str:
        return self.criterion.key

    @property
    def takes_evidence(self) -> bool:
        return self.criterion.kind == "checklist"

    @property
    def more_evidence(self) -> int:
        return max(0, self.evidence_total - len(self.evidence))


@dataclass(frozen=True)
class ScoreRow:
    key: str
    name: str
    prompt: str
    answer: QualificationAnswer | None
    form: Form


@dataclass(frozen=True)
class Scorecard:
    key: str
    name: str
    score: float
    threshold: float | None
    rows: tuple[ScoreRow, ...]

    @property
    def qualified(self) -> bool:
        return self.threshold is not None and self.score >= self.threshold


@dataclass(frozen=True)
class StakeholderRow:
    stakeholder: Stakeholder
    role_name: str
    influence: str
    support: str


@dataclass(frozen=True)
class HistoryRow:
    entry: StageHistory
    from_name: str
    to_name: str
    reason: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    label: str
    changes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FieldInput:
    """One editable deal field as the edit form renders it."""

    name: str  # the form input's name
    label: str
    type: str  # text | longtext | number | amount | date | bool | choice | currency
    value: Any
    original: Any = ""  # the value the form was opened with, posted back as `orig_<name>`
    choices: tuple[str, ...] = ()
    help: str = ""
    error: str = ""


@dataclass(frozen=True)
class Move:
    to: str
    name: str
    transition: Transition


def _successor(prefix: str) -> str:
    """A string of letters and digits sorting after every string that starts with `prefix`, or
    "" when there is none: "acm" → "acn", "acz" → "ad", "zz" → "".

    Carrying past z, Z and 9 instead of stepping to the next code point keeps the bound a letter
    or digit, so the range holds under linguistic collations too, where punctuation sorts apart.
    """
    head = prefix.rstrip("zZ9")
    return head[:-1] + chr(ord(head[-1]) + 1) if head else ""


def _name_ranges(typed: str) -> Q | None:
    """Ranges of `Account.name` (which is indexed) holding every name that starts with `typed`
    in any letter case: one range per case variant of its first three letters or digits."""
    head = ""
    for char in typed[:3]:
        if not (char.isascii() and char.isalnum()):
            break
        head += char
    if not head:
        return None
    ranges = Q()
    for variant in sorted({"".join(chars) for chars in product(
            *({c.lower(), c.upper()} for c in head))}):
        upper = _successor(variant)
        ranges |= Q(name__gte=variant, name__lt=upper) if upper else Q(name__gte=variant)
    return ranges


def account_matches(typed: str, *, exact: bool = False,
                    limit: int = ACCOUNT_MATCHES) -> list[Account]:
    """The accounts whose name starts with `typed` (or is `typed`, when `exact`), ignoring case,
    alphabetically; at most `limit`, in one query.

    The name index narrows the search to the ranges of `_name_ranges`; the case-insensitive test
    then keeps the names that really match. A name that cannot narrow it (starting with
    punctuation or a non-ASCII letter) is matched by that test alone.
    """
    typed = typed.strip()
    if not typed:
        return []
    matching = Q(name__iexact=typed) if exact else Q(name__istartswith=typed)
    ranges = _name_ranges(typed)
    if ranges is not None:
        matching &= ranges
    return list(Account.objects.filter(matching).order_by("name", "id")[:limit])


def stage_names(process: Process) -> dict[str, str]:
    return {**{s.key: s.name for s in process.stages}, "won": "Won", "lost": "Lost"}


def reverse_or(name: str, deal_id: int, fallback: str) -> str:
    """A URL another package owns, or its documented path while that package is not there."""
    try:
        return reverse(name, args=[deal_id])
    except NoReverseMatch:
        return fallback


# ---------------------------------------------------------------------------- formatting


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "—"
    return str(value)


def _field_label(process: Process, key: str) -> str:
    custom = process.custom_field(key)
    return custom.label if custom else key.replace("_", " ").capitalize()


def describe_changes(process: Process, changes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An audit row's `changes` as (what, how) pairs a person reads; custom fields one by one."""
    out: list[tuple[str, str]] = []
    for key, value in changes.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            before, after = value["from"], value["to"]
            if key == "fields" and isinstance(before, dict) and isinstance(after, dict):
                for name in sorted(set(before) | set(after)):
                    if before.get(name) != after.get(name):
                        out.append((_field_label(process, name),
                                    f"{_shown(before.get(name))} → {_shown(after.get(name))}"))
                continue
            out.append((_field_label(process, key), f"{_shown(before)} → {_shown(after)}"))
        else:
            out.append((key.replace("_", " "), _shown(value)))
    return tuple(out)


def audit_rows(process: Process, events: Iterable[AuditEvent]) -> list[AuditRow]:
    return [AuditRow(event=e, label=ACTIONS.get(e.action, e.action),
                     changes=describe_changes(process, e.changes or {})) for e in events]


def history_rows(process: Process, entries: Iterable[StageHistory]) -> list[HistoryRow]:
    names = stage_names(process)
    return [
        HistoryRow(entry=h, from_name=names.get(h.from_stage, h.from_stage),
                   to_name=names.get(h.to_stage, h.to_stage),
                   reason=str((h.gate_result or {}).get("reason", "")),
                   warnings=tuple(str(w.get("label") or w.get("key", ""))
                                  for w in (h.gate_result or {}).get("warnings", ())))
        for h in entries
    ]


# ---------------------------------------------------------------------------- the parts


def stage_path(process: Process, deal: Deal, facts: DealFacts,
               current: GateResult | None) -> list[PathStage]:
    """Every stage with its gate's state, then the two outcomes."""
    keys = process.stage_keys
    anchor = deal.lost_from_stage if deal.status == Status.LOST else deal.stage
    position = keys.index(anchor) if anchor in keys else (
        len(keys) if deal.status == Status.WON else -1)
    path: list[PathStage] = []
    for i, stage in enumerate(process.stages):
        total = len(stage.exit_criteria)
        if deal.status == Status.LOST and i == position:
            state = "lost-from"
        elif i < position or deal.status == Status.WON:
            state = "passed" if stage.key in facts.stage_entered else "skipped"
        elif i == position and current is not None:
            path.append(PathStage(stage.key, stage.name, "current", len(current.met),
                                  current.total, current.mode))
            continue
        else:
            state = "ahead"
        path.append(PathStage(stage.key, stage.name, state, total=total, mode=stage.gate))
    won_state = "won" if deal.status == Status.WON else "ahead"
    path.append(PathStage("won", "Won", won_state, total=len(process.won_criteria),
                          mode=process.won_gate))
    path.append(PathStage("lost", "Lost", "lost" if deal.status == Status.LOST else "ahead"))
    return path


def _evidence_by_criterion(deal: Deal, keys: Sequence[str],
                           ) -> tuple[dict[str, list[Evidence]], dict[str, int]]:
    """The latest few pieces of evidence for each criterion and how many there are, in one
    query however much evidence the deal has."""
    latest: dict[str, list[Evidence]] = defaultdict(list)
    totals: dict[str, int] = {}
    if not keys:
        return latest, totals
    rows = (Evidence.objects.filter(deal=deal, criterion__in=keys)
            .select_related("recorded_by")
            .annotate(rank=Window(RowNumber(), partition_by=[F("criterion")],
                                  order_by=[F("recorded_at").desc(), F("id").desc()]),
                      total=Window(Count("id"), partition_by=[F("criterion")]))
            .filter(rank__lte=EVIDENCE_PER_CRITERION)
            .order_by("criterion", "rank"))
    for row in rows:
        latest[row.criterion].append(row)
        totals[row.criterion] = row.total
    return latest, totals


def _field_anchor(process: Process, key: str) -> str:
    """The input of the fields form that sets a field, or "" when the page cannot set it."""
    if process.custom_field(key) is not None:
        return f"df-field_{key}"
    if key == "account":
        return "account-name"
    return f"df-{key}" if key in ("name", "amount", "currency", "expected_close") else ""


def _checklist(process: Process, criteria: Sequence[Criterion], result: GateResult | None,
               evidence: Mapping[str, list[Evidence]], totals: Mapping[str, int],
               failed: Failed | None) -> list[ChecklistItem]:
    unmet = {u.key: u for u in result.unmet} if result else {}
    items = []
    for c in criteria:
        form = Form()
        if failed is not None and failed.form == f"evidence-{c.key}":
            form = Form(dict(failed.values), dict(failed.errors))
        anchor, action = MEET_BY.get(c.kind, ("", ""))
        if c.kind in ("field_set", "field_compare"):
            anchor = _field_anchor(process, c.field)
        items.append(ChecklistItem(
            criterion=c, met=c.key not in unmet,
            message=unmet[c.key].message if c.key in unmet else "",
            evidence=evidence.get(c.key, []), evidence_total=totals.get(c.key, 0), form=form,
            meet_anchor=anchor, meet_action=action))
    return items


def _scorecards(process: Process, answers: Sequence[QualificationAnswer],
                failed: Failed | None) -> list[Scorecard]:
    by_key = {(a.framework, a.criterion): a for a in answers}
    main = process.qualification_framework
    frameworks = sorted(process.frameworks, key=lambda fw: fw.key != main)
    cards = []
    for fw in frameworks:
        rows = []
        for c in fw.criteria:
            answer = by_key.get((fw.key, c.key))
            form = Form({"level": answer.level if answer else 0,
                         "evidence": answer.evidence if answer else ""})
            if failed is not None and failed.form == f"qualification-{fw.key}-{c.key}":
                form = Form(dict(failed.values), dict(failed.errors))
            rows.append(ScoreRow(key=c.key, name=c.name, prompt=c.prompt, answer=answer,
                                 form=form))
        levels = {c: a.level for (f, c), a in by_key.items() if f == fw.key}
        cards.append(Scorecard(key=fw.key, name=fw.name, score=framework_score(fw, levels),
                               threshold=process.qualification_threshold if fw.key == main
                               else None, rows=tuple(rows)))
    return cards


def edited(posted: Mapping[str, Any], name: str) -> bool:
    """Whether the user changed a field of the edit form: each input is posted beside the
    value it was opened with (`orig_<name>`); without that, every posted field counts."""
    if name not in posted:
        return False
    original = f"orig_{name}"
    if original not in posted:
        return True
    return _plain_text(posted[name]) != _plain_text(posted[original])


def _plain_text(value: Any) -> str:
    # Browsers send line breaks as CRLF; compare text as the person sees it.
    return str(value).replace("\r\n", "\n").strip()


def field_inputs(process: Process, deal: Deal, posted: Mapping[str, Any] | None = None,
                 errors: Mapping[str, str] | None = None, *,
                 stale: bool = False) -> list[FieldInput]:
    """The edit form's inputs.

    Opened afresh they hold the deal's values. Sent back after invalid input they hold what
    was typed, over the values the form was opened with. After a stale edit (`stale`) they
    hold the user's own edits over the deal's current values, so sending the form again
    applies those edits and nothing else.
    """
    errors = errors or {}
    stored = deal.fields or {}
    current: list[tuple[str, str, str, Any, dict[str, Any]]] = [
        ("name", "Name", "text", deal.name, {}),
        ("amount", "Amount", "amount", deal.amount, {}),
        ("currency", "Currency", "currency", deal.currency,
         {"help": "Three-letter ISO 4217 code, such as EUR."}),
        ("expected_close", "Expected close", "date", deal.expected_close.isoformat(), {}),
    ]
    for f in process.fields:
        value = stored.get(f.key)
        if f.type == "bool":
            value = "" if value is None else ("yes" if value else "no")
        current.append((f"field_{f.key}", f.label, "longtext" if f.type == "text" else f.type,
                        "" if value is None else value, {"choices": f.choices, "help": f.help}))
    inputs = []
    for name, label, kind, now, extra in current:
        value, original = now, now
        if posted is not None and stale:
            value = posted[name] if edited(posted, name) else now
        elif posted is not None:
            value = posted.get(name, now)
            original = posted.get(f"orig_{name}", now)
        key = name.removeprefix("field_")
        inputs.append(FieldInput(name, label, kind, value, original=original,
                                 error=errors.get(name, "") or errors.get(f"fields.{key}", ""),
                                 **extra))
    return inputs


# ---------------------------------------------------------------------------- the page


def deal_page(user: User, deal: Deal, version: ProcessVersion, process: Process, *,
              failed: Failed | None = None, refusal: Refusal | None = None,
              conflict: ConflictView | None = None,
              account_pick: AccountPick | None = None) -> dict[str, Any]:
    """The template context of `/deals/<id>/`.

    `deal` comes with `account`, `owner`, `team` and `next_step__owner` selected.
    """
    today = timezone.localdate()
    names = stage_names(process)
    facts = facts_for_deals([deal], today)[deal.pk]
    is_open = deal.status == Status.OPEN
    stage = process.stage(deal.stage) if process.has_stage(deal.stage) else None
    current = gate_for(process, stage.key, facts) if is_open and stage else None
    won_gate = gate_for(process, "won", facts) if is_open else None
    stage_criteria = stage.exit_criteria if stage and is_open else ()
    won_criteria = process.won_criteria if is_open else ()
    evidence, totals = _evidence_by_criterion(
        deal, [c.key for c in (*stage_criteria, *won_criteria)])

    def form(name: str, initial: dict[str, Any]) -> Form:
        if failed is not None and failed.form == name:
            return Form(dict(failed.values), dict(failed.errors))
        return Form(initial)

    moves: list[Move] = []
    if is_open and stage is not None:
        for target in process.forward_targets(stage.key):
            moves.append(Move(target, names.get(target, target),
                              check_transition(process, stage.key, target, facts)))
    other_stages = [(s.key, s.name) for s in process.stages if s.key != deal.stage]

    stakeholders = list(Stakeholder.objects.filter(deal=deal).select_related("contact", "added_by")
                        .order_by("added_at", "id")[:CAP + 1])
    roles = dict(process.stakeholder_roles)
    contacts: list[Contact] = []
    if deal.account_id:
        contacts = list(Contact.objects.filter(account_id=deal.account_id)
                        .order_by("last_name", "first_name", "id")[:CONTACT_CHOICES])
    answers = list(QualificationAnswer.objects.filter(deal=deal).select_related("answered_by"))
    activities = list(Activity.objects.filter(deal=deal).select_related("owner")
                      .order_by("-created_at", "-id")[:CAP + 1])
    open_tasks = list(Activity.objects.filter(deal=deal, kind=Activity.Kind.TASK,
                                              done_at__isnull=True)
                      .select_related("owner").order_by(F("due_at").asc(nulls_last=True), "id")
                      [:CAP])
    history = list(deal.history.select_related("by", "process_version")
                   .order_by("-at", "-id")[:CAP + 1])
    audit = list(AuditEvent.objects.filter(deal=deal).select_related("actor")
                 .order_by("-at", "-id")[:CAP + 1])
    people = list(User.objects.filter(team_id=deal.team_id, is_active=True)
                  .order_by("first_name", "last_name", "username")) if deal.team_id else []
    if deal.owner not in people:
        people.insert(0, deal.owner)

    step = deal.next_step if deal.next_step_id else None
    editable = can_edit_deal(user, deal)
    posted_fields = failed.values if failed is not None and failed.form == "fields" else None
    field_errors = dict(failed.errors) if failed is not None and failed.form == "fields" else {}
    # Invalid input keeps the version the form was opened at, so a change made meanwhile is
    # still caught; after a stale edit the form moves to the current version.
    fields_version = deal.version
    if posted_fields is not None and conflict is None:
        fields_version = posted_fields.get("version") or deal.version
    account_version = deal.version
    if failed is not None and failed.form == "account" and conflict is None:
        account_version = failed.values.get("version") or deal.version
    return {
        "deal": deal,
        "process": process,
        "process_version": version,
        "stage": stage,
        "stage_name": names.get(deal.stage, deal.stage),
        "lost_from_name": names.get(deal.lost_from_stage, deal.lost_from_stage),
        "is_open": is_open,
        "can_edit": editable,
        "can_override": editable and process.settings.override != "nobody"
        and can_override(user, deal),
        "path": stage_path(process, deal, facts, current),
        "gate": current,
        "checklist": _checklist(process, stage_criteria, current, evidence, totals, failed),
        "won_gate": won_gate,
        "handoff": _checklist(process, won_criteria, won_gate, evidence, totals, failed),
        "at_last_stage": bool(moves) and any(m.to == "won" for m in moves),
        "moves": moves,
        "other_stages": other_stages,
        "lost_reasons": process.lost_reasons,
        "refusal": refusal,
        "conflict": conflict,
        "failed_form": failed.form if failed is not None else "",
        "failed_message": failed.errors.get("form", "") if failed is not None else "",
        "failed_anchor": anchor_of(failed.form) if failed is not None else "",
        "scorecards": _scorecards(process, answers, failed),
        "levels": sorted(LEVELS.items()),
        "stakeholders": [StakeholderRow(s, roles.get(s.role, s.role),
                                        INFLUENCE.get(s.influence, str(s.influence)),
                                        SUPPORT.get(s.support, str(s.support)))
                         for s in stakeholders[:CAP]],
        "more_stakeholders": len(stakeholders) > CAP,
        "roles": process.stakeholder_roles,
        "influence_choices": sorted(INFLUENCE.items()),
        "support_choices": sorted(SUPPORT.items()),
        "contacts": contacts,
        "stakeholder_form": form("stakeholder", {"influence": 2, "support": 0}),
        "next_step": step,
        "next_step_overdue": bool(step and is_open and step.due < today),
        "next_step_form": form("next-step", {
            "text": step.text if step else "",
            "due": step.due.isoformat() if step else "",
            "owner": step.owner_id if step and step.owner_id else deal.owner_id,
            "buyer_confirmed": "on" if step and step.buyer_confirmed else ""}),
        "people": people,
        "activities": activities[:CAP],
        "more_activities": len(activities) > CAP,
        "open_tasks": open_tasks,
        "activity_kinds": Activity.Kind.choices,
        "activity_form": form("activity", {"kind": "call"}),
        "now": timezone.now(),
        "history": list(reversed(history_rows(process, history[:CAP]))),
        "more_history": len(history) > CAP,
        "audit": audit_rows(process, audit[:CAP]),
        "more_audit": len(audit) > CAP,
        "fields": field_inputs(process, deal, posted_fields, field_errors,
                               stale=conflict is not None),
        "fields_version": fields_version,
        "fields_form": form("fields", {}),
        "account_form": form("account", {
            "account": deal.account_id or "",
            "account_name": deal.account.name if deal.account else ""}),
        "account_version": account_version,
        "account_pick": account_pick,
        "move_form": form("move", {}),
        "override_form": form("override", {}),
        "close_lost_form": form("close-lost", {}),
        "reopen_form": form("reopen", {}),
        "discovery_url": reverse_or("web:deal-discovery", deal.pk, f"/deals/{deal.pk}/discovery/"),
        "solution_url": reverse_or("web:deal-solution", deal.pk, f"/deals/{deal.pk}/solution/"),
        "today": today,
    }


def anchor_of(form: str) -> str:
    """Where on the page a form sits, to point at it from the error summary."""
    if form.startswith("evidence-"):
        return "criterion-" + form.removeprefix("evidence-")
    if form.startswith("qualification-"):
        return "q-" + form.removeprefix("qualification-")
    return {"stakeholder": "stakeholders", "next-step": "next-step", "activity": "activities",
            "fields": "deal-fields", "account": "account-picker"}.get(form, "moves")


def refusal_for(process: Process, deal: Deal, transition: Transition, message: str) -> Refusal:
    """A refused move as the page shows it: each unmet criterion linked to where to meet it."""
    # The current stage's criteria and the handoff criteria are on the page with their forms;
    # those of a skipped stage are not, so they are listed without a link.
    shown = {c.key for c in process.won_criteria}
    if process.has_stage(deal.stage):
        shown |= {c.key for c in process.stage(deal.stage).exit_criteria}
    items = tuple(RefusedItem(u.key, u.label, u.message,
                              f"criterion-{u.key}" if u.key in shown else "")
                  for u in transition.blocking)
    names = stage_names(process)
    return Refusal(to=transition.to_stage,
                   to_name=names.get(transition.to_stage, transition.to_stage),
                   message=message, items=items)


def conflict_view(process: Process, current: Deal, sent: Mapping[str, Any],
                  changes: Sequence[AuditEvent], message: str) -> ConflictView:
    """The fields a stale edit changed: the user's value against the deal's value now."""
    yours = tuple((item.label, _shown(sent[item.name]), _shown(item.value))
                  for item in field_inputs(process, current) if edited(sent, item.name))
    if "account_name" in sent:  # the account picker
        wanted = None if sent.get("action") == "clear" else sent["account_name"]
        yours += (("Account", _shown(wanted),
                   _shown(current.account.name if current.account else None)),)
    return ConflictView(message=message, yours=yours,
                        changes=tuple(audit_rows(process, changes)))


def since_version(deal: Deal, sent_version: int) -> list[AuditEvent]:
    """The audit rows of the changes made after the version a user read.

    Every change that bumps a deal's version writes one `deal.*` audit row, so the newest
    `current - sent` of them are exactly the changes the user has not seen.
    """
    missed = max(0, min(deal.version - sent_version, CAP))
    if not missed:
        return []
    return list(AuditEvent.objects.filter(deal=deal, action__startswith="deal.")
                .select_related("actor").order_by("-at", "-id")[:missed])
