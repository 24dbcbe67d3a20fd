"""The Content-Security-Policy and Permissions-Policy every response carries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_pages_forbid_inline_script_and_style(org: Any, signed_in: Any, make_deal: Any) -> None:
    deal = make_deal()
    client = signed_in(org.alice)

    for response in (Client().get("/login/"), client.get("/deals/"),
                     client.get(f"/deals/{deal.pk}/"), client.get("/no-such-page/")):
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["default-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_api_and_health_check_carry_the_policy_too(client: Client) -> None:
    for response in (client.get("/healthz"), client.get("/api/v1/deals")):
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_browser_features_the_app_never_uses_are_switched_off(client: Client) -> None:
    policy = client.get("/login/")["Permissions-Policy"]

    assert "camera=()" in policy
    assert "geolocation=()" in policy
    assert "microphone=()" in policy
