"""Bearer-token authentication: `Authorization: Bearer <token>` against stored token hashes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer

from dealcraft.people.models import ApiToken, User
from dealcraft.people.services import note_token_use

from . import ratelimit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class InvalidToken(AuthenticationError):
    """A token was sent but cannot be used; `WWW-Authenticate` says `error="invalid_token"`."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


class ReadOnlyToken(AuthorizationError):
    def __init__(self) -> None:
        super().__init__(403, "This token is read-only; it may only read (GET).")


class BearerToken(HttpBearer):
    """Resolves the caller of every API operation from an `ApiToken`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        token = token.strip()
        if not token:
            return None
        row = (ApiToken.objects.select_related("user")
               .filter(key_hash=ApiToken.hash_key(token)).first())
        if row is None:
            raise InvalidToken("The token is not valid.")
        now = timezone.now()
        if row.revoked_at is not None:
            raise InvalidToken("The token has been revoked.")
        if not row.is_usable(now):
            raise InvalidToken("The token has expired.")
        if not row.user.is_active:
            raise InvalidToken("The token's user is inactive.")
        if row.read_only and request.method not in SAFE_METHODS:
            raise ReadOnlyToken()
        note_token_use(row, now=now)
        ratelimit.check(request, row, now=now)
        request.api_token = row  # type: ignore[attr-defined]  # for Idempotency-Key
        return row.user


def caller(request: HttpRequest) -> User:
    """The authenticated user of an API request."""
    user: Any = getattr(request, "auth", None)
    if not isinstance(user, User):  # only reachable if an operation forgot its auth
        raise AuthenticationError()
    return user
