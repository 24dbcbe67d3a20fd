"""Changing one's own password from the web app."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dealcraft.audit.models import AuditEvent

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_rep_changes_her_password_and_stays_signed_in(org: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)

    response = client.post("/password/", {"old_password": PASSWORD,
                                           "new_password": "a much longer secret 42",
                                           "repeat": "a much longer secret 42"})

    assert response.status_code == 302
    assert client.get("/deals/").status_code == 200
    org.alice.refresh_from_db()
    assert org.alice.check_password("a much longer secret 42")
    event = AuditEvent.objects.get(action="user.password_change")
    assert event.actor == org.alice and "password" not in str(event.changes)


@pytest.mark.parametrize(("old", "new", "repeat", "message"), [
    ("wrong", "a much longer secret 42", "a much longer secret 42", "current password"),
    (PASSWORD, "a much longer secret 42", "something else entirely", "differ"),
    (PASSWORD, "12345678", "12345678", "too common"),
])
def test_a_wrong_change_is_refused_and_keeps_the_old_password(
        org: Any, signed_in: Any, old: str, new: str, repeat: str, message: str) -> None:
    response = signed_in(org.alice).post("/password/", {"old_password": old,
                                                        "new_password": new, "repeat": repeat})

    assert response.status_code == 422
    assert message in response.content.decode()
    org.alice.refresh_from_db()
    assert org.alice.check_password(PASSWORD)


def test_password_change_needs_a_signed_in_user(db: Any) -> None:
    response = Client().get("/password/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_password_change_form_needs_csrf(org: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    response = client.post("/password/", {"old_password": PASSWORD,
                                          "new_password": "a much longer secret 42",
                                          "repeat": "a much longer secret 42"})
    assert response.status_code == 403
