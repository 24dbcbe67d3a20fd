"""Every demo deal's stage history follows the process, and agrees with the deal's record."""

from __future__ import annotations

from collections import defaultdict

from dealcraft.deals.models import Activity, Deal, Evidence, QualificationAnswer, Stakeholder
from dealcraft.demo.builder import DemoResult
from dealcraft.domain.scoring import framework_score
from dealcraft.people.models import User
from dealcraft.processes.services import active_process

from .conftest import histories


def test_every_deal_starts_with_a_created_row_and_its_history_is_one_chain(
        demo: DemoResult) -> None:
    _, process = active_process()
    paths = histories()
    assert set(paths) == set(Deal.objects.values_list("id", flat=True))
    for moves in paths.values():
        assert moves[0].kind == "created"
        assert (moves[0].from_stage, moves[0].to_stage) == ("", process.first_stage.key)
        assert [m.kind for m in moves].count("created") == 1
        for before, after in zip(moves, moves[1:], strict=False):
            assert before.to_stage == after.from_stage
            assert before.at <= after.at


def test_a_deal_stands_where_its_history_ends(demo: DemoResult) -> None:
    paths = histories()
    for deal in Deal.objects.all():
        last = paths[deal.pk][-1]
        assert deal.stage == last.to_stage
        if deal.status == "open":
            assert deal.closed_at is None
        else:
            assert last.kind == deal.status == deal.stage
            assert deal.closed_at == last.at


def test_moves_follow_the_pipeline_forward_one_stage_or_a_skip(demo: DemoResult) -> None:
    _, process = active_process()
    for moves in histories().values():
        for move in moves[1:]:
            if move.kind in ("update", "lost"):
                continue
            step = process.index(move.to_stage) - process.index(move.from_stage)
            assert step == (2 if move.kind == "skip" else 1), move
            assert move.gate_result["direction"] == (
                "won" if move.kind == "won" else "skip" if move.kind == "skip" else "forward")


def test_lost_deals_say_why_and_the_stage_they_were_lost_from(demo: DemoResult) -> None:
    _, process = active_process()
    categories = {key for key, _ in process.lost_reasons}
    paths = histories()
    lost = Deal.objects.filter(status="lost")
    assert lost.exists()
    for deal in lost:
        assert deal.lost_reason and deal.lost_reason_category in categories
        last = paths[deal.pk][-1]
        assert last.kind == "lost" and last.from_stage == deal.lost_from_stage
        assert process.has_stage(deal.lost_from_stage)
        assert last.gate_result == {"reason": deal.lost_reason,
                                    "category": deal.lost_reason_category}
    assert len(set(lost.values_list("lost_from_stage", flat=True))) >= 4


def test_gate_results_agree_with_the_evidence_fields_and_people_on_the_deal(
        demo: DemoResult) -> None:
    _, process = active_process()
    evidence: dict[int, set[str]] = defaultdict(set)
    for deal_id, criterion in Evidence.objects.values_list("deal_id", "criterion"):
        evidence[deal_id].add(criterion)
    roles: dict[int, set[str]] = defaultdict(set)
    for deal_id, role in Stakeholder.objects.values_list("deal_id", "role"):
        roles[deal_id].add(role)
    done: dict[int, set[str]] = defaultdict(set)
    for deal_id, kind in Activity.objects.filter(done_at__isnull=False).values_list(
            "deal_id", "kind"):
        done[deal_id].add(kind)
    answers: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for deal_id, framework, criterion, level in QualificationAnswer.objects.values_list(
            "deal_id", "framework", "criterion", "level"):
        answers[deal_id][framework][criterion] = level
    fields = dict(Deal.objects.values_list("id", "fields"))
    checked = 0
    for deal_id, moves in histories().items():
        for move in moves:
            for gate in move.gate_result.get("gates", ()):
                for key in gate["met"]:
                    c = process.criterion(key)
                    assert c is not None
                    checked += 1
                    if c.kind == "checklist":
                        assert key in evidence[deal_id]
                    elif c.kind == "field_set" and c.field != "account":
                        assert fields[deal_id].get(c.field)
                    elif c.kind == "stakeholder":
                        assert roles[deal_id] & set(c.roles)
                    elif c.kind == "activity":
                        assert done[deal_id] & set(c.activities)
                    elif c.kind == "qualification_score":
                        fw = process.framework(c.framework)
                        assert framework_score(fw, answers[deal_id][fw.key]) >= c.min
                for unmet in gate["unmet"]:
                    c = process.criterion(unmet["key"])
                    assert c is not None and unmet["message"]
                    if c.kind == "checklist":
                        assert unmet["key"] not in evidence[deal_id]
                    elif c.kind == "field_set":
                        assert not fields[deal_id].get(c.field)
    assert checked > 1000


def test_overrides_carry_a_managers_reason_and_the_blocking_criteria(demo: DemoResult) -> None:
    managers = {u.pk: set(u.managed_teams.values_list("id", flat=True))
                for u in User.objects.filter(role="manager")}
    teams = dict(Deal.objects.values_list("id", "team_id"))
    overrides = [(deal_id, m) for deal_id, moves in histories().items() for m in moves
                 if m.override_reason]
    assert overrides
    for deal_id, move in overrides:
        assert move.kind in ("override", "won")
        assert move.by_id in managers and teams[deal_id] in managers[move.by_id]
        blocking = move.gate_result["blocking"]
        assert blocking and all(u["stage"] == move.from_stage for u in blocking)
        unmet = [u["key"] for g in move.gate_result["gates"] for u in g["unmet"]]
        assert [u["key"] for u in blocking] == unmet
    plain = [m for moves in histories().values() for m in moves
             if m.kind in ("advance", "skip")]
    assert all(not m.gate_result["blocking"] and not m.override_reason for m in plain)


def test_warn_gates_let_deals_through_with_the_warning_recorded(demo: DemoResult) -> None:
    warned = [m for moves in histories().values() for m in moves
              if m.kind == "advance" and m.gate_result["warnings"]]
    assert warned
    for move in warned:
        assert move.gate_result["gates"][0]["mode"] == "warn"
        assert not move.gate_result["blocking"] and not move.override_reason


def test_amount_and_close_date_revisions_are_update_rows(demo: DemoResult) -> None:
    from dealcraft.deals.models import StageHistory

    updates = StageHistory.objects.filter(kind="update")
    assert updates.exists()
    for row in updates.select_related("deal"):
        assert row.from_stage == row.to_stage
        earlier = StageHistory.objects.filter(deal=row.deal, at__lt=row.at).order_by(
            "-at", "-id").first()
        assert earlier is not None
        assert (earlier.amount, earlier.expected_close) != (row.amount, row.expected_close)
