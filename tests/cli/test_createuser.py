"""`dealcraft createuser USERNAME --role ROLE [--team NAME] [--password PW]`."""

from __future__ import annotations

import getpass
import io
import sys
from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.cli import ROLES
from dealcraft.people.models import Role, Team, User

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def test_the_role_choices_are_the_roles_of_the_model() -> None:
    assert tuple(Role.values) == ROLES


def test_a_rep_joins_a_team_that_is_created_when_missing(run: Any) -> None:
    result = run("createuser", "alice", "--role", "rep", "--team", "North",
                 "--password", PASSWORD)

    assert result.code == 0
    assert result.lines == ["created team North", "created user alice (sales rep) on team North"]
    alice = User.objects.get(username="alice")
    assert (alice.role, alice.team.name if alice.team else None) == ("rep", "North")
    assert alice.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.create", object_id=str(alice.pk)).exists()


def test_a_manager_given_a_team_manages_it(run: Any) -> None:
    run("createuser", "alice", "--role", "rep", "--team", "North", "--password", PASSWORD)

    result = run("createuser", "mona", "--role", "manager", "--team", "North",
                 "--password", PASSWORD)

    assert result.code == 0
    assert result.lines == ["created user mona (sales manager), managing team North"]
    north = Team.objects.get(name="North")
    assert list(north.managers.values_list("username", flat=True)) == ["mona"]
    assert Team.objects.count() == 1


def test_an_existing_username_is_refused_in_one_line(run: Any) -> None:
    run("createuser", "alice", "--role", "rep", "--password", PASSWORD)

    result = run("createuser", "alice", "--role", "admin", "--password", PASSWORD)

    assert result.code == 1
    assert result.err == "dealcraft: user 'alice' already exists\n"
    assert User.objects.get(username="alice").role == "rep"


def test_a_weak_password_is_refused(run: Any) -> None:
    result = run("createuser", "alice", "--role", "rep", "--password", "12345678")

    assert result.code == 1
    assert result.err.startswith("dealcraft: password refused: ")
    assert "common" in result.err
    assert not User.objects.filter(username="alice").exists()


def test_an_unknown_role_is_a_usage_error(run: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("createuser", "alice", "--role", "boss")

    assert exit_info.value.code == 2
    assert not User.objects.exists()


def test_without_a_terminal_the_user_gets_no_usable_password(
        run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    result = run("createuser", "robot", "--role", "ops")

    assert result.code == 0
    assert "robot has no usable password" in result.out
    assert not User.objects.get(username="robot").has_usable_password()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_asked_twice(run: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(sys, "stdin", FakeTerminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))

    result = run("createuser", "alice", "--role", "rep")

    assert result.code == 0
    assert User.objects.get(username="alice").check_password(PASSWORD)


def test_passwords_that_differ_are_refused(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(sys, "stdin", FakeTerminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))

    result = run("createuser", "alice", "--role", "rep")

    assert result.code == 1
    assert result.err == "dealcraft: the passwords do not match\n"
    assert not User.objects.exists()
