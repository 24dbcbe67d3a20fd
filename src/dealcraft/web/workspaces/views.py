"""The discovery and solution workspaces of a deal (steps 4 and 5 of the sales process).

`GET /deals/<id>/discovery/` and `/deals/<id>/solution/` render a full page, or just the panel
when htmx asks (the deal page loads both panels into itself). Each form posts to an endpoint
under the same prefix, which calls one service and then redirects back to the page, or, for
htmx, answers with the refreshed section and an out-of-band update of the panel's status.

Anyone who may read the deal sees the workspaces; only those who may edit it get forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from dealcraft.deals.facts import deal_facts
from dealcraft.deals.models import Deal
from dealcraft.deals.services import get_deal_for
from dealcraft.discovery import services
from dealcraft.discovery.queries import (
    Discovery,
    Layer,
    Question,
    Recommendation,
    Solution,
    load_discovery,
    load_solution,
)
from dealcraft.discovery.services import VALUE_QUESTION, stamp
from dealcraft.domain.gates import unmet_reason
from dealcraft.domain.process import Process
from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import can_edit_deal
from dealcraft.processes.services import active_process

from .forms import (
    AgendaForm,
    AgreementForm,
    AnswerForm,
    DemoForm,
    ImpactForm,
    NoteForm,
    RecommendForm,
    ResearchForm,
    SummaryForm,
    ValueForm,
)

DISCOVERY_ITEMS = ("research_done", "agenda_agreed", "questions_answered", "summary_written")
SOLUTION_ITEMS = ("capabilities_mapped", "demo_planned", "value_confirmed")
Forms = dict[str, forms.Form]
# The save time each free-text section is guarded by; a question's answer has `answered_at`.
SECTION_STAMPS = {"discovery-research": "research_at", "discovery-agenda": "agenda_at",
                  "discovery-summary": "summary_at", "solution-demo": "demo_at"}


def _deal_for(request: HttpRequest, deal_id: int) -> Deal:
    try:
        return get_deal_for(_user(request), deal_id)
    except NotFound:
        raise Http404("No such deal.") from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required has already sent anonymous users away
        raise PermissionDenied
    return user


def _wants_panel(request: HttpRequest) -> bool:
    """htmx asks for a panel or a section; boosted and history requests want whole pages."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


@dataclass(frozen=True)
class CriterionRow:
    """A `workspace` exit criterion of the process, as this deal stands against it."""

    stage: str
    label: str
    rule: str
    met: bool
    message: str


def _criteria(process: Process, deal: Deal, items: tuple[str, ...]) -> list[CriterionRow]:
    criteria = [(key, c) for key, c in process.all_criteria()
                if c.kind == "workspace" and c.item in items]
    if not criteria:
        return []
    facts = deal_facts(deal)
    names = {s.key: s.name for s in process.stages} | {"won": "Won"}
    rows = []
    for stage_key, c in criteria:
        reason = unmet_reason(process, c, facts)
        rows.append(CriterionRow(stage=names.get(stage_key, stage_key), label=c.label,
                                 rule=c.describe(), met=reason is None, message=reason or ""))
    return rows


# ---------------------------------------------------------------------------- discovery


@dataclass
class QuestionBlock:
    question: Question
    answer_form: forms.Form | None
    note_form: forms.Form | None

    @property
    def dom_id(self) -> str:
        return f"question-{self.question.key}"


@dataclass
class LayerBlock:
    layer: Layer
    questions: list[QuestionBlock]


def _discovery_forms(data: Discovery, deal: Deal) -> Forms:
    ws = data.workspace
    out: Forms = {
        "research": ResearchForm(initial={
            "company": ws.research_company, "role": ws.research_role,
            "trigger_events": ws.research_triggers, "likely_pains": ws.research_pains,
            "seen": stamp(ws.research_at)}),
        "agenda": AgendaForm(initial={"agenda": ws.agenda, "seen": stamp(ws.agenda_at)}),
        "agreement": AgreementForm(),
        "summary": SummaryForm(initial={
            "confirmed_pains": ws.confirmed_pains, "summary": ws.summary,
            "next_steps": ws.next_steps, "seen": stamp(ws.summary_at)}),
    }
    if data.impact_field or data.urgency_field:
        out["impact"] = ImpactForm(impact=data.impact_field, urgency=data.urgency_field,
                                   values=deal.fields or {}, initial={"version": deal.version})
    for layer in data.layers:
        for q in layer.questions:
            answer = q.answer
            out[f"answer-{q.key}"] = AnswerForm(prefix=f"answer-{q.key}", initial={
                "text": answer.text if answer else "",
                "seen": stamp(answer.answered_at if answer else None)})
            out[f"note-{q.key}"] = NoteForm(prefix=f"note-{q.key}")
    return out


