"""Sending deliveries: signing, one POST per attempt, and the retry schedule.

Receivers verify `X-Dealcraft-Signature` = `sha256=` + hex HMAC-SHA256, keyed with the
endpoint's secret, of `"<X-Dealcraft-Timestamp>.<raw body>"` (see docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from . import services
from .models import WebhookDelivery

logger = logging.getLogger("dealcraft.webhooks")

TIMEOUT_SECONDS = 5.0
USER_AGENT = "dealcraft-webhooks"
# Delay after the 1st, 2nd, … failed attempt; later attempts reuse the last delay.
BACKOFF_SECONDS: tuple[int, ...] = (30, 120, 600, 3600, 6 * 3600)
JITTER = 0.2
MAX_RESPONSE_BYTES = 1024


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after `attempts` failed attempts, ±20 % so that retries spread out."""
    base = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base * factor)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET or resend the body elsewhere; it counts as
    # a failed attempt instead, with its 3xx status in the log.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(delivery: WebhookDelivery, *, now: datetime | None = None) -> Outcome:
    """POST one delivery; never raises for network trouble."""
    body = body_of(delivery)
    timestamp = str(int((now or timezone.now()).timestamp()))
    request = urllib.request.Request(delivery.endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Dealcraft-Event": delivery.event,
        "X-Dealcraft-Delivery": str(delivery.event_id),
        "X-Dealcraft-Timestamp": timestamp,
        "X-Dealcraft-Signature": sign(delivery.endpoint.secret, timestamp, body),
    })
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(MAX_RESPONSE_BYTES)
            return Outcome(response.status, "")
    except urllib.error.HTTPError as exc:
        snippet = exc.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace").strip()
        return Outcome(exc.code, f"HTTP {exc.code}" + (f": {snippet}" if snippet else ""))
    except urllib.error.URLError as exc:
        return Outcome(None, f"connection failed: {exc.reason}")
    except (TimeoutError, OSError, ValueError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def deliver_due(*, now: datetime | None = None, limit: int = 20) -> list[WebhookDelivery]:
    """Send every delivery due at `now` (up to `limit`) once; returns them as recorded."""
    claimed = services.claim_due(now=now, limit=limit)
    done = []
    for delivery in claimed:
        outcome = send(delivery, now=now)
        recorded = services.record_attempt(
            delivery=delivery, status_code=outcome.status_code, error=outcome.error,
            retry_in=backoff(delivery.attempts + 1), now=now)
        if not outcome.ok:
            logger.warning("webhook %s to %s: attempt %d failed: %s", delivery.event_id,
                           delivery.endpoint.url, recorded.attempts, outcome.error)
        done.append(recorded)
    return done


def run_worker(*, interval: float, once: bool = False, limit: int = 20) -> int:
    """Deliver due webhooks until interrupted (or one pass with `once`); returns how many
    attempts were made."""
    total = 0
    while True:
        batch = deliver_due(limit=limit)
        total += len(batch)
        if len(batch) < limit:  # a full batch means more may be due right away
            if once:
                return total
            time.sleep(interval)
