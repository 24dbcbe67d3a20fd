"""Object-level permissions: another team's rep is refused (403, not 404), viewers only read."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal

from .conftest import assert_problem

WRITES = [
    ("patch", "", {"version": 1, "name": "Mine now"}),
    ("post", "/advance", {"to": "qualification"}),
    ("post", "/close", {"outcome": "lost", "reason": "Sabotage"}),
    ("post", "/evidence", {"criterion": "problem_confirmed", "text": "x"}),
    ("post", "/next-step", {"text": "x", "due": "2031-01-01"}),
    ("post", "/activities", {"kind": "note", "subject": "x"}),
    ("post", "/stakeholders", {"contact": {"first_name": "X"}, "role": "champion"}),
    ("post", "/qualification", {"framework": "meddicc", "criterion": "metrics", "level": 1}),
]


def test_charlie_cannot_read_norths_deal(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.charlie)

    body = assert_problem(api.get(f"/deals/{deal.pk}"), 403, "not-allowed")
    assert "Acme" not in body["detail"]
    for path in ("/history", "/gate?to=qualification"):
        assert_problem(api.client.get(f"/api/v1/deals/{deal.pk}{path}",
                                      HTTP_AUTHORIZATION=f"Bearer {api.key}"), 403)
    assert deal.pk not in [d["id"] for d in api.get("/deals").json()["items"]]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_charlie_cannot_change_norths_deal(org: Any, api_as: Any, make_deal: Any,
                                           method: str, path: str, body: Any) -> None:
    deal = make_deal()
    api = api_as(org.charlie)
    events = AuditEvent.objects.exclude(
        action__in=["permission.refused", "token.used"]).count()

    response = getattr(api, method)(f"/deals/{deal.pk}{path}", body)

    assert_problem(response, 403, "not-allowed")
    assert Deal.objects.get(pk=deal.pk).version == 1
    assert AuditEvent.objects.exclude(
        action__in=["permission.refused", "token.used"]).count() == events


def test_vera_the_viewer_reads_her_teams_deals(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.vera)

    assert api.get(f"/deals/{deal.pk}").status_code == 200
    assert [d["id"] for d in api.get("/deals").json()["items"]] == [deal.pk]
    assert api.get(f"/deals/{deal.pk}/history").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_vera_the_viewer_cannot_write(org: Any, api_as: Any, make_deal: Any, method: str,
                                      path: str, body: Any) -> None:
    deal = make_deal()

    response = getattr(api_as(org.vera), method)(f"/deals/{deal.pk}{path}", body)

    assert_problem(response, 403, "not-allowed")
    assert Deal.objects.get(pk=deal.pk).version == 1


def test_vera_cannot_create_deals_accounts_or_contacts(org: Any, api_as: Any) -> None:
    api = api_as(org.vera)

    assert_problem(api.post("/deals", {"name": "x", "amount": "1", "currency": "EUR",
                                       "expected_close": "2031-01-01"}), 403)
    assert_problem(api.post("/accounts", {"name": "x"}), 403)
    assert_problem(api.post("/contacts", {"first_name": "x"}), 403)


def test_a_teammate_reads_but_cannot_change_alices_deal(org: Any, api_as: Any,
                                                        make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.bob)

    assert api.get(f"/deals/{deal.pk}").status_code == 200
    body = assert_problem(api.patch(f"/deals/{deal.pk}", {"version": 1, "name": "x"}), 403)
    assert "read" in body["detail"]
