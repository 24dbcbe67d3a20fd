"""Shared personas and helpers for dealcraft's tests.

The organisation every service, API and CLI test starts from:
- Alice, a rep on team North; Bob, another rep on North.
- Mona, manager of North. Charlie, a rep on team South who must be refused North's deals.
- Olivia (ops) and Ada (admin); Vera, a viewer on North.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.people.models import User


@dataclass
class Org:
    alice: User
    bob: User
    mona: User
    charlie: User
    olivia: User
    ada: User
    vera: User


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests hash persona passwords with a cheap hasher instead.

    tests/services/test_passwords.py checks that production still hashes with Argon2.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db: Any) -> Org:
    from dealcraft.people.services import create_user

    def make(username: str, role: str, team: str | None) -> User:
        return create_user(acting_user=None, username=username, role=role, team=team,
                           password="correct horse battery", first_name=username.title())

    return Org(
        alice=make("alice", "rep", "North"),
        bob=make("bob", "rep", "North"),
        mona=make("mona", "manager", "North"),
        charlie=make("charlie", "rep", "South"),
        olivia=make("olivia", "ops", None),
        ada=make("ada", "admin", None),
        vera=make("vera", "viewer", "North"),
    )


@pytest.fixture
def make_deal(org: Org) -> Any:
    """Create a deal through the service, owned by Alice unless told otherwise."""
    from dealcraft.deals.services import create_deal

    def make(owner: User | None = None, **kwargs: Any) -> Any:
        owner = owner or org.alice
        params: dict[str, Any] = {
            "name": "Acme platform rollout",
            "amount": "48000.00",
            "currency": "EUR",
            "expected_close": timezone.localdate() + timedelta(days=60),
        }
        params.update(kwargs)
        return create_deal(acting_user=owner, owner=owner, **params)

    return make
