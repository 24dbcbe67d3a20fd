"""Text people type — deal names, notes, evidence — is shown as text, never run as markup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.services import (
    log_activity,
    name_stakeholder,
    record_evidence,
    set_next_step,
    update_deal,
)

pytestmark = pytest.mark.django_db

ATTACK = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_a_hostile_deal_name_note_and_records_render_inert(org: Any, make_deal: Any,
                                                           signed_in: Any) -> None:
    account = create_account(acting_user=org.alice, name=ATTACK)
    deal = make_deal(name=ATTACK, account=account)
    log_activity(acting_user=org.alice, deal=deal, kind="note", subject=ATTACK, body=ATTACK)
    set_next_step(acting_user=org.alice, deal=deal, text="<script>alert(2)</script>",
                  due=timezone.localdate() + timedelta(days=1))
    record_evidence(acting_user=org.alice, deal=deal, criterion="handoff_goals", text=ATTACK)
    contact = create_contact(acting_user=org.alice, account=account, first_name=ATTACK)
    name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="champion")
    update_deal(acting_user=org.alice, deal=deal, version=None,
                changes={"fields": {"problem_statement": ATTACK}})

    html = signed_in(org.alice).get(f"/deals/{deal.pk}/").content.decode()

    assert html.count(ESCAPED) >= 8
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<img" not in html and "<script>alert" not in html


def test_a_hostile_value_sent_back_in_a_refused_form_stays_inert(org: Any, make_deal: Any,
                                                                 signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "handoff_goals", "url": '"><img src=x onerror=alert(1)>'})

    html = response.content.decode()
    assert response.status_code == 422
    assert "<img" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
