"""Password guessing on the sign-in page is throttled, and every sign-in, sign-out, refusal
and token use leaves a row in the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dealcraft.audit.models import AuditEvent, SignInAttempt
from dealcraft.audit.services import sign_in_locked_until
from dealcraft.people.services import create_token
from dealcraft.web.auth_views import LOCKED_MESSAGE

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOCKED = "Too many failed sign-in attempts"


def alert(html: str) -> str:
    """The text of the sign-in form's error."""
    match = re.search(r'role="alert">\s*<p>(.*?)</p>', html, re.S)
    assert match, "no error shown"
    return unescape(match.group(1))


def sign_in(username: str, password: str, *, ip: str = "203.0.113.7",
            client: Client | None = None) -> Any:
    return (client or Client()).post("/login/", {"username": username, "password": password},
                                     REMOTE_ADDR=ip, HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 500)


def fail(username: str, times: int, *, ip: str = "203.0.113.7") -> None:
    for _ in range(times):
        response = sign_in(username, "wrong horse", ip=ip)
        assert response.status_code == 200 and LOCKED not in response.content.decode()


def test_five_failures_lock_the_name_even_with_the_right_password(org: Any) -> None:
    fail("alice", 5)

    response = sign_in("alice", PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in response.client.session
    assert SignInAttempt.objects.filter(username="alice", outcome="refused").count() == 1


def test_an_unknown_name_is_refused_and_locked_with_the_same_words(org: Any) -> None:
    wrong_password = sign_in("alice", "wrong horse").content.decode()
    unknown_name = sign_in("nobody", "wrong horse", ip="203.0.113.9").content.decode()
    assert alert(wrong_password) == alert(unknown_name)

    fail("nobody", 4, ip="203.0.113.9")
    fail("alice", 4)
    unknown = sign_in("nobody", "whatever", ip="203.0.113.9")
    known = sign_in("alice", "whatever")

    assert unknown.status_code == known.status_code == 429
    assert alert(unknown.content.decode()) == alert(known.content.decode()) == LOCKED_MESSAGE


def test_the_lock_is_per_name_and_case_blind(org: Any) -> None:
    fail("Alice", 5)

    assert sign_in("ALICE", PASSWORD).status_code == 429
    assert sign_in("bob", PASSWORD).status_code == 302


def test_four_failures_then_a_success_reset_the_count(org: Any) -> None:
    fail("alice", 4)
    assert sign_in("alice", PASSWORD).status_code == 302

    fail("alice", 4)

    assert sign_in("alice", PASSWORD).status_code == 302


def test_twenty_failures_from_one_address_lock_the_address(org: Any) -> None:
    for i in range(5):
        fail(f"guess{i}", 4)

    assert sign_in("alice", PASSWORD).status_code == 429
    assert sign_in("alice", PASSWORD, ip="198.51.100.1").status_code == 302


def test_the_lock_ends_fifteen_minutes_after_the_last_counted_failure(org: Any) -> None:
    fail("alice", 5)
    last = SignInAttempt.objects.filter(outcome="failed").order_by("-at").first()
    assert last is not None

    assert sign_in_locked_until(username="alice", ip=None, now=last.at) == \
        last.at + timedelta(minutes=15)
    assert sign_in_locked_until(username="alice", ip=None,
                                now=last.at + timedelta(minutes=14)) is not None
    assert sign_in_locked_until(username="alice", ip=None,
                                now=last.at + timedelta(minutes=15)) is None


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(org: Any) -> None:
    start = timezone.now() - timedelta(hours=1)
    for minutes in (0, 5, 10, 16, 21):
        SignInAttempt.objects.create(username="alice", ip=None, outcome="failed",
                                     at=start + timedelta(minutes=minutes))

    assert sign_in_locked_until(username="alice", ip=None,
                                now=start + timedelta(minutes=22)) is None


def test_sign_ins_and_sign_outs_are_audited(org: Any) -> None:
    client = Client()
    sign_in("alice", "wrong horse", client=client)
    sign_in("alice", PASSWORD, client=client)
    client.post("/logout/", REMOTE_ADDR="203.0.113.7")

    rows = list(AuditEvent.objects.filter(action__startswith="user.sign").order_by("id"))

    assert [(r.action, r.actor) for r in rows] == [
        ("user.sign_in_failed", None), ("user.sign_in", org.alice), ("user.sign_out", org.alice)]
    assert rows[0].changes["username"] == "alice"
    assert rows[0].changes["ip"] == "203.0.113.7"
    assert rows[0].changes["user_agent"].startswith("Mozilla/5.0 ")
    assert len(rows[0].changes["user_agent"]) == 200


def test_a_refused_page_is_audited(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    client = Client()
    client.force_login(org.charlie)

    assert client.get(f"/deals/{deal.pk}/").status_code == 403

    row = AuditEvent.objects.get(action="permission.refused")
    assert row.actor == org.charlie
    assert row.changes == {"method": "GET", "path": f"/deals/{deal.pk}/", "via": "web"}


def test_a_refused_api_call_is_audited(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    _, key = create_token(acting_user=None, user=org.charlie)

    response = Client().post(f"/api/v1/deals/{deal.pk}/activities",
                             {"kind": "note", "subject": "x"}, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 403
    row = AuditEvent.objects.get(action="permission.refused")
    assert row.actor == org.charlie
    assert row.changes == {"method": "POST", "path": f"/api/v1/deals/{deal.pk}/activities",
                           "via": "api"}


def test_token_use_is_audited_at_most_once_an_hour(org: Any) -> None:
    from dealcraft.people.services import note_token_use

    token, key = create_token(acting_user=None, user=org.alice)
    for _ in range(3):
        assert Client().get("/api/v1/deals", HTTP_AUTHORIZATION=f"Bearer {key}").status_code \
            == 200
    start = timezone.now()
    for minutes in (2, 30, 59):
        note_token_use(token, now=start + timedelta(minutes=minutes))
    assert AuditEvent.objects.filter(action="token.used").count() == 1

    note_token_use(token, now=start + timedelta(minutes=61))

    rows = AuditEvent.objects.filter(action="token.used")
    assert rows.count() == 2
    assert {r.actor for r in rows} == {org.alice}
    assert rows.first().changes == {"prefix": token.key_prefix}  # type: ignore[union-attr]


def test_a_read_only_token_writing_is_audited_as_its_user(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    _, key = create_token(acting_user=None, user=org.alice, read_only=True)

    response = Client().post(f"/api/v1/deals/{deal.pk}/activities",
                             {"kind": "note", "subject": "x"}, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 403
    row = AuditEvent.objects.get(action="permission.refused")
    assert row.actor == org.alice
    assert row.changes["via"] == "api"
