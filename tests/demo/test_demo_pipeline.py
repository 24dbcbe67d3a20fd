"""The demo pipeline looks like a real team's: stuck deals, missed next steps, overrides."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from dealcraft.crm.models import Account, Contact
from dealcraft.deals.models import (
    Activity,
    Deal,
    Evidence,
    NextStep,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
)
from dealcraft.demo.builder import DemoResult, build_demo
from dealcraft.processes.services import active_process

from .conftest import histories


def _stuck(today: date) -> list[Deal]:
    _, process = active_process()
    return [d for d in Deal.objects.filter(status="open")
            if (today - d.stage_entered_at.date()).days > process.stage(d.stage).rotting_days]


def test_some_gates_are_overridden_some_stages_skipped_and_some_deals_stuck(
        demo: DemoResult) -> None:
    kinds = Counter(StageHistory.objects.values_list("kind", flat=True))
    assert kinds["override"] > 0 and kinds["skip"] > 0 and kinds["update"] > 0
    assert 0.01 < demo.counts["overrides"] / kinds["advance"] < 0.15
    stuck = _stuck(timezone.localdate())
    assert stuck and len(stuck) == demo.counts["stuck"]


def test_open_deals_carry_next_steps_some_overdue_some_missing_some_confirmed(
        demo: DemoResult) -> None:
    today = timezone.localdate()
    open_deals = list(Deal.objects.filter(status="open").select_related("next_step"))
    steps = [d.next_step for d in open_deals if d.next_step is not None]
    assert len(steps) < len(open_deals) == demo.counts["open"]
    assert len(open_deals) - len(steps) == demo.counts["missing_next_steps"]
    assert any(s.due < today for s in steps) and any(s.due >= today for s in steps)
    assert any(s.buyer_confirmed for s in steps) and not all(s.buyer_confirmed for s in steps)
    assert sum(s.due < today for s in steps) == demo.counts["overdue_next_steps"]
    for deal in open_deals:
        if deal.next_step is not None:
            assert deal.next_step.deal_id == deal.pk and deal.next_step.text
    assert not NextStep.objects.filter(deal__status="lost").exists()


def test_deals_record_stakeholders_activities_and_evidence(demo: DemoResult) -> None:
    _, process = active_process()
    kinds = Counter(Activity.objects.values_list("kind", flat=True))
    assert set(kinds) == {"call", "email", "meeting", "note", "task"}
    assert not Activity.objects.exclude(kind="task").filter(done_at__isnull=True).exists()
    assert not Activity.objects.filter(done_at__isnull=True, due_at__isnull=True).exists()
    where = {c.key: stage for stage, c in process.all_criteria()}
    for criterion, stage, kind, text, url in Evidence.objects.values_list(
            "criterion", "stage", "kind", "text", "url"):
        assert where[criterion] == stage and text
        assert (kind == "link") == bool(url)
    assert set(Evidence.objects.values_list("kind", flat=True)) == {"text", "link"}
    roles = {key for key, _ in process.stakeholder_roles}
    for role, deal_account, contact_account in Stakeholder.objects.values_list(
            "role", "deal__account_id", "contact__account_id"):
        assert role in roles and deal_account == contact_account
    assert Stakeholder.objects.values("deal").distinct().count() > 0.7 * Deal.objects.count()


def test_meddicc_answers_exist_for_every_deal_past_qualification(demo: DemoResult) -> None:
    _, process = active_process()
    framework = process.framework("meddicc")
    answered: dict[int, set[str]] = defaultdict(set)
    for deal_id, fw, criterion, level in QualificationAnswer.objects.values_list(
            "deal_id", "framework", "criterion", "level"):
        assert fw == "meddicc" and 0 <= level <= 3
        answered[deal_id].add(criterion)
    full = {c.key for c in framework.criteria}
    reached_qualification = 0
    for deal_id, moves in histories().items():
        passed = any("qualification" in [g["stage"] for g in m.gate_result.get("gates", ())]
                     for m in moves)
        reached = any(m.to_stage == "qualification" for m in moves) or passed
        reached_qualification += reached
        if passed:
            assert answered[deal_id] == full
        if deal_id in answered:
            assert reached
    assert answered and reached_qualification > len(answered) * 0.9


def test_custom_fields_fill_in_as_deals_progress(demo: DemoResult) -> None:
    _, process = active_process()
    known = {f.key: f for f in process.fields}
    later = {"success_criteria", "decision_process", "urgency", "procurement_ticket",
             "signature_date"}
    paths = histories()
    for deal in Deal.objects.all():
        assert deal.fields["segment"] in ("smb", "mid_market", "enterprise")
        assert deal.fields["lead_source"] in known["lead_source"].choices
        for key, value in deal.fields.items():
            spec = known[key]
            if spec.type == "choice":
                assert value in spec.choices
            elif spec.type == "date":
                date.fromisoformat(value)
        stages = {m.to_stage for m in paths[deal.pk]}
        if stages <= {"prospecting", "qualification", "lost"}:
            assert not later & set(deal.fields), deal.fields
    won = Deal.objects.filter(status="won")
    assert won.exists()
    assert sum("signature_date" in d.fields for d in won) > 0.8 * won.count()


def test_the_story_spans_the_24_months_before_today(demo: DemoResult) -> None:
    now = timezone.now()
    created = sorted(Deal.objects.values_list("created_at", flat=True))
    assert now - timedelta(days=735) < created[0] < now - timedelta(days=600)
    assert now - timedelta(days=30) < created[-1] < now
    assert not StageHistory.objects.filter(at__gt=now).exists()
    assert not Activity.objects.filter(done_at__gt=now).exists()
    assert not Evidence.objects.filter(recorded_at__gt=now).exists()
    assert not Account.objects.filter(created_at__gt=now).exists()
    assert not Contact.objects.filter(created_at__gt=now).exists()
    assert not NextStep.objects.filter(set_at__gt=now).exists()
    assert not Deal.objects.filter(updated_at__gt=now).exists()
    first_deal = min(created)
    assert not Account.objects.filter(created_at__gt=first_deal).exists()
    weekdays = Counter(d.weekday() for d in StageHistory.objects.values_list("at", flat=True))
    assert set(weekdays) <= {0, 1, 2, 3, 4}


def test_the_default_size_has_open_deals_in_every_stage(db: Any) -> None:
    result = build_demo()
    _, process = active_process()
    assert result.counts["deals"] == 5000
    assert 1400 <= result.counts["accounts"] <= 1600
    open_by_stage = Counter(Deal.objects.filter(status="open").values_list("stage", flat=True))
    assert set(open_by_stage) == set(process.stage_keys)
    assert result.counts["won"] > 100 and result.counts["lost"] > 1000
