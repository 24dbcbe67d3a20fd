"""Passwords are hashed with Argon2 in production (tests swap in a fast hasher)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.test import override_settings

from dealcraft import settings as production
from dealcraft.people.services import create_user


def test_production_hashes_passwords_with_argon2_first() -> None:
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_user_created_under_the_production_setting_gets_an_argon2_hash(db: Any) -> None:
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        user = create_user(acting_user=None, username="paula", role="rep",
                           password="correct horse battery")

        assert user.password.startswith("argon2$")
        assert check_password("correct horse battery", user.password)
        assert not check_password("wrong horse battery", user.password)


def test_user_without_a_password_cannot_sign_in_with_one(db: Any) -> None:
    user = create_user(acting_user=None, username="svc", role="rep")

    assert not user.has_usable_password()
