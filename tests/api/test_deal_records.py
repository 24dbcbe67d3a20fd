"""The records that move a deal: next step, activities, stakeholders, qualification answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from dealcraft.crm.models import Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Stakeholder

from .conftest import assert_problem


def test_setting_the_next_step_returns_the_deal_with_it(org: Any, api_as: Any,
                                                        make_deal: Any) -> None:
    deal = make_deal()
    due = (timezone.localdate() + timedelta(days=4)).isoformat()

    response = api_as(org.alice).post(f"/deals/{deal.pk}/next-step", {
        "text": "Security review with IT", "due": due, "owner": "bob"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_step"] == {"text": "Security review with IT", "due": due, "owner": "bob",
                                 "buyer_confirmed": False}
    assert body["version"] == 2


def test_a_next_step_needs_a_date(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    body = assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/next-step",
                                                 {"text": "Someday"}), 422)
    assert body["field"] == "due"


def test_activities_are_logged_done_and_tasks_are_scheduled(org: Any, api_as: Any,
                                                            make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)

    call = api.post(f"/deals/{deal.pk}/activities", {"kind": "call", "subject": "Intro call",
                                                     "body": "Talked about month-end"})
    task = api.post(f"/deals/{deal.pk}/activities", {"kind": "task", "subject": "Send deck",
                                                     "due_at": "2031-01-10T09:00:00"})
    bad = api.post(f"/deals/{deal.pk}/activities", {"kind": "carrier pigeon", "subject": "?"})

    assert call.status_code == 201, call.content
    assert call.json()["done_at"] is not None and call.json()["owner"] == "alice"
    assert task.status_code == 201, task.content
    assert task.json()["done_at"] is None
    assert task.json()["due_at"].startswith("2031-01-10T09:00:00")
    assert assert_problem(bad, 422)["field"] == "kind"


def test_a_stakeholder_is_named_from_an_existing_or_new_contact(org: Any, api_as: Any,
                                                                make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Hooli")
    deal = make_deal(account=account)
    existing = create_contact(acting_user=org.alice, account=account, first_name="Gavin",
                              last_name="Belson")
    api = api_as(org.alice)

    named = api.post(f"/deals/{deal.pk}/stakeholders", {
        "contact_id": existing.pk, "role": "economic_buyer", "influence": 3, "support": -1})
    new = api.post(f"/deals/{deal.pk}/stakeholders", {
        "contact": {"first_name": "Monica", "last_name": "Hall", "email": "monica@hooli.example",
                    "title": "VP Finance"},
        "role": "champion"})

    assert named.status_code == 201, named.content
    assert named.json()["contact"]["name"] == "Gavin Belson"
    assert named.json()["influence"] == 3 and named.json()["support"] == -1
    assert new.status_code == 201, new.content
    assert new.json()["contact"]["account"] == "Hooli"
    assert new.json()["contact"]["title"] == "VP Finance"


def test_a_refused_stakeholder_leaves_no_new_contact_behind(org: Any, api_as: Any,
                                                            make_deal: Any) -> None:
    deal = make_deal()

    wrong_role = api_as(org.alice).post(f"/deals/{deal.pk}/stakeholders", {
        "contact": {"first_name": "Ghost"}, "role": "oracle"})
    not_hers = api_as(org.bob).post(f"/deals/{deal.pk}/stakeholders", {
        "contact": {"first_name": "Ghost"}, "role": "champion"})

    assert assert_problem(wrong_role, 422)["field"] == "role"
    assert_problem(not_hers, 403)
    assert not Contact.objects.exists()
    assert not Stakeholder.objects.exists()


def test_a_stakeholder_needs_exactly_one_contact(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    body = assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/stakeholders",
                                                 {"role": "champion"}), 422)
    assert body["field"] == "contact_id"


def test_qualification_answers_are_scored_0_to_3(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)

    ok = api.post(f"/deals/{deal.pk}/qualification", {
        "framework": "meddicc", "criterion": "metrics", "level": 3,
        "evidence": "Cut close from 9 to 4 days"})
    unsupported = api.post(f"/deals/{deal.pk}/qualification", {
        "framework": "meddicc", "criterion": "metrics", "level": 3})
    out_of_range = api.post(f"/deals/{deal.pk}/qualification", {
        "framework": "meddicc", "criterion": "metrics", "level": 7})

    assert ok.status_code == 200, ok.content
    assert ok.json()["level"] == 3 and ok.json()["answered_by"] == "alice"
    assert assert_problem(unsupported, 422)["field"] == "evidence"
    assert assert_problem(out_of_range, 422)["field"] == "level"


def test_a_contact_of_another_account_cannot_be_named_on_the_deal(org: Any, api_as: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal(account=create_account(acting_user=org.alice, name="Hooli"))
    elsewhere = create_contact(acting_user=org.alice,
                               account=create_account(acting_user=org.alice, name="Pied Piper"),
                               first_name="Richard", last_name="Hendricks")

    refused = api_as(org.alice).post(f"/deals/{deal.pk}/stakeholders", {
        "contact_id": elsewhere.pk, "role": "champion"})

    assert assert_problem(refused, 422)["field"] == "contact_id"
    assert deal.stakeholders.count() == 0
