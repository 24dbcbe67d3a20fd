"""The only code that changes the discovery and solution workspaces.

Each function is one state change: atomic, refused unless the acting user may edit the deal,
checked against the active process (its question bank, its capabilities), and written to the
audit log. Free-text sections take `seen`, the save time of the section the editor read (""
when it had never been saved); when someone saved the section since, the edit is refused with
Conflict rather than overwriting theirs. `seen=None` skips that check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from dealcraft.audit.services import record
from dealcraft.deals.models import Deal
from dealcraft.deals.services import update_deal
from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import can_edit_deal, can_view_deal
from dealcraft.processes.services import active_process

from .models import (
    CapabilityRecommendation,
    DiscoveryWorkspace,
    QuestionAnswer,
    QuestionNote,
    SolutionWorkspace,
    ValueAnswer,
)

_W = TypeVar("_W", DiscoveryWorkspace, SolutionWorkspace)

VALUE_QUESTION = ("Based on what we've covered, does this solve the priority issues we "
                  "discussed?")
# The process's custom fields that discovery's "impact and urgency" section writes.
IMPACT_FIELD = "business_impact"
URGENCY_FIELD = "urgency"

TEXT_LIMIT = 5000
LONG_TEXT_LIMIT = 20000
PAIN_LIMIT = 500


def stamp(at: datetime | None) -> str:
    """A section's save time as editors send it back in `seen`."""
    return at.isoformat() if at else ""


def _clean(value: Any, field: str, *, limit: int = TEXT_LIMIT, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field)
    # Trailing spaces on each line are noise; the line breaks of a pasted list are not.
    value = "\n".join(line.rstrip() for line in value.replace("\x00", "").strip().splitlines())
    if required and not value:
        raise InvalidInput(f"{field} must not be empty", field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field)
    return value


def _editable(acting_user: User, deal: Deal | int, visibility: str) -> Deal:
    """The deal, locked for this transaction, once the user is known to be allowed to edit it."""
    pk = deal.pk if isinstance(deal, Deal) else deal
    current = Deal.objects.select_for_update().filter(pk=pk).first()
    if current is None:
        raise NotFound(f"deal {pk} does not exist")
    if not can_edit_deal(acting_user, current):
        if can_view_deal(acting_user, current, visibility=visibility):
            raise NotAllowed("You may read this deal but not change it.")
        raise NotAllowed("You do not have access to this deal.")
    return current


def _fresh(acting_user: User, section: str, at: datetime | None, by: User | None,
           seen: str | None, current: Any) -> None:
    if seen is not None and seen != stamp(at):
        if by is not None and by.pk == acting_user.pk:
            who = "You (in another window)"
        else:
            who = by.display_name if by is not None else "Someone"
        when = timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "just now"
        raise Conflict(f"{who} changed {section} at {when}, after you opened this page. "
                       "Reload to see that version, then apply your change again.", current)


def _touch(deal: Deal) -> None:
    deal.updated_at = timezone.now()
    deal.save(update_fields=["updated_at"])


def _discovery(deal: Deal) -> DiscoveryWorkspace:
    workspace, _ = (DiscoveryWorkspace.objects.select_related("research_by", "agenda_by",
                                                               "summary_by")
                    .get_or_create(deal=deal))
    return workspace


def _solution(deal: Deal) -> SolutionWorkspace:
    workspace, _ = SolutionWorkspace.objects.select_related("demo_by").get_or_create(deal=deal)
    return workspace


