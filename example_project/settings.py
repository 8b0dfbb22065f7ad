"""Settings of the example site: a Django project using powens-django on the sandbox.

Everything is read from the environment (or a ``.env`` file at the repository root,
see ``.env.example``) through django-environ. The defaults are for local development
only: with ``DEBUG`` off, ``SECRET_KEY`` and the token encryption key must be given.
"""

from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=True)
PORT = env.int("PORT", default=8000)

# Development-only fallbacks: refuse to run in production without real secrets.
_DEV_SECRET_KEY = "django-insecure-example-project-development-only"
_DEV_TOKEN_KEY = "hVxg3Wh6uSGJNjEYyD-Ei0n3vTSOZVKgs1bk-9rxbXU="  # Fernet key, dev only
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # The tasks backport, on Django 5.2 only: Django 6 ships django.tasks.
    *(["django_tasks"] if django.VERSION < (6, 0) else []),
    "powens_django",
    "powens_django.sandbox",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'example_project' / 'db.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "example_project" / "staticfiles"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

# The app's client points at the sandbox this same site serves, unless POWENS_API_URL
# or POWENS_DOMAIN name a real Powens domain.
_domain = env.str("POWENS_DOMAIN", default="")
POWENS = {
    "DOMAIN": _domain or None,
    "API_URL": env.str(
        "POWENS_API_URL",
        default="" if _domain else f"http://127.0.0.1:{PORT}/sandbox/2.0/",
    )
    or None,
    "CLIENT_ID": env.str("POWENS_CLIENT_ID", default="10000001"),
    "CLIENT_SECRET": env.str("POWENS_CLIENT_SECRET", default="sandbox-client-secret"),
    "CONFIG_TOKEN": env.str("POWENS_CONFIG_TOKEN", default="sandbox-config-token"),
    "TOKEN_ENCRYPTION_KEYS": env.list(
        "POWENS_TOKEN_ENCRYPTION_KEYS",
        default=[_DEV_TOKEN_KEY] if DEBUG else environ.Env.NOTSET,
    ),
    "WEBHOOK_SECRETS": env.list("POWENS_WEBHOOK_SECRETS", default=["sandbox-webhook-secret"]),
    "E2E_ENCRYPTION": env.bool("POWENS_E2E_ENCRYPTION", default=False),
}

# Django's tasks framework (django.tasks on Django 6, the django-tasks backport on 5.2):
# run tasks inline here; a production site picks a database or Redis backend and runs
# workers.
tasks_framework = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
TASKS = {"default": {"BACKEND": f"{tasks_framework}.backends.immediate.ImmediateBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "powens_django": {"handlers": ["console"], "level": env.str("POWENS_LOG_LEVEL", "INFO")},
    },
}

# The sandbox (powens_django.sandbox) reads only this dict: it is the other side of
# the wire and shares nothing with the app. Its credentials match POWENS above.
POWENS_SANDBOX = {
    "CLIENTS": {POWENS["CLIENT_ID"]: POWENS["CLIENT_SECRET"]},
    "CONFIG_TOKENS": [POWENS["CONFIG_TOKEN"]],
    "WEBHOOK_SECRET": POWENS["WEBHOOK_SECRETS"][0] if POWENS["WEBHOOK_SECRETS"] else None,
    # Webhooks go to the example site's receiver, one URL per event type.
    "WEBHOOK_URLS": {},
    "FAULTS": env.str("POWENS_SANDBOX_FAULTS", default=""),
}
