"""The host's one place to customise behaviour, as django-allauth's adapters are.

Subclass :class:`DefaultPowensAdapter`, override what your site does differently, and
name your class in the settings::

    POWENS = {..., "ADAPTER": "myproject.banking.BankingAdapter"}

The service layer and the pages ask :func:`get_adapter` (a new instance per call,
given the current request when there is one: the API, commands and tasks have none,
so every method must cope with ``self.request`` being ``None``). docs/customising.md
has a worked example.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.module_loading import import_string

from .conf import powens_settings

if TYPE_CHECKING:
    from .models import Connector, PowensUser
    from .services.errors import ServiceError
    from .services.outcomes import Outcome


class DefaultPowensAdapter:
    """What powens-django does unless the host says otherwise."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        self.request = request

    # -- who and what -----------------------------------------------------------------

    def can_link(self, user: Any) -> bool:
        """Whether ``user`` may link a bank (new connections and repairs). Default:
        any active, authenticated user. Refused users get a 403 page, and services
        raise :class:`~powens_django.services.NotAllowed`."""
        return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))

    def filter_connectors(self, queryset: QuerySet[Connector]) -> QuerySet[Connector]:
        """The connectors to offer, from ``queryset`` (already without hidden and
        restricted ones). Default: all of them. Return a filtered queryset (the picker
        pages it, and a connector left out cannot be connected)."""
        return queryset

    def get_or_create_powens_user(self, user: Any) -> PowensUser:
        """The user's :class:`~powens_django.models.PowensUser`, creating the Powens
        user on first use. Default: ``POST /auth/init`` once per Django user
        (:func:`powens_django.services.get_or_create_powens_user`). Override to reuse
        a Powens user your site already has, or to record something once it exists."""
        from .services.users import get_or_create_powens_user

        return get_or_create_powens_user(user)

    # -- where to go ------------------------------------------------------------------

    def get_redirect_uri(self) -> str:
        """The ``redirect_uri`` given to Powens for browser flows: ``POWENS
        ["REDIRECT_URI"]``, else the absolute URL of ``powens:callback`` built from the
        request. It must be registered at Powens."""
        configured = powens_settings.REDIRECT_URI
        if configured:
            return str(configured)
        if self.request is None:
            raise ImproperlyConfigured(
                'Set POWENS["REDIRECT_URI"]: there is no request to build the callback URL from.'
            )
        return self.request.build_absolute_uri(reverse("powens:callback"))

    def get_link_mode(self, auth_mechanism: str | None = None) -> str:
        """How a bank is linked: ``"custom"`` (this site's forms and ``/webauth-url``)
        or ``"webview"`` (Powens' hosted Webview). ``auth_mechanism`` is the connector's
        (``"credentials"``, ``"webauth"``), or None when no bank is chosen yet.

        By default ``POWENS["LINK_MODE"]``: a mode, or a dict of modes per mechanism
        with an optional ``"default"`` (docs/webview.md). Override it to choose per
        request (a pilot group of users, a country...)."""
        configured = powens_settings.LINK_MODE
        if isinstance(configured, dict):
            mode = configured.get(auth_mechanism or "default", configured.get("default"))
            return str(mode or "custom")
        return str(configured or "custom")

    def get_success_url(self, outcome: Outcome) -> str:
        """Where a person lands once a bank is linked (``outcome.ok``). Default:
        ``POWENS["SUCCESS_URL"]`` (a URL or URL name), else the connection's page. A
        safe ``next`` given when the flow started wins over this."""
        if powens_settings.SUCCESS_URL:
            return str(resolve_url(powens_settings.SUCCESS_URL))
        if outcome.connection is not None:
            return reverse("powens:connection", args=[outcome.connection.powens_id])
        return reverse("powens:connections")

    def get_cancel_url(self, outcome: Outcome) -> str | None:
        """Where a person who cancelled at the bank goes; None (the default) shows the
        ``link_cancelled.html`` page."""
        return None

    def get_failure_url(self, outcome: Outcome) -> str | None:
        """Where a person whose bank flow failed goes; None (the default) shows the
        ``link_failed.html`` page."""
        return None

    # -- words ------------------------------------------------------------------------

    def error_message(self, error: ServiceError) -> str:
        """The text shown for a service error (``error.code`` is stable: branch on
        it). Default: the error's own translated message."""
        return str(error.message)


@functools.cache
def _adapter_class(path: str) -> type[DefaultPowensAdapter]:
    try:
        cls = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f'POWENS["ADAPTER"] = {path!r} cannot be imported: {error}'
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, DefaultPowensAdapter)):
        raise ImproperlyConfigured(
            f'POWENS["ADAPTER"] = {path!r} is not a subclass of DefaultPowensAdapter'
        )
    return cls


def get_adapter(request: HttpRequest | None = None) -> DefaultPowensAdapter:
    """An instance of the configured adapter (``POWENS["ADAPTER"]``) for ``request``."""
    return _adapter_class(str(powens_settings.ADAPTER))(request)


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "POWENS":
        _adapter_class.cache_clear()


setting_changed.connect(_reset)
