"""Sign-in attempts are kept only as long as the throttle reads them: recording a sign-in
prunes expired attempts, a bounded batch at a time, and never one a lock depends on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.audit.models import AuditEvent, SignInAttempt
from dealcraft.audit.services import (
    SIGN_IN_FAILURES_PER_USERNAME,
    SIGN_IN_PRUNE_BATCH,
    SIGN_IN_RETENTION,
    Client,
    prune_sign_in_attempts,
    record_sign_in,
    sign_in_locked_until,
)

pytestmark = pytest.mark.django_db

HERE = Client(ip="203.0.113.7", user_agent="pytest")


def _attempts(n: int, *, age: timedelta, username: str = "mallory") -> None:
    at = timezone.now() - age
    SignInAttempt.objects.bulk_create(
        SignInAttempt(username=username, ip="203.0.113.7", at=at,
                      outcome=SignInAttempt.Outcome.FAILED) for _ in range(n))


def test_recording_a_sign_in_prunes_attempts_older_than_the_window() -> None:
    _attempts(3, age=SIGN_IN_RETENTION + timedelta(minutes=1))
    _attempts(2, age=SIGN_IN_RETENTION - timedelta(minutes=1))

    record_sign_in(username="mallory", user=None, outcome="failed", client=HERE)

    assert SignInAttempt.objects.count() == 3  # the two recent ones and the new one
    assert not SignInAttempt.objects.filter(
        at__lt=timezone.now() - SIGN_IN_RETENTION).exists()


def test_the_audit_rows_of_pruned_attempts_stay() -> None:
    record_sign_in(username="mallory", user=None, outcome="failed", client=HERE)
    later = timezone.now() + SIGN_IN_RETENTION + timedelta(seconds=1)

    assert prune_sign_in_attempts(now=later) == 1
    assert AuditEvent.objects.filter(action="user.sign_in_failed").count() == 1


def test_each_call_prunes_at_most_one_batch() -> None:
    _attempts(SIGN_IN_PRUNE_BATCH + 7, age=timedelta(days=2))

    record_sign_in(username="mallory", user=None, outcome="failed", client=HERE)
    assert SignInAttempt.objects.count() == 7 + 1
    record_sign_in(username="mallory", user=None, outcome="failed", client=HERE)
    assert SignInAttempt.objects.count() == 2


def test_nothing_to_prune_costs_one_read() -> None:
    _attempts(50, age=timedelta(minutes=1))

    with CaptureQueriesContext(connection) as ctx:
        assert prune_sign_in_attempts() == 0

    assert len(ctx.captured_queries) == 1


def test_pruning_never_lifts_a_lock() -> None:
    for _ in range(SIGN_IN_FAILURES_PER_USERNAME):
        record_sign_in(username="mallory", user=None, outcome="failed", client=HERE)
    _attempts(20, age=timedelta(days=1), username="someone-else")

    record_sign_in(username="someone-else", user=None, outcome="failed", client=HERE)

    assert sign_in_locked_until(username="mallory", ip=None) is not None
    assert SignInAttempt.objects.filter(username="mallory").count() == (
        SIGN_IN_FAILURES_PER_USERNAME)


def test_attempts_stay_immutable_to_everyone_else(org: Any) -> None:
    record_sign_in(username="alice", user=org.alice, outcome="succeeded", client=HERE)
    with pytest.raises(TypeError):
        SignInAttempt.objects.all().delete()
