"""My day: a seller's overdue next steps, deals without one, stuck deals and tasks, most
urgent first, each linking to its deal, in a constant number of queries."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.deals.models import Deal
from dealcraft.deals.services import close_lost, log_activity, set_next_step

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def linked_deals(html: str) -> list[str]:
    """Deal names in the order the page links them."""
    return [unescape(name) for name in re.findall(r'<a href="/deals/\d+/">([^<]*)</a>', html)]


def idle(deal: Any, days: int) -> None:
    """As if the deal entered its stage `days` ago."""
    Deal.objects.filter(pk=deal.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=days))


def test_signing_in_is_required(client: Client) -> None:
    response = client.get("/today/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/today/"


def test_each_kind_of_work_is_listed_with_a_link_to_its_deal(org: Any, make_deal: Any,
                                                             signed_in: Any) -> None:
    today = timezone.localdate()
    late = make_deal(name="Late step")
    set_next_step(acting_user=org.alice, deal=late, text="Send the security pack",
                  due=today - timedelta(days=3))
    bare = make_deal(name="No step")
    stuck = make_deal(name="Idle deal")
    set_next_step(acting_user=org.alice, deal=stuck, text="Call", due=today + timedelta(days=2))
    idle(stuck, 20)
    tasked = make_deal(name="Tasked deal")
    set_next_step(acting_user=org.alice, deal=tasked, text="Demo", due=today + timedelta(days=1))
    log_activity(acting_user=org.alice, deal=tasked, kind="task", subject="Book the demo room",
                 due_at=timezone.now() - timedelta(days=1))

    response = signed_in(org.alice).get("/today/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "Send the security pack" in html and "3 days late" in html
    assert "Date the next step with the buyer" in html
    assert "20 days in Prospecting (rots after 14)" in html
    assert "Book the demo room" in html
    for deal in (late, bare, stuck, tasked):
        assert f'<a href="/deals/{deal.pk}/">{deal.name}</a>' in html


def test_work_is_ordered_overdue_then_missing_steps_then_stuck_then_due_today(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    today, now = timezone.localdate(), timezone.now()
    midnight = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))

    def with_step(name: str, due_in: int, **kwargs: Any) -> Any:
        deal = make_deal(name=name, **kwargs)
        set_next_step(acting_user=org.alice, deal=deal, text=f"Step of {name}",
                      due=today + timedelta(days=due_in))
        return deal

    due_today = with_step("Task today", 3)
    log_activity(acting_user=org.alice, deal=due_today, kind="task", subject="Later today",
                 due_at=now + (midnight - now) / 2)
    stuck_a_little = with_step("Stuck 2 over", 5)
    idle(stuck_a_little, 16)
    stuck_a_lot = with_step("Stuck 10 over", 5)
    idle(stuck_a_lot, 24)
    make_deal(name="No step, small", amount="1000.00")
    make_deal(name="No step, big", amount="90000.00")
    with_step("Late 1 day", -1)
    with_step("Late 6 days", -6)
    late_task = with_step("Task 3 days late", 4)
    log_activity(acting_user=org.alice, deal=late_task, kind="task", subject="Chase legal",
                 due_at=now - timedelta(days=3, hours=1))

    html = signed_in(org.alice).get("/today/").content.decode()

    assert linked_deals(html) == [
        "Late 6 days", "Task 3 days late", "Late 1 day",
        "No step, big", "No step, small",
        "Stuck 10 over", "Stuck 2 over",
        "Task today",
    ]


def test_a_deal_shows_once_in_its_most_urgent_group_noting_it_is_also_stuck(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="Forgotten")
    idle(deal, 30)

    html = signed_in(org.alice).get("/today/").content.decode()

    assert linked_deals(html) == ["Forgotten"]
    assert "also stuck: 30 days in stage (rots after 14)" in html


def test_nothing_done_closed_or_in_the_future_is_listed(org: Any, make_deal: Any,
                                                       signed_in: Any) -> None:
    today = timezone.localdate()
    fine = make_deal(name="On track")
    set_next_step(acting_user=org.alice, deal=fine, text="Demo", due=today + timedelta(days=3))
    log_activity(acting_user=org.alice, deal=fine, kind="task", subject="Next week's task",
                 due_at=timezone.now() + timedelta(days=7))
    log_activity(acting_user=org.alice, deal=fine, kind="task", subject="Finished task",
                 due_at=timezone.now() - timedelta(days=1), done=True)
    log_activity(acting_user=org.alice, deal=fine, kind="call", subject="A call")
    lost = make_deal(name="Lost deal")
    close_lost(acting_user=org.alice, deal=lost, reason="price")
    idle(lost, 60)

    html = signed_in(org.alice).get("/today/").content.decode()

    assert linked_deals(html) == []
    assert "All clear" in html
    for text in ("Next week", "Finished task", "A call", "Lost deal"):
        assert text not in html


def test_each_person_sees_only_their_own_work(org: Any, make_deal: Any,
                                              signed_in: Any) -> None:
    make_deal(name="Alice's deal", owner=org.alice)
    make_deal(name="Bob's deal", owner=org.bob)
    make_deal(name="Charlie's deal", owner=org.charlie)
    mona_deal = make_deal(name="Mona's own deal", owner=org.mona)
    log_activity(acting_user=org.mona, deal=mona_deal, kind="task", subject="Review the board pack",
                 due_at=timezone.now() - timedelta(hours=2))

    assert linked_deals(signed_in(org.alice).get("/today/").content.decode()) == [
        "Alice's deal"]
    assert linked_deals(signed_in(org.charlie).get("/today/").content.decode()) == [
        "Charlie's deal"]
    mona_sees = signed_in(org.mona).get("/today/").content.decode()
    assert linked_deals(mona_sees) == ["Mona's own deal", "Mona's own deal"]
    assert "Review the board pack" in mona_sees
    assert linked_deals(signed_in(org.olivia).get("/today/").content.decode()) == []


def test_a_task_someone_else_set_on_my_deal_is_theirs_not_mine(org: Any, make_deal: Any,
                                                               signed_in: Any) -> None:
    deal = make_deal(name="Shared", owner=org.alice)
    set_next_step(acting_user=org.alice, deal=deal, text="Demo",
                  due=timezone.localdate() + timedelta(days=2))
    log_activity(acting_user=org.mona, deal=deal, kind="task", subject="Mona reviews pricing",
                 due_at=timezone.now() - timedelta(hours=1))

    assert "Mona reviews pricing" not in signed_in(org.alice).get("/today/").content.decode()
    assert "Mona reviews pricing" in signed_in(org.mona).get("/today/").content.decode()


def test_names_and_subjects_are_escaped(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name=XSS)
    log_activity(acting_user=org.alice, deal=deal, kind="task", subject=XSS,
                 due_at=timezone.now() - timedelta(hours=1))

    html = signed_in(org.alice).get("/today/").content.decode()

    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_page_runs_the_same_queries_however_much_work_there_is(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    today = timezone.localdate()

    def add_work(n: int) -> None:
        for i in range(n):
            late = make_deal(name=f"Late {i}")
            set_next_step(acting_user=org.alice, deal=late, text="Overdue",
                          due=today - timedelta(days=1 + i))
            make_deal(name=f"Bare {i}")
            stuck = make_deal(name=f"Stuck {i}")
            set_next_step(acting_user=org.alice, deal=stuck, text="Soon",
                          due=today + timedelta(days=1))
            idle(stuck, 15 + i)
            log_activity(acting_user=org.alice, deal=stuck, kind="task", subject=f"Task {i}",
                         due_at=timezone.now() - timedelta(hours=1 + i))

    def queries(client: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/today/")
        assert response.status_code == 200
        return len(captured)

    client = signed_in(org.alice)
    add_work(2)
    few = queries(client)
    add_work(25)
    many = queries(client)

    assert few == many
    assert few <= 10
