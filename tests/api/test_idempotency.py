"""`Idempotency-Key` on POST: a retry is answered from the first response, the work is done
once, another body with the same key is refused, and keys expire after a day."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from dealcraft.api.idempotency import fingerprint
from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Activity, Deal, Evidence
from dealcraft.people.models import IdempotentRequest
from dealcraft.people.services import IDEMPOTENCY_PRUNE_BATCH, create_token

from .conftest import assert_problem

NEW_DEAL = {"name": "Acme platform rollout", "amount": "48000.00", "currency": "EUR",
            "expected_close": "2031-03-31"}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_retried_create_returns_the_first_response_and_creates_one_deal(
        org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    first = api.post("/deals", NEW_DEAL, headers=key("order-7781"))
    again = api.post("/deals", NEW_DEAL, headers=key("order-7781"))

    assert first.status_code == 201, first.content
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Deal.objects.count() == 1
    assert AuditEvent.objects.filter(action="deal.create").count() == 1


def test_the_same_key_with_another_body_is_refused(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)
    api.post("/deals", NEW_DEAL, headers=key("order-7781"))

    body = assert_problem(api.post("/deals", {**NEW_DEAL, "amount": "1.00"},
                                   headers=key("order-7781")), 422, "idempotency-key-reused")

    assert body["field"] == "Idempotency-Key"
    assert Deal.objects.count() == 1


def test_the_same_key_on_another_path_is_refused(org: Any, api_as: Any,
                                                 make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/activities", {"kind": "note", "subject": "x"},
             headers=key("k1"))

    assert_problem(api.post("/accounts", {"name": "Initech"}, headers=key("k1")), 422,
                   "idempotency-key-reused")


def test_keys_belong_to_one_token(org: Any, api_as: Any) -> None:
    first, second = api_as(org.alice), api_as(org.alice)

    assert first.post("/deals", NEW_DEAL, headers=key("same")).status_code == 201
    replay = second.post("/deals", NEW_DEAL, headers=key("same"))

    assert replay.status_code == 201 and "Idempotent-Replayed" not in replay
    assert Deal.objects.count() == 2


def test_a_refused_request_does_not_use_up_its_key(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    refused = api.post("/deals", {**NEW_DEAL, "currency": "euros"}, headers=key("retry-me"))
    fixed = api.post("/deals", NEW_DEAL, headers=key("retry-me"))

    assert_problem(refused, 422, "invalid-input")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed
    assert Deal.objects.count() == 1


def test_a_key_is_forgotten_after_24_hours(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)
    api.post("/deals", NEW_DEAL, headers=key("daily"))
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=24,
                                                                           seconds=1))

    later = api.post("/deals", {**NEW_DEAL, "name": "Next year"}, headers=key("daily"))

    assert later.status_code == 201 and later.json()["name"] == "Next year"
    assert Deal.objects.count() == 2


def test_expired_keys_are_pruned_a_bounded_batch_at_a_time(org: Any, api_as: Any) -> None:
    token, key_secret = create_token(acting_user=None, user=org.alice)
    old = timezone.now() - timedelta(days=3)
    IdempotentRequest.objects.bulk_create(
        IdempotentRequest(token=token, key=f"old-{i}", fingerprint="x", created_at=old,
                          status=201) for i in range(IDEMPOTENCY_PRUNE_BATCH + 5))
    api = api_as(org.alice)

    api.post("/accounts", {"name": "Initech"}, headers=key("fresh"))

    assert IdempotentRequest.objects.filter(created_at=old).count() == 5
    assert IdempotentRequest.objects.filter(key="fresh").exists()


def test_a_repeat_while_the_first_request_still_runs_is_told_to_retry(
        org: Any, api_as: Any) -> None:
    token, secret = create_token(acting_user=None, user=org.alice)
    same_request = RequestFactory().post("/api/v1/deals", json.dumps(NEW_DEAL),
                                         content_type="application/json")
    # The first request has reserved the key and not finished yet.
    IdempotentRequest.objects.create(token=token, key="slow",
                                     fingerprint=fingerprint(same_request))
    api = api_as(org.alice)
    api.key = secret

    running = api.post("/deals", NEW_DEAL, headers=key("slow"))

    assert_problem(running, 409, "idempotency-key-in-use")
    assert running["Retry-After"] == "1"
    assert Deal.objects.count() == 0


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_422(org: Any, api_as: Any, bad: str) -> None:
    client = Client()
    _, secret = create_token(acting_user=None, user=org.alice)
    response = client.post("/api/v1/deals", json.dumps(NEW_DEAL),
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {secret}",
                           HTTP_IDEMPOTENCY_KEY=bad.encode().decode("latin-1"))

    assert assert_problem(response, 422)["field"] == "Idempotency-Key"
    assert Deal.objects.count() == 0


def test_a_read_only_token_is_refused_with_or_without_a_key(org: Any, api_as: Any) -> None:
    api = api_as(org.alice, read_only=True)

    assert_problem(api.post("/deals", NEW_DEAL, headers=key("ro")), 403, "read-only-token")
    assert not IdempotentRequest.objects.exists()


def test_a_replayed_completion_answers_like_the_first(org: Any, api_as: Any,
                                                                 make_deal: Any) -> None:
    deal = make_deal()
    task = Activity.objects.create(deal=deal, kind="task", subject="Send deck",
                                   owner=org.alice)
    api = api_as(org.alice)

    first = api.post(f"/deals/{deal.pk}/activities/{task.pk}/complete", headers=key("done-1"))
    again = api.post(f"/deals/{deal.pk}/activities/{task.pk}/complete", headers=key("done-1"))

    assert first.status_code == 200 and again.status_code == 200
    assert again.json() == first.json()
    assert again["Content-Type"] == first["Content-Type"]
    assert "RateLimit-Remaining" in again


def test_a_multipart_upload_is_idempotent_too(org: Any, api_as: Any, make_deal: Any,
                                              settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    deal = make_deal()
    _, secret = create_token(acting_user=None, user=org.alice)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def upload(content: bytes) -> Any:
        return client.post(f"/api/v1/deals/{deal.pk}/evidence", {
            "criterion": "problem_confirmed",
            "file": SimpleUploadedFile("notes.txt", content, content_type="text/plain")},
            HTTP_IDEMPOTENCY_KEY="upload-1")

    first = upload(b"call notes")
    again = upload(b"call notes")
    other = upload(b"other notes")

    assert first.status_code == 201, first.content
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert_problem(other, 422, "idempotency-key-reused")
    assert Evidence.objects.count() == 1


def test_a_retried_team_creation_creates_one_team(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)

    first = api.post("/teams", {"name": "East"}, headers=key("team-east"))
    again = api.post("/teams", {"name": "East"}, headers=key("team-east"))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="team.create", changes__name="East").count() == 1


def test_every_post_operation_documents_the_header(db: Any) -> None:
    spec = json.loads(Client().get("/api/v1/openapi.json").content)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert ("Idempotency-Key" in names) == (method == "post"), (path, method)
            if method == "post":
                assert {"409", "422"} <= set(operation["responses"]), path


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="concurrent writers need PostgreSQL; the in-memory SQLite test "
                           "database locks whole tables between threads")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_do_the_work_once(org: Any) -> None:
    _, secret = create_token(acting_user=None, user=org.alice)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(Client().post(
                "/api/v1/deals", json.dumps(NEW_DEAL), content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_IDEMPOTENCY_KEY="together"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(r.status_code for r in results)
    assert Deal.objects.count() == 1
    # The loser either waited for the winner and got its response replayed, or was told to
    # retry while the winner was still running.
    assert statuses in ([201, 201], [201, 409]), statuses
