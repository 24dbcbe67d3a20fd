"""Creating accounts and contacts."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account, Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.errors import InvalidInput, NotAllowed


def test_rep_creates_an_account_they_own(org: Any) -> None:
    account = create_account(acting_user=org.alice, name="  Globex  ", domain="globex.example",
                             industry="manufacturing", employees=1200, country="de")

    stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.country, stored.owner) == ("Globex", "DE", org.alice)
    event = AuditEvent.objects.get(action="account.create")
    assert (event.actor, event.object_id) == (org.alice, str(account.pk))


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_account_needs_a_name(org: Any, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_account(acting_user=org.alice, name=name)

    assert refused.value.field == "name"
    assert not Account.objects.exists()


def test_viewer_cannot_create_accounts_or_contacts(org: Any) -> None:
    with pytest.raises(NotAllowed):
        create_account(acting_user=org.vera, name="Initech")
    with pytest.raises(NotAllowed):
        create_contact(acting_user=org.vera, account=None, first_name="Peter")

    assert not Account.objects.exists()
    assert not Contact.objects.exists()


def test_contact_is_created_at_an_account(org: Any) -> None:
    account = create_account(acting_user=org.alice, name="Globex")

    contact = create_contact(acting_user=org.alice, account=account, first_name=" Hank ",
                             last_name="Scorpio", email="hank@globex.example", title="CEO")

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.name, stored.account, stored.title) == ("Hank Scorpio", account, "CEO")
    assert AuditEvent.objects.get(action="contact.create").actor == org.alice


def test_contact_known_only_by_email_is_named_by_it(org: Any) -> None:
    contact = create_contact(acting_user=org.alice, account=None, email="ops@buyer.example")

    assert contact.name == "ops@buyer.example"


def test_contact_needs_a_name_or_an_email(org: Any) -> None:
    with pytest.raises(InvalidInput):
        create_contact(acting_user=org.alice, account=None, first_name=" ", email="")

    assert not Contact.objects.exists()
