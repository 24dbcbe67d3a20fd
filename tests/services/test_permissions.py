"""Who may read, change and override which deals."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from dealcraft.deals.models import Deal
from dealcraft.deals.services import get_deal_for
from dealcraft.errors import NotAllowed, NotFound
from dealcraft.people.models import User
from dealcraft.people.permissions import (
    can_edit_deal,
    can_override,
    can_view_deal,
    visible_deals,
)
from dealcraft.people.services import create_user
from dealcraft.processes.services import apply_process

from .conftest import with_setting


@pytest.fixture
def deals(org: Any, make_deal: Any) -> dict[str, Deal]:
    """One deal each for Alice and Bob (North) and Charlie (South)."""
    return {name: make_deal(owner=getattr(org, name), name=f"{name}'s deal")
            for name in ("alice", "bob", "charlie")}


def _visible(user: Any, **kwargs: Any) -> set[str]:
    return {d.owner.username for d in visible_deals(user, Deal.objects.all(), **kwargs)}


def _deactivate(user: User) -> User:
    # No service deactivates users yet; the flag is what the permission checks read.
    User.objects.filter(pk=user.pk).update(is_active=False)
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(("persona", "expected"), [
    ("alice", {"alice", "bob"}),
    ("bob", {"alice", "bob"}),
    ("charlie", {"charlie"}),
    ("mona", {"alice", "bob"}),
    ("vera", {"alice", "bob"}),
    ("olivia", {"alice", "bob", "charlie"}),
    ("ada", {"alice", "bob", "charlie"}),
])
def test_visible_deals_per_role(org: Any, deals: dict[str, Deal], persona: str,
                                expected: set[str]) -> None:
    assert _visible(getattr(org, persona)) == expected


def test_reps_see_every_deal_when_the_process_says_visibility_all(
        org: Any, deals: dict[str, Deal]) -> None:
    assert _visible(org.charlie, visibility="all") == {"alice", "bob", "charlie"}


def test_rep_without_a_team_sees_only_their_own_deals(org: Any, deals: dict[str, Deal],
                                                      make_deal: Any) -> None:
    solo = create_user(acting_user=org.ada, username="solo", role="rep")
    make_deal(owner=solo)

    assert _visible(solo) == {"solo"}


def test_viewer_without_a_team_sees_everything(org: Any, deals: dict[str, Deal]) -> None:
    auditor = create_user(acting_user=org.ada, username="auditor", role="viewer")

    assert _visible(auditor) == {"alice", "bob", "charlie"}


def test_manager_of_two_teams_sees_both(org: Any, deals: dict[str, Deal]) -> None:
    # No service hands a manager a second team yet; membership is what the checks read.
    org.charlie.team.managers.add(org.mona)

    assert _visible(User.objects.get(pk=org.mona.pk)) == {"alice", "bob", "charlie"}


@pytest.mark.parametrize("persona", ["alice", "mona", "vera", "ada", "olivia"])
def test_inactive_user_sees_and_changes_nothing(org: Any, deals: dict[str, Deal],
                                                persona: str) -> None:
    user = _deactivate(getattr(org, persona))

    assert _visible(user) == set()
    assert not can_view_deal(user, deals["alice"])
    assert not can_edit_deal(user, deals["alice"])
    assert not can_override(user, deals["alice"])


def test_anonymous_visitor_sees_nothing(deals: dict[str, Deal]) -> None:
    assert _visible(AnonymousUser()) == set()
    assert not can_view_deal(AnonymousUser(), deals["alice"])


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "mona", "vera", "olivia",
                                     "ada"])
def test_single_deal_check_agrees_with_the_list(org: Any, deals: dict[str, Deal],
                                                persona: str) -> None:
    user = getattr(org, persona)
    listed = set(visible_deals(user, Deal.objects.all()).values_list("pk", flat=True))

    assert {d.pk for d in deals.values() if can_view_deal(user, d)} == listed


@pytest.mark.parametrize(("persona", "deal", "allowed"), [
    ("alice", "alice", True),
    ("alice", "bob", False),
    ("charlie", "alice", False),
    ("mona", "alice", True),
    ("mona", "charlie", False),
    ("vera", "alice", False),
    ("olivia", "alice", False),
    ("ada", "charlie", True),
])
def test_who_may_edit_a_deal(org: Any, deals: dict[str, Deal], persona: str, deal: str,
                             allowed: bool) -> None:
    assert can_edit_deal(getattr(org, persona), deals[deal]) is allowed


@pytest.mark.parametrize(("persona", "deal", "allowed"), [
    ("mona", "alice", True),
    ("mona", "bob", True),
    ("mona", "charlie", False),
    ("ada", "charlie", True),
    ("alice", "alice", False),
    ("charlie", "charlie", False),
    ("vera", "alice", False),
    ("olivia", "alice", False),
])
def test_who_may_override_a_gate(org: Any, deals: dict[str, Deal], persona: str, deal: str,
                                 allowed: bool) -> None:
    assert can_override(getattr(org, persona), deals[deal]) is allowed


def test_charlie_is_refused_norths_deal(org: Any, deals: dict[str, Deal]) -> None:
    with pytest.raises(NotAllowed):
        get_deal_for(org.charlie, deals["alice"].pk)


def test_teammate_reads_a_deal_of_their_team(org: Any, deals: dict[str, Deal]) -> None:
    assert get_deal_for(org.bob, deals["alice"].pk) == deals["alice"]


def test_process_visibility_all_lets_charlie_read_norths_deal(
        org: Any, deals: dict[str, Deal]) -> None:
    apply_process(with_setting("visibility", "all"), acting_user=org.olivia)

    assert get_deal_for(org.charlie, deals["alice"].pk) == deals["alice"]


def test_missing_deal_is_not_found(org: Any) -> None:
    with pytest.raises(NotFound):
        get_deal_for(org.ada, 987654)
