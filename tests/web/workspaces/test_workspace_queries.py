"""The workspace pages run a fixed number of queries, whatever the number of deals in the
database and whatever the number of answers, notes and recommendations on the deal."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dealcraft.deals.models import Deal
from dealcraft.discovery import services
from dealcraft.processes.services import active_process

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def fill(deal: Deal, user: Any, *, rich: bool) -> None:
    """A workspace with one of everything, or (rich) every question answered and noted."""
    _, process = active_process()
    questions = process.discovery_question_keys() if rich else ("handling_today",)
    for question in questions:
        services.answer_question(acting_user=user, deal=deal, question=question, text="Yes")
        services.add_question_note(acting_user=user, deal=deal, question=question, text="Note")
    capabilities = [c["key"] for c in process.capabilities][: 7 if rich else 1]
    for key in capabilities:
        services.recommend_capability(acting_user=user, deal=deal, capability=key, pain="Slow")
    services.save_research(acting_user=user, deal=deal, company="Acme")
    services.save_demo_plan(acting_user=user, deal=deal, plan="Tour", demo_date="2030-01-01")
    services.record_value_confirmation(acting_user=user, deal=deal, answer="yes")


def queries(client: Client, path: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, **headers).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["discovery", "solution"])
@pytest.mark.parametrize("with_criteria", [False, True])
def test_a_workspace_page_costs_the_same_for_a_bare_and_a_busy_database(
        org: Any, make_deal: Any, signed_in: Any, page: str, with_criteria: bool,
        request: Any) -> None:
    if with_criteria:
        request.getfixturevalue("workspace_criteria")
    client = signed_in(org.mona)
    small = make_deal()
    fill(small, org.alice, rich=False)
    client.get(f"/deals/{small.pk}/{page}/")  # the process is parsed once per version
    few = queries(client, f"/deals/{small.pk}/{page}/")
    few_panel = queries(client, f"/deals/{small.pk}/{page}/", **HTMX)

    for i in range(15):
        fill(make_deal(name=f"Other {i}"), org.alice, rich=i % 2 == 0)
    big = make_deal(name="Busy")
    fill(big, org.alice, rich=True)

    assert queries(client, f"/deals/{big.pk}/{page}/") == few
    assert queries(client, f"/deals/{big.pk}/{page}/", **HTMX) == few_panel
    assert few <= (15 if with_criteria else 9)