def _render_discovery(request: HttpRequest, deal: Deal, *, bound: Forms | None = None,
                      section: str = "", saved: str = "", conflict: bool = False,
                      status: int = 200) -> HttpResponse:
    _, process = active_process()
    data = load_discovery(deal, process)
    can_edit = can_edit_deal(request.user, deal)
    all_forms = _discovery_forms(data, deal) if can_edit else {}
    all_forms.update(bound or {})
    layers = [LayerBlock(layer, [QuestionBlock(q, all_forms.get(f"answer-{q.key}"),
                                               all_forms.get(f"note-{q.key}"))
                                 for q in layer.questions])
              for layer in data.layers]
    context: dict[str, Any] = {
        "deal": deal,
        "d": data,
        "ws": data.workspace,
        "layers": layers,
        "forms": all_forms,
        "can_edit": can_edit,
        "criteria": _criteria(process, deal, DISCOVERY_ITEMS),
        "section": section,
        "saved": saved,
        "conflict": conflict,
    }
    if _wants_panel(request) and section:
        block = next((b for layer in layers for b in layer.questions
                      if b.dom_id == section), None)
        context["block"] = block
        template = "web/workspaces/discovery_section.html"
    elif _wants_panel(request):
        context["embedded"] = True  # into a page that may not link the workspace styles
        template = "web/workspaces/discovery_panel.html"
    else:
        template = "web/workspaces/discovery_page.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def discovery(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The discovery workspace: research, agenda, question bank, impact, summary."""
    return _render_discovery(request, _deal_for(request, deal_id))


