"""`/api/v1/users`, `/api/v1/teams` and `/api/v1/directory`: the sales organisation.

Admins and revenue operations read and manage users and teams (ops may not create admins or
change an admin's account). Everyone signed in may read the directory: who the active users
are and which team they sell in, which is what assigning deals and filtering by owner needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest
from ninja import Field, P, PathEx, Query, Router, Schema, Status

from dealcraft.errors import InvalidInput, NotFound
from dealcraft.people.models import Team, User
from dealcraft.people.services import (
    add_team_manager,
    create_team,
    create_user,
    remove_team_manager,
    rename_team,
    require_people_admin,
    update_user,
)

from .auth import caller
from .pagination import page
from .query import reject_unknown
from .responses import responses
from .schemas import Input, Text

router = Router()

MAX_ID = 2**63 - 1
UserId = PathEx[int, P(ge=1, le=MAX_ID, description="The user's id.")]
TeamId = PathEx[int, P(ge=1, le=MAX_ID, description="The team's id.")]
RoleName = Literal["admin", "ops", "manager", "rep", "viewer"]


# ---------------------------------------------------------------------------- shapes


class TeamRef(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str


class UserOut(Schema):
    id: int
    username: str
    name: str
    first_name: str
    last_name: str
    email: str
    role: RoleName
    team_id: int | None
    team: str | None
    manages: list[TeamRef] = Field(description="For managers: the teams they manage.")
    is_active: bool
    last_login: datetime | None
    date_joined: datetime


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


class UserFilters(Schema):
    role: RoleName | None = None
    team_id: int | None = Field(None, ge=1, le=MAX_ID)
    is_active: bool | None = None
    q: Text | None = Field(None, description="Part of the username, name or email.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


class UserIn(Input):
    username: Text = Field(max_length=150)
    role: RoleName
    team_id: int | None = Field(None, ge=1, le=MAX_ID,
                                description="The team the user sells in (any role).")
    manages: list[int] = Field(default_factory=list, max_length=100,
                               description="For managers: ids of the teams they manage.")
    first_name: Text = Field("", max_length=150)
    last_name: Text = Field("", max_length=150)
    email: Text = Field("", max_length=254)
    password: str | None = Field(None, max_length=4096,
                                 description="Optional; checked against the password "
                                             "rules. Without one the user cannot sign in to "
                                             "the web app until an admin sets one.")


class UserPatchIn(Input):
    role: RoleName | None = None
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="null: no team.")
    is_active: bool | None = Field(None, description="false deactivates: no sign-in, no "
                                                     "API tokens; true reactivates.")
    first_name: Text | None = Field(None, max_length=150)
    last_name: Text | None = Field(None, max_length=150)
    email: Text | None = Field(None, max_length=254)


class DirectoryEntry(Schema):
    id: int
    username: str
    name: str
    team_id: int | None
    team: str | None


class DirectoryPage(Schema):
    items: list[DirectoryEntry]
    next_cursor: str | None


class DirectoryFilters(Schema):
    team_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: Text | None = Field(None, description="Part of the username or name.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


class TeamOut(Schema):
    id: int
    name: str
    managers: list[UserRef]
    member_count: int = Field(description="Users whose team this is (active or not).")
    created_at: datetime


class TeamPage(Schema):
    items: list[TeamOut]
    next_cursor: str | None


class TeamFilters(Schema):
    q: Text | None = Field(None, description="Part of the team name.")
    cursor: Text | None = None
    limit: int = Field(50, ge=1, le=200)


class TeamIn(Input):
    name: Text = Field(max_length=100)


class TeamUserIn(Input):
    user_id: int = Field(ge=1, le=MAX_ID)


# ---------------------------------------------------------------------------- reading


def _user_rows() -> Any:
    return (User.objects.select_related("team")
            .prefetch_related(Prefetch("managed_teams", queryset=Team.objects.order_by("name"))))


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "team_id": user.team_id,
        "team": user.team.name if user.team_id and user.team else None,
        "manages": [{"id": t.pk, "name": t.name} for t in user.managed_teams.all()],
        "is_active": user.is_active,
        "last_login": user.last_login,
        "date_joined": user.date_joined,
    }


def _team_rows() -> Any:
    return (Team.objects.annotate(member_count=Count("members", distinct=True))
            .prefetch_related(Prefetch("managers", queryset=User.objects.order_by("username"))))


def team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "managers": [{"id": m.pk, "username": m.username, "name": m.display_name}
                     for m in team.managers.all()],
        "member_count": getattr(team, "member_count", 0),
        "created_at": team.created_at,
    }


def _reload_user(user: User | int) -> dict[str, Any]:
    return user_out(_user_rows().get(pk=user.pk if isinstance(user, User) else user))


def _reload_team(team: Team | int) -> dict[str, Any]:
    return team_out(_team_rows().get(pk=team.pk if isinstance(team, Team) else team))


def _team(team_id: int, field: str = "team_id") -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise InvalidInput(f"team {team_id} does not exist", field)
    return team


def _user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise InvalidInput(f"user {user_id} does not exist", "user_id")
    return user


def _people_admin(request: HttpRequest) -> User:
    user = caller(request)
    require_people_admin(user)
    return user


# ---------------------------------------------------------------------------- users


@router.get("/users", response=responses({200: UserPage}, 422), summary="List users")
def list_users(request: HttpRequest, filters: Query[UserFilters]) -> dict[str, Any]:
    """Every user, newest first (admins and revenue operations)."""
    reject_unknown(request, UserFilters)
    _people_admin(request)
    rows = _user_rows()
    if filters.role:
        rows = rows.filter(role=filters.role)
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.is_active is not None:
        rows = rows.filter(is_active=filters.is_active)
    if filters.q:
        rows = rows.filter(Q(username__icontains=filters.q) | Q(first_name__icontains=filters.q)
                           | Q(last_name__icontains=filters.q) | Q(email__icontains=filters.q))
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [user_out(u) for u in items], "next_cursor": next_cursor}


@router.post("/users", response=responses({201: UserOut}, 422), summary="Create a user")
def post_user(request: HttpRequest, payload: UserIn) -> Status:
    """A new user with a role, optionally in a team and, for a manager, managing teams.
    Only admins create admins."""
    acting = _people_admin(request)
    user = create_user(
        acting_user=acting, username=payload.username, role=payload.role,
        member_of=_team(payload.team_id) if payload.team_id is not None else None,
        manages=tuple(_team(t, "manages") for t in dict.fromkeys(payload.manages)),
        first_name=payload.first_name, last_name=payload.last_name, email=payload.email,
        password=payload.password or None)
    return Status(201, _reload_user(user))


@router.get("/users/{user_id}", response=responses({200: UserOut}, 404), summary="Get a user")
def get_user(request: HttpRequest, user_id: UserId) -> dict[str, Any]:
    _people_admin(request)
    user = _user_rows().filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user_out(user)


@router.patch("/users/{user_id}", response=responses({200: UserOut}, 404, 422),
              summary="Change a user's role, team, name or active flag")
def patch_user(request: HttpRequest, payload: UserPatchIn, user_id: UserId) -> dict[str, Any]:
    """Send only what changes. `is_active: false` deactivates the user (they can no longer
    sign in or use their tokens; their deals stay theirs). Leaving the manager role ends the
    teams they managed. Nobody deactivates themselves or demotes the last active admin."""
    acting = _people_admin(request)
    sent = payload.model_fields_set
    for name in ("role", "is_active", "first_name", "last_name", "email"):
        if name in sent and getattr(payload, name) is None:
            raise InvalidInput(f"{name} cannot be null", name)
    changes: dict[str, Any] = {name: getattr(payload, name) for name in
                               ("role", "is_active", "first_name", "last_name", "email")
                               if name in sent}
    if "team_id" in sent:
        changes["team"] = _team(payload.team_id) if payload.team_id is not None else None
    user = update_user(acting_user=acting, user=user_id, changes=changes)
    return _reload_user(user)


@router.get("/directory", response=responses({200: DirectoryPage}, 422),
            summary="The directory of active users")
def directory(request: HttpRequest, filters: Query[DirectoryFilters]) -> dict[str, Any]:
    """Active users with their team, for anyone signed in: the usernames and ids that deal
    owners, next-step owners and the `owner` filter take. No roles, emails or sign-in
    details."""
    reject_unknown(request, DirectoryFilters)
    caller(request)
    rows = User.objects.filter(is_active=True).select_related("team")
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.q:
        rows = rows.filter(Q(username__icontains=filters.q) | Q(first_name__icontains=filters.q)
                           | Q(last_name__icontains=filters.q))
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [{"id": u.pk, "username": u.username, "name": u.display_name,
                       "team_id": u.team_id,
                       "team": u.team.name if u.team_id and u.team else None}
                      for u in items],
            "next_cursor": next_cursor}


# ---------------------------------------------------------------------------- teams


@router.get("/teams", response=responses({200: TeamPage}, 422), summary="List teams")
def list_teams(request: HttpRequest, filters: Query[TeamFilters]) -> dict[str, Any]:
    """Teams with their managers and member counts, newest first (admins and ops)."""
    reject_unknown(request, TeamFilters)
    _people_admin(request)
    rows = _team_rows()
    if filters.q:
        rows = rows.filter(name__icontains=filters.q)
    items, next_cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return {"items": [team_out(t) for t in items], "next_cursor": next_cursor}


@router.post("/teams", response=responses({201: TeamOut}, 422), summary="Create a team")
def post_team(request: HttpRequest, payload: TeamIn) -> Status:
    team = create_team(acting_user=_people_admin(request), name=payload.name)
    return Status(201, _reload_team(team))


@router.get("/teams/{team_id}", response=responses({200: TeamOut}, 404), summary="Get a team")
def get_team(request: HttpRequest, team_id: TeamId) -> dict[str, Any]:
    """The team; its members are `GET /users?team_id=…`."""
    _people_admin(request)
    team = _team_rows().filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team_out(team)


@router.patch("/teams/{team_id}", response=responses({200: TeamOut}, 404, 422),
              summary="Rename a team")
def patch_team(request: HttpRequest, payload: TeamIn, team_id: TeamId) -> dict[str, Any]:
    team = rename_team(acting_user=_people_admin(request), team=team_id, name=payload.name)
    return _reload_team(team)


@router.post("/teams/{team_id}/managers", response=responses({200: TeamOut}, 404, 422),
             summary="Add a manager to a team")
def post_team_manager(request: HttpRequest, payload: TeamUserIn,
                      team_id: TeamId) -> dict[str, Any]:
    """The user (an active manager) manages this team too: reads and changes its deals."""
    acting = _people_admin(request)
    _existing_team(team_id)
    team = add_team_manager(acting_user=acting, team=team_id, manager=_user(payload.user_id))
    return _reload_team(team)


@router.delete("/teams/{team_id}/managers/{user_id}",
               response=responses({200: TeamOut}, 404), summary="Remove a team's manager")
def delete_team_manager(request: HttpRequest, team_id: TeamId,
                        user_id: UserId) -> dict[str, Any]:
    acting = _people_admin(request)
    _existing_team(team_id)
    manager = User.objects.filter(pk=user_id).first()
    if manager is None:
        raise NotFound(f"user {user_id} does not exist")
    team = remove_team_manager(acting_user=acting, team=team_id, manager=manager)
    return _reload_team(team)


@router.post("/teams/{team_id}/members", response=responses({200: TeamOut}, 404, 422),
             summary="Move a user into a team")
def post_team_member(request: HttpRequest, payload: TeamUserIn,
                     team_id: TeamId) -> dict[str, Any]:
    """The user now sells in this team (leaving their previous one). Deals they already own
    keep their team; new deals get this one."""
    acting = _people_admin(request)
    team = _existing_team(team_id)
    update_user(acting_user=acting, user=_user(payload.user_id), changes={"team": team})
    return _reload_team(team)


@router.delete("/teams/{team_id}/members/{user_id}",
               response=responses({200: TeamOut}, 404, 422),
               summary="Take a user out of a team")
def delete_team_member(request: HttpRequest, team_id: TeamId,
                       user_id: UserId) -> dict[str, Any]:
    """The user belongs to no team afterwards. A viewer in no team reads every deal."""
    acting = _people_admin(request)
    team = _existing_team(team_id)
    member = User.objects.filter(pk=user_id, team=team).first()
    if member is None:
        raise NotFound(f"user {user_id} is not a member of {team.name}")
    update_user(acting_user=acting, user=member, changes={"team": None})
    return _reload_team(team)


def _existing_team(team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team

