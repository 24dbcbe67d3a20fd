"""Rate limits per API token: a budget of requests and of writes a minute, shared by every
server process because it is counted in the database; over it, a 429 with `Retry-After`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.people.models import ApiToken, RateWindow
from dealcraft.people.services import create_token
from dealcraft.processes.services import active_process

from .conftest import Api, assert_problem


@pytest.fixture
def limits(settings: Any) -> Any:
    def set_limits(requests: int, writes: int) -> None:
        settings.DEALCRAFT_API_RATE_LIMIT = requests
        settings.DEALCRAFT_API_WRITE_RATE_LIMIT = writes

    return set_limits


def _window_of(api: Api) -> RateWindow:
    assert api.key is not None
    return RateWindow.objects.get(token__key_hash=ApiToken.hash_key(api.key))


def test_requests_over_the_limit_get_a_429_problem_with_retry_after(
        org: Any, api_as: Any, limits: Any) -> None:
    limits(3, 0)
    api = api_as(org.alice)

    answered = [api.get("/deals") for _ in range(3)]
    refused = api.get("/deals")

    assert [r.status_code for r in answered] == [200, 200, 200]
    assert [r["RateLimit-Remaining"] for r in answered] == ["2", "1", "0"]
    body = assert_problem(refused, 429, "rate-limited")
    assert body["title"] == "Rate limit exceeded"
    assert body["limit"] == 3
    assert "3 requests a minute" in body["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Limit"] == "3"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == refused["Retry-After"]
    assert _window_of(api).count == 3  # a refused request is not counted


def test_every_answered_request_carries_the_rate_limit_headers(
        org: Any, api_as: Any, make_deal: Any, limits: Any) -> None:
    limits(600, 60)
    deal = make_deal()
    api = api_as(org.alice)

    read = api.get(f"/deals/{deal.pk}")
    refused = api.get("/deals/999999")

    assert read.status_code == 200
    assert (read["RateLimit-Limit"], read["RateLimit-Remaining"]) == ("600", "599")
    assert 1 <= int(read["RateLimit-Reset"]) <= 60
    assert refused.status_code == 404
    assert refused["RateLimit-Remaining"] == "598"


def test_a_refused_request_does_not_run(org: Any, api_as: Any, make_deal: Any,
                                        limits: Any) -> None:
    limits(0, 1)
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/next-step", {"text": "Call the CFO", "due": "2030-01-10"})

    response = api.post(f"/deals/{deal.pk}/next-step", {"text": "Never", "due": "2030-01-11"})

    assert_problem(response, 429, "rate-limited")
    deal.refresh_from_db()
    assert deal.next_step is not None and deal.next_step.text == "Call the CFO"


def test_separate_tokens_have_separate_budgets(org: Any, api_as: Any, limits: Any) -> None:
    limits(2, 0)
    first, second = api_as(org.alice), api_as(org.alice)
    first.get("/deals")
    first.get("/deals")

    assert first.get("/deals").status_code == 429
    assert second.get("/deals").status_code == 200
    assert api_as(org.bob).get("/deals").status_code == 200


def test_writes_have_their_own_smaller_budget(org: Any, api_as: Any, make_deal: Any,
                                             limits: Any) -> None:
    limits(10, 2)
    deal = make_deal()
    api = api_as(org.alice)
    path = f"/deals/{deal.pk}/activities"
    body = {"kind": "call", "subject": "Discovery call"}

    writes = [api.post(path, body) for _ in range(2)]
    refused = api.post(path, body)
    read = api.get(f"/deals/{deal.pk}")

    assert [w.status_code for w in writes] == [201, 201], writes[-1].content
    assert writes[0]["RateLimit-Limit"] == "2"
    assert writes[0]["RateLimit-Remaining"] == "1"
    problem = assert_problem(refused, 429, "rate-limited")
    assert "2 writes a minute" in problem["detail"]
    assert read.status_code == 200
    assert (read["RateLimit-Limit"], read["RateLimit-Remaining"]) == ("10", "7")


def test_a_read_only_token_reads_within_its_budget(org: Any, api_as: Any,
                                                  limits: Any) -> None:
    limits(1, 1)
    api = api_as(org.vera, read_only=True)

    assert api.get("/deals").status_code == 200
    assert_problem(api.get("/deals"), 429, "rate-limited")


def test_the_budget_comes_back_when_the_window_ends(org: Any, api_as: Any,
                                                    limits: Any) -> None:
    limits(1, 0)
    api = api_as(org.alice)
    api.get("/deals")
    assert api.get("/deals").status_code == 429

    window = _window_of(api)
    RateWindow.objects.filter(pk=window.pk).update(
        window_start=window.window_start - timedelta(minutes=1))
    response = api.get("/deals")

    assert response.status_code == 200
    assert response["RateLimit-Remaining"] == "0"
    assert RateWindow.objects.filter(token_id=window.pk).count() == 1
    window.refresh_from_db()
    assert window.count == 1


def test_a_limit_of_zero_disables_it(org: Any, api_as: Any, make_deal: Any,
                                     limits: Any) -> None:
    limits(0, 0)
    deal = make_deal()
    api = api_as(org.alice)

    responses = [api.post(f"/deals/{deal.pk}/activities",
                          {"kind": "call", "subject": f"Call {i}"}) for i in range(5)]

    assert [r.status_code for r in responses] == [201] * 5
    assert "RateLimit-Limit" not in responses[0]
    assert not RateWindow.objects.exists()


def test_counting_costs_at_most_two_queries(org: Any, api_as: Any, limits: Any) -> None:
    api = api_as(org.alice)
    limits(0, 0)
    api.get("/deals")  # the token's last use is noted once a minute; keep that out of it
    with CaptureQueriesContext(connection) as unlimited:
        api.get("/deals")
    limits(600, 60)
    api.get("/deals")  # the first request ever creates the token's counter
    with CaptureQueriesContext(connection) as limited:
        response = api.get("/deals")

    assert response["RateLimit-Remaining"] == "598"
    assert len(limited) - len(unlimited) <= 2


def test_the_openapi_description_needs_no_token_and_is_not_limited(
        org: Any, limits: Any) -> None:
    limits(1, 1)
    api = Api(None)

    responses = [api.get("/openapi.json") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "RateLimit-Limit" not in responses[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="concurrent writers need PostgreSQL; SQLite serialises writes")
def test_concurrent_requests_of_one_token_are_counted_exactly(org: Any,
                                                              limits: Any) -> None:
    threads_n, each, over = 8, 5, 6
    limits(threads_n * each - over, 0)
    _, key = create_token(acting_user=None, user=org.alice)
    active_process()  # installs the default process, which is not what this test races
    barrier = threading.Barrier(threads_n)
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        try:
            api = Api(key)
            barrier.wait(timeout=10)
            for _ in range(each):
                status = api.get("/deals").status_code
                with lock:
                    statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hammer) for _ in range(threads_n)]
    if timezone.now().second >= 50:  # all requests must fall in one window
        time.sleep(61 - timezone.now().second)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not any(t.is_alive() for t in threads)
    assert Counter(statuses) == {200: threads_n * each - over, 429: over}
    window = RateWindow.objects.get(token__key_hash=ApiToken.hash_key(key))
    assert (window.count, window.writes) == (threads_n * each - over, 0)
