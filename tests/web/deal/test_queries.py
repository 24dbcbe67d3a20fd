"""The deal page runs the same number of queries however long the deal's history is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.services import (
    advance_stage,
    answer_qualification,
    log_activity,
    name_stakeholder,
    record_evidence,
    set_next_step,
    update_deal,
)

pytestmark = pytest.mark.django_db

MEDDICC = ("metrics", "economic_buyer", "decision_criteria", "decision_process",
           "identify_pain", "champion", "competition")


def deal_with_history(org: Any, make_deal: Any, n: int) -> Any:
    """A deal in qualification carrying `n` of every kind of record."""
    account = create_account(acting_user=org.alice, name=f"Account {n}")
    deal = make_deal(account=account, name=f"Deal with {n}")
    for i in range(n):
        advance_stage(acting_user=org.alice, deal=deal, to="qualification")
        advance_stage(acting_user=org.alice, deal=deal, to="prospecting", reason=f"Back {i}")
        contact = create_contact(acting_user=org.alice, account=account, last_name=f"P{i}")
        name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="influencer")
        log_activity(acting_user=org.alice, deal=deal, kind="call", subject=f"Call {i}")
        log_activity(acting_user=org.alice, deal=deal, kind="task", subject=f"Task {i}",
                     due_at=timezone.now() + timedelta(days=i))
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        text=f"Note {i}")
        record_evidence(acting_user=org.alice, deal=deal, criterion="handoff_goals",
                        kind="file", file=SimpleUploadedFile(f"f{i}.txt", b"x",
                                                             content_type="text/plain"))
        answer_qualification(acting_user=org.alice, deal=deal, framework="meddicc",
                             criterion=MEDDICC[i % len(MEDDICC)], level=i % 3)
        set_next_step(acting_user=org.alice, deal=deal, text=f"Step {i}",
                      due=timezone.localdate() + timedelta(days=1 + i % 10))
        update_deal(acting_user=org.alice, deal=deal, version=None,
                    changes={"fields": {"problem_statement": f"Problem {i}"}})
    return advance_stage(acting_user=org.alice, deal=deal, to="qualification")


def queries(client: Any, deal: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/deals/{deal.pk}/")
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("persona", ["alice", "mona"])
def test_the_page_runs_the_same_queries_for_a_short_and_a_long_history(
        org: Any, make_deal: Any, signed_in: Any, settings: Any, tmp_path: Any,
        persona: str) -> None:
    short = deal_with_history(org, make_deal, 1)
    long = deal_with_history(org, make_deal, 60)
    client = signed_in(getattr(org, persona))
    queries(client, short)  # the first request also loads the session and the process

    few, many = queries(client, short), queries(client, long)

    assert few == many
    assert many <= 25


def test_long_lists_are_capped_on_the_page(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = deal_with_history(org, make_deal, 60)

    html = signed_in(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    assert html.count('class="activity activity-') == 50
    assert f'href="/deals/{deal.pk}/history/"' in html
    assert f'href="/deals/{deal.pk}/audit/"' in html
    assert f'href="/deals/{deal.pk}/activities/"' in html
