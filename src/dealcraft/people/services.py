"""Users, teams and API tokens: creating and changing them; and the bookkeeping of API
requests (rate windows, idempotency keys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.audit.services import record
from dealcraft.errors import Conflict, InvalidInput, NotAllowed, NotFound

from .models import ApiToken, IdempotentRequest, RateWindow, Role, Team, User

PEOPLE_ADMIN_ROLES = (Role.ADMIN, Role.OPS)
NAME_MAX = 150


def require_people_admin(user: Any) -> None:
    """Admins and revenue operations manage users and teams; everyone else is refused."""
    if user is not None and getattr(user, "role", None) not in PEOPLE_ADMIN_ROLES:
        raise NotAllowed("Only admins and revenue operations manage users and teams.")


def _guard_admin_role(acting_user: Any, *roles: str) -> None:
    # Ops manage the sales organisation but may not make admins, or change what an admin is:
    # otherwise ops could make themselves admin.
    if acting_user is not None and getattr(acting_user, "role", None) != Role.ADMIN \
            and Role.ADMIN in roles:
        raise NotAllowed("Only admins create admins or change an admin's account.")


def _clean_team_name(name: Any) -> str:
    name = name.replace("\x00", "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise InvalidInput("a team name is 1 to 100 characters", "name")
    return name


def _clean_person(first_name: str, last_name: str, email: str) -> None:
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_MAX:
            raise InvalidInput(f"{field} is longer than {NAME_MAX} characters", field)
    if email:
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise InvalidInput(f"{email!r} is not an email address", "email") from None


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
                email: str = "", member_of: Team | None = None,
                manages: tuple[Team, ...] = (), active: bool = True,
                external_source: str = "", external_id: str = "") -> User:
    """Create a user with a role.

    An inactive user (`active=False`) cannot sign in; imports create the owners an export
    names but this site does not know that way, keeping the other system's id.

    `team` (a name, created when missing) is the console's shorthand: a manager given a team
    manages it, anyone else joins it. `member_of` and `manages` say the same explicitly, for
    callers that hold teams already: the team the user sells in, and, for a manager, the teams
    they manage.
    """
    require_people_admin(acting_user)
    if role not in Role.values:
        raise InvalidInput(f"role must be one of: {', '.join(Role.values)}", "role")
    _guard_admin_role(acting_user, role)
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("a username is 1 to 150 characters", "username")
    try:
        User.username_validator(username)
    except ValidationError:
        raise InvalidInput("a username is letters, digits and @ . + - _ only",
                           "username") from None
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"user '{username}' already exists", "username")
    if team and member_of is not None:
        raise InvalidInput("give the team by name or by reference, not both", "team")
    if manages and role != Role.MANAGER:
        raise InvalidInput("only managers manage teams", "manages")
    _clean_person(first_name, last_name, email)
    if password and acting_user is not None:
        # The console checks passwords itself; the demo builder's are for the demo only.
        try:
            validate_password(password, user=User(username=username, first_name=first_name,
                                                  last_name=last_name, email=email))
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), "password") from None
    with transaction.atomic():
        team_obj = ensure_team(team, acting_user=acting_user) if team else None
        user = User(username=username, role=role, first_name=first_name, last_name=last_name,
                    email=email, is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN,
                    is_active=active, external_source=external_source[:30],
                    external_id=external_id[:100])
        if member_of is not None:
            user.team = member_of
        elif role != Role.MANAGER:
            user.team = team_obj
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise InvalidInput(f"user '{username}' already exists", "username") from None
        managed = list(manages)
        if role == Role.MANAGER and team_obj is not None:
            managed.append(team_obj)
        if managed:
            user.managed_teams.add(*managed)
        record(actor=acting_user, action="user.create", obj=user,
               changes={"username": username, "role": role, "active": active,
                        "team": user.team.name if user.team else (team or ""),
                        "manages": sorted(t.name for t in managed)})
    return user


#: What `update_user` may change.
USER_CHANGES = ("role", "team", "is_active", "first_name", "last_name", "email")


def _other_active_admins(user: User) -> bool:
    return User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


def update_user(*, acting_user: Any, user: User | int, changes: dict[str, Any]) -> User:
    """Change a user's role, team, active flag, name or email, in one audited change.

    Leaving the manager role ends the teams they managed; becoming or ceasing to be an admin
    sets Django's staff and superuser flags with it. Nobody deactivates themselves or demotes
    the last active admin, so the organisation always keeps someone who can undo a mistake.
    A deactivated user can no longer sign in or use their API tokens; their deals stay theirs
    until reassigned.
    """
    require_people_admin(acting_user)
    unknown = set(changes) - set(USER_CHANGES)
    if unknown:
        raise InvalidInput(f"cannot change: {', '.join(sorted(unknown))}", sorted(unknown)[0])
    pk = user.pk if isinstance(user, User) else user
    with transaction.atomic():
        current = User.objects.select_for_update().filter(pk=pk).first()
        if current is None:
            raise NotFound(f"user {pk} does not exist")
        _guard_admin_role(acting_user, current.role, changes.get("role", current.role))
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}

        def put(attr: str, value: Any, shown: Any = None) -> None:
            old = getattr(current, attr)
            if old != value:
                before[attr] = str(old) if isinstance(old, models.Model) else old
                after[attr] = shown if shown is not None else value
                setattr(current, attr, value)

        if "role" in changes:
            role = changes["role"]
            if role not in Role.values:
                raise InvalidInput(f"role must be one of: {', '.join(Role.values)}", "role")
            if current.role == Role.ADMIN and role != Role.ADMIN \
                    and not _other_active_admins(current):
                raise InvalidInput("this is the last active admin; make someone else admin "
                                   "first", "role")
            put("role", role)
        if "team" in changes:
            team = changes["team"]
            if team is not None and not isinstance(team, Team):
                raise InvalidInput("team must be a team", "team_id")
            if (team.pk if team else None) != current.team_id:
                before["team"] = current.team.name if current.team_id and current.team else None
                after["team"] = team.name if team else None
                current.team = team
        if "is_active" in changes:
            active = changes["is_active"]
            if not isinstance(active, bool):
                raise InvalidInput("is_active is true or false", "is_active")
            if not active and acting_user is not None and acting_user.pk == current.pk:
                raise InvalidInput("you cannot deactivate yourself", "is_active")
            if not active and current.role == Role.ADMIN and not _other_active_admins(current):
                raise InvalidInput("this is the last active admin", "is_active")
            put("is_active", active)
        for field in ("first_name", "last_name", "email"):
            if field in changes:
                value = changes[field]
                if not isinstance(value, str):
                    raise InvalidInput(f"{field} must be text", field)
                value = value.replace("\x00", "").strip()
                _clean_person(**{"first_name": "", "last_name": "", "email": "", field: value})
                put(field, value)
        if not after:
            return current
        fields = [k for k in after if k != "team"] + (["team"] if "team" in after else [])
        if "role" in after:
            current.is_staff = current.is_superuser = current.role == Role.ADMIN
            fields += ["is_staff", "is_superuser"]
            if before["role"] == Role.MANAGER:
                ended = sorted(current.managed_teams.values_list("name", flat=True))
                if ended:
                    current.managed_teams.clear()
                    after["managed_teams_ended"] = ended
        current.save(update_fields=fields)
        record(actor=acting_user, action="user.update", obj=current,
               changes={k: {"from": before.get(k), "to": v} for k, v in after.items()})
    return current


def create_team(*, acting_user: Any, name: str) -> Team:
    """A new, empty sales team; a name already taken is refused."""
    require_people_admin(acting_user)
    name = _clean_team_name(name)
    with transaction.atomic():
        if Team.objects.filter(name=name).exists():
            raise InvalidInput(f"team '{name}' already exists", "name")
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name)
        except IntegrityError:
            raise InvalidInput(f"team '{name}' already exists", "name") from None
        record(actor=acting_user, action="team.create", obj=team, changes={"name": name})
    return team


def _locked_team(team: Team | int) -> Team:
    pk = team.pk if isinstance(team, Team) else team
    found = Team.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound(f"team {pk} does not exist")
    return found


def rename_team(*, acting_user: Any, team: Team | int, name: str) -> Team:
    """Give a team a new name; its members, managers and deals stay with it."""
    require_people_admin(acting_user)
    name = _clean_team_name(name)
    with transaction.atomic():
        current = _locked_team(team)
        if current.name == name:
            return current
        if Team.objects.filter(name=name).exclude(pk=current.pk).exists():
            raise InvalidInput(f"team '{name}' already exists", "name")
        old = current.name
        current.name = name
        try:
            with transaction.atomic():
                current.save(update_fields=["name"])
        except IntegrityError:
            raise InvalidInput(f"team '{name}' already exists", "name") from None
        record(actor=acting_user, action="team.rename", obj=current,
               changes={"from": old, "to": name})
    return current


def add_team_manager(*, acting_user: Any, team: str | Team | int, manager: User) -> Team:
    """Make a manager manage one more team (given by name, created when missing, or as a
    team). Managing a team already managed changes nothing."""
    require_people_admin(acting_user)
    if manager.role != Role.MANAGER:
        raise InvalidInput(f"{manager.username} is not a manager", "manager")
    if not manager.is_active:
        raise InvalidInput(f"{manager.username} is inactive", "manager")
    with transaction.atomic():
        team_obj = (ensure_team(team, acting_user=acting_user) if isinstance(team, str)
                    else _locked_team(team))
        if not team_obj.managers.filter(pk=manager.pk).exists():
            team_obj.managers.add(manager)
            record(actor=acting_user, action="team.add_manager", obj=team_obj,
                   changes={"team": team_obj.name, "manager": manager.username})
    return team_obj


def remove_team_manager(*, acting_user: Any, team: Team | int, manager: User) -> Team:
    """A manager stops managing a team (and reading its deals, unless they own them)."""
    require_people_admin(acting_user)
    with transaction.atomic():
        team_obj = _locked_team(team)
        if not team_obj.managers.filter(pk=manager.pk).exists():
            raise NotFound(f"{manager.username} does not manage {team_obj.name}")
        team_obj.managers.remove(manager)
        record(actor=acting_user, action="team.remove_manager", obj=team_obj,
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


# ---------------------------------------------------------------------------- idempotency keys

#: How long an `Idempotency-Key` is remembered.
IDEMPOTENCY_TTL = timedelta(hours=24)
#: At most this many expired keys are deleted per new key, so pruning never stalls a request.
IDEMPOTENCY_PRUNE_BATCH = 100


@dataclass(frozen=True)
class IdempotencyClaim:
    """What `claim_idempotency_key` found: the new reservation to run the request under, or
    the earlier request with this key (`replay` when it finished, `running` when it has not,
    `mismatch` when it had another body)."""

    outcome: str
    row: IdempotentRequest


def claim_idempotency_key(*, token: ApiToken, key: str, fingerprint: str,
                          now: datetime | None = None) -> IdempotencyClaim:
    """Reserve `key` for a request of `token`, or say what became of its earlier use.

    The reservation is an INSERT against a unique (token, key) constraint: of two requests
    arriving together, exactly one inserts and runs; the other finds its row. A key older
    than `IDEMPOTENCY_TTL` is forgotten and may be reserved anew. Not audited: bookkeeping
    about the request, not a change anyone made; the work it guards writes its own rows.
    """
    now = now or timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(token=token, key=key,
                                                       fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            found = IdempotentRequest.objects.filter(token=token, key=key).first()
            if found is None:  # released between the two statements: try again
                continue
            if found.created_at <= now - IDEMPOTENCY_TTL:
                IdempotentRequest.objects.filter(pk=found.pk,
                                                 created_at=found.created_at).delete()
                continue
            if found.fingerprint != fingerprint:
                return IdempotencyClaim("mismatch", found)
            return IdempotencyClaim("running" if found.status is None else "replay", found)
        _prune_idempotency_keys(now)
        return IdempotencyClaim("reserved", row)
    # Only a key expiring and being reused under us at every pass ends here.
    raise Conflict("this Idempotency-Key is in use by another request; retry shortly",
                   current=None)  # pragma: no cover


def _prune_idempotency_keys(now: datetime) -> None:
    expired = list(IdempotentRequest.objects.filter(created_at__lt=now - IDEMPOTENCY_TTL)
                   .order_by("created_at").values_list("pk", flat=True)
                   [:IDEMPOTENCY_PRUNE_BATCH])
    if expired:
        IdempotentRequest.objects.filter(pk__in=expired).delete()


def store_idempotent_response(row: IdempotentRequest, *, status: int, content_type: str,
                              body: bytes, headers: dict[str, str]) -> None:
    """Keep the answer the reserved request got, for retries with the same key."""
    IdempotentRequest.objects.filter(pk=row.pk).update(
        status=status, content_type=content_type[:100], body=body, headers=headers)


def release_idempotency_key(row: IdempotentRequest) -> None:
    """Forget a reservation whose request did no work (it was refused or failed), so that a
    corrected retry may use the same key."""
    IdempotentRequest.objects.filter(pk=row.pk).delete()
