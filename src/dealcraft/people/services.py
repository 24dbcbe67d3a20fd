"""Creating users, teams and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from dealcraft.audit.services import record
from dealcraft.errors import InvalidInput, NotAllowed

from .models import ApiToken, Role, Team, User


def ensure_team(name: str, *, acting_user: Any = None) -> Team:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a team name is 1 to 100 characters", "team")
    team, created = Team.objects.get_or_create(name=name)
    if created:
        record(actor=acting_user, action="team.create", obj=team, changes={"name": name})
    return team


def create_user(*, acting_user: Any, username: str, role: str, team: str | None = None,
                password: str | None = None, first_name: str = "", last_name: str = "",
                email: str = "") -> User:
    """Create a user with a role; a manager given a team manages it (created when missing)."""
    if acting_user is not None and getattr(acting_user, "role", None) not in ("admin", "ops"):
        raise NotAllowed("Only admins and revenue operations create users.")
    if role not in Role.values:
        raise InvalidInput(f"role must be one of: {', '.join(Role.values)}", "role")
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("a username is 1 to 150 characters", "username")
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"user '{username}' already exists", "username")
    with transaction.atomic():
        team_obj = ensure_team(team, acting_user=acting_user) if team else None
        user = User(username=username, role=role, first_name=first_name, last_name=last_name,
                    email=email, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN)
        if role != Role.MANAGER:
            user.team = team_obj
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        if role == Role.MANAGER and team_obj is not None:
            team_obj.managers.add(user)
        record(actor=acting_user, action="user.create", obj=user,
               changes={"username": username, "role": role, "team": team or ""})
    return user


def create_token(*, acting_user: Any, user: User, read_only: bool = False,
                 expires_days: int | None = None, name: str = "") -> tuple[ApiToken, str]:
    """Issue an API token for a user; returns the stored token and the secret, shown once."""
    if acting_user is not None and acting_user.pk != user.pk \
            and getattr(acting_user, "role", None) != Role.ADMIN:
        raise NotAllowed("Only admins issue tokens for other users.")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidInput("expiry is 1 to 3650 days", "expires_days")
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_hash=ApiToken.hash_key(key), key_prefix=key[:10],
        read_only=read_only,
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    record(actor=acting_user, action="token.create", obj=token,
           changes={"user": user.username, "read_only": read_only,
                    "expires_at": token.expires_at})
    return token, key
