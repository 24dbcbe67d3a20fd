"""Bearer-token authentication: who gets in, who gets 401, and what a read-only token may do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from dealcraft.people.models import ApiToken
from dealcraft.people.services import create_token, revoke_token

from .conftest import Api, assert_problem


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(org: Any) -> None:
    response = Api(None).get("/deals")

    body = assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="dealcraft"'
    assert "Bearer" in body["detail"]


def test_another_authorization_scheme_is_not_accepted(org: Any) -> None:
    response = Api(None).get("/deals", headers={"Authorization": "Basic YWxpY2U6cHc="})

    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_gets_401_invalid_token(org: Any) -> None:
    response = Api("dc_not-a-real-token").get("/deals")

    assert_problem(response, 401, "unauthenticated")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_valid_token_reads_as_its_user(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).get(f"/deals/{deal.pk}")

    assert response.status_code == 200
    assert response.json()["owner"] == "alice"


def test_a_revoked_token_is_refused(org: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice)
    revoke_token(acting_user=org.alice, prefix=token.key_prefix)

    response = Api(key).get("/deals")

    body = assert_problem(response, 401, "unauthenticated")
    assert "revoked" in body["detail"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_expired_token_is_refused(org: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice, expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Api(key).get("/deals")

    body = assert_problem(response, 401, "unauthenticated")
    assert "expired" in body["detail"]


def test_a_token_of_an_inactive_user_is_refused(org: Any, api_as: Any) -> None:
    api = api_as(org.bob)
    type(org.bob).objects.filter(pk=org.bob.pk).update(is_active=False)

    assert_problem(api.get("/deals"), 401, "unauthenticated")


def test_a_read_only_token_reads(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice, read_only=True)

    assert api.get(f"/deals/{deal.pk}").status_code == 200
    assert api.get("/deals").status_code == 200


def test_a_read_only_token_cannot_write(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice, read_only=True)

    create = api.post("/deals", {"name": "New", "amount": "1.00", "currency": "EUR",
                                 "expected_close": "2030-01-01"})
    patch = api.patch(f"/deals/{deal.pk}", {"version": deal.version, "name": "Renamed"})

    assert_problem(create, 403, "read-only-token")
    assert_problem(patch, 403, "read-only-token")
    deal.refresh_from_db()
    assert deal.name == "Acme platform rollout"


def test_the_token_stores_only_a_hash_and_records_its_use(org: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice)
    assert key not in {token.key_hash, token.key_prefix}
    assert token.key_hash == ApiToken.hash_key(key)

    Api(key).get("/deals")
    token.refresh_from_db()
    first_use = token.last_used_at
    Api(key).get("/deals")
    token.refresh_from_db()

    assert first_use is not None
    # A second request within the minute does not write again.
    assert token.last_used_at == first_use


def test_last_use_is_refreshed_after_a_minute(org: Any) -> None:
    token, key = create_token(acting_user=org.alice, user=org.alice)
    long_ago = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)

    Api(key).get("/deals")
    token.refresh_from_db()

    assert token.last_used_at is not None and token.last_used_at > long_ago


def test_bearer_posts_need_no_csrf_token(org: Any) -> None:
    from django.test import Client

    _, key = create_token(acting_user=org.alice, user=org.alice)
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/accounts", {"name": "Globex"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 201
