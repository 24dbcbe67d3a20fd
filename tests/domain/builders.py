"""Small process files and processes for the domain tests, built without a database."""

from __future__ import annotations

from collections.abc import Iterable
from textwrap import dedent
from typing import Any

from dealcraft.domain.process import (
    Criterion,
    CustomField,
    Framework,
    FrameworkCriterion,
    Process,
    Settings,
    Stage,
    parse_process,
)

# A valid process exercising most sections; tests edit one line of it to create one problem.
VALID = dedent("""\
    name: Test process
    currency: EUR
    settings:
      skip: gates
      backward: reason
    fields:
      - key: segment
        label: Segment
        type: choice
        choices: [smb, mid_market, enterprise]
      - key: signed
        label: Signed
        type: bool
      - key: go_live
        label: Go-live date
        type: date
      - key: seats
        label: Seats
        type: number
      - key: summary
        label: Summary
        type: text
    stakeholder_roles:
      - key: champion
        name: Champion
      - key: economic_buyer
        name: Economic buyer
    frameworks:
      - key: bant
        name: BANT
        criteria:
          - key: budget
            name: Budget
          - key: need
            name: Need
    qualification:
      framework: bant
      threshold: 50
    stages:
      - key: first
        name: First
        purpose: Start the conversation
        probability: 10
        forecast_category: pipeline
        rotting_days: 10
        exit_criteria:
          - key: amount_set
            kind: field_set
            field: amount
            label: Amount set
      - key: second
        name: Second
        purpose: Qualify
        probability: 40
        forecast_category: best_case
        rotting_days: 20
        exit_criteria:
          - key: champion_named
            kind: stakeholder
            roles: [champion]
            label: Champion named
          - key: seats_known
            kind: field_compare
            field: seats
            op: gte
            value: 10
            label: At least ten seats
      - key: third
        name: Third
        purpose: Commit
        probability: 80
        forecast_category: commit
        rotting_days: 30
        exit_criteria:
          - key: calls_made
            kind: activity
            activity: call
            since_stage: second
            label: A call since qualifying
    outcomes:
      won:
        criteria:
          - key: handoff
            kind: checklist
            label: Handoff notes
      lost:
        reasons:
          - key: price
            name: Price
""")


def edit(old: str, new: str, text: str = VALID) -> str:
    """`text` with the one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, marker: str) -> int:
    """The 1-based line holding `marker`, which must occur on exactly one line."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(lines) == 1, f"{marker!r} is on lines {lines}"
    return lines[0]


def problems(text: str) -> list[tuple[int, str]]:
    """The problems validation reports for `text`, as (line, message); none for a valid file."""
    process, found = parse_process(text)
    assert (process is None) == bool(found), "a process must come with no problems, or none"
    return [(p.line, p.message) for p in found]


def assert_reported(text: str, line: int, *fragments: str) -> None:
    """Validation reports, at `line`, one problem whose message holds every fragment."""
    found = problems(text)
    matching = [m for n, m in found if n == line and all(f in m for f in fragments)]
    assert matching, f"nothing at line {line} saying {fragments!r}; reported: {found!r}"


def criterion(key: str, kind: str, label: str = "", **kwargs: Any) -> Criterion:
    return Criterion(key=key, kind=kind, label=label or key.replace("_", " "), **kwargs)


def stage(key: str, *criteria: Criterion, gate: str = "enforce",
          next: Iterable[str] = ()) -> Stage:
    return Stage(key=key, name=key.title(), purpose=f"The {key} stage", probability=10,
                 forecast_category="pipeline", rotting_days=14, gate=gate, next=tuple(next),
                 exit_criteria=tuple(criteria))


BANT = Framework("bant", "BANT", tuple(
    FrameworkCriterion(k, k.title(), 25.0) for k in ("budget", "authority", "need", "timeline")))

FIELDS = (
    CustomField("segment", "Segment", "choice", ("smb", "mid_market", "enterprise")),
    CustomField("signed", "Signed", "bool"),
    CustomField("go_live", "Go-live date", "date"),
    CustomField("seats", "Seats", "number"),
    CustomField("summary", "Summary", "text"),
)


def process(*stages: Stage, won: Iterable[Criterion] = (), won_gate: str = "enforce",
            skip: str = "gates", backward: str = "reason") -> Process:
    """A process with the given stages, the shared custom fields, roles and BANT."""
    return Process(
        name="Test process",
        stages=stages,
        stakeholder_roles=(("champion", "Champion"), ("economic_buyer", "Economic buyer")),
        settings=Settings(skip=skip, backward=backward),
        fields=FIELDS,
        frameworks=(BANT,),
        won_gate=won_gate,
        won_criteria=tuple(won),
    )