def _submit(request: HttpRequest, deal_id: int, *, which: str, section: str, key: str,
            build: Callable[[Deal, Process], forms.Form],
            act: Callable[[User, Deal, dict[str, Any]], object], saved: str) -> HttpResponse:
    """Parse one workspace form, call its service, and answer the way the request wants."""
    deal = _deal_for(request, deal_id)
    _, process = active_process()
    form = build(deal, process)
    conflict = False
    if form.is_valid():
        try:
            act(_user(request), deal, form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except NotFound:
            raise Http404("Not found.") from None
        except Conflict as exc:
            conflict = True
            form.add_error(None, exc.message)
            # The editor now sees the other version beside theirs: saving again replaces it
            # on purpose, so the hidden markers move on to what is stored now.
            data = cast(QueryDict, form.data).copy()
            if "seen" in form.fields:
                at = getattr(exc.current, SECTION_STAMPS.get(section, "answered_at"), None)
                data[form.add_prefix("seen")] = stamp(at)
            if "version" in form.fields:
                data[form.add_prefix("version")] = str(exc.current.version)
            form.data = data
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _done(request, deal, which=which, section=section, saved=saved)
    render_with = _render_discovery if which == "discovery" else _render_solution
    status = 200 if _wants_panel(request) else (409 if conflict else 400)
    return render_with(request, deal, bound={key: form}, section=section, conflict=conflict,
                       status=status)


def _done(request: HttpRequest, deal: Deal, *, which: str, section: str,
          saved: str) -> HttpResponse:
    if _wants_panel(request):
        deal = _deal_for(request, deal.pk)
        render_with = _render_discovery if which == "discovery" else _render_solution
        response = render_with(request, deal, section=section, saved=saved)
        # The deal page listens for this to refresh what the change may have met (its gates).
        response["HX-Trigger"] = "workspace-saved"
        return response
    messages.success(request, saved)
    url = reverse(f"web:deal-{which}", args=[deal.pk])
    return HttpResponseRedirect(f"{url}#{section}")


@require_POST
@login_required
def save_research(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.save_research(
            acting_user=user, deal=deal, company=data["company"], role=data["role"],
            trigger_events=data["trigger_events"], likely_pains=data["likely_pains"],
            seen=data["seen"])
    return _submit(request, deal_id, which="discovery", section="discovery-research",
                   key="research", build=lambda d, p: ResearchForm(request.POST), act=act,
                   saved="Research notes saved.")


@require_POST
@login_required
def save_agenda(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.save_agenda(acting_user=user, deal=deal, agenda=data["agenda"],
                                    seen=data["seen"])
    return _submit(request, deal_id, which="discovery", section="discovery-agenda",
                   key="agenda", build=lambda d, p: AgendaForm(request.POST), act=act,
                   saved="Agenda saved.")


@require_POST
@login_required
def record_agreement(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.record_agenda_agreement(acting_user=user, deal=deal,
                                                agreed=data["agreed"])
    return _submit(request, deal_id, which="discovery", section="discovery-agenda",
                   key="agreement", build=lambda d, p: AgreementForm(request.POST), act=act,
                   saved="The buyer's agreement to the agenda is recorded.")


def _asked(question: str) -> None:
    """A question the active process does not ask has no answer or notes to post to."""
    _, process = active_process()
    if question not in process.discovery_question_keys():
        raise Http404("No such discovery question.")


@require_POST
@login_required
def answer_question(request: HttpRequest, deal_id: int, question: str) -> HttpResponse:
    _asked(question)

    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.answer_question(acting_user=user, deal=deal, question=question,
                                        text=data["text"], seen=data["seen"])
    return _submit(request, deal_id, which="discovery", section=f"question-{question}",
                   key=f"answer-{question}",
                   build=lambda d, p: AnswerForm(request.POST, prefix=f"answer-{question}"),
                   act=act, saved="Answer saved.")


@require_POST
@login_required
def add_note(request: HttpRequest, deal_id: int, question: str) -> HttpResponse:
    _asked(question)

    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.add_question_note(acting_user=user, deal=deal,
                                          question=question, text=data["text"])
    return _submit(request, deal_id, which="discovery", section=f"question-{question}",
                   key=f"note-{question}",
                   build=lambda d, p: NoteForm(request.POST, prefix=f"note-{question}"),
                   act=act, saved="Note added.")


@require_POST
@login_required
def save_summary(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.save_summary(
            acting_user=user, deal=deal, confirmed_pains=data["confirmed_pains"],
            summary=data["summary"], next_steps=data["next_steps"], seen=data["seen"])
    return _submit(request, deal_id, which="discovery", section="discovery-summary",
                   key="summary", build=lambda d, p: SummaryForm(request.POST), act=act,
                   saved="Summary and next steps saved.")


@require_POST
@login_required
def save_impact(request: HttpRequest, deal_id: int) -> HttpResponse:
    def build(deal: Deal, process: Process) -> forms.Form:
        return ImpactForm(request.POST, impact=process.custom_field(services.IMPACT_FIELD),
                          urgency=process.custom_field(services.URGENCY_FIELD), values={})

    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.set_impact_and_urgency(
            acting_user=user, deal=deal, business_impact=data.get("business_impact"),
            urgency=data.get("urgency"), version=data["version"])
    return _submit(request, deal_id, which="discovery", section="discovery-impact",
                   key="impact", build=build, act=act,
                   saved="Business impact and urgency saved.")


# ---------------------------------------------------------------------------- solution


@dataclass
class RecommendationBlock:
    recommendation: Recommendation
    form: forms.Form | None


def _capability_choices(process: Process) -> list[tuple[str, str]]:
    return [(c["key"], c["name"]) for c in process.capabilities]


def _pains_list(deal: Deal) -> str:
    return f"confirmed-pains-{deal.pk}"


def _solution_forms(data: Solution, process: Process, deal: Deal) -> Forms:
    ws = data.workspace
    out: Forms = {
        "recommend": RecommendForm(prefix="recommend", datalist=_pains_list(deal),
                                   capabilities=[(c.key, c.name) for c in data.available]),
        "demo": DemoForm(initial={"plan": ws.demo_plan, "demo_date": ws.demo_date,
                                  "seen": stamp(ws.demo_at)}),
        "value": ValueForm(initial={"answer": ws.value_answer,
                                    "buyer_words": ws.value_buyer_words}),
    }
    choices = _capability_choices(process)
    for r in data.recommendations:
        out[f"map-{r.key}"] = RecommendForm(
            prefix=f"map-{r.key}", capabilities=choices, fixed=True,
            datalist=_pains_list(deal),
            initial={"capability": r.key, "pain": r.record.pain})
    return out


def _render_solution(request: HttpRequest, deal: Deal, *, bound: Forms | None = None,
                     section: str = "", saved: str = "", conflict: bool = False,
                     status: int = 200) -> HttpResponse:
    _, process = active_process()
    data = load_solution(deal, process)
    can_edit = can_edit_deal(request.user, deal)
    all_forms = _solution_forms(data, process, deal) if can_edit else {}
    all_forms.update(bound or {})
    context: dict[str, Any] = {
        "deal": deal,
        "s": data,
        "ws": data.workspace,
        "pains": data.discovery.pains,
        "recommendations": [RecommendationBlock(r, all_forms.get(f"map-{r.key}"))
                            for r in data.recommendations],
        "forms": all_forms,
        "can_edit": can_edit,
        "criteria": _criteria(process, deal, SOLUTION_ITEMS),
        "value_question": VALUE_QUESTION,
        "section": section,
        "saved": saved,
        "conflict": conflict,
    }
    if _wants_panel(request) and section:
        template = "web/workspaces/solution_section.html"
    elif _wants_panel(request):
        context["embedded"] = True
        template = "web/workspaces/solution_panel.html"
    else:
        template = "web/workspaces/solution_page.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def solution(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The solution workspace: capability map, demo plan, value confirmation."""
    return _render_solution(request, _deal_for(request, deal_id))


@require_POST
@login_required
def recommend(request: HttpRequest, deal_id: int) -> HttpResponse:
    prefix = "recommend"
    for name in request.POST:
        # A row of the map posts under its own prefix to re-link its pain.
        if name.startswith("map-") and name.endswith("-capability"):
            prefix = name.removesuffix("-capability")

    def build(deal: Deal, process: Process) -> forms.Form:
        return RecommendForm(request.POST, prefix=prefix,
                             capabilities=_capability_choices(process),
                             fixed=prefix != "recommend", datalist=_pains_list(deal))

    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.recommend_capability(acting_user=user, deal=deal,
                                             capability=data["capability"], pain=data["pain"])
    return _submit(request, deal_id, which="solution", section="solution-map", key=prefix,
                   build=build, act=act, saved="Capability map saved.")


@require_POST
@login_required
def withdraw(request: HttpRequest, deal_id: int, capability: str) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        services.withdraw_capability(acting_user=user, deal=deal, capability=capability)
        return None
    return _submit(request, deal_id, which="solution", section="solution-map", key="withdraw",
                   build=lambda d, p: forms.Form(request.POST), act=act,
                   saved="Capability taken off the map.")


@require_POST
@login_required
def save_demo(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.save_demo_plan(acting_user=user, deal=deal, plan=data["plan"],
                                       demo_date=data["demo_date"], seen=data["seen"])
    return _submit(request, deal_id, which="solution", section="solution-demo", key="demo",
                   build=lambda d, p: DemoForm(request.POST), act=act,
                   saved="Demo plan saved.")


@require_POST
@login_required
def confirm_value(request: HttpRequest, deal_id: int) -> HttpResponse:
    def act(user: User, deal: Deal, data: dict[str, Any]) -> object:
        return services.record_value_confirmation(acting_user=user, deal=deal,
                                                  answer=data["answer"],
                                                  buyer_words=data["buyer_words"])
    return _submit(request, deal_id, which="solution", section="solution-value", key="value",
                   build=lambda d, p: ValueForm(request.POST), act=act,
                   saved="The buyer's answer is recorded.")
