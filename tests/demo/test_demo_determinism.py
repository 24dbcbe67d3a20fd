"""The same seed builds the same company, however the work is split."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.demo import builder
from dealcraft.demo.builder import build_demo
from dealcraft.demo.generator import CHUNK_DEALS, Spec, generate
from dealcraft.domain.process import parse_process
from dealcraft.processes.services import default_process_source

TODAY = date(2025, 3, 14)


class _Discard(Exception):
    """Raised to roll a build back, leaving an empty database for the next one."""


def _company() -> list[tuple[Any, ...]]:
    deals = list(Deal.objects.order_by("pk").values_list(
        "name", "amount", "currency", "stage", "status", "owner__username", "account__name",
        "expected_close", "created_at", "fields", "lost_reason"))
    history = list(StageHistory.objects.order_by("deal_id", "at", "id").values_list(
        "kind", "from_stage", "to_stage", "at", "amount", "gate_result", "override_reason"))
    return [*deals, *history]


def _build_and_discard(**kwargs: Any) -> list[tuple[Any, ...]]:
    try:
        with transaction.atomic():
            build_demo(**kwargs)
            company = _company()
            raise _Discard
    except _Discard:
        pass
    assert not Deal.objects.exists()
    return company


def test_the_same_seed_builds_the_same_company(db: Any) -> None:
    first = _build_and_discard(deals=200, seed=7, today=TODAY)
    second = _build_and_discard(deals=200, seed=7, today=TODAY)
    assert len(first) > 600 and first == second


def test_another_seed_builds_another_company(db: Any) -> None:
    first = _build_and_discard(deals=200, seed=7, today=TODAY)
    other = _build_and_discard(deals=200, seed=8, today=TODAY)
    assert first != other


def test_dates_follow_the_day_the_demo_is_built_for(db: Any) -> None:
    build_demo(deals=100, seed=7, today=TODAY)
    latest = max(StageHistory.objects.values_list("at", flat=True))
    assert latest.date() < TODAY
    assert (TODAY - latest.date()).days < 10


def _spec(deals: int) -> Spec:
    process, _ = parse_process(default_process_source())
    assert process is not None
    teams = tuple(
        builder.TeamSpec(segment=s, team_id=i + 1, rep_ids=tuple(range(10 * i, 10 * i + 5)),
                         manager_id=100 + i)
        for i, s in enumerate(builder.SEGMENTS))
    return Spec(seed=3, deals=deals, today=TODAY, process=process, process_version_id=1,
                teams=teams, first_account_id=1, first_contact_id=1, first_deal_id=1,
                first_next_step_id=1)


def test_a_worker_process_generates_exactly_what_this_process_would() -> None:
    spec = _spec(CHUNK_DEALS + 500)  # two blocks of deals, each with its own random stream
    inline = [(chunk.rows, chunk.deals) for chunk in generate(spec)]
    from_worker = [(chunk.rows, chunk.deals) for chunk in builder._chunks(spec, parallel=True)]
    assert from_worker == inline
    assert sum(deals for _, deals in inline) == spec.deals
