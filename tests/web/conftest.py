"""Signing personas in to the web app."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

PASSWORD = "correct horse battery"


@pytest.fixture
def signed_in(org: Any) -> Any:
    """`signed_in(org.alice)`: a test client with that persona's session."""

    def sign_in(user: Any) -> Client:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return sign_in
