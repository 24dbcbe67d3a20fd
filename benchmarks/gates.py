"""Gate evaluation speed: one stage with 30 exit criteria of every kind, against realistic facts.

    .venv/bin/python benchmarks/gates.py [--iterations 20000]

Prints p50 / p99 / max per `evaluate_gate` call, and the same figures for two baselines measured
in the same run (evaluating a stage with no criteria, the cost of the call and of timing it; and
30 plain set lookups, the least any 30-criterion gate could cost), so figures from different
machines can be compared by their ratios. The target is p99 under 5 ms.
Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dealcraft.domain.gates import DealFacts, evaluate_gate
from dealcraft.domain.process import Process, parse_process

TARGET_P99_MS = 5.0
TODAY = date(2024, 6, 3)

STAGE_HEADER = """\
name: Benchmark process
fields:
  - {key: segment, label: Segment, type: choice, choices: [smb, mid_market, enterprise]}
  - {key: urgency, label: Urgency, type: choice, choices: [low, medium, high]}
  - {key: success_criteria, label: Success criteria, type: text}
  - {key: decision_process, label: Decision process, type: text}
  - {key: procurement_ticket, label: Procurement ticket, type: text}
  - {key: signature_date, label: Signature date, type: date}
  - {key: security_review_passed, label: Security review passed, type: bool}
  - {key: seats, label: Seats, type: number}
stakeholder_roles:
  - {key: economic_buyer, name: Economic buyer}
  - {key: decision_maker, name: Decision maker}
  - {key: champion, name: Champion}
  - {key: technical_evaluator, name: Technical evaluator}
  - {key: legal, name: Legal}
frameworks:
  - key: meddicc
    name: MEDDICC
    criteria:
      - {key: metrics, name: Metrics, weight: 15}
      - {key: economic_buyer, name: Economic buyer, weight: 15}
      - {key: decision_criteria, name: Decision criteria, weight: 15}
      - {key: decision_process, name: Decision process, weight: 15}
      - {key: identify_pain, name: Identify pain, weight: 20}
      - {key: champion, name: Champion, weight: 10}
      - {key: competition, name: Competition, weight: 10}
  - key: bant
    name: BANT
    criteria:
      - {key: budget, name: Budget}
      - {key: authority, name: Authority}
      - {key: need, name: Need}
      - {key: timeline, name: Timeline}
stages:
  - key: discovery
    name: Discovery
    purpose: Understand the buyer's world.
    probability: 20
    forecast_category: pipeline
    rotting_days: 21
    exit_criteria:
"""

# Thirty criteria covering every kind, in the proportions a real process has them.
CRITERIA = [
    "{key: account_set, kind: field_set, field: account, label: Account}",
    "{key: amount_set, kind: field_set, field: amount, label: Amount}",
    "{key: success_set, kind: field_set, field: success_criteria, label: Success criteria}",
    "{key: process_set, kind: field_set, field: decision_process, label: Decision process}",
    "{key: ticket_set, kind: field_set, field: procurement_ticket, label: Ticket}",
    "{key: big_enough, kind: field_compare, field: amount, op: gte, value: 25000, label: Size}",
    "{key: closes_soon, kind: field_compare, field: expected_close, op: lte, value: 2024-12-31,"
    " label: Closes this year}",
    "{key: not_smb, kind: field_compare, field: segment, op: gte, value: mid_market,"
    " label: Segment}",
    "{key: urgent, kind: field_compare, field: urgency, op: in, value: [medium, high],"
    " label: Urgency}",
    "{key: security_ok, kind: field_compare, field: security_review_passed, op: eq, value: true,"
    " label: Security review}",
    "{key: committed, kind: field_compare, field: forecast_category, op: gte, value: best_case,"
    " label: Forecast}",
    "{key: seats_known, kind: field_compare, field: seats, op: gt, value: 10, label: Seats}",
    "{key: problem_confirmed, kind: checklist, label: Problem confirmed}",
    "{key: impact_discussed, kind: checklist, label: Business impact discussed}",
    "{key: pains_identified, kind: checklist, label: Pain points identified}",
    "{key: value_confirmed, kind: checklist, label: Value confirmed}",
    "{key: agenda_agreed, kind: checklist, label: Agenda agreed}",
    "{key: buyer_named, kind: stakeholder, roles: [economic_buyer], label: Economic buyer}",
    "{key: champion_named, kind: stakeholder, roles: [champion], label: Champion}",
    "{key: deciders_named, kind: stakeholder, roles: [economic_buyer, decision_maker], count: 2,"
    " label: Deciders}",
    "{key: meddicc_60, kind: qualification_score, framework: meddicc, min: 60, label: MEDDICC}",
    "{key: bant_50, kind: qualification_score, framework: bant, min: 50, label: BANT}",
    "{key: next_meeting, kind: next_step, within_days: 14, buyer_confirmed: true,"
    " label: Next meeting}",
    "{key: next_step_month, kind: next_step, within_days: 30, label: Next step}",
    "{key: discovery_call, kind: activity, activity: [call, meeting], since_stage: discovery,"
    " label: Discovery call}",
    "{key: three_emails, kind: activity, activity: email, count: 3, label: Emails}",
    "{key: two_meetings, kind: activity, activity: meeting, count: 2, since_stage: discovery,"
    " label: Meetings}",
    "{key: discount_ok, kind: approval, approval: discount, label: Discount approved}",
    "{key: security_review, kind: buyer_milestone, milestone: security_review,"
    " label: Security review done}",
    "{key: pilot_signed_off, kind: buyer_milestone, milestone: pilot, label: Pilot}",
]

FOOTER = """\
  - key: proposal
    name: Proposal
    purpose: Help the buyer decide.
    probability: 60
    forecast_category: best_case
    rotting_days: 30
