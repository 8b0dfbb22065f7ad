"""Powens' hosted Webview: the linking mode of every Powens customer without PSD2 agent
status (docs/webview.md).

The person is sent to ``{WEBVIEW_URL}/{lang}/{flow}/`` with a fresh single-use
temporary code (``/auth/token/code``) and the same single-use ``state`` as the webauth
flow (bound to the user and the browser session); Powens hosts the bank choice and the
forms, then sends the browser back to the callback with ``connection_id`` /
``connection_ids`` or an ``error`` (handled by :func:`.webauth.finish_callback`).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest
from django.utils import translation

from ..conf import powens_settings
from ..models import Connection, Connector
from .errors import powens_failures
from .users import AnyUser, client_for
from .webauth import WebauthStart, new_state, prepare_flow, prune_states

Flow = Literal["connect", "reconnect", "manage"]
FLOWS = ("connect", "reconnect", "manage")

#: Languages of Powens' Webview; others fall back to English.
WEBVIEW_LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt")

#: States whose repair needs the person's credentials again (``reset_credentials``).
CREDENTIAL_STATES = frozenset({"wrongpass", "passwordExpired"})


def link_mode(
    *,
    connector: Connector | None = None,
    connection: Connection | None = None,
    auth_mechanism: str | None = None,
    request: HttpRequest | None = None,
) -> str:
    """``"webview"`` or ``"custom"`` for linking ``connector`` (or repairing
    ``connection``; neither: the site's default), as the host's adapter decides
    (``POWENS["LINK_MODE"]`` by default). ``auth_mechanism`` names the login method
    when it is not the connector's own (a source chosen with another one)."""
    from ..adapter import get_adapter

    if connector is None and connection is not None:
        connector = connection.connector_or_none
    mechanism = auth_mechanism or (connector.auth_mechanism if connector is not None else None)
    mode = get_adapter(request).get_link_mode(mechanism or None)
    return "webview" if mode == "webview" else "custom"


def uses_powens_picker(request: HttpRequest | None = None) -> bool:
    """Whether, in webview mode, the bank is chosen in the Webview's own picker
    (``POWENS["WEBVIEW_PICKER"] = "powens"``) rather than in this site's."""
    return powens_settings.WEBVIEW_PICKER == "powens" and link_mode(request=request) == "webview"


def webview_domain() -> str:
    """The ``domain`` parameter: ``{DOMAIN}.biapi.pro``, or the host of ``API_URL``."""
    if powens_settings.API_URL:
        return urlsplit(str(powens_settings.API_URL)).netloc
    return f"{powens_settings.DOMAIN}.biapi.pro"


def webview_language(language: str | None = None) -> str:
    """The Webview's language for ``language`` (default: the active one)."""
    code = (language or translation.get_language() or "en").split("-")[0].lower()
    return code if code in WEBVIEW_LANGUAGES else "en"


def start_webview(
    user: AnyUser,
    flow: Flow,
    *,
    connector: Connector | None = None,
    connection: Connection | None = None,
    reset_credentials: bool | None = None,
    session_key: str | None = None,
    next_url: str = "",
    language: str | None = None,
    redirect_uri: str | None = None,
    request: HttpRequest | None = None,
) -> WebauthStart:
    """Start a visit to Powens' Webview and return where to send the browser.

    ``flow`` is ``"connect"`` (optionally on ``connector``: the bank chosen in this
    site's picker), ``"reconnect"`` (``connection``; ``reset_credentials`` defaults to
    whether its state calls for new credentials) or ``"manage"``. Each call asks Powens
    for a fresh single-use temporary code and records a fresh single-use ``state``
    bound to the user (and to ``session_key``: pages pass the session; a mobile app
    that cannot share it does not). The callback is :func:`.webauth.finish_callback`.
    Raises :class:`NotAllowed` when the adapter refuses, :class:`ConnectorUnavailable`
    for a bank that cannot be linked, :class:`NotFound` for another user's connection,
    and Powens' failures as service errors (recording nothing then).
    """
    if flow not in FLOWS:
        raise ValueError(f"Unknown Webview flow {flow!r}")
    if flow == "reconnect" and connection is None:
        raise ValueError("The reconnect flow needs a connection")
    powens_user, redirect_uri = prepare_flow(
        user, connector=connector, connection=connection, redirect_uri=redirect_uri, request=request
    )
    record, state = new_state(
        user,
        session_key=session_key,
        connector=connector if flow == "connect" else None,
        connection=connection if flow == "reconnect" else None,
        next_url=next_url,
    )
    try:
        with powens_failures():
            code = client_for(powens_user).create_temporary_code()["code"]
    except BaseException:
        record.delete()
        raise
    params: dict[str, str] = {
        "domain": webview_domain(),
        "client_id": str(powens_settings.CLIENT_ID or ""),
        "redirect_uri": redirect_uri,
        "code": str(code),
        "state": state,
    }
    if flow == "connect" and connector is not None:
        params["connector_uuids"] = connector.uuid
    if flow == "reconnect" and connection is not None:
        params["connection_id"] = str(connection.powens_id)
        if reset_credentials is None:
            reset_credentials = connection.state in CREDENTIAL_STATES
        if reset_credentials:
            params["reset_credentials"] = "true"
    prune_states(user, record)
    base = str(powens_settings.WEBVIEW_URL).rstrip("/")
    url = f"{base}/{webview_language(language)}/{flow}/?{urlencode(params)}"
    return WebauthStart(url=url, state=state)
