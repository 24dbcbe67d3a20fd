"""`dealcraft token create|list|revoke`: API tokens issued, listed and revoked at the console."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.people.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_last_line_is_the_token_and_it_authenticates(run: Any, org: Any) -> None:
    result = run("token", "create", "alice")

    assert result.code == 0
    key = result.lines[-1]
    assert key == key.strip() and " " not in key
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert token.user == org.alice
    assert token.is_usable()
    assert not token.read_only
    assert token.expires_at is None
    assert f"token {token.key_prefix} for alice" in result.lines[0]
    assert key not in "\n".join(result.lines[:-1])


def test_a_read_only_expiring_named_token(run: Any, org: Any) -> None:
    result = run("token", "create", "bob", "--read-only", "--expires-days", "30",
                 "--name", "forecast sync")

    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(result.lines[-1]))
    assert token.read_only
    assert token.name == "forecast sync"
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert "read-only" in result.out


def test_a_token_for_an_unknown_user_is_refused(run: Any, org: Any) -> None:
    result = run("token", "create", "nobody")

    assert result.code == 1
    assert result.err == "dealcraft: there is no user 'nobody'\n"
    assert not ApiToken.objects.exists()


def test_an_expiry_out_of_range_is_refused(run: Any, org: Any) -> None:
    result = run("token", "create", "alice", "--expires-days", "5000")

    assert result.code == 1
    assert "expiry is 1 to 3650 days" in result.err
    assert not ApiToken.objects.exists()


def test_list_shows_prefixes_never_secrets(run: Any, org: Any) -> None:
    alice_key = run("token", "create", "alice", "--name", "ci").lines[-1]
    bob_key = run("token", "create", "bob").lines[-1]

    everyone = run("token", "list")
    only_bob = run("token", "list", "bob")

    assert everyone.lines[0].split() == ["PREFIX", "USER", "NAME", "READ-ONLY", "CREATED",
                                         "EXPIRES", "LAST", "USED", "REVOKED"]
    assert alice_key[:10] in everyone.out and bob_key[:10] in everyone.out
    assert alice_key not in everyone.out and bob_key not in everyone.out
    assert bob_key[:10] in only_bob.out and alice_key[:10] not in only_bob.out


def test_revoke_stops_the_token_and_writes_an_audit_row(run: Any, org: Any) -> None:
    key = run("token", "create", "alice").lines[-1]
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))

    result = run("token", "revoke", token.key_prefix)

    assert result.code == 0
    assert result.out.strip() == f"token {token.key_prefix} of alice revoked"
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_usable()
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1
    listed = run("token", "list", "alice").lines[-1]
    assert listed.endswith(f"{timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M %Z}")


def test_revoking_twice_changes_nothing_more(run: Any, org: Any) -> None:
    key = run("token", "create", "alice").lines[-1]
    prefix = key[:10]
    run("token", "revoke", prefix)
    revoked_at = ApiToken.objects.get(key_prefix=prefix).revoked_at

    result = run("token", "revoke", prefix)

    assert result.code == 0
    assert "was already revoked" in result.out
    assert ApiToken.objects.get(key_prefix=prefix).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1


def test_revoking_an_unknown_prefix_is_refused(run: Any, org: Any) -> None:
    result = run("token", "revoke", "dc_nothing")

    assert result.code == 1
    assert result.err == "dealcraft: no token has the prefix 'dc_nothing'\n"
