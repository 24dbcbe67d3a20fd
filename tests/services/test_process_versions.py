"""Applying process files: who may, what a new version is, and which version judged a gate."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import advance_stage
from dealcraft.errors import GateRefused, NotAllowed
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import (
    ProcessInvalid,
    active_process,
    active_version,
    apply_process,
    default_process_source,
)

from .conftest import edited_process, reload, satisfy_qualification

LOWER_MEDDICC_BAR = edited_process((r"^        min: 60$", "        min: 40"),
                                   (r"^  threshold: 60$", "  threshold: 40"))


def test_empty_database_starts_with_the_default_process_as_version_one(db: Any) -> None:
    version, process = active_process()

    assert version.number == 1
    assert version.is_active
    assert version.source == default_process_source()
    assert process.stage_keys == ("prospecting", "qualification", "discovery", "solution",
                                  "proposal", "negotiation")


def test_first_process_applied_to_an_empty_database_is_version_one(org: Any) -> None:
    assert apply_process(LOWER_MEDDICC_BAR, acting_user=org.olivia).number == 1
    assert ProcessVersion.objects.count() == 1


def test_ops_applies_a_modified_process_as_a_new_active_version(org: Any) -> None:
    first = active_version()

    second = apply_process(LOWER_MEDDICC_BAR, acting_user=org.olivia, note="lower MEDDICC bar")

    assert second.number == first.number + 1
    assert second.applied_by == org.olivia
    assert list(ProcessVersion.objects.filter(is_active=True)) == [second]
    _, process = active_process()
    assert process.stage("qualification").exit_criteria[-1].min == 40
    event = AuditEvent.objects.get(action="process.apply", actor=org.olivia)
    assert event.changes == {"number": 2, "previous": 1, "name": process.name}


def test_admin_may_apply_a_process(org: Any) -> None:
    active_version()

    assert apply_process(LOWER_MEDDICC_BAR, acting_user=org.ada).number == 2


@pytest.mark.parametrize("persona", ["alice", "mona", "vera"])
def test_only_ops_and_admins_apply_a_process(org: Any, persona: str) -> None:
    active_version()

    with pytest.raises(NotAllowed):
        apply_process(LOWER_MEDDICC_BAR, acting_user=getattr(org, persona))

    assert ProcessVersion.objects.count() == 1
    assert active_version().number == 1


def test_applying_identical_source_does_not_create_a_new_version(org: Any) -> None:
    active_version()
    second = apply_process(LOWER_MEDDICC_BAR, acting_user=org.olivia)
    audited = AuditEvent.objects.count()

    again = apply_process(LOWER_MEDDICC_BAR, acting_user=org.olivia)

    assert again == second
    assert ProcessVersion.objects.count() == 2
    assert AuditEvent.objects.count() == audited


def test_reapplying_an_earlier_source_makes_it_a_new_version(org: Any) -> None:
    active_version()
    apply_process(LOWER_MEDDICC_BAR, acting_user=org.olivia)

    third = apply_process(default_process_source(), acting_user=org.olivia)

    assert third.number == 3
    assert active_version() == third


def test_invalid_source_raises_with_every_problem_and_stores_nothing(org: Any) -> None:
    active_version()
    broken = edited_process((r"^    gate: warn$", "    gate: sometimes"),
                            (r"^  skip: gates", "  skip: whenever"))

    with pytest.raises(ProcessInvalid) as invalid:
        apply_process(broken, acting_user=org.olivia)

    problems = invalid.value.problems
    assert len(problems) == 2
    lines = broken.splitlines()
    assert "sometimes" in lines[problems[1].line - 1]
    assert "whenever" in lines[problems[0].line - 1]
    assert ProcessVersion.objects.count() == 1
    assert not AuditEvent.objects.filter(action="process.apply", actor=org.olivia).exists()


def test_gate_is_judged_by_the_version_active_when_it_is_evaluated(
        org: Any, qualifying_deal: Deal) -> None:
    satisfy_qualification(qualifying_deal, org.alice, meddicc_level=1)  # MEDDICC 33.3
    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")
    assert [u.key for u in refused.value.transition.blocking] == ["meddicc_score"]
    v1 = active_version()

    v2 = apply_process(edited_process((r"^        min: 60$", "        min: 30")),
                       acting_user=org.olivia)
    advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    rows = list(StageHistory.objects.filter(deal=qualifying_deal))
    assert [(r.kind, r.process_version.number if r.process_version else None)
            for r in rows] == [("created", v1.number), ("advance", v1.number),
                               ("advance", v2.number)]
    assert "meddicc_score" in rows[-1].gate_result["gates"][0]["met"]
    assert reload(qualifying_deal).process_version == v2


def test_deal_in_a_stage_the_new_version_dropped_can_still_move_forward(
        org: Any, qualifying_deal: Deal) -> None:
    # A process without the qualification stage: prospecting's successor becomes discovery.
    source = default_process_source()
    start = source.index("  - key: qualification\n    name:")
    end = source.index("  # Step 4: Discovery (deep understanding")
    apply_process(source[:start] + source[end:], acting_user=org.olivia)

    advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert reload(qualifying_deal).stage == "discovery"


def test_process_with_a_very_long_name_is_applied(org: Any) -> None:
    active_version()
    long_name = "Enterprise sales " * 15

    version = apply_process(edited_process((r"^name: .*$", f'name: "{long_name.strip()}"')),
                            acting_user=org.olivia)

    assert version.number == 2
    assert long_name.startswith(ProcessVersion.objects.get(pk=version.pk).name)


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_applies_the_default_process_once(db: Any) -> None:
    import threading

    from django.db import connection, connections

    from dealcraft.processes.models import ProcessVersion
    from dealcraft.processes.services import active_version

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises whole-database writes")
    barrier = threading.Barrier(4)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            barrier.wait()
            numbers.append(active_version().number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert numbers == [1, 1, 1, 1]
    assert ProcessVersion.objects.count() == 1
