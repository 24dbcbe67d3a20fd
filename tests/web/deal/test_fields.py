"""Editing the deal's fields against its version: a stale edit is not applied; it shows who
changed what since and lets the user apply theirs again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal
from dealcraft.deals.services import update_deal

from .conftest import Node, parse

pytestmark = pytest.mark.django_db


def form_data(deal: Deal, **changes: str) -> dict[str, str]:
    """What the fields form posts when opened on `deal`, with some inputs changed."""
    data = {"version": str(deal.version), "name": deal.name, "amount": str(deal.amount),
            "currency": deal.currency, "expected_close": deal.expected_close.isoformat()}
    data.update(changes)
    return data


def test_the_form_has_an_input_of_the_right_type_for_each_custom_field(
        org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()

    form = page(org.alice, deal).testid("fields-form")

    assert form.find("input", name="version").attrs["value"] == "1"  # type: ignore[union-attr]
    assert form.find(name="field_signature_date").attrs["type"] == "date"  # type: ignore[union-attr]
    segment = form.find(name="field_segment")
    assert segment is not None and segment.tag == "select"
    assert [o.attrs["value"] for o in segment.find_all("option")] == [
        "", "smb", "mid_market", "enterprise"]
    assert form.find(name="field_problem_statement").tag == "textarea"  # type: ignore[union-attr]
    assert form.find("label", **{"for": "df-field_urgency"}).text() == "Urgency"  # type: ignore[union-attr]


def test_fields_are_saved_through_the_service(org: Any, make_deal: Any, signed_in: Any,
                                              page: Any) -> None:
    deal = make_deal()
    close = timezone.localdate() + timedelta(days=90)

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", form_data(
        deal, name="Acme rollout, phase 1", amount="52000.50", currency="usd",
        expected_close=close.isoformat(), field_segment="enterprise",
        field_signature_date=close.isoformat(), field_problem_statement="Close takes 9 days"))

    assert response.status_code == 302
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.currency, stored.expected_close) == (
        "Acme rollout, phase 1", Decimal("52000.50"), "USD", close)
    assert stored.fields == {"segment": "enterprise", "signature_date": close.isoformat(),
                             "problem_statement": "Close takes 9 days"}
    assert stored.version == 2
    event = AuditEvent.objects.filter(action="deal.update").get()
    assert event.actor == org.alice
    form = page(org.alice, deal).testid("fields-form")
    assert form.find("input", name="version").attrs["value"] == "2"  # type: ignore[union-attr]
    assert form.find("option", value="enterprise").attrs.get("selected") == ""  # type: ignore[union-attr]


def test_a_blank_custom_field_clears_it(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(fields={"segment": "smb", "urgency": "high"})

    signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", form_data(
        deal, field_segment="", field_urgency="high"))

    assert Deal.objects.get(pk=deal.pk).fields == {"urgency": "high"}


def test_an_invalid_value_is_shown_next_to_its_field(org: Any, make_deal: Any,
                                                     signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", form_data(
        deal, amount="-5", name="Renamed"))

    assert response.status_code == 422
    form = parse(response.content).testid("fields-form")
    amount = form.find(name="amount")
    assert amount is not None and amount.attrs["aria-invalid"] == "true"
    assert amount.attrs["value"] == "-5"
    assert form.find(name="name").attrs["value"] == "Renamed"  # type: ignore[union-attr]
    assert "amount must be between 0" in form.text()
    assert Deal.objects.get(pk=deal.pk).name == "Acme platform rollout"


def test_a_stale_edit_does_not_overwrite_and_shows_who_changed_what(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    opened = form_data(deal)  # Alice opens the page at version 1 …
    update_deal(acting_user=org.mona, deal=deal, version=1,
                changes={"amount": "60000.00"})  # … and Mona changes the amount meanwhile.

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", {
        **opened, "name": "Acme rollout (Alice's name)"})

    assert response.status_code == 409
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.version) == (
        "Acme platform rollout", Decimal("60000.00"), 2)
    html = parse(response.content)
    conflict = html.testid("conflict")
    since = conflict.find(data_testid="changes-since")
    assert since is not None
    assert "Mona" in since.text() and "Amount 48000.00 → 60000.00" in since.text()
    table = conflict.find("tbody")
    assert table is not None
    rows = [[cell.text() for cell in tr.find_all() if cell.tag in ("th", "td")]
            for tr in table.find_all("tr")]
    assert ["Name", "Acme rollout (Alice's name)", "Acme platform rollout"] in rows
    assert ["Amount", "48000.00", "60000.00"] in rows
    form = html.testid("fields-form")
    assert form.find("input", name="version").attrs["value"] == "2"  # type: ignore[union-attr]
    assert form.find(name="name").attrs["value"] == "Acme rollout (Alice's name)"  # type: ignore[union-attr]


def submitted(form: Node) -> dict[str, str]:
    """What a browser sends for the form as it stands: its inputs, selects and textareas."""
    data = {}
    for node in form.walk():
        name = node.attrs.get("name")
        if not name or name == "csrfmiddlewaretoken":
            continue
        if node.tag == "input":
            data[name] = node.attrs.get("value", "")
        elif node.tag == "textarea":
            data[name] = node.text()
        elif node.tag == "select":
            chosen = [o for o in node.find_all("option") if "selected" in o.attrs]
            data[name] = chosen[0].attrs["value"] if chosen else ""
    return data


def test_only_the_fields_the_user_changed_are_saved(org: Any, make_deal: Any, signed_in: Any,
                                                    page: Any) -> None:
    deal = make_deal(fields={"segment": "smb"})
    data = submitted(page(org.alice, deal).testid("fields-form"))
    data["field_urgency"] = "high"

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", data)

    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="deal.update").get()
    assert event.changes == {"fields": {"from": {"segment": "smb"},
                                        "to": {"segment": "smb", "urgency": "high"}}}


def test_saving_an_untouched_form_changes_nothing(org: Any, make_deal: Any, signed_in: Any,
                                                  page: Any) -> None:
    deal = make_deal()
    data = submitted(page(org.alice, deal).testid("fields-form"))

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", data)

    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).version == 1
    assert not AuditEvent.objects.filter(action="deal.update").exists()


def test_sending_the_conflicted_form_again_applies_only_the_users_edit(
        org: Any, make_deal: Any, signed_in: Any, page: Any) -> None:
    deal = make_deal()
    opened = submitted(page(org.alice, deal).testid("fields-form"))
    update_deal(acting_user=org.mona, deal=deal, version=1, changes={"amount": "60000.00"})
    client = signed_in(org.alice)
    refused = parse(client.post(f"/deals/{deal.pk}/fields/", {
        **opened, "name": "Renamed by Alice"}).content)
    assert [row.find_all("td")[0].text() for row in
            refused.testid("conflict").find("tbody").find_all("tr")] == [  # type: ignore[union-attr]
        "Renamed by Alice"]

    response = client.post(f"/deals/{deal.pk}/fields/",
                           submitted(refused.testid("fields-form")))

    assert response.status_code == 302
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.version) == (
        "Renamed by Alice", Decimal("60000.00"), 3)


def test_invalid_input_keeps_the_version_the_form_was_opened_at(org: Any, make_deal: Any,
                                                                signed_in: Any,
                                                                page: Any) -> None:
    deal = make_deal()
    opened = submitted(page(org.alice, deal).testid("fields-form"))
    update_deal(acting_user=org.mona, deal=deal, version=1, changes={"amount": "60000.00"})

    refused = parse(signed_in(org.alice).post(f"/deals/{deal.pk}/fields/", {
        **opened, "expected_close": "someday"}).content)

    form = refused.testid("fields-form")
    assert form.find("input", name="version").attrs["value"] == "1"  # type: ignore[union-attr]
    assert form.find("input", name="orig_amount").attrs["value"] == "48000.00"  # type: ignore[union-attr]
