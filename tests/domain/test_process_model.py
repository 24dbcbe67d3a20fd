"""A validated process file becomes plain frozen data, with defaults filled in and lookups
the rest of dealcraft relies on."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from dealcraft.domain.process import Criterion, Process, parse_process

from .builders import VALID, criterion, edit


def parsed(text: str = VALID) -> Process:
    result, problems = parse_process(text)
    assert problems == []
    assert result is not None
    return result


def test_omitted_keys_take_their_documented_defaults() -> None:
    p = parsed(edit("currency: EUR\n", ""))
    assert p.currency == "USD"
    assert p.settings.visibility == "team"
    assert p.settings.override == "managers"
    assert all(s.gate == "enforce" for s in p.stages)
    assert p.won_gate == "enforce"
    assert p.criterion("champion_named").count == 1  # type: ignore[union-attr]
    assert p.stage("first").guidance == ()
    assert p.stage("first").next == ()
    assert p.framework("bant").criteria[0].weight == 1.0


def test_the_process_keeps_what_the_file_says() -> None:
    p = parsed()
    assert p.name == "Test process"
    assert p.currency == "EUR"
    assert p.stage_keys == ("first", "second", "third")
    assert p.first_stage.key == "first"
    assert p.qualification_framework == "bant"
    assert p.qualification_threshold == 50
    assert p.stakeholder_roles == (("champion", "Champion"), ("economic_buyer", "Economic buyer"))
    assert p.lost_reasons == (("price", "Price"),)
    segment = p.custom_field("segment")
    assert segment is not None and segment.choices == ("smb", "mid_market", "enterprise")
    assert p.custom_field("colour") is None


def test_the_process_is_immutable() -> None:
    p = parsed()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "Changed"  # type: ignore[misc]
    assert isinstance(p.stages, tuple)
    assert isinstance(p.stage("second").exit_criteria, tuple)


def test_criteria_are_found_wherever_they_live_including_won() -> None:
    p = parsed()
    assert [(where, c.key) for where, c in p.all_criteria()] == [
        ("first", "amount_set"), ("second", "champion_named"), ("second", "seats_known"),
        ("third", "calls_made"), ("won", "handoff"),
    ]
    assert p.criterion("handoff") is not None
    assert p.criterion("nowhere") is None


def test_an_activity_kind_written_alone_becomes_a_one_item_tuple() -> None:
    assert parsed().criterion("calls_made").activities == ("call",)  # type: ignore[union-attr]
    listed = parsed(edit("activity: call", "activity: [call, meeting]"))
    assert listed.criterion("calls_made").activities == ("call", "meeting")  # type: ignore[union-attr]


def test_compare_values_keep_their_types() -> None:
    p = parsed(edit("        field: seats\n        op: gte\n        value: 10\n",
                    "        field: go_live\n        op: in\n"
                    "        value: [2024-06-30, 2024-09-30]\n"))
    assert p.criterion("seats_known").value == (  # type: ignore[union-attr]
        date(2024, 6, 30), date(2024, 9, 30))


def test_the_index_of_won_is_after_the_last_stage() -> None:
    p = parsed()
    assert [p.index(k) for k in ("first", "second", "third", "won")] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        p.index("lost")
    with pytest.raises(KeyError):
        p.stage("lost")
    assert p.has_stage("second") and not p.has_stage("won")


def test_forward_targets_are_the_following_stage_then_won_unless_next_says_otherwise() -> None:
    p = parsed()
    assert p.forward_targets("first") == ("second",)
    assert p.forward_targets("third") == ("won",)
    branching = parsed(edit("    rotting_days: 10\n",
                            "    rotting_days: 10\n    next: [second, won]\n"))
    assert branching.forward_targets("first") == ("second", "won")


@pytest.mark.parametrize(("c", "reads"), [
    (criterion("a", "field_set", field="amount"), "amount is set"),
    (criterion("b", "field_compare", field="seats", op="gte", value=10), "seats gte 10"),
    (criterion("c", "checklist"), "confirmed with evidence"),
    (criterion("d", "stakeholder", roles=("champion", "economic_buyer"), count=2),
     "2 stakeholder(s) named as champion or economic_buyer"),
    (criterion("e", "qualification_score", framework="bant", min=60),
     "bant score at least 60"),
    (criterion("f", "next_step", within_days=14, buyer_confirmed=True),
     "next step dated within 14 days, confirmed by the buyer"),
    (criterion("g", "next_step", within_days=7), "next step dated within 7 days"),
    (criterion("h", "activity", activities=("call", "meeting"), count=2, since_stage="first"),
     "2 call or meeting activities done since entering first"),
    (criterion("i", "activity", activities=("email",)), "1 email activity done"),
    (criterion("j", "approval", approval="discount"), "approval 'discount' granted"),
    (criterion("k", "buyer_milestone", milestone="security_review"),
     "buyer milestone 'security_review' done"),
])
def test_every_criterion_kind_describes_itself_in_one_line(c: Criterion, reads: str) -> None:
    assert c.describe() == reads

