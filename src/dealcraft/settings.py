"""Django settings for dealcraft: the one settings module, configured by environment.

Environment variables (all optional):

``DEALCRAFT_HOME``            data directory (default ``./.dealcraft``; created if missing)
``DEALCRAFT_DATABASE_URL``    ``sqlite:///...`` or ``postgresql://...``
                              (default SQLite file ``$DEALCRAFT_HOME/dealcraft.sqlite3``)
``DEALCRAFT_SECRET_KEY``      default: random key kept in ``$DEALCRAFT_HOME/secret_key`` (0600)
``DEALCRAFT_DEBUG``           bool, default false
``DEALCRAFT_ALLOWED_HOSTS``   comma list, default ``127.0.0.1,localhost,testserver``
``DEALCRAFT_PORT``            int, default 8000
``DEALCRAFT_SECURE``          bool, default false: HTTPS-only cookies, SSL redirect, HSTS
``DEALCRAFT_HSTS_PRELOAD``    bool, default true: with SECURE, HSTS asks for preloading
``DEALCRAFT_BEHIND_PROXY``    bool, default false: trust ``X-Forwarded-Proto: https``
``DEALCRAFT_EVIDENCE_MAX_BYTES``  int, default 10 MiB
``DEALCRAFT_API_RATE_LIMIT``        int, API requests per token a minute, default 600; 0: none
``DEALCRAFT_API_WRITE_RATE_LIMIT``  int, API writes per token a minute, default 60; 0: none
``DEALCRAFT_ANALYTICS_DIR``   analytics extract directory, default ``$DEALCRAFT_HOME/analytics``
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from dealcraft.conf import ConfigError, database_from_url, env_bool, env_int, env_list, env_str

#: The ``dealcraft`` package directory.
BASE_DIR = Path(__file__).resolve().parent

DEALCRAFT_HOME = Path(env_str("DEALCRAFT_HOME", "./.dealcraft")).expanduser().resolve()
DEALCRAFT_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key_from_file(path: Path) -> str:
    """Read the key in ``path``, creating it (mode 0600) atomically if it does not exist.

    Safe against concurrent first starts (e.g. several pytest-xdist workers): the key is
    written to a private temporary file and published with ``os.link``, which fails if
    another process won the race, in which case that process's key is used.
    """
    if not path.exists():
        key = secrets.token_urlsafe(50)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError(f"secret key file {path} is empty; delete it to regenerate")
    return key


_secret = os.environ.get("DEALCRAFT_SECRET_KEY")
if _secret is None:
    SECRET_KEY = _secret_key_from_file(DEALCRAFT_HOME / "secret_key")
elif not _secret.strip():
    raise ConfigError("DEALCRAFT_SECRET_KEY is set but empty")
else:
    SECRET_KEY = _secret

DEBUG = env_bool("DEALCRAFT_DEBUG", False)
ALLOWED_HOSTS = env_list("DEALCRAFT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
DEALCRAFT_PORT = env_int("DEALCRAFT_PORT", 8000)
DEALCRAFT_SECURE = env_bool("DEALCRAFT_SECURE", False)
DEALCRAFT_HSTS_PRELOAD = env_bool("DEALCRAFT_HSTS_PRELOAD", True)
DEALCRAFT_BEHIND_PROXY = env_bool("DEALCRAFT_BEHIND_PROXY", False)
DEALCRAFT_EVIDENCE_MAX_BYTES = env_int("DEALCRAFT_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
DEALCRAFT_API_RATE_LIMIT = env_int("DEALCRAFT_API_RATE_LIMIT", 600)
DEALCRAFT_API_WRITE_RATE_LIMIT = env_int("DEALCRAFT_API_WRITE_RATE_LIMIT", 60)
#: The analytics extract's directory (DuckDB files); default DEALCRAFT_HOME/analytics.
DEALCRAFT_ANALYTICS_DIR = env_str("DEALCRAFT_ANALYTICS_DIR", "")
for _name in ("DEALCRAFT_API_RATE_LIMIT", "DEALCRAFT_API_WRITE_RATE_LIMIT"):
    if globals()[_name] < 0:
        raise ConfigError(f"{_name}: expected 0 (no limit) or more, got {globals()[_name]}")

# ---------------------------------------------------------------- apps

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "dealcraft.people",
    "dealcraft.processes",
    "dealcraft.crm",
    "dealcraft.deals",
    "dealcraft.discovery",
    "dealcraft.audit",
    "dealcraft.webhooks",
    "dealcraft.analytics",
    "dealcraft.imports",
    "dealcraft.forecasting",
    "dealcraft.transfer",
    "dealcraft.web",
]

AUTH_USER_MODEL = "people.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dealcraft.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dealcraft.audit.middleware.RefusalAuditMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dealcraft.urls"
WSGI_APPLICATION = "dealcraft.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------- database

DATABASES = {
    "default": database_from_url(
        env_str(
            "DEALCRAFT_DATABASE_URL",
            "sqlite:///" + quote(str(DEALCRAFT_HOME / "dealcraft.sqlite3")),
        ),
        DEALCRAFT_HOME,
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- auth

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/deals/"

# ---------------------------------------------------------------- security

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# A signed-in session lasts a working day, not Django's default two weeks.
SESSION_COOKIE_AGE = 12 * 60 * 60
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not from the cookie
# Bodies other than uploaded files; a JSON request larger than this is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

if DEALCRAFT_SECURE:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = DEALCRAFT_HSTS_PRELOAD
    if not DEALCRAFT_HSTS_PRELOAD:
        # Preloading is a commitment for the whole domain that not every site can make.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

if DEALCRAFT_BEHIND_PROXY:
    # Only behind a proxy that always sets this header itself: anyone could send it otherwise.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---------------------------------------------------------------- i18n / time

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- files

STATIC_URL = "/static/"
STATIC_ROOT = DEALCRAFT_HOME / "static"
MEDIA_ROOT = DEALCRAFT_HOME / "media"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it to exist before collectstatic runs
# Serve app static files straight from the finders too, so a demo works without collectstatic.
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MB

# ---------------------------------------------------------------- logging

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}
