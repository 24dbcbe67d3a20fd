"""API tokens from the web: a user lists, issues and revokes their own tokens; the secret is
shown once; admins see and revoke everyone's and issue tokens for others."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dealcraft.audit.models import AuditEvent
from dealcraft.people.models import ApiToken
from dealcraft.people.services import create_token, revoke_token

from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _api_status(key: str, method: str = "get") -> int:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method == "get":
        return client.get("/api/v1/deals", **headers).status_code
    return client.post("/api/v1/accounts", {"name": "Initech"},
                       content_type="application/json", **headers).status_code


def test_a_rep_creates_a_token_and_sees_its_secret_once(org: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)

    response = client.post("/settings/tokens/new/", {"name": "BI export",
                                                     "expires_days": "30"})

    assert response.status_code == 201
    token = ApiToken.objects.get(user=org.alice)
    key = response.context["key"]
    page = response.content.decode()
    assert key in page and 'data-testid="token-secret"' in page
    assert "cannot be shown again" in page
    assert "no-store" in response["Cache-Control"]
    assert (token.name, token.read_only) == ("BI export", False)
    assert token.expires_at is not None and 29 <= (token.expires_at - token.created_at).days <= 30
    assert _api_status(key) == 200
    listing = client.get("/settings/tokens/").content.decode()
    assert token.key_prefix in listing and key not in listing
    event = AuditEvent.objects.get(action="token.create")
    assert event.actor == org.alice and key not in str(event.changes)


def test_the_list_shows_ones_own_tokens_with_their_state(org: Any, signed_in: Any) -> None:
    mine, _ = create_token(acting_user=org.alice, user=org.alice, name="Zapier",
                           read_only=True)
    old, _ = create_token(acting_user=org.alice, user=org.alice, name="Old script")
    revoke_token(acting_user=org.alice, token_id=old.pk)
    theirs, _ = create_token(acting_user=org.bob, user=org.bob, name="Bob's sync")

    response = signed_in(org.alice).get("/settings/tokens/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Your API tokens</h1>" in page
    assert "Zapier" in page and "read-only" in page and "Old script" in page
    assert "revoked" in page
    assert "Bob&#x27;s sync" not in page and theirs.key_prefix not in page
    assert page.count('data-testid="token-row"') == 2
    assert page.count('data-testid="token-revoke"') == 1  # a revoked token has no button
    assert 'data-testid="tokens-all"' not in page


def test_a_rep_revokes_her_token_after_confirming(org: Any, signed_in: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice, name="CI")
    client = signed_in(org.alice)

    confirm = client.get(f"/settings/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke token" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # asking is not revoking

    response = client.post(f"/settings/tokens/{token.pk}/revoke/")

    assert response.status_code == 302 and response["Location"] == "/settings/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api_status(key) == 401
    assert AuditEvent.objects.filter(action="token.revoke", actor=org.alice).count() == 1


def test_bob_cannot_see_or_revoke_alices_token(org: Any, signed_in: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice)
    client = signed_in(org.bob)

    assert client.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _api_status(key) == 200


def test_a_rep_cannot_issue_a_token_for_someone_else(org: Any, signed_in: Any) -> None:
    response = signed_in(org.bob).post("/settings/tokens/new/", {"username": "alice"})

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_only_admins_see_everyones_tokens(org: Any, signed_in: Any) -> None:
    create_token(acting_user=org.alice, user=org.alice, name="Alice's sync")
    create_token(acting_user=org.bob, user=org.bob, name="Bob's sync")

    assert signed_in(org.mona).get("/settings/tokens/?all=1").status_code == 403
    response = signed_in(org.ada).get("/settings/tokens/?all=1")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Alice&#x27;s sync" in page and "Bob&#x27;s sync" in page
    assert "<th scope=\"col\">User</th>" in page


def test_an_admin_revokes_another_users_token(org: Any, signed_in: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice)

    response = signed_in(org.ada).post(f"/settings/tokens/{token.pk}/revoke/")

    assert response.status_code == 302 and response["Location"] == "/settings/tokens/?all=1"
    assert _api_status(key) == 401
    event = AuditEvent.objects.get(action="token.revoke")
    assert event.actor == org.ada and event.changes["user"] == "alice"


def test_an_admin_issues_a_token_for_another_user(org: Any, signed_in: Any) -> None:
    client = signed_in(org.ada)
    assert 'name="username"' in client.get("/settings/tokens/new/").content.decode()

    response = client.post("/settings/tokens/new/", {"username": "alice", "name": "Import",
                                                     "read_only": "on"})

    assert response.status_code == 201
    token = ApiToken.objects.get()
    assert (token.user, token.read_only) == (org.alice, True)
    assert "For <strong>alice</strong>" in response.content.decode()
    assert AuditEvent.objects.get(action="token.create").actor == org.ada


def test_an_admin_naming_an_unknown_user_is_told_so(org: Any, signed_in: Any) -> None:
    response = signed_in(org.ada).post("/settings/tokens/new/", {"username": "nobody"})

    assert response.status_code == 422
    assert "no user &#x27;nobody&#x27;" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_viewers_token_is_always_read_only(org: Any, signed_in: Any) -> None:
    client = signed_in(org.vera)
    form = client.get("/settings/tokens/new/").content.decode()
    assert "always read-only" in form and 'name="username"' not in form

    response = client.post("/settings/tokens/new/", {"name": "Dashboard"})

    assert response.status_code == 201
    token = ApiToken.objects.get(user=org.vera)
    assert token.read_only
    assert _api_status(response.context["key"]) == 200
    assert _api_status(response.context["key"], "post") == 403


@pytest.mark.parametrize("days", ["0", "3651", "soon"])
def test_an_expiry_out_of_range_is_refused(org: Any, signed_in: Any, days: str) -> None:
    response = signed_in(org.alice).post("/settings/tokens/new/", {"expires_days": days})

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("path", ["/settings/tokens/", "/settings/tokens/new/",
                                  "/settings/tokens/1/revoke/"])
def test_the_token_pages_need_a_signed_in_user(db: Any, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_creating_and_revoking_need_csrf(org: Any) -> None:
    token, _ = create_token(acting_user=org.alice, user=org.alice)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="alice", password=PASSWORD)

    assert client.post("/settings/tokens/new/", {"name": "x"}).status_code == 403
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_pages_label_every_field_and_start_with_one_heading(org: Any,
                                                               signed_in: Any) -> None:
    token, _ = create_token(acting_user=org.alice, user=org.alice)
    client = signed_in(org.ada)
    for path in ("/settings/tokens/", "/settings/tokens/?all=1", "/settings/tokens/new/",
                 f"/settings/tokens/{token.pk}/revoke/"):
        page = client.get(path).content.decode()
        assert page.count("<h1") == 1, path
        for field_id in ("id_name", "id_read_only", "id_expires_days", "id_username"):
            if f'id="{field_id}"' in page:
                assert f'for="{field_id}"' in page, (path, field_id)
    page = client.post("/settings/tokens/new/", {}).content.decode()
    assert 'for="token-secret"' in page and 'id="token-secret"' in page


def _list_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_runs_a_constant_number_of_queries(org: Any, signed_in: Any) -> None:
    def issue(n: int) -> None:
        for user in (org.ada, org.alice, org.bob):
            for i in range(n):
                create_token(acting_user=None, user=user, name=f"t{i}")

    client = signed_in(org.ada)
    issue(1)
    few = (_list_queries(client, "/settings/tokens/"),
           _list_queries(client, "/settings/tokens/?all=1"))
    issue(15)
    many = (_list_queries(client, "/settings/tokens/"),
            _list_queries(client, "/settings/tokens/?all=1"))

    assert few == many