outcomes:
  won: {}
  lost: {}
"""


def build_process() -> Process:
    text = STAGE_HEADER + "".join(f"      - {c}\n" for c in CRITERIA) + FOOTER
    process, problems = parse_process(text)
    if process is None:
        raise SystemExit("\n".join(p.format("benchmark") for p in problems))
    assert len(process.stage("discovery").exit_criteria) == 30
    return process


def realistic_facts() -> DealFacts:
    """A deal halfway through discovery: about half the criteria met, the rest not."""
    entered = datetime(2024, 5, 20, 9, tzinfo=UTC)
    activities = [("email", entered - timedelta(days=d)) for d in range(1, 30, 3)]
    activities += [("call", entered + timedelta(days=d, hours=2)) for d in range(0, 12, 4)]
    activities += [("meeting", entered + timedelta(days=5))]
    activities += [("note", entered + timedelta(days=d)) for d in range(10)]
    return DealFacts(
        today=TODAY,
        fields={
            "name": "Acme platform rollout", "account": "Acme", "amount": Decimal("48000.00"),
            "currency": "USD", "expected_close": date(2024, 9, 30), "probability": 20,
            "forecast_category": "pipeline", "segment": "enterprise", "urgency": "high",
            "success_criteria": "Cut onboarding cycle time by a third", "decision_process": "",
            "procurement_ticket": None, "signature_date": "2024-09-15",
            "security_review_passed": False, "seats": "120",
        },
        evidence=frozenset({"problem_confirmed", "impact_discussed", "agenda_agreed"}),
        stakeholder_roles={"economic_buyer": 1, "champion": 1, "technical_evaluator": 2},
        qualification={
            "meddicc": {"metrics": 2, "economic_buyer": 3, "decision_criteria": 1,
                        "identify_pain": 3, "champion": 2},
            "bant": {"budget": 2, "need": 3},
        },
        next_step_due=TODAY + timedelta(days=6),
        next_step_buyer_confirmed=True,
        activities_done=tuple(activities),
        stage_entered={"prospecting": entered - timedelta(days=40), "discovery": entered},
    )


def time_calls(call: Callable[[], object], iterations: int) -> list[int]:
    for _ in range(min(1000, iterations)):  # warm caches before measuring
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        call()
        samples.append(clock() - start)
    return samples


def summary(samples: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 / 1e6, p99 / 1e6, ordered[-1] / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args(argv)

    process = build_process()
    facts = realistic_facts()
    result = evaluate_gate(process, "discovery", facts)
    print(f"gate: {result.total} criteria, {len(result.met)} met, {len(result.unmet)} unmet; "
          f"{args.iterations:,} calls each")

    gate = summary(time_calls(lambda: evaluate_gate(process, "discovery", facts),
                              args.iterations))
    empty = summary(time_calls(lambda: evaluate_gate(process, "proposal", facts),
                               args.iterations))
    # The least any 30-criterion gate could cost: one set lookup per criterion.
    keys = [c.key for c in process.stage("discovery").exit_criteria]
    lookups = summary(time_calls(lambda: [k in facts.evidence for k in keys], args.iterations))
    print(f"{'':30}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for label, figures in [("30-criterion gate", gate), ("baseline: empty gate", empty),
                           ("baseline: 30 set lookups", lookups)]:
        print(f"{label:30}" + "".join(f"{v:>10.4f}" for v in figures))
    for label, base in [("empty gate", empty), ("30 set lookups", lookups)]:
        print(f"ratio to {label}: p50 x{gate[0] / base[0]:.1f}, p99 x{gate[1] / base[1]:.1f}")
    met = gate[1] < TARGET_P99_MS
    print(f"target p99 < {TARGET_P99_MS:g} ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
