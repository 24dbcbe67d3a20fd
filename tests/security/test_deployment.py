"""Production settings pass Django's deployment checks; CORS is closed; every response, page
or API, carries the security headers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dealcraft.people.services import create_token

pytestmark = pytest.mark.django_db


def check_deploy(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCRAFT_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "dealcraft.settings",
        "DEALCRAFT_HOME": str(tmp_path),
        "DEALCRAFT_SECURE": "true",
        "DEALCRAFT_SECRET_KEY": secrets.token_urlsafe(64),
        "DEALCRAFT_DEBUG": "false",
        "DEALCRAFT_ALLOWED_HOSTS": "example.com",
        **extra,
    })
    return subprocess.run([sys.executable, "-m", "django", "check", "--deploy",
                           "--fail-level", "WARNING"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = check_deploy(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_is_clean_without_hsts_preload(tmp_path: Path) -> None:
    result = check_deploy(tmp_path, DEALCRAFT_HSTS_PRELOAD="false")

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_catches_debug_in_production(tmp_path: Path) -> None:
    result = check_deploy(tmp_path, DEALCRAFT_DEBUG="true")

    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_the_proxy_header_is_trusted_only_when_asked(tmp_path: Path) -> None:
    code = ("from django.conf import settings; "
            "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCRAFT_")}
    env.update({"DJANGO_SETTINGS_MODULE": "dealcraft.settings", "DEALCRAFT_HOME": str(tmp_path)})

    def read(**extra: str) -> str:
        return subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                              env={**env, **extra}, capture_output=True, text=True,
                              timeout=60, check=True).stdout.strip()

    assert read() == "None"
    assert read(DEALCRAFT_BEHIND_PROXY="true") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_the_api_answers_no_cross_origin_request(org: Any) -> None:
    _, key = create_token(acting_user=None, user=org.alice)
    client = Client()

    preflight = client.options("/api/v1/deals", HTTP_ORIGIN="https://evil.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")
    read = client.get("/api/v1/deals", HTTP_ORIGIN="https://evil.example",
                      HTTP_AUTHORIZATION=f"Bearer {key}")

    assert read.status_code == 200
    for response in (preflight, read):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_pages_and_api_responses_carry_the_security_headers(org: Any) -> None:
    _, key = create_token(acting_user=None, user=org.alice)
    client = Client()
    client.force_login(org.alice)

    responses = [client.get("/deals/"), Client().get("/login/"),
                 Client().get("/api/v1/deals", HTTP_AUTHORIZATION=f"Bearer {key}"),
                 Client().get("/api/v1/deals")]

    for response in responses:
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy


def test_sessions_last_a_working_day_in_http_only_cookies(org: Any, settings: Any) -> None:
    client = Client()
    client.get("/login/")
    response = client.post("/login/", {"username": "alice",
                                       "password": "correct horse battery"})

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 12 * 60 * 60


def test_signing_in_changes_the_session_key(org: Any, settings: Any) -> None:
    client = Client()
    client.get("/login/")
    session = client.session
    session["planted"] = "yes"
    session.save()
    before = session.session_key

    client.post("/login/", {"username": "alice", "password": "correct horse battery"})

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
