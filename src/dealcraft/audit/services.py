"""Writing audit rows; called by every other service inside its transaction.

Also the sign-in throttle: failed web sign-ins are counted per username and per address, and
a name or address that failed too often is refused for a while, whether or not the name
belongs to anyone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditEvent, SignInAttempt

#: Failures within `SIGN_IN_WINDOW` that lock a username, and an address.
SIGN_IN_FAILURES_PER_USERNAME = 5
SIGN_IN_FAILURES_PER_IP = 20
SIGN_IN_WINDOW = timedelta(minutes=15)
#: How long a lock lasts, counted from the failure that reached the limit.
SIGN_IN_LOCKOUT = timedelta(minutes=15)
USER_AGENT_MAX = 200
#: Attempts older than this count towards no lock (`sign_in_locked_until` never reads them).
SIGN_IN_RETENTION = SIGN_IN_WINDOW + SIGN_IN_LOCKOUT
#: At most this many expired attempts are deleted per sign-in, so pruning stays cheap.
SIGN_IN_PRUNE_BATCH = 100


def record(*, actor: Any, action: str, obj: models.Model, deal: Any = None,
           changes: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.model_name or type(obj).__name__.lower(),
        object_id=str(obj.pk or ""),
        deal=deal,
        changes=changes or {},
    )


def record_refusal(*, actor: Any, method: str, path: str, via: str) -> AuditEvent:
    """Someone was refused (403) on a page or an API operation."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action="permission.refused", object_type="request", object_id="",
        changes={"method": method, "path": path[:500], "via": via},
    )


def _normalise(username: str) -> str:
    return username.strip().lower()[:150]


def _lock_end(failures: models.QuerySet[Any], limit: int, now: datetime) -> datetime | None:
    """When the lock implied by `failures` ends, or None when there is no lock now."""
    latest = failures.order_by("-at").values_list("at", flat=True).first()
    if latest is None or now - latest >= SIGN_IN_LOCKOUT:
        return None
    recent = failures.filter(at__gt=latest - SIGN_IN_WINDOW, at__lte=latest).count()
    return latest + SIGN_IN_LOCKOUT if recent >= limit else None


def sign_in_locked_until(*, username: str, ip: str | None,
                         now: datetime | None = None) -> datetime | None:
    """The end of the lock on this username or address, or None when sign-in may be tried.

    A successful sign-in resets the username's count; the address's count is not reset, so
    one good account cannot be used to keep guessing others from the same place.
    """
    now = now or timezone.now()
    name = _normalise(username)
    attempts = SignInAttempt.objects.filter(at__gt=now - SIGN_IN_WINDOW - SIGN_IN_LOCKOUT)
    last_success = (attempts.filter(username=name, outcome=SignInAttempt.Outcome.SUCCEEDED)
                    .order_by("-at").values_list("at", flat=True).first())
    by_name = attempts.filter(username=name, outcome=SignInAttempt.Outcome.FAILED)
    if last_success is not None:
        by_name = by_name.filter(at__gt=last_success)
    ends = [_lock_end(by_name, SIGN_IN_FAILURES_PER_USERNAME, now)]
    if ip:
        by_ip = attempts.filter(ip=ip, outcome=SignInAttempt.Outcome.FAILED)
        ends.append(_lock_end(by_ip, SIGN_IN_FAILURES_PER_IP, now))
    locked = [end for end in ends if end is not None]
    return max(locked) if locked else None


@dataclass(frozen=True)
class Client:
    """Where a sign-in came from, as the web layer saw it."""

    ip: str | None
    user_agent: str


def client_of(request: HttpRequest) -> Client:
    """The address and browser of a request. `REMOTE_ADDR` is the peer the server saw."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        ip: str | None = str(ipaddress.ip_address(raw))
    except ValueError:
        ip = None
    return Client(ip=ip, user_agent=str(request.META.get("HTTP_USER_AGENT", "")))


def record_sign_in(*, username: str, user: Any, outcome: str, client: Client) -> SignInAttempt:
    """Count one sign-in attempt and write its audit row (`user.sign_in`, `…_failed`, …);
    attempts too old to matter are pruned on the way."""
    with transaction.atomic():
        attempt = SignInAttempt.objects.create(username=_normalise(username), ip=client.ip,
                                               outcome=outcome)
        action = {SignInAttempt.Outcome.SUCCEEDED: "user.sign_in",
                  SignInAttempt.Outcome.FAILED: "user.sign_in_failed",
                  SignInAttempt.Outcome.REFUSED: "user.sign_in_refused"}[
            SignInAttempt.Outcome(outcome)]
        record(actor=user, action=action, obj=attempt,
               changes={"username": username[:150], "ip": client.ip or "",
                        "user_agent": client.user_agent[:USER_AGENT_MAX]})
        prune_sign_in_attempts()
    return attempt


def prune_sign_in_attempts(*, now: datetime | None = None,
                           batch: int = SIGN_IN_PRUNE_BATCH) -> int:
    """Delete up to `batch` of the oldest sign-in attempts that no lock depends on any more;
    returns how many went.

    Attempts exist only for throttling: the lasting record of each sign-in is its audit row
    (`user.sign_in`, …), which stays. Called with every recorded attempt, so the table holds
    about one throttling window of attempts; the work per call is bounded by `batch`, and
    when nothing has expired it is one read of the oldest row.
    """
    cutoff = (now or timezone.now()) - SIGN_IN_RETENTION
    oldest = SignInAttempt.objects.order_by("pk").values_list("at", flat=True).first()
    if oldest is None or oldest > cutoff:
        return 0
    expired = [pk for pk, at in SignInAttempt.objects.order_by("pk")
               .values_list("pk", "at")[:batch] if at <= cutoff]
    # Attempts are append-only for everyone else; expiring them is this function's job alone,
    # hence the base queryset's delete.
    deleted, _ = models.QuerySet.delete(SignInAttempt.objects.filter(pk__in=expired))
    return deleted


def record_sign_out(*, user: Any, client: Client) -> AuditEvent | None:
    if not getattr(user, "pk", None):
        return None
    return record(actor=user, action="user.sign_out", obj=user,
                  changes={"ip": client.ip or "",
                           "user_agent": client.user_agent[:USER_AGENT_MAX]})
