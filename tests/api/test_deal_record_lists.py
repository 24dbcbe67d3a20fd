"""Reading a deal's records over the API: stakeholders, activities and tasks, evidence (with
file downloads), next steps; and completing a task."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Activity
from dealcraft.deals.services import (
    log_activity,
    name_stakeholder,
    record_evidence,
    set_next_step,
)

from .conftest import assert_problem


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def _file(deal: Any, user: Any, name: str = "notes.txt", content: bytes = b"call notes",
          content_type: str = "text/plain") -> Any:
    return record_evidence(acting_user=user, deal=deal, criterion="problem_confirmed",
                           kind="file", file=SimpleUploadedFile(name, content,
                                                                content_type=content_type))


def test_stakeholders_are_listed_with_their_contacts(org: Any, api_as: Any,
                                                     make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Hooli")
    deal = make_deal(account=account)
    gavin = create_contact(acting_user=org.alice, account=account, first_name="Gavin",
                           last_name="Belson")
    name_stakeholder(acting_user=org.alice, deal=deal, contact=gavin, role="economic_buyer",
                     influence=3)

    body = api_as(org.vera).get(f"/deals/{deal.pk}/stakeholders").json()

    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["role"] == "economic_buyer" and item["influence"] == 3
    assert item["contact"]["name"] == "Gavin Belson" and item["contact"]["account"] == "Hooli"


def test_activities_filter_by_kind_and_open_tasks(org: Any, api_as: Any,
                                                  make_deal: Any) -> None:
    deal = make_deal()
    log_activity(acting_user=org.alice, deal=deal, kind="call", subject="Intro call")
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")
    api = api_as(org.alice)

    every = api.get(f"/deals/{deal.pk}/activities").json()["items"]
    open_tasks = api.get(f"/deals/{deal.pk}/activities",
                         {"kind": "task", "open": "true"}).json()["items"]
    done = api.get(f"/deals/{deal.pk}/activities", {"open": "false"}).json()["items"]

    assert [a["subject"] for a in every] == ["Send deck", "Intro call"]
    assert [a["id"] for a in open_tasks] == [task.pk]
    assert [a["subject"] for a in done] == ["Intro call"]
    assert_problem(api.get(f"/deals/{deal.pk}/activities", {"kind": "fax"}), 422)


def test_the_owner_completes_a_task_once(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")
    api = api_as(org.alice)

    done = api.post(f"/deals/{deal.pk}/activities/{task.pk}/complete")
    again = api.post(f"/deals/{deal.pk}/activities/{task.pk}/complete")

    assert done.status_code == 200, done.content
    assert done.json()["done_at"] is not None and done.json()["id"] == task.pk
    assert assert_problem(again, 422, "invalid-input")["field"] == "activity"
    assert api.get(f"/deals/{deal.pk}/activities",
                   {"kind": "task", "open": "true"}).json()["items"] == []


def test_completing_a_task_is_refused_to_those_who_may_not_change_the_deal(
        org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")

    assert_problem(api_as(org.bob).post(f"/deals/{deal.pk}/activities/{task.pk}/complete"),
                   403, "not-allowed")
    assert_problem(api_as(org.charlie).post(
        f"/deals/{deal.pk}/activities/{task.pk}/complete"), 403, "not-allowed")
    assert_problem(api_as(org.alice, read_only=True).post(
        f"/deals/{deal.pk}/activities/{task.pk}/complete"), 403, "read-only-token")
    assert Activity.objects.get(pk=task.pk).done_at is None


def test_a_task_of_another_deal_is_not_found_through_this_one(org: Any, api_as: Any,
                                                              make_deal: Any) -> None:
    mine = make_deal()
    other = make_deal(name="Other")
    task = log_activity(acting_user=org.alice, deal=other, kind="task", subject="Send deck")

    assert_problem(api_as(org.alice).post(f"/deals/{mine.pk}/activities/{task.pk}/complete"),
                   404, "not-found")
    assert Activity.objects.get(pk=task.pk).done_at is None


def test_evidence_is_listed_by_criterion(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                    text="Close takes 9 days")
    record_evidence(acting_user=org.alice, deal=deal, criterion="handoff_goals", text="Goals")
    api = api_as(org.mona)

    every = api.get(f"/deals/{deal.pk}/evidence").json()["items"]
    one = api.get(f"/deals/{deal.pk}/evidence", {"criterion": "handoff_goals"}).json()["items"]

    assert [e["criterion"] for e in every] == ["handoff_goals", "problem_confirmed"]
    assert [e["text"] for e in one] == ["Goals"]


def test_an_evidence_file_is_downloaded_as_an_attachment(org: Any, api_as: Any,
                                                         make_deal: Any) -> None:
    deal = make_deal()
    evidence = _file(deal, org.alice, content=b"<html><script>alert(1)</script>",
                     name="notes.txt")

    response = api_as(org.vera).get(f"/deals/{deal.pk}/evidence/{evidence.pk}/file")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<html><script>alert(1)</script>"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/plain"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_hostile_file_name_cannot_break_the_content_disposition_header(
        org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    evidence = _file(deal, org.alice, name='a"b\u202egnp.txt')

    response = api_as(org.alice).get(f"/deals/{deal.pk}/evidence/{evidence.pk}/file")

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition
    assert '\\"' in disposition  # the quote is escaped, not ending the parameter


def test_another_teams_rep_cannot_download_the_file(org: Any, api_as: Any,
                                                    make_deal: Any) -> None:
    deal = make_deal()
    evidence = _file(deal, org.alice)

    body = assert_problem(api_as(org.charlie).get(
        f"/deals/{deal.pk}/evidence/{evidence.pk}/file"), 403, "not-allowed")
    assert "notes" not in body["detail"]


def test_a_note_or_another_deals_file_is_not_found_as_a_file(org: Any, api_as: Any,
                                                            make_deal: Any) -> None:
    deal = make_deal()
    other = make_deal(name="Other")
    note = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                           text="A note")
    elsewhere = _file(other, org.alice)
    api = api_as(org.alice)

    assert_problem(api.get(f"/deals/{deal.pk}/evidence/{note.pk}/file"), 404, "not-found")
    assert_problem(api.get(f"/deals/{deal.pk}/evidence/{elsewhere.pk}/file"), 404)


def test_next_steps_show_the_current_one_and_the_earlier_ones(org: Any, api_as: Any,
                                                              make_deal: Any) -> None:
    deal = make_deal()
    soon = timezone.localdate() + timedelta(days=2)
    first = set_next_step(acting_user=org.alice, deal=deal, text="Intro call", due=soon)
    second = set_next_step(acting_user=org.alice, deal=deal, text="Demo", due=soon,
                           buyer_confirmed=True)

    body = api_as(org.alice).get(f"/deals/{deal.pk}/next-steps", {"limit": 1}).json()

    assert body["current"]["id"] == second.pk and body["current"]["current"] is True
    assert body["current"]["buyer_confirmed"] is True and body["current"]["set_by"] == "alice"
    assert [s["id"] for s in body["items"]] == [second.pk]
    rest = api_as(org.alice).get(f"/deals/{deal.pk}/next-steps",
                                 {"cursor": body["next_cursor"]}).json()
    assert [(s["id"], s["current"]) for s in rest["items"]] == [(first.pk, False)]
    assert rest["current"]["id"] == second.pk


def test_a_deal_without_a_next_step_has_none(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    assert api_as(org.alice).get(f"/deals/{deal.pk}/next-steps").json() == {
        "current": None, "items": [], "next_cursor": None}


@pytest.mark.parametrize("path", ["stakeholders", "activities", "evidence", "next-steps"])
def test_another_teams_rep_cannot_read_the_records(org: Any, api_as: Any, make_deal: Any,
                                                   path: str) -> None:
    deal = make_deal()
    assert_problem(api_as(org.charlie).get(f"/deals/{deal.pk}/{path}"), 403, "not-allowed")


@pytest.mark.parametrize("path", ["stakeholders", "activities", "evidence", "next-steps"])
def test_an_unknown_query_parameter_is_a_422(org: Any, api_as: Any, make_deal: Any,
                                             path: str) -> None:
    deal = make_deal()
    body = assert_problem(api_as(org.alice).get(f"/deals/{deal.pk}/{path}", {"sort": "x"}), 422)
    assert body["field"] == "sort"


def _queries(api: Any, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"limit": 200})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["items"])


def test_record_lists_run_a_constant_number_of_queries(org: Any, api_as: Any,
                                                       make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Hooli")
    deal = make_deal(account=account)
    api = api_as(org.mona)
    api.get("/deals")  # the token's first use is written once

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            contact = create_contact(acting_user=org.alice, account=account,
                                     first_name=f"C{i}", last_name="X")
            name_stakeholder(acting_user=org.alice, deal=deal, contact=contact,
                             role="champion")
            log_activity(acting_user=org.alice, deal=deal, kind="call", subject=f"Call {i}")
            record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                            text=f"Note {i}")
            set_next_step(acting_user=org.mona if i % 2 else org.alice, deal=deal,
                          text=f"Step {i}", due=timezone.localdate())

    paths = [f"/deals/{deal.pk}/{p}" for p in ("stakeholders", "activities", "evidence",
                                                "next-steps")]
    add(2, 0)
    small = [_queries(api, p) for p in paths]
    add(20, 2)
    large = [_queries(api, p) for p in paths]

    assert [n for _, n in small] == [2] * 4 and [n for _, n in large] == [22] * 4
    assert [q for q, _ in small] == [q for q, _ in large]
