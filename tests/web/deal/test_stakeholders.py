"""The stakeholder map: each person's role, influence and support, and naming someone new or
someone already known at the deal's account."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.crm.models import Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Stakeholder

from .conftest import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(org: Any) -> Any:
    return create_account(acting_user=org.alice, name="Acme Corp")


def test_a_new_contact_is_created_at_the_account_and_named(org: Any, make_deal: Any,
                                                           account: Any, signed_in: Any,
                                                           page: Any) -> None:
    deal = make_deal(account=account)

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "economic_buyer", "influence": "3", "support": "1",
        "first_name": "Erin", "last_name": "Budget", "email": "erin@acme.example",
        "title": "CFO"})

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#stakeholders"
    contact = Contact.objects.get()
    assert (contact.name, contact.account, contact.title) == ("Erin Budget", account, "CFO")
    stakeholder = Stakeholder.objects.get(deal=deal)
    assert (stakeholder.role, stakeholder.influence, stakeholder.support) == (
        "economic_buyer", 3, 1)
    row = page(org.alice, deal).testid("stakeholder-map").find("tbody")
    assert row is not None
    assert "Erin Budget CFO Economic buyer High Supports Alice" in row.text()


def test_an_existing_contact_of_the_account_is_picked(org: Any, make_deal: Any, account: Any,
                                                      signed_in: Any, page: Any) -> None:
    deal = make_deal(account=account)
    known = create_contact(acting_user=org.alice, account=account, first_name="Chris",
                           last_name="Champion")

    form = page(org.alice, deal).testid("stakeholder-form")
    assert form.find("option", value=str(known.pk)) is not None

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "champion", "influence": "2", "support": "1", "contact": str(known.pk)})

    assert response.status_code == 302
    assert Stakeholder.objects.get(deal=deal).contact == known
    assert Contact.objects.count() == 1


def test_a_contact_of_another_account_cannot_be_picked(org: Any, make_deal: Any, account: Any,
                                                       signed_in: Any) -> None:
    deal = make_deal(account=account)
    elsewhere = create_contact(acting_user=org.charlie, account=None, first_name="Sam")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "champion", "influence": "2", "support": "0", "contact": str(elsewhere.pk)})

    assert response.status_code == 422
    assert "pick a contact of the deal's account" in parse(response.content).testid(
        "stakeholder-error").text()
    assert not Stakeholder.objects.exists()


def test_a_refused_role_leaves_no_stray_contact(org: Any, make_deal: Any, account: Any,
                                                signed_in: Any) -> None:
    deal = make_deal(account=account)

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "mascot", "influence": "2", "support": "0", "first_name": "Max"})

    assert response.status_code == 422
    assert "role must be one of" in parse(response.content).testid("stakeholder-error").text()
    assert not Contact.objects.exists()
    assert not Stakeholder.objects.exists()


def test_a_contact_needs_a_name_or_an_email(org: Any, make_deal: Any, account: Any,
                                            signed_in: Any) -> None:
    deal = make_deal(account=account)

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "champion", "influence": "2", "support": "0"})

    assert response.status_code == 422
    html = parse(response.content)
    assert "Pick a contact or enter a new one" in html.testid("stakeholder-error").text()


def test_naming_a_stakeholder_meets_the_prospecting_criterion(org: Any, make_deal: Any,
                                                              account: Any, signed_in: Any,
                                                              page: Any) -> None:
    deal = make_deal(account=account)
    assert page(org.alice, deal).testid("criterion-contact_named").attrs["data-met"] == "false"

    signed_in(org.alice).post(f"/deals/{deal.pk}/stakeholders/", {
        "role": "influencer", "influence": "1", "support": "0", "last_name": "Ops"})

    assert page(org.alice, deal).testid("criterion-contact_named").attrs["data-met"] == "true"
