"""Settings of the example site: a Django project using powens-django on the sandbox.

Everything is read from the environment (or a ``.env`` file at the repository root,
see ``.env.example``; ``ENV_FILE`` names another file, or none when empty) through
django-environ.

With ``DEBUG`` on (the default, what ``make demo`` runs) the sandbox is installed and
mounted at ``/sandbox/2.0/`` and every secret has a development default. With ``DEBUG``
off nothing is defaulted: a missing secret stops the site at start-up with an
``ImproperlyConfigured`` naming the environment variables to set, and the sandbox is
neither installed nor mounted unless ``POWENS_SANDBOX_ALLOW_WITHOUT_DEBUG=True`` (a
staging demo, with secrets of its own).
"""

from pathlib import Path

import django
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=True)
PORT = env.int("PORT", default=8000)

# The sandbox (a fake Powens that gives a token for any of its users to whoever knows
# its client secret) only in development, or when a staging demo says so out loud.
SANDBOX = DEBUG or env.bool("POWENS_SANDBOX_ALLOW_WITHOUT_DEBUG", default=False)

# Development-only defaults. With DEBUG off a missing value is collected here and
# reported, all at once, below: never silently replaced by a development secret.
_MISSING: list[str] = []


def _setting(name: str, development: object, *, cast: str = "str") -> object:
    """The environment variable ``name``; ``development`` when it is absent and
    ``DEBUG`` is on; else it is recorded as missing."""
    value = getattr(env, cast)(name, default=None)
    if value not in (None, "", []):
        return value
    if DEBUG:
        return development
    _MISSING.append(name)
    return None


SECRET_KEY = str(_setting("SECRET_KEY", "django-insecure-example-project-development-only"))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

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
    # Before powens_django: its templates/powens_django/base.html frames the app's pages.
    "example_project.demo",
    "powens_django",
    *(["powens_django.sandbox"] if SANDBOX else []),
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take SQLite's lock when their transaction starts and wait for it (up to
    # the timeout) instead of failing with "database is locked" half-way through, as
    # deferred transactions do when two requests write at once (docs/production.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
# The example site's own pages (home, sign-in); the app brings its own catalogue.
LOCALE_PATHS = [BASE_DIR / "example_project" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "example_project" / "staticfiles"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

# The app's client points at the sandbox this same site serves, unless POWENS_API_URL
# or POWENS_DOMAIN name a real Powens domain (one of them is required with DEBUG off).
_domain = env.str("POWENS_DOMAIN", default="")
_api_url = env.str("POWENS_API_URL", default="")
if not _domain and not _api_url:
    if DEBUG:
        _api_url = f"http://127.0.0.1:{PORT}/sandbox/2.0/"
    else:
        _MISSING.append("POWENS_DOMAIN (or POWENS_API_URL)")
POWENS = {
    "DOMAIN": _domain or None,
    "API_URL": _api_url or None,
    "CLIENT_ID": _setting("POWENS_CLIENT_ID", "10000001"),
    "CLIENT_SECRET": _setting("POWENS_CLIENT_SECRET", "sandbox-client-secret"),
    # Optional (connector updates only): no default without DEBUG.
    "CONFIG_TOKEN": env.str("POWENS_CONFIG_TOKEN", default="sandbox-config-token" if DEBUG else "")
    or None,
    "TOKEN_ENCRYPTION_KEYS": _setting(
        "POWENS_TOKEN_ENCRYPTION_KEYS",
        ["hVxg3Wh6uSGJNjEYyD-Ei0n3vTSOZVKgs1bk-9rxbXU="],  # a Fernet key, development only
        cast="list",
    ),
    # Optional: without secrets, signed webhooks are refused. No default without DEBUG.
    "WEBHOOK_SECRETS": env.list(
        "POWENS_WEBHOOK_SECRETS", default=["sandbox-webhook-secret"] if DEBUG else []
    ),
    "E2E_ENCRYPTION": env.bool("POWENS_E2E_ENCRYPTION", default=False),
    # The callback URL registered at Powens; None builds it from the request.
    "REDIRECT_URI": env.str("POWENS_REDIRECT_URI", default="") or None,
    # "custom" (this site's forms) or "webview" (Powens' hosted Webview; docs/webview.md).
    # With the sandbox, its own Webview stands in for Powens'.
    "LINK_MODE": env.str("POWENS_LINK_MODE", default="custom"),
    "WEBVIEW_URL": env.str(
        "POWENS_WEBVIEW_URL",
        default=f"http://127.0.0.1:{PORT}/sandbox/webview"
        if SANDBOX
        else "https://webview.powens.com",
    ),
    "WEBVIEW_PICKER": env.str("POWENS_WEBVIEW_PICKER", default="site"),
}

if _MISSING:
    raise ImproperlyConfigured(
        "DEBUG is off, so the example site uses no development secret: set "
        + ", ".join(_MISSING)
        + " in the environment (or .env; see .env.example)."
    )

# The REST API (/api/banks/, example_project/urls.py): the browser signs in by session
# (with CSRF), an app by HTTP Basic here (a real site would use tokens); linking is
# rate-limited per user (docs/api.md lists the scopes).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_RATES": {"powens_link": "30/hour", "powens_action": "120/hour"},
}