def _changes(obj: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set `values` on `obj`; the ones that changed, as the audit log records them."""
    changed = {}
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            changed[name] = {"from": old, "to": value}
            setattr(obj, name, value)
    return changed


# ---------------------------------------------------------------------------- discovery


def _save_section(acting_user: User, deal: Deal | int, *, load: Callable[[Deal], _W],
                  section: str, stamp: str, values: dict[str, Any], seen: str | None,
                  action: str, on_change: Callable[[_W, dict[str, Any]], None] | None = None,
                  ) -> _W:
    """Save one text section of a workspace: refused when someone else saved it after `seen`,
    a no-op when nothing changed, otherwise stamped with who and when, and audited."""
    _, process = active_process()
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        workspace = load(current)
        _fresh(acting_user, section, getattr(workspace, f"{stamp}_at"),
               getattr(workspace, f"{stamp}_by"), seen, workspace)
        changed = _changes(workspace, values)
        if not changed:
            return workspace
        if on_change is not None:
            on_change(workspace, changed)
        setattr(workspace, f"{stamp}_by", acting_user)
        setattr(workspace, f"{stamp}_at", timezone.now())
        workspace.save()
        _touch(current)
        record(actor=acting_user, action=action, obj=workspace, deal=current, changes=changed)
    return workspace


def save_research(*, acting_user: User, deal: Deal | int, company: str = "", role: str = "",
                  trigger_events: str = "", likely_pains: str = "",
                  seen: str | None = None) -> DiscoveryWorkspace:
    """Write the pre-call research: the company, the buyer's role, trigger events and the
    pains the buyer is likely to have."""
    values = {
        "research_company": _clean(company, "company"),
        "research_role": _clean(role, "role"),
        "research_triggers": _clean(trigger_events, "trigger_events"),
        "research_pains": _clean(likely_pains, "likely_pains"),
    }
    return _save_section(acting_user, deal, load=_discovery, section="the research notes",
                         stamp="research", values=values, seen=seen,
                         action="discovery.research")


def save_agenda(*, acting_user: User, deal: Deal | int, agenda: str,
                seen: str | None = None) -> DiscoveryWorkspace:
    """Write the call's agenda. A changed agenda needs the buyer's agreement again."""
    agenda = _clean(agenda, "agenda")

    def clear_agreement(workspace: DiscoveryWorkspace, changed: dict[str, Any]) -> None:
        if workspace.agenda_agreed:
            changed["agenda_agreed"] = {"from": True, "to": False}
        workspace.agenda_agreed, workspace.agreement_by, workspace.agreement_at = False, None, None

    return _save_section(acting_user, deal, load=_discovery, section="the agenda",
                         stamp="agenda", values={"agenda": agenda}, seen=seen,
                         action="discovery.agenda", on_change=clear_agreement)


def record_agenda_agreement(*, acting_user: User, deal: Deal | int,
                            agreed: bool) -> DiscoveryWorkspace:
    """Record whether the buyer agreed to the agenda (who recorded it, and when, are kept)."""
    _, process = active_process()
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        workspace = _discovery(current)
        if agreed and not workspace.agenda:
            raise InvalidInput("Write the agenda before recording the buyer's agreement to it.",
                               "agenda")
        workspace.agenda_agreed = bool(agreed)
        workspace.agreement_by, workspace.agreement_at = acting_user, timezone.now()
        workspace.save()
        _touch(current)
        record(actor=acting_user, action="discovery.agenda_agreement", obj=workspace,
               deal=current, changes={"agreed": workspace.agenda_agreed})
    return workspace


def answer_question(*, acting_user: User, deal: Deal | int, question: str, text: str,
                    seen: str | None = None) -> QuestionAnswer | None:
    """Record the buyer's answer to a question of the process's discovery question bank.

    A blank answer removes the question's answer (and returns None).
    """
    text = _clean(text, "text")
    _, process = active_process()
    if question not in process.discovery_question_keys():
        raise InvalidInput(f"'{question}' is not a question of the active process's discovery "
                           "question bank", "question")
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        answer = (QuestionAnswer.objects.select_for_update(of=("self",))
                  .select_related("answered_by")
                  .filter(deal=current, question=question).first())
        _fresh(acting_user, "this answer", answer.answered_at if answer else None,
               answer.answered_by if answer else None, seen, answer)
        before = answer.text if answer else ""
        if before == text:
            return answer
        if not text:
            assert answer is not None
            record(actor=acting_user, action="discovery.answer", obj=answer, deal=current,
                   changes={"question": question, "text": {"from": before, "to": ""}})
            answer.delete()
            _touch(current)
            return None
        if answer is None:
            answer = QuestionAnswer(deal=current, question=question)
        answer.text, answer.answered_by, answer.answered_at = text, acting_user, timezone.now()
        answer.save()
        _touch(current)
        record(actor=acting_user, action="discovery.answer", obj=answer, deal=current,
               changes={"question": question, "text": {"from": before, "to": text}})
    return answer


def add_question_note(*, acting_user: User, deal: Deal | int, question: str,
                      text: str) -> QuestionNote:
    """Keep a note taken while listening, tied to one discovery question."""
    text = _clean(text, "text", required=True)
    _, process = active_process()
    if question not in process.discovery_question_keys():
        raise InvalidInput(f"'{question}' is not a question of the active process's discovery "
                           "question bank", "question")
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        note = QuestionNote.objects.create(deal=current, question=question, text=text,
                                           written_by=acting_user)
        _touch(current)
        record(actor=acting_user, action="discovery.note", obj=note, deal=current,
               changes={"question": question, "text": text})
    return note


def save_summary(*, acting_user: User, deal: Deal | int, confirmed_pains: str = "",
                 summary: str = "", next_steps: str = "",
                 seen: str | None = None) -> DiscoveryWorkspace:
    """Write the discovery summary: the pains the buyer confirmed (one a line, in their
    words), the summary played back to the buyer, and the next steps secured."""
    values = {
        "confirmed_pains": _clean(confirmed_pains, "confirmed_pains"),
        "summary": _clean(summary, "summary", limit=LONG_TEXT_LIMIT),
        "next_steps": _clean(next_steps, "next_steps"),
    }
    if any(len(pain) > PAIN_LIMIT for pain in values["confirmed_pains"].splitlines()):
        raise InvalidInput(f"each confirmed pain must fit on a line of at most {PAIN_LIMIT} "
                           "characters", "confirmed_pains")
    return _save_section(acting_user, deal, load=_discovery, section="the discovery summary",
                         stamp="summary", values=values, seen=seen,
                         action="discovery.summary")


def set_impact_and_urgency(*, acting_user: User, deal: Deal | int, business_impact: Any = None,
                           urgency: Any = None, version: int | None = None) -> Deal:
    """Clarify business impact and urgency: they are the deal's own `business_impact` and
    `urgency` fields (as the process defines them), so gates testing those fields see them.

    Written through `update_deal`, with the deal's `version` guarding against a stale edit.
    Fields the process does not define are refused; a blank value clears the field.
    """
    _, process = active_process()
    changes: dict[str, Any] = {}
    for key, value in ((IMPACT_FIELD, business_impact), (URGENCY_FIELD, urgency)):
        if value is None:
            continue
        if process.custom_field(key) is None:
            raise InvalidInput(f"the active process has no '{key}' field", key)
        changes[key] = value
    if not changes:
        raise InvalidInput("give the business impact, the urgency, or both", IMPACT_FIELD)
    return update_deal(acting_user=acting_user, deal=deal, version=version,
                       changes={"fields": changes})


# ---------------------------------------------------------------------------- solution


def recommend_capability(*, acting_user: User, deal: Deal | int, capability: str,
                         pain: str = "") -> CapabilityRecommendation:
    """Recommend one of the process's capabilities, linked to the confirmed pain it answers.

    Recommending it again changes the linked pain. With no pain the recommendation stands,
    flagged as feature dumping.
    """
    pain = _clean(pain, "pain", limit=PAIN_LIMIT).replace("\n", " ")
    _, process = active_process()
    if capability not in {c["key"] for c in process.capabilities}:
        raise InvalidInput(f"'{capability}' is not a capability of the active process",
                           "capability")
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        recommendation = (CapabilityRecommendation.objects.select_for_update()
                          .filter(deal=current, capability=capability).first())
        before = recommendation.pain if recommendation else None
        if recommendation is not None and before == pain:
            return recommendation
        if recommendation is None:
            recommendation = CapabilityRecommendation(deal=current, capability=capability,
                                                      recommended_by=acting_user)
        recommendation.pain = pain
        recommendation.save()
        _touch(current)
        record(actor=acting_user, action="solution.recommend", obj=recommendation,
               deal=current, changes={"capability": capability,
                                      "pain": {"from": before, "to": pain}})
    return recommendation


def withdraw_capability(*, acting_user: User, deal: Deal | int, capability: str) -> None:
    """Take a capability off the deal's capability map."""
    _, process = active_process()
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        recommendation = CapabilityRecommendation.objects.filter(
            deal=current, capability=capability).first()
        if recommendation is None:
            raise NotFound(f"'{capability}' is not recommended on this deal")
        record(actor=acting_user, action="solution.withdraw", obj=recommendation, deal=current,
               changes={"capability": capability, "pain": recommendation.pain})
        recommendation.delete()
        _touch(current)


def _clean_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"demo_date {value!r} is not a date (YYYY-MM-DD)",
                           "demo_date") from None


