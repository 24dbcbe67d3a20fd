"""Strict helpers for reading configuration from the environment.

Every helper fails loudly (``ConfigError``) on a value it cannot interpret instead of
silently falling back to a default: a typo in ``DEALCRAFT_DEBUG=ture`` must not quietly
mean ``False``.

This module deliberately imports nothing from Django so that it can be used (and tested)
before settings are configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "ConfigError",
    "SQLITE_INIT_COMMAND",
    "database_from_url",
    "env_bool",
    "env_int",
    "env_list",
    "env_str",
]

_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})

#: PRAGMAs run on every new SQLite connection (Django >= 5.1 ``init_command`` option).
SQLITE_INIT_COMMAND = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"


class ConfigError(ValueError):
    """Raised when an environment variable or database URL cannot be interpreted."""


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def env_str(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """Return the variable ``name`` or ``default`` when it is unset.

    A variable that is set to the empty string counts as set (and returns ``""``).
    """
    return _environ(environ).get(name, default)


def env_int(name: str, default: int, *, environ: Mapping[str, str] | None = None) -> int:
    """Return the variable ``name`` parsed as a base-10 integer, or ``default`` when unset."""
    raw = _environ(environ).get(name)
    if raw is None:
        return default
    text = raw.strip().replace("_", "")
    try:
        return int(text, 10)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable ``name`` as a boolean, or ``default`` when unset.

    Accepts ``1/0/true/false/yes/no`` (case-insensitive, surrounding whitespace ignored);
    anything else, including the empty string, raises ``ConfigError``.
    """
    raw = _environ(environ).get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: expected one of 1/0/true/false/yes/no, got {raw!r}")


def env_list(
    name: str,
    default: list[str] | tuple[str, ...] | str,
    *,
    separator: str = ",",
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Return the variable ``name`` split on ``separator`` with blanks dropped.

    ``default`` may be a list or a separator-joined string; it is used when unset.
    """
    raw = _environ(environ).get(name)
    if raw is None:
        if isinstance(default, str):
            raw = default
        else:
            return list(default)
    return [item.strip() for item in raw.split(separator) if item.strip()]


def database_from_url(url: str, home: Path) -> dict[str, Any]:
    """Turn a database URL into a Django ``DATABASES`` entry.

    Supported forms:

    * ``sqlite:///relative/path.sqlite3`` - relative to ``home``
    * ``sqlite:////absolute/path.sqlite3`` - absolute path
    * ``sqlite://:memory:`` or ``sqlite:///:memory:`` - in-memory database
    * ``postgresql://user:pass@host:port/name?sslmode=require`` (``postgres://`` too);
      query parameters become connection ``OPTIONS``.
    """
    if not url or not url.strip():
        raise ConfigError("database URL is empty")
    url = url.strip()
    scheme, sep, _rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"database URL {url!r} has no scheme; expected sqlite:///path or "
            "postgresql://user:pass@host:port/name"
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _sqlite(url, home)
    if scheme in ("postgresql", "postgres", "pgsql"):
        return _postgresql(url)
    raise ConfigError(
        f"unsupported database URL scheme {scheme!r} in {_redact(url)!r}; "
        "supported: sqlite, postgresql (postgres)"
    )


def _sqlite(url: str, home: Path) -> dict[str, Any]:
    rest = url[len("sqlite://") :]
    name: str | Path
    if rest in (":memory:", "/:memory:"):
        name = ":memory:"
    else:
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(
                f"SQLite URL {url!r} has no path; use sqlite:///relative/file.sqlite3 "
                "or sqlite:////absolute/file.sqlite3"
            )
        if "?" in rest or "#" in rest:
            raise ConfigError(f"SQLite URL {url!r}: query strings are not supported")
        path = unquote(rest[1:])  # drop the separator slash after the empty host
        candidate = Path(path)
        name = candidate if candidate.is_absolute() else (home / candidate)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {
            "init_command": SQLITE_INIT_COMMAND,
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def _postgresql(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"PostgreSQL URL {_redact(url)!r}: invalid port") from None
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigError(f"PostgreSQL URL {_redact(url)!r} names no database")
    if "/" in name:
        raise ConfigError(f"PostgreSQL URL {_redact(url)!r}: bad database name {name!r}")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        options[key] = value
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": _pg_host(parts.netloc),
        "PORT": str(port) if port is not None else "",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


def _pg_host(netloc: str) -> str:
    """Host part of ``netloc`` with its case kept (urlsplit lowercases ``hostname``).

    A percent-encoded host such as ``%2Fvar%2Frun%2Fpostgresql`` becomes a Unix socket
    directory; ``[::1]`` becomes ``::1``.
    """
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")]
    return unquote(hostport.partition(":")[0])


def _redact(url: str) -> str:
    """Hide a password in a URL before it goes into an error message."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    return f"{scheme}{sep}{netloc}{slash}{tail}"
