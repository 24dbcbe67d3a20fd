"""Creating accounts and contacts."""

from __future__ import annotations

from typing import Any

from dealcraft.audit.services import record
from dealcraft.errors import InvalidInput, NotAllowed

from .models import Account, Contact

WRITER_ROLES = ("admin", "ops", "manager", "rep")


def _require_writer(user: Any) -> None:
    if getattr(user, "role", None) not in WRITER_ROLES:
        raise NotAllowed("Viewers cannot create accounts or contacts.")


def create_account(*, acting_user: Any, name: str, domain: str = "", industry: str = "",
                   employees: int | None = None, country: str = "") -> Account:
    _require_writer(acting_user)
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidInput("an account name is 1 to 255 characters", "name")
    account = Account.objects.create(name=name, domain=domain[:255], industry=industry[:100],
                                     employees=employees, country=country[:2].upper(),
                                     owner=acting_user)
    record(actor=acting_user, action="account.create", obj=account, changes={"name": name})
    return account


def create_contact(*, acting_user: Any, account: Account | None, first_name: str = "",
                   last_name: str = "", email: str = "", title: str = "") -> Contact:
    _require_writer(acting_user)
    if not (first_name.strip() or last_name.strip() or email.strip()):
        raise InvalidInput("a contact needs a name or an email", "last_name")
    contact = Contact.objects.create(account=account, first_name=first_name.strip()[:100],
                                     last_name=last_name.strip()[:100], email=email.strip()[:254],
                                     title=title.strip()[:150])
    record(actor=acting_user, action="contact.create", obj=contact,
           changes={"name": contact.name})
    return contact
