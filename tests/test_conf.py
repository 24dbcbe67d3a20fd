"""Unit tests for dealcraft.conf (no database, no Django settings needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealcraft.conf import (
    SQLITE_INIT_COMMAND,
    ConfigError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)

HOME = Path("/srv/dealcraft-home")

# ---------------------------------------------------------------- env_str


def test_env_str_default_when_unset() -> None:
    assert env_str("X", "fallback", environ={}) == "fallback"


def test_env_str_value_and_empty_counts_as_set() -> None:
    assert env_str("X", "d", environ={"X": "value"}) == "value"
    assert env_str("X", "d", environ={"X": ""}) == ""


def test_env_str_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALCRAFT_TEST_STR", "from-env")
    assert env_str("DEALCRAFT_TEST_STR", "d") == "from-env"
    monkeypatch.delenv("DEALCRAFT_TEST_STR")
    assert env_str("DEALCRAFT_TEST_STR", "d") == "d"


# ---------------------------------------------------------------- env_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("8000", 8000), (" 42 ", 42), ("-3", -3), ("10_485_760", 10_485_760)],
)
def test_env_int_parses(raw: str, expected: int) -> None:
    assert env_int("PORT", 1, environ={"PORT": raw}) == expected


def test_env_int_default_when_unset() -> None:
    assert env_int("PORT", 8000, environ={}) == 8000


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "0x10", "8000tcp", " "])
def test_env_int_rejects_garbage_naming_variable_and_value(raw: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        env_int("DEALCRAFT_PORT", 8000, environ={"DEALCRAFT_PORT": raw})
    message = str(excinfo.value)
    assert "DEALCRAFT_PORT" in message
    assert repr(raw) in message


# ---------------------------------------------------------------- env_bool


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "YES", " yes "])
def test_env_bool_true(raw: str) -> None:
    assert env_bool("FLAG", False, environ={"FLAG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "False", "no", "No", " no\n"])
def test_env_bool_false(raw: str) -> None:
    assert env_bool("FLAG", True, environ={"FLAG": raw}) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_default_when_unset(default: bool) -> None:
    assert env_bool("FLAG", default, environ={}) is default


@pytest.mark.parametrize("raw", ["", "ture", "on", "off", "2", "y", "n", "enabled"])
def test_env_bool_rejects_anything_else(raw: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        env_bool("DEALCRAFT_DEBUG", False, environ={"DEALCRAFT_DEBUG": raw})
    message = str(excinfo.value)
    assert "DEALCRAFT_DEBUG" in message
    assert repr(raw) in message


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------- env_list


def test_env_list_default_string_is_split() -> None:
    assert env_list("HOSTS", "a, b,,c ", environ={}) == ["a", "b", "c"]


def test_env_list_default_sequence_is_copied() -> None:
    default = ["x", "y"]
    result = env_list("HOSTS", default, environ={})
    assert result == ["x", "y"]
    assert result is not default


def test_env_list_from_environment() -> None:
    env = {"HOSTS": " example.com ,127.0.0.1,"}
    assert env_list("HOSTS", "ignored", environ=env) == ["example.com", "127.0.0.1"]


def test_env_list_empty_value_is_empty_list() -> None:
    assert env_list("HOSTS", "a,b", environ={"HOSTS": ""}) == []


def test_env_list_custom_separator() -> None:
    assert env_list("P", [], separator=":", environ={"P": "a:b"}) == ["a", "b"]


# ---------------------------------------------------------------- database_from_url: SQLite


def test_sqlite_relative_path_is_under_home() -> None:
    db = database_from_url("sqlite:///data/dealcraft.sqlite3", HOME)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == HOME / "data" / "dealcraft.sqlite3"


def test_sqlite_absolute_path() -> None:
    db = database_from_url("sqlite:////var/lib/dealcraft/db.sqlite3", HOME)
    assert db["NAME"] == Path("/var/lib/dealcraft/db.sqlite3")


def test_sqlite_percent_encoded_path() -> None:
    db = database_from_url("sqlite:////tmp/with%20space/db.sqlite3", HOME)
    assert db["NAME"] == Path("/tmp/with space/db.sqlite3")


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
def test_sqlite_memory(url: str) -> None:
    assert database_from_url(url, HOME)["NAME"] == ":memory:"


def test_sqlite_enables_wal_and_immediate_transactions() -> None:
    options = database_from_url("sqlite:///x.sqlite3", HOME)["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["init_command"] == SQLITE_INIT_COMMAND
    pragmas = [p.strip() for p in options["init_command"].split(";") if p.strip()]
    assert "PRAGMA journal_mode=WAL" in pragmas
    assert "PRAGMA synchronous=NORMAL" in pragmas
    assert "PRAGMA foreign_keys=ON" in pragmas


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://relative.db"])
def test_sqlite_without_path_is_rejected(url: str) -> None:
    with pytest.raises(ConfigError, match="SQLite URL"):
        database_from_url(url, HOME)


def test_sqlite_query_string_is_rejected() -> None:
    with pytest.raises(ConfigError, match="query"):
        database_from_url("sqlite:///x.sqlite3?mode=ro", HOME)


# ---------------------------------------------------------------- database_from_url: PostgreSQL


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
def test_postgresql_full_url(scheme: str) -> None:
    db = database_from_url(f"{scheme}://deal:s3cr%40t@db.example.com:6543/crm", HOME)
    assert db == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "crm",
        "USER": "deal",
        "PASSWORD": "s3cr@t",
        "HOST": "db.example.com",
        "PORT": "6543",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {},
    }


def test_postgresql_minimal_url() -> None:
    db = database_from_url("postgresql://postgres@127.0.0.1:5432/test", HOME)
    assert db["NAME"] == "test"
    assert db["USER"] == "postgres"
    assert db["PASSWORD"] == ""
    assert db["HOST"] == "127.0.0.1"
    assert db["PORT"] == "5432"


def test_postgresql_no_host_no_port_uses_defaults() -> None:
    db = database_from_url("postgresql:///dealcraft", HOME)
    assert db["NAME"] == "dealcraft"
    assert db["HOST"] == ""
    assert db["PORT"] == ""
    assert db["USER"] == ""


def test_postgresql_query_becomes_options() -> None:
    db = database_from_url(
        "postgresql://u:p@h:5432/n?sslmode=require&application_name=dealcraft", HOME
    )
    assert db["OPTIONS"] == {"sslmode": "require", "application_name": "dealcraft"}


def test_postgresql_unix_socket_host_keeps_case() -> None:
    db = database_from_url("postgresql://u@%2Fvar%2FRun%2Fpostgresql/n", HOME)
    assert db["HOST"] == "/var/Run/postgresql"
    assert db["PORT"] == ""


def test_postgresql_ipv6_host() -> None:
    db = database_from_url("postgresql://u@[::1]:5433/n", HOME)
    assert db["HOST"] == "::1"
    assert db["PORT"] == "5433"


def test_postgresql_missing_database_name() -> None:
    with pytest.raises(ConfigError, match="names no database"):
        database_from_url("postgresql://u:p@h:5432/", HOME)


def test_postgresql_bad_port_does_not_leak_password() -> None:
    with pytest.raises(ConfigError, match="invalid port") as excinfo:
        database_from_url("postgresql://u:topsecret@h:notaport/n", HOME)
    assert "topsecret" not in str(excinfo.value)


# ---------------------------------------------------------------- database_from_url: errors


@pytest.mark.parametrize(
    "url", ["mysql://u:p@h/n", "oracle://h/n", "http://example.com/db", "redis://h:6379/0"]
)
def test_unknown_scheme_is_rejected_clearly(url: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        database_from_url(url, HOME)
    message = str(excinfo.value)
    assert "unsupported database URL scheme" in message
    assert "sqlite" in message
    assert "postgresql" in message


def test_unknown_scheme_message_redacts_password() -> None:
    with pytest.raises(ConfigError) as excinfo:
        database_from_url("mysql://root:hunter2@db/n", HOME)
    assert "hunter2" not in str(excinfo.value)


@pytest.mark.parametrize("url", ["", "   ", "/just/a/path.sqlite3", "dealcraft.sqlite3"])
def test_missing_scheme_or_empty_is_rejected(url: str) -> None:
    with pytest.raises(ConfigError):
        database_from_url(url, HOME)
