"""Signing in and out of the web app."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_a_persona_signs_in_and_lands_on_the_deal_list(org: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")

    response = client.post("/login/", {"username": "alice", "password": PASSWORD,
                                       "csrfmiddlewaretoken": csrf_token(page.content.decode())})

    assert response.status_code == 302
    assert response["Location"] == "/deals/"
    assert client.get("/deals/").status_code == 200


def test_sign_in_returns_to_the_page_asked_for(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    client = Client()

    response = client.post(f"/login/?next=/deals/{deal.pk}/",
                           {"username": "alice", "password": PASSWORD,
                            "next": f"/deals/{deal.pk}/"})

    assert response["Location"] == f"/deals/{deal.pk}/"


def test_a_wrong_password_is_refused(org: Any) -> None:
    client = Client()

    response = client.post("/login/", {"username": "alice", "password": "wrong horse"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_login_form_is_refused_without_its_csrf_token(org: Any) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/deals/", "/deals/1/", "/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path, follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/?next=/deals/")


def test_sign_out_needs_a_post_with_the_csrf_token(org: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.post("/login/", {"username": "alice", "password": PASSWORD,
                            "csrfmiddlewaretoken": csrf_token(client.get("/login/")
                                                              .content.decode())})
    page = client.get("/deals/").content.decode()

    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403
    response = client.post("/logout/", {"csrfmiddlewaretoken": csrf_token(page)})

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/deals/").status_code == 302
