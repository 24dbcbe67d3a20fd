"""The activity timeline: calls, meetings, emails and notes logged; tasks scheduled with a due
date and marked done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Activity
from dealcraft.deals.services import log_activity

from .conftest import parse

pytestmark = pytest.mark.django_db


def test_a_call_is_logged_as_done_and_shown_on_the_timeline(org: Any, make_deal: Any,
                                                            signed_in: Any, page: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/activities/", {
        "kind": "call", "subject": "Intro call with Erin", "body": "Pain: month-end close"})

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#activities"
    call = Activity.objects.get(deal=deal)
    assert (call.kind, call.owner, call.done_at is not None) == ("call", org.alice, True)
    html = page(org.alice, deal)
    assert "Call Intro call with Erin Pain: month-end close" in html.testid("timeline").text()
    assert html.testid("criterion-conversation_started").attrs["data-met"] == "true"


def test_a_task_is_scheduled_with_its_due_date(org: Any, make_deal: Any, signed_in: Any,
                                               page: Any) -> None:
    deal = make_deal()
    due = timezone.localdate() + timedelta(days=3)

    signed_in(org.alice).post(f"/deals/{deal.pk}/activities/", {
        "kind": "task", "subject": "Send the security pack", "due": f"{due}T14:30"})

    task = Activity.objects.get(deal=deal)
    assert task.done_at is None
    assert task.due_at == timezone.make_aware(datetime(due.year, due.month, due.day, 14, 30))
    assert "Send the security pack" in page(org.alice, deal).testid("open-tasks").text()


def test_a_task_needs_a_due_date(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/activities/", {
        "kind": "task", "subject": "Someday"})

    assert response.status_code == 422
    assert "A task needs a due date." in parse(response.content).testid("activity-error").text()
    assert not Activity.objects.exists()


def test_an_activity_needs_a_subject(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/activities/", {
        "kind": "note", "subject": ""})

    assert response.status_code == 422
    assert "subject must not be empty" in parse(response.content).testid(
        "activity-error").text()


def test_marking_a_task_done_closes_it_and_audits_it(org: Any, make_deal: Any, signed_in: Any,
                                                     page: Any) -> None:
    deal = make_deal()
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck",
                        due_at=timezone.now() + timedelta(days=1))
    assert page(org.alice, deal).has(f"task-done-{task.pk}")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/activities/{task.pk}/done/")

    assert response.status_code == 302
    assert Activity.objects.get(pk=task.pk).done_at is not None
    assert AuditEvent.objects.filter(action="activity.complete", deal=deal).exists()
    assert not page(org.alice, deal).has("open-tasks")


def test_a_task_of_another_deal_cannot_be_completed_through_this_one(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    other = make_deal(name="Other")
    task = log_activity(acting_user=org.alice, deal=other, kind="task", subject="Send deck")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/activities/{task.pk}/done/")

    assert response.status_code == 404
    assert Activity.objects.get(pk=task.pk).done_at is None


def test_the_page_shows_the_latest_fifty_and_links_to_all(org: Any, make_deal: Any,
                                                          signed_in: Any, page: Any) -> None:
    deal = make_deal()
    for n in range(52):
        log_activity(acting_user=org.alice, deal=deal, kind="note", subject=f"Note {n:02d}")

    html = page(org.alice, deal)
    everything = parse(signed_in(org.alice).get(f"/deals/{deal.pk}/activities/").content)
    second = parse(signed_in(org.alice).get(f"/deals/{deal.pk}/activities/?page=2").content)

    timeline = html.testid("timeline").find_all("li")
    assert len(timeline) == 50 and "Note 51" in timeline[0].text()
    assert html.has("all-activities")
    assert len(everything.testid("timeline").find_all("li")) == 50
    assert [li.text().split(" Alice")[0] for li in second.testid("timeline").find_all("li")] == [
        "Note Note 01", "Note Note 00"]
