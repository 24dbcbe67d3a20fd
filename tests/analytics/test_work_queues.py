"""The read-only queries behind My day and the manager view: when a deal rots, how many
items a day lists, whose deals a manager's numbers cover, and which moves are recent."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.analytics.team import team_view
from dealcraft.analytics.today import NO_NEXT_STEP, OVERDUE, STUCK, my_day
from dealcraft.deals.services import advance_stage, set_next_step
from dealcraft.people.services import add_team_manager, create_user
from dealcraft.processes.services import active_process

pytestmark = pytest.mark.django_db


def test_a_deal_is_stuck_once_its_stay_passes_the_stage_s_rotting_days(
        org: Any, make_deal: Any) -> None:
    _, process = active_process()
    deal = make_deal(name="Prospect")
    set_next_step(acting_user=org.alice, deal=deal, text="Call",
                  due=timezone.localdate() + timedelta(days=60))
    entered = deal.stage_entered_at

    day_13 = my_day(org.alice, process, now=entered + timedelta(days=13))
    day_15 = my_day(org.alice, process, now=entered + timedelta(days=15))

    assert day_13.total == 0
    [stuck] = day_15.groups[STUCK - 1].items
    assert (stuck.deal.pk, stuck.days_in_stage, stuck.rotting_days, stuck.days_over) == (
        deal.pk, 15, 14, 1)


def test_a_next_step_is_overdue_the_day_after_its_date(org: Any, make_deal: Any) -> None:
    _, process = active_process()
    deal = make_deal(name="Dated")
    due = timezone.localdate() + timedelta(days=2)
    set_next_step(acting_user=org.alice, deal=deal, text="Send proposal", due=due)
    on_the_day = timezone.make_aware(datetime.combine(due, time.min))

    assert my_day(org.alice, process, now=on_the_day + timedelta(hours=12)).total == 0
    late = my_day(org.alice, process, now=on_the_day + timedelta(days=1, hours=1))
    [item] = late.groups[OVERDUE - 1].items
    assert (item.kind, item.days_overdue) == ("next_step_overdue", 1)


def test_the_day_lists_the_first_items_in_order_and_counts_them_all(
        org: Any, make_deal: Any) -> None:
    _, process = active_process()
    for n in range(5):
        make_deal(name=f"Bare {n}", amount=f"{(n + 1) * 1000}.00")

    day = my_day(org.alice, process, limit=3)

    missing = day.groups[NO_NEXT_STEP - 1]
    assert [item.deal.name for item in missing.items] == ["Bare 4", "Bare 3", "Bare 2"]
    assert (missing.total, day.shown, day.total, day.truncated) == (5, 3, 5, True)


def test_pipeline_cells_keep_each_currency_apart(org: Any, make_deal: Any) -> None:
    _, process = active_process()
    make_deal(amount="100.00", currency="EUR")
    make_deal(amount="250.00", currency="EUR", owner=org.bob)
    make_deal(amount="40.00", currency="GBP")

    view = team_view(org.mona, process)

    prospecting = view.pipeline.rows[0]
    assert prospecting.key == "prospecting"
    assert prospecting.total.count == 3
    assert prospecting.total.amount_list == [("EUR", Decimal("350.00")),
                                             ("GBP", Decimal("40.00"))]


def test_a_manager_of_two_teams_sees_both_and_a_manager_of_none_sees_nothing(
        org: Any, make_deal: Any) -> None:
    _, process = active_process()
    make_deal(owner=org.alice)
    make_deal(owner=org.charlie)
    add_team_manager(acting_user=org.ada, team="South", manager=org.mona)

    both = team_view(org.mona, process)
    newcomer = create_user(acting_user=org.ada, username="nina", role="manager")
    nothing = team_view(newcomer, process)

    assert both.teams == ["North", "South"] and both.pipeline.total.count == 2
    assert {a.name for a in both.adherence} == {"Alice", "Bob", "Charlie"}
    assert nothing.teams == [] and nothing.pipeline.total.count == 0
    assert nothing.adherence == [] and nothing.overrides == []


def test_overrides_and_adherence_count_only_recent_moves(org: Any, make_deal: Any) -> None:
    _, process = active_process()
    deal = make_deal()
    advance_stage(acting_user=org.mona, deal=deal, to="discovery", override_reason="Known buyer")

    now_view = team_view(org.mona, process)
    later = team_view(org.mona, process, now=timezone.now() + timedelta(days=91))

    assert [o.entry.override_reason for o in now_view.overrides] == ["Known buyer"]
    alice = next(a for a in now_view.adherence if a.name == "Alice")
    assert (alice.overridden, alice.skipped_stages) == (1, 1)
    assert later.overrides == []
    assert next(a for a in later.adherence if a.name == "Alice").moves == 0
