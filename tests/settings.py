"""Settings for the test suite. ``DATABASE_URL`` picks the database (SQLite by default;
CI runs the suite a second time on PostgreSQL)."""

from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

SECRET_KEY = "tests-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # The tasks backport, on Django 5.2 only: Django 6 ships django.tasks.
    *(["django_tasks"] if django.VERSION < (6, 0) else []),
    "powens_django",
    "powens_django.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default="sqlite://:memory:")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

TEST_TOKEN_KEY = "nR0bqAVHXqUpWg4CLPCr4d9QOp-ReRDsbpWsMzAnvAo="
POWENS = {
    # Unit tests mock this host with `responses`; live tests point API_URL at
    # live_server (see tests/conftest.py).
    "DOMAIN": "test",
    "CLIENT_ID": "10000001",
    "CLIENT_SECRET": "test-client-secret",
    "CONFIG_TOKEN": "test-config-token",
    "TOKEN_ENCRYPTION_KEYS": [TEST_TOKEN_KEY],
    "WEBHOOK_SECRETS": ["test-webhook-secret"],
}

# Run tasks inline, with the framework a host site on this Django would use.
tasks_framework = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
TASKS = {"default": {"BACKEND": f"{tasks_framework}.backends.immediate.ImmediateBackend"}}

POWENS_SANDBOX = {
    "CLIENTS": {POWENS["CLIENT_ID"]: POWENS["CLIENT_SECRET"]},
    "CONFIG_TOKENS": [POWENS["CONFIG_TOKEN"]],
    "WEBHOOK_SECRET": POWENS["WEBHOOK_SECRETS"][0],
    "WEBHOOK_URLS": {},
    # Webhooks are sent before the triggering response returns, so tests can assert on
    # them at once (tests/sandbox checks the after-response mode separately).
    "WEBHOOK_DELIVERY": "immediate",
    "WEBHOOK_TIMEOUT": 2.0,
    # No waiting in tests: background work settles on the next read, a blocking
    # resume answers at once, forced syncs may follow each other.
    "SYNC_COOLDOWN": 0,
    "BACKGROUND_DELAY": 0,
    "RESUME_DELAY": 0,
    "FAULTS": "",
}
