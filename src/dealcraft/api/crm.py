"""`/api/v1/accounts` and `/api/v1/contacts`: the organisations and people deals are with."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from dealcraft.crm.models import Account, Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.errors import InvalidInput

from .auth import caller
from .pagination import page
from .query import reject_unknown
from .responses import responses
from .schemas import (
    AccountFilters,
    AccountIn,
    AccountOut,
    AccountPage,
    ContactFilters,
    ContactIn,
    ContactOut,
    ContactPage,
)
from .serializers import account_out, contact_out

router = Router()

MAX_ID = 2**63 - 1


@router.get("/accounts", response=responses({200: AccountPage}, 422), summary="List accounts")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]) -> dict[str, Any]:
    """Accounts, newest first; `q` matches part of the name."""
    reject_unknown(request, AccountFilters)
    caller(request)
    rows = Account.objects.select_related("owner")
    if filters.q:
        rows = rows.filter(name__icontains=filters.q)
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [account_out(a) for a in items], "next_cursor": next_cursor}


@router.post("/accounts", response=responses({201: AccountOut}, 422), summary="Create an account")
def post_account(request: HttpRequest, payload: AccountIn) -> Status:
    account = create_account(acting_user=caller(request), **payload.model_dump())
    return Status(201, account_out(account))


@router.get("/contacts", response=responses({200: ContactPage}, 422), summary="List contacts")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    """Contacts, newest first; filter by `account_id`, or `q` in the name or email."""
    reject_unknown(request, ContactFilters)
    caller(request)
    rows = Contact.objects.select_related("account")
    if filters.account_id is not None:
        rows = rows.filter(account_id=filters.account_id)
    if filters.q:
        rows = rows.filter(Q(first_name__icontains=filters.q) | Q(last_name__icontains=filters.q)
                           | Q(email__icontains=filters.q))
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [contact_out(c) for c in items], "next_cursor": next_cursor}


@router.post("/contacts", response=responses({201: ContactOut}, 422), summary="Create a contact")
def post_contact(request: HttpRequest, payload: ContactIn) -> Status:
    account = None
    if payload.account_id is not None:
        account = (Account.objects.filter(pk=payload.account_id).first()
                   if 0 < payload.account_id <= MAX_ID else None)
        if account is None:
            raise InvalidInput(f"account {payload.account_id} does not exist", "account_id")
    contact = create_contact(acting_user=caller(request), account=account,
                             **payload.model_dump(exclude={"account_id"}))
    return Status(201, contact_out(contact))
