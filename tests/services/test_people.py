"""Creating users, teams and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.people.models import ApiToken, Team, User
from dealcraft.people.services import create_token, create_user, ensure_team


def test_personas_have_the_roles_and_teams_the_tests_rely_on(org: Any) -> None:
    assert (org.alice.role, org.alice.team.name) == ("rep", "North")
    assert (org.charlie.role, org.charlie.team.name) == ("rep", "South")
    assert org.mona.team is None
    assert list(org.mona.managed_teams.values_list("name", flat=True)) == ["North"]
    assert (org.vera.role, org.vera.team.name) == ("viewer", "North")
    assert org.ada.is_superuser and not org.olivia.is_superuser


def test_creating_a_manager_with_a_new_team_creates_the_team_they_manage(org: Any) -> None:
    sam = create_user(acting_user=org.ada, username="sam", role="manager", team="East")

    east = Team.objects.get(name="East")
    assert list(east.managers.all()) == [sam]
    assert sam.team is None
    actions = set(AuditEvent.objects.filter(actor=org.ada).values_list("action", flat=True))
    assert actions == {"team.create", "user.create"}


def test_rep_joins_an_existing_team(org: Any) -> None:
    nina = create_user(acting_user=org.olivia, username="nina", role="rep", team="North")

    assert nina.team == org.alice.team
    assert Team.objects.filter(name="North").count() == 1


@pytest.mark.parametrize("persona", ["alice", "mona", "vera"])
def test_only_admins_and_ops_create_users(org: Any, persona: str) -> None:
    with pytest.raises(NotAllowed):
        create_user(acting_user=getattr(org, persona), username="intruder", role="admin")

    assert not User.objects.filter(username="intruder").exists()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"username": "alice", "role": "rep"}, "username"),
    ({"username": "  ", "role": "rep"}, "username"),
    ({"username": "u" * 151, "role": "rep"}, "username"),
    ({"username": "zed", "role": "overlord"}, "role"),
    ({"username": "zed", "role": "rep", "team": "   "}, "team"),
    ({"username": "zed", "role": "rep", "first_name": "F" * 151}, "first_name"),
    ({"username": "zed", "role": "rep", "email": "not-an-email"}, "email"),
])
def test_bad_user_input_is_refused_naming_the_field(org: Any, kwargs: dict[str, Any],
                                                    field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_user(acting_user=org.ada, **kwargs)

    assert refused.value.field == field
    assert not User.objects.filter(username="zed").exists()


def test_ensure_team_returns_the_existing_team(org: Any) -> None:
    assert ensure_team("North") == org.alice.team
    assert ensure_team("  South ") == org.charlie.team


def test_token_is_stored_only_as_a_hash(org: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice, expires_days=30)

    assert key.startswith("dc_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == ApiToken.hash_key(key)
    assert key not in {stored.key_hash, stored.key_prefix}
    assert stored.is_usable()
    assert not stored.is_usable(timezone.now() + timedelta(days=31))


def test_user_cannot_issue_a_token_for_someone_else(org: Any) -> None:
    with pytest.raises(NotAllowed):
        create_token(acting_user=org.alice, user=org.bob)

    assert not ApiToken.objects.exists()


def test_admin_issues_a_token_for_another_user(org: Any) -> None:
    token, _ = create_token(acting_user=org.ada, user=org.bob, read_only=True)

    assert (token.user, token.read_only) == (org.bob, True)


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_token_expiry_out_of_range_is_refused(org: Any, days: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_token(acting_user=org.alice, user=org.alice, expires_days=days)

    assert refused.value.field == "expires_days"
