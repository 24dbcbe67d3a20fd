"""What every page shares: no inline script or style, a stylesheet, and the health check."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_carry_no_inline_script_and_no_inline_style(org: Any, make_deal: Any,
                                                   signed_in: Any) -> None:
    deal = make_deal()
    client = signed_in(org.alice)
    pages = [Client().get("/login/"), client.get("/deals/"), client.get(f"/deals/{deal.pk}/"),
             signed_in(org.charlie).get(f"/deals/{deal.pk}/")]

    for page in pages:
        html = page.content.decode()
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.DOTALL)
        assert all(body.strip() == "" for body in scripts)
        assert all(' src="/static/' in tag for tag in re.findall(r"<script[^>]*>", html))
        assert "<style" not in html
        assert "style=" not in html
        assert not re.search(r"\son[a-z]+=", html)
        assert "/static/web/app.css" in html


def test_root_sends_signed_in_users_to_their_deals(org: Any, signed_in: Any) -> None:
    response = signed_in(org.alice).get("/")

    assert response.status_code == 302 and response["Location"] == "/deals/"


def test_health_check_answers_ok_without_signing_in(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
