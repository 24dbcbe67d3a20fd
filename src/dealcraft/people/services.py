"""Creating users, teams and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.audit.services import record
from dealcraft.errors import InvalidInput, NotAllowed, NotFound

from .models import ApiToken, RateWindow, Role, Team, User


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
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > 150:
            raise InvalidInput(f"{field} is longer than 150 characters", field)
    if email:
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise InvalidInput(f"{email!r} is not an email address", "email") from None
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


def add_team_manager(*, acting_user: Any, team: str, manager: User) -> Team:
    """Make a manager manage one more team (created when missing)."""
    if acting_user is not None and getattr(acting_user, "role", None) not in ("admin", "ops"):
        raise NotAllowed("Only admins and revenue operations assign managers.")
    if manager.role != Role.MANAGER:
        raise InvalidInput(f"{manager.username} is not a manager", "manager")
    with transaction.atomic():
        team_obj = ensure_team(team, acting_user=acting_user)
        if not team_obj.managers.filter(pk=manager.pk).exists():
            team_obj.managers.add(manager)
            record(actor=acting_user, action="team.add_manager", obj=team_obj,
                   changes={"team": team_obj.name, "manager": manager.username})
    return team_obj


def create_token(*, acting_user: Any, user: User, read_only: bool = False,
                 expires_days: int | None = None, name: str = "") -> tuple[ApiToken, str]:
    """Issue an API token for a user; returns the stored token and the secret, shown once.

    A viewer issuing their own token always gets a read-only one: a viewer reads only.
    """
    if acting_user is not None and acting_user.pk != user.pk \
            and getattr(acting_user, "role", None) != Role.ADMIN:
        raise NotAllowed("Only admins issue tokens for other users.")
    if getattr(acting_user, "role", None) == Role.VIEWER:
        read_only = True
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


def revoke_token(*, acting_user: Any, prefix: str = "",
                 token_id: int | None = None) -> ApiToken:
    """Revoke the API token whose key starts with `prefix` (as `token list` shows it), or
    the one with the id `token_id` (as the web page knows it).

    Revoking a token that is already revoked changes nothing and returns it as it is.
    """
    prefix = prefix.strip()
    if not prefix and token_id is None:
        raise InvalidInput("give the token's prefix", "prefix")
    with transaction.atomic():
        rows = ApiToken.objects.select_for_update().select_related("user")
        rows = rows.filter(pk=token_id) if token_id is not None else rows.filter(
            key_prefix=prefix)
        matches = list(rows[:2])
        if not matches:
            raise NotFound(f"no token has the prefix '{prefix}'" if token_id is None
                           else "no such token")
        if len(matches) > 1:
            raise InvalidInput(f"more than one token has the prefix '{prefix}'", "prefix")
        token = matches[0]
        if acting_user is not None and acting_user.pk != token.user_id \
                and getattr(acting_user, "role", None) != Role.ADMIN:
            raise NotAllowed("Only admins revoke other users' tokens.")
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor=acting_user, action="token.revoke", obj=token,
               changes={"user": token.user.username, "prefix": token.key_prefix})
    return token


#: How stale a token's `last_used_at` may be; finer tracking would cost a write per request.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
#: How often a token's use is written to the audit trail while it is being used.
TOKEN_USE_AUDIT_INTERVAL = timedelta(hours=1)


def note_token_use(token: ApiToken, *, now: datetime | None = None) -> None:
    """Record that a token was just used, at most once per `TOKEN_USE_RESOLUTION`, and audit
    the use (`token.used`) at most once per `TOKEN_USE_AUDIT_INTERVAL`."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_RESOLUTION:
        return
    # The condition is repeated in SQL so that concurrent requests write once between them.
    updated = ApiToken.objects.filter(pk=token.pk).filter(
        models.Q(last_used_at__isnull=True)
        | models.Q(last_used_at__lt=now - TOKEN_USE_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
    if updated and not AuditEvent.objects.filter(
            action="token.used", object_type="apitoken", object_id=str(token.pk),
            at__gt=now - TOKEN_USE_AUDIT_INTERVAL).exists():
        record(actor=token.user, action="token.used", obj=token,
               changes={"prefix": token.key_prefix})


def count_token_request(token: ApiToken, *, write: bool, window_start: datetime,
                        limit: int, write_limit: int) -> tuple[bool, int, int]:
    """Count one API request of `token` in the window starting at `window_start`, unless it
    would go over `limit` requests or, for a write, `write_limit` writes (0: no limit).

    Returns whether the request was counted (it may go ahead) and the window's requests and
    writes counted so far. One row per token, in the database so that every server process
    shares it: a single conditional UPDATE adds to the current window or, when the stored
    window is older, starts the new one at this request (so no stale windows pile up); one
    SELECT then reads the totals. The decision is the UPDATE's alone, so concurrent requests
    never let more through than the limit. Not audited: it is bookkeeping about the
    credential, not a change anyone made.
    """
    added = 1 if write else 0
    # A window newer than ours (another process with a clock a little ahead) counts as ours.
    current = models.Q(window_start__gte=window_start)
    counts = models.Q(window_start__lt=window_start)
    if limit:
        counts |= models.Q(count__lt=limit) & (models.Q(writes__lt=write_limit)
                                               if write and write_limit else models.Q())
    elif write and write_limit:
        counts |= models.Q(writes__lt=write_limit)
    mine = RateWindow.objects.filter(token_id=token.pk)
    totals = None
    for _ in range(5):
        updated = mine.filter(counts).update(
            count=models.Case(models.When(current, then=models.F("count") + 1), default=1),
            writes=models.Case(models.When(current, then=models.F("writes") + added),
                               default=added),
            window_start=models.Case(models.When(current, then=models.F("window_start")),
                                     default=models.Value(window_start)),
        )
        totals = mine.values_list("count", "writes").first()
        if totals is not None:
            full = bool(limit and totals[0] >= limit
                        or write and write_limit and totals[1] >= write_limit)
            if updated or full:
                return bool(updated), totals[0], totals[1]
            # Not counted yet the window has room: the row was created, or moved on to a new
            # window, between the two statements; count again.
            continue
        try:
            # The token's first request ever; a concurrent first request may insert first,
            # and then this one is counted by the UPDATE above on the next pass.
            with transaction.atomic():
                RateWindow.objects.create(token_id=token.pk, window_start=window_start,
                                          count=1, writes=added)
        except IntegrityError:
            continue
        return True, 1, added
    # Only a counter moving under us at every pass ends here: let the request through.
    return True, *(totals or (1, added))  # pragma: no cover


def change_password(*, acting_user: User, old_password: str, new_password: str,
                    repeat: str) -> None:
    """A user changes their own password: the old one must match, the new one pass the
    password validators. Other sessions of the user end; the audit row keeps no secret."""
    if not acting_user.check_password(old_password):
        raise InvalidInput("Your current password is not right.", "old_password")
    if new_password != repeat:
        raise InvalidInput("The two new passwords differ.", "repeat")
    try:
        validate_password(new_password, user=acting_user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), "new_password") from None
    acting_user.set_password(new_password)
    acting_user.save(update_fields=["password"])
    record(actor=acting_user, action="user.password_change", obj=acting_user)