def save_demo_plan(*, acting_user: User, deal: Deal | int, plan: str = "",
                   demo_date: Any = None, seen: str | None = None) -> SolutionWorkspace:
    """Plan the demo as a guided tour: its agenda and the scenarios that show the confirmed
    pains solved, and its date."""
    values = {"demo_plan": _clean(plan, "plan", limit=LONG_TEXT_LIMIT),
              "demo_date": _clean_date(demo_date)}
    return _save_section(acting_user, deal, load=_solution, section="the demo plan",
                         stamp="demo", values=values, seen=seen, action="solution.demo_plan")


def record_value_confirmation(*, acting_user: User, deal: Deal | int, answer: str,
                              buyer_words: str = "") -> SolutionWorkspace:
    """Record the buyer's answer at the value-confirmation checkpoint (yes, partly or no) and
    what they said; who recorded it and when are kept."""
    if answer not in ValueAnswer.values:
        raise InvalidInput("answer must be yes, partly or no", "answer")
    buyer_words = _clean(buyer_words, "buyer_words", required=answer != ValueAnswer.YES)
    _, process = active_process()
    with transaction.atomic():
        current = _editable(acting_user, deal, process.settings.visibility)
        workspace = _solution(current)
        before = workspace.value_answer
        workspace.value_answer, workspace.value_buyer_words = answer, buyer_words
        workspace.value_by, workspace.value_at = acting_user, timezone.now()
        workspace.save()
        _touch(current)
        record(actor=acting_user, action="solution.value_confirmation", obj=workspace,
               deal=current, changes={"answer": {"from": before, "to": answer},
                                      "buyer_words": buyer_words})
    return workspace