# Django's tasks framework (django.tasks on Django 6, the django-tasks backport on 5.2):
# run tasks inline here; a production site picks a database or Redis backend and runs
# workers.
tasks_framework = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
TASKS = {"default": {"BACKEND": f"{tasks_framework}.backends.immediate.ImmediateBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Callback states and sandbox bank page ids stay out of the access log.
    "filters": {"redact_urls": {"()": "powens_django.logging.RedactURLSecrets"}},
    "formatters": {
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_urls"]},
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_urls"],
        },
    },
    "loggers": {
        "powens_django": {"handlers": ["console"], "level": env.str("POWENS_LOG_LEVEL", "INFO")},
        "django.server": {"handlers": ["access"], "level": "INFO", "propagate": False},
        # "Not Found: /path" lines name the sandbox bank page too.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# The sandbox (powens_django.sandbox) reads only this dict: it is the other side of
# the wire and shares nothing with the app. Its credentials match POWENS above.
if SANDBOX:
    # The bank page sends people back only to these: the site's own callback (the
    # pages are mounted at /banks/, urls.py) on each of its hosts and PORT.
    _callbacks = [POWENS["REDIRECT_URI"]] if POWENS["REDIRECT_URI"] else []
    _callbacks += [
        f"http://{host}:{PORT}/banks/callback/"
        for host in ALLOWED_HOSTS
        if host and not host.startswith(".") and "*" not in host
    ]
    POWENS_SANDBOX = {
        # Only with POWENS_SANDBOX_ALLOW_WITHOUT_DEBUG=True (powens_sandbox.E006).
        "ALLOW_WITHOUT_DEBUG": not DEBUG,
        "CLIENTS": {POWENS["CLIENT_ID"]: POWENS["CLIENT_SECRET"]},
        "CONFIG_TOKENS": [POWENS["CONFIG_TOKEN"]] if POWENS["CONFIG_TOKEN"] else [],
        "WEBHOOK_SECRET": POWENS["WEBHOOK_SECRETS"][0] if POWENS["WEBHOOK_SECRETS"] else None,
        # Webhooks go to the example site's receiver (urls.py), one URL per event type,
        # signed with the secret above: a sync finished at the sandbox updates My banks.
        "WEBHOOK_URLS": {
            event: f"http://127.0.0.1:{PORT}/powens/webhooks/{event.lower().replace('_', '-')}/"
            for event in ("CONNECTION_SYNCED", "CONNECTION_DELETED", "USER_DELETED")
        },
        "REDIRECT_URIS": env.list("POWENS_SANDBOX_REDIRECT_URIS", default=_callbacks),
        "FAULTS": env.str("POWENS_SANDBOX_FAULTS", default=""),
    }
