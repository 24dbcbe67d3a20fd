"""Who may see and change which deals. Every entry point asks these same questions."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

READ_ALL_ROLES = ("admin", "ops")


def managed_team_ids(user: Any) -> list[int]:
    """Ids of the teams a user manages, read once per user object."""
    cached = getattr(user, "_managed_team_ids", None)
    if cached is None:
        cached = list(user.managed_teams.values_list("id", flat=True))
        user._managed_team_ids = cached
    return cached


def visible_deals(user: Any, deals: QuerySet[Any], *, visibility: str = "team") -> QuerySet[Any]:
    """The deals a user may read.

    Admins and ops read everything; managers their teams' deals (and their own); reps their
    own deals and their team's (or all, when the process says `visibility: all`); viewers
    their team's, or everything when they belong to no team.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return deals.none()
    role = user.role
    if role in READ_ALL_ROLES:
        return deals
    if role == "manager":
        return deals.filter(Q(team_id__in=managed_team_ids(user)) | Q(owner_id=user.pk))
    if role == "rep":
        if visibility == "all":
            return deals
        if user.team_id:
            return deals.filter(Q(team_id=user.team_id) | Q(owner_id=user.pk))
        return deals.filter(owner_id=user.pk)
    if role == "viewer":
        return deals.filter(team_id=user.team_id) if user.team_id else deals
    return deals.none()


def can_view_deal(user: Any, deal: Any, *, visibility: str = "team") -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    role = user.role
    if role in READ_ALL_ROLES or deal.owner_id == user.pk:
        return True
    if role == "manager":
        return deal.team_id in managed_team_ids(user)
    if role == "rep":
        return visibility == "all" or (user.team_id is not None and deal.team_id == user.team_id)
    if role == "viewer":
        return user.team_id is None or deal.team_id == user.team_id
    return False


def can_edit_deal(user: Any, deal: Any) -> bool:
    """Reps change their own deals; managers their teams' deals; admins any deal."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == "admin":
        return True
    if user.role == "manager":
        return deal.owner_id == user.pk or deal.team_id in managed_team_ids(user)
    if user.role == "rep":
        return deal.owner_id == user.pk
    return False


def can_override(user: Any, deal: Any) -> bool:
    """Only a manager of the deal's team, or an admin, may push a deal past an unmet gate."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == "admin":
        return True
    return user.role == "manager" and deal.team_id in managed_team_ids(user)
