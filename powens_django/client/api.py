"""``PowensClient``: every call of the Connections and Connectors reference pages,
plus the authentication calls around them.

The client speaks HTTP and JSON and nothing else: it returns the dicts Powens sends
(lists are unwrapped from their ``{"connections": [...]}`` envelope) and raises the
typed errors of :mod:`powens_django.client.errors`. It needs no Django models and no
request objects, so it can be used on its own::

    client = PowensClient("https://acme-sandbox.biapi.pro/2.0/",
                          client_id="...", client_secret="...")
    user = client.init_user()
    alice = client.with_token(user["auth_token"])
    connections = alice.list_connections(expand=["connector", "sources"])
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ._sensitive import sensitive
from .dates import format_date, format_datetime
from .errors import MalformedResponseError, PowensError
from .jwe import PublicKeyCache, encrypt_value
from .transport import FLAG, Transport

UserRef = int | str
Expand = str | Iterable[str] | None


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: Marks an optional argument that was not given (so ``None`` can mean JSON null).
UNSET: Any = _Unset()

#: The largest id accepted from Powens (the mirror stores ids as signed 64-bit integers).
MAX_ID = 2**63 - 1

#: Keys of the body of a connection's creation (``POST /users/{user}/connections``).
CREATE_CONNECTION_KEYS = frozenset({"id_connector", "connector_uuid", "source"})
#: Keys of the body of a connection's update (``POST /users/{user}/connections/{id}``).
UPDATE_CONNECTION_KEYS = frozenset({"source", "active", "expire", "resume", "refresh_auth"})
#: Keys of a connection request body that a connector field may not use as its name:
#: its value would be read as the request's own parameter (the same connector fields
#: are sent when creating a connection and when updating its credentials).
RESERVED_CONNECTION_KEYS = CREATE_CONNECTION_KEYS | UPDATE_CONNECTION_KEYS


class FieldNameClashError(PowensError, ValueError):
    """Powens asked for a field whose name is a key of the request itself (``source``,
    ``connector_uuid``...): its value cannot be sent. Nothing was sent.

    A :class:`~.errors.PowensError` (Powens' definitions are at fault, like a malformed
    answer; never worth retrying) and a ``ValueError``. It names the fields, never
    their values.
    """


def _check_field_names(fields: Mapping[str, Any]) -> None:
    clash = sorted(RESERVED_CONNECTION_KEYS.intersection(str(name) for name in fields))
    if clash:
        raise FieldNameClashError(f"Field name clashes with a request key: {clash}")


def _user(user: UserRef) -> str:
    if user == "me" or (isinstance(user, int) and not isinstance(user, bool) and user > 0):
        return str(user)
    if isinstance(user, str) and user.isascii() and user.isdigit() and int(user) > 0:
        return str(int(user))
    raise ValueError(f'user must be "me" or a positive Powens user id, not {user!r}')


def _id(value: Any, name: str) -> str:
    text = str(value)
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or int(text) <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return str(int(value))


def _segment(value: Any, name: str) -> str:
    if value is None or isinstance(value, bool):
        raise ValueError(f"{name} is required, not {value!r}")
    text = str(value)
    if not text or "/" in text or "?" in text or "#" in text or text in (".", ".."):
        raise ValueError(f"{name} is not a valid path segment: {value!r}")
    # Quoted so that "%2e%2e" or "%2F" reach Powens as data, not as "..": requests
    # would otherwise decode them into a path that leaves /connectors/.
    return quote(text, safe="")


def _expand(value: Expand) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    joined = ",".join(value)
    return joined or None


def _codes(value: str | Iterable[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.upper() or None
    return ",".join(code.upper() for code in value) or None


def _as_date(value: dt.date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_date(value)


def _items(payload: Any, *keys: str) -> list[dict[str, Any]]:
    """Unwrap a list envelope, trying ``keys`` in order."""
    if isinstance(payload, Mapping):
        for key in keys:
            value = payload.get(key)
            if isinstance(value, list):
                return value
    raise MalformedResponseError(
        "Powens answered without the expected list " + " / ".join(repr(k) for k in keys)
    )


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise MalformedResponseError(f"Powens answered without the expected {what} object")
    return payload


def _connection(payload: Any) -> dict[str, Any]:
    """A Connection object whose ``id`` can identify it (a positive integer)."""
    connection = _object(payload, "connection")
    powens_id = connection.get("id")
    if isinstance(powens_id, bool) or not isinstance(powens_id, int) or powens_id <= 0:
        raise MalformedResponseError("Powens answered with a connection without a usable id")
    return connection


class PowensClient:
    """A client for one Powens API root.

    ``client_id``/``client_secret`` are the client application's credentials (needed by
    :meth:`init_user`, :meth:`renew_token`, :meth:`exchange_code` and the webauth calls);
    ``token`` is a user's permanent token (user-scoped calls; see :meth:`with_token`);
    ``config_token`` is the console configuration token (connector updates).
    ``timeout`` is ``(connect, read)`` seconds: keep reads long, since creating or
    syncing a connection waits for the bank. See :mod:`.transport` for retries.
    """

    def __init__(
        self,
        api_root: str,
        *,
        client_id: str | int | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        config_token: str | None = None,
        timeout: tuple[float, float] = (10.0, 300.0),
        max_retries: int = 3,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        public_key_ttl: float = 3600.0,
        session: requests.Session | None = None,
        user_agent_extra: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = Transport(
            api_root,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_retry_wait=max_retry_wait,
            session=session,
            user_agent_extra=user_agent_extra,
            sleep=sleep,
        )
        self.client_id = None if client_id is None else str(client_id)
        self._client_secret = client_secret
        self._token = token
        self._config_token = config_token
        self._public_keys = PublicKeyCache(public_key_ttl)

    def __repr__(self) -> str:
        # Never show the token or secrets, only whether they are there.
        return (
            f"<PowensClient {self.api_root} user_token={'yes' if self._token else 'no'}"
            f" config_token={'yes' if self._config_token else 'no'}>"
        )

    @property
    def api_root(self) -> str:
        """The API root URL, ending with a slash."""
        return self.transport.api_root

    @property
    def has_token(self) -> bool:
        """Whether this client carries a user token."""
        return bool(self._token)

    def with_token(self, token: str | None) -> PowensClient:
        """A client for the user owning ``token``, sharing this one's HTTP session and
        public-key cache (so per-user clients cost nothing to make)."""
        clone = object.__new__(PowensClient)
        clone.__dict__.update(self.__dict__)
        clone._token = token
        return clone

    def close(self) -> None:
        """Close the HTTP session's pooled connections."""
        self.transport.session.close()

    # -- plumbing ---------------------------------------------------------------------

    def _user_call(self, method: str, path: str, **kwargs: Any) -> Any:
        if not self._token:
            raise ValueError(
                f"{method} {path} needs a Powens user token: use client.with_token(token)"
            )
        return self.transport.request(method, path, bearer=self._token, **kwargs)

    def _config_call(self, method: str, path: str, **kwargs: Any) -> Any:
        if not self._config_token:
            raise ValueError(f"{method} {path} needs the Powens configuration token (CONFIG_TOKEN)")
        return self.transport.request(method, path, bearer=self._config_token, **kwargs)

    def _public_call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.transport.request(method, path, **kwargs)

    @sensitive()
    def _client_credentials(self) -> dict[str, str]:
        if not self.client_id or not self._client_secret:
            raise ValueError("This call needs the client application's CLIENT_ID and CLIENT_SECRET")
        return {"client_id": self.client_id, "client_secret": self._client_secret}

    def _require_client_id(self) -> str:
        if not self.client_id:
            raise ValueError("This call needs the client application's CLIENT_ID")
        return self.client_id

    # -- users and tokens -------------------------------------------------------------

    @sensitive()
    def init_user(self) -> dict[str, Any]:
        """Create a Powens user: ``POST /auth/init`` with the client credentials.

        Returns ``{"auth_token", "type": "permanent", "id_user", ...}`` with ``id_user``
        an int from 1 to :data:`MAX_ID`. The token is a permanent credential to the
        user's bank data: store it encrypted. Every local (the token, the client
        secret) is hidden from Django's error reports.
        """
        payload = self._public_call("POST", "auth/init", json_body=self._client_credentials())
        data = _object(payload, "token")
        token, id_user = data.get("auth_token"), data.get("id_user")
        if isinstance(id_user, str) and id_user.isascii() and id_user.isdigit():
            id_user = int(id_user)
        if (
            not isinstance(token, str)
            or not token
            or isinstance(id_user, bool)
            or not isinstance(id_user, int)
            or not 0 < id_user <= MAX_ID
        ):
            raise MalformedResponseError("POST /auth/init answered without auth_token and id_user")
        return {**data, "id_user": id_user}

    def create_temporary_code(self, type: str = "singleAccess") -> dict[str, Any]:
        """Get a temporary code for a browser flow: ``GET /auth/token/code?type=``.

        ``type`` is ``singleAccess`` (usable once) or ``requestAccess`` (30 minutes).
        Returns ``{"code", "type", "access", "expires_in"}``.
        """
        payload = self._user_call("GET", "auth/token/code", params={"type": type})
        data = _object(payload, "code")
        if not data.get("code"):
            raise MalformedResponseError("GET /auth/token/code answered without a code")
        return data

    def exchange_code(self, code: str, *, redirect_uri: str | None = None) -> str:
        """Exchange a temporary code for a permanent token: ``POST /auth/token/access``.

        Powens has documented the answer both as ``{access_token, token_type}`` and as
        ``{token}``; both are accepted. Returns the token.
        """
        body: dict[str, Any] = {
            **self._client_credentials(),
            "grant_type": "authorization_code",
            "code": code,
        }
        if redirect_uri:
            body["redirect_uri"] = redirect_uri
        payload = _object(self._public_call("POST", "auth/token/access", json_body=body), "token")
        token = payload.get("access_token") or payload.get("token") or payload.get("auth_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponseError("POST /auth/token/access answered without a token")
        return token

    def renew_token(self, id_user: int, *, revoke_previous: bool = False) -> str:
        """Issue a new permanent token for an existing user: ``POST /auth/renew``.

        With ``revoke_previous`` every other permanent token of the user stops working.
        Returns the new token.
        """
        body = {
            **self._client_credentials(),
            "grant_type": "client_credentials",
            "id_user": int(_id(id_user, "id_user")),
            "revoke_previous": bool(revoke_previous),
        }
        payload = _object(self._public_call("POST", "auth/renew", json_body=body), "token")
        token = payload.get("access_token") or payload.get("token") or payload.get("auth_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponseError("POST /auth/renew answered without a token")
        return token

    def revoke_token(self) -> None:
        """Revoke this client's user token: ``DELETE /auth/token``."""
        self._user_call("DELETE", "auth/token")

    def get_user(self) -> dict[str, Any]:
        """The token's user: ``GET /users/me`` (``{"id", "signin", ...}``)."""
        return _object(self._user_call("GET", "users/me"), "user")

    def delete_user(self) -> None:
        """Delete the token's user and all its data at Powens: ``DELETE /users/me``.

        Permanent (GDPR erasure); Powens then sends a ``USER_DELETED`` webhook.
        """
        self._user_call("DELETE", "users/me")

    def get_public_key(self) -> Any:
        """Powens' public key for end-to-end encryption: ``GET /publickey`` (raw answer)."""
        return self._public_call("GET", "publickey")

    @sensitive()
    def encrypt_fields(self, values: Mapping[str, str]) -> dict[str, str]:
        """Encrypt credential field values as compact JWE for Powens.

        Uses the key from :meth:`get_public_key`, fetched once and cached for
        ``public_key_ttl`` seconds (shared by every :meth:`with_token` copy).
        """
        key = self._public_keys.get(self.get_public_key)
        return {name: encrypt_value(key, str(value)) for name, value in values.items()}

    def forget_public_key(self) -> None:
        """Drop the cached public key so the next encryption fetches it again."""
        self._public_keys.clear()

    # -- connections ------------------------------------------------------------------

    # Every local (credentials, the body) is hidden from error reports, and so is
    # every frame below: the transport's json_body, requests' encoded body.
    @sensitive()
    def create_connection(
        self,
        fields: Mapping[str, str] | None = None,
        *,
        connector_uuid: str | None = None,
        id_connector: int | None = None,
        source: str | None = None,
        expand: Expand = None,
        user: UserRef = "me",
    ) -> dict[str, Any]:
        """Create a connection: ``POST /users/{user}/connections``.

        ``fields`` are the values of the connector's fields (credentials), already
        JWE-encrypted when end-to-end encryption is on. Give ``connector_uuid``
        (preferred) or the deprecated ``id_connector``. Answers with the Connection;
        its ``state`` says whether more is needed (OTP, decoupled validation...).
        Never retried: a second attempt could create a second connection.
        """
        if (connector_uuid is None) == (id_connector is None):
            raise ValueError("Give exactly one of connector_uuid and id_connector")
        fields = dict(fields or {})
        _check_field_names(fields)
        body: dict[str, Any] = {}
        if connector_uuid is not None:
            body["connector_uuid"] = str(connector_uuid)
        else:
            body["id_connector"] = int(_id(id_connector, "id_connector"))
        if source:
            body["source"] = source
        body.update(fields)
        payload = self._user_call(
            "POST",
            f"users/{_user(user)}/connections",
            params={"expand": _expand(expand)},
            json_body=body,
        )
        return _connection(payload)

    def list_connections(
        self, *, expand: Expand = None, user: UserRef = "me"
    ) -> list[dict[str, Any]]:
        """The user's connections: ``GET /users/{user}/connections``."""
        payload = self._user_call(
            "GET", f"users/{_user(user)}/connections", params={"expand": _expand(expand)}
        )
        return _items(payload, "connections")

    def get_connection(
        self, connection_id: int, *, expand: Expand = None, user: UserRef = "me"
    ) -> dict[str, Any]:
        """One connection: ``GET /users/{user}/connections/{id}``."""
        payload = self._user_call(
            "GET",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}",
            params={"expand": _expand(expand)},
        )
        return _connection(payload)

    @sensitive()
    def update_connection(
        self,
        connection_id: int,
        fields: Mapping[str, str] | None = None,
        *,
        source: str | None = None,
        active: bool | None = None,
        expire: dt.datetime | dt.date | None = None,
        resume: bool | None = None,
        refresh_auth: bool | None = None,
        background: bool = False,
        expand: Expand = None,
        user: UserRef = "me",
    ) -> dict[str, Any]:
        """Update and/or sync a connection: ``POST /users/{user}/connections/{id}``.

        ``fields`` carries new credentials or the values the connection asked for
        (an OTP). An empty call is a user-initiated sync (it clears ``SCARequired``).
        ``resume=True`` resumes a ``decoupled`` connection; ``background=True`` makes
        Powens answer at once and work afterwards (poll :meth:`get_connection`).
        """
        _check_field_names(fields or {})
        body: dict[str, Any] = {}
        if source:
            body["source"] = source
        if active is not None:
            body["active"] = bool(active)
        if expire is not None:
            body["expire"] = format_datetime(expire)
        if resume is not None:
            body["resume"] = bool(resume)
        if refresh_auth is not None:
            body["refresh_auth"] = bool(refresh_auth)
        body.update(fields or {})
        payload = self._user_call(
            "POST",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}",
            params={"background": True if background else None, "expand": _expand(expand)},
            json_body=body,
        )
        return _connection(payload)

    def sync_connection(
        self,
        connection_id: int,
        *,
        psu_requested: bool = True,
        background: bool = False,
        expand: Expand = None,
        user: UserRef = "me",
    ) -> dict[str, Any]:
        """Force a sync: ``PUT /users/{user}/connections/{id}``.

        Only for a person asking for fresh data now; a sync they did not ask for must
        say ``psu_requested=False`` (it then cannot trigger an SCA). Powens may answer
        409 to a sync right after another one (:class:`~.errors.ConflictError`).
        ``background=True`` makes Powens answer at once (with the connection as it is)
        and sync afterwards: poll :meth:`get_connection` to see it end.
        """
        payload = self._user_call(
            "PUT",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}",
            params={
                "psu_requested": bool(psu_requested),
                "background": True if background else None,
                "expand": _expand(expand),
            },
        )
        return _connection(payload)

    def delete_connection(self, connection_id: int, *, user: UserRef = "me") -> None:
        """Delete a connection and all its data at Powens, permanently:
        ``DELETE /users/{user}/connections/{id}``."""
        self._user_call(
            "DELETE", f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}"
        )

    # -- web authorization ------------------------------------------------------------

    def _webauth_params(
        self,
        redirect_uri: str,
        id_connector: int | None,
        connector_uuid: str | None,
        id_connection: int | None,
        source: str | None,
        state: str | None,
    ) -> dict[str, Any]:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("redirect_uri must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError(
                "redirect_uri must not carry a query string or fragment (Powens refuses it)"
            )
        targets = [v for v in (id_connector, connector_uuid, id_connection) if v is not None]
        if len(targets) != 1:
            raise ValueError("Give exactly one of id_connector, connector_uuid and id_connection")
        return {
            "client_id": self._require_client_id(),
            "redirect_uri": redirect_uri,
            "id_connector": None if id_connector is None else _id(id_connector, "id_connector"),
            "connector_uuid": connector_uuid,
            "id_connection": None if id_connection is None else _id(id_connection, "id_connection"),
            "source": source,
            "state": state,
        }

    def webauth_url(
        self,
        redirect_uri: str,
        *,
        id_connector: int | None = None,
        connector_uuid: str | None = None,
        id_connection: int | None = None,
        source: str | None = None,
        state: str | None = None,
    ) -> str:
        """The bank URL to send the person's browser to: ``GET /webauth-url``.

        Give ``id_connector`` (or ``connector_uuid``) to add a connection, or
        ``id_connection`` to repair one (SCA, consent renewal). After the bank, the
        browser comes back to ``redirect_uri`` (no query string allowed) with
        ``id_connection`` or ``error``, and ``state`` as given. A connection that
        needs nothing answers 409 (:class:`~.errors.InvalidValueError`).
        """
        params = self._webauth_params(
            redirect_uri, id_connector, connector_uuid, id_connection, source, state
        )
        payload = _object(self._user_call("GET", "webauth-url", params=params), "WebauthURL")
        url = payload.get("url")
        if not isinstance(url, str) or not url:
            raise MalformedResponseError("GET /webauth-url answered without a url")
        return url

    def build_webauth_redirect(
        self,
        code: str,
        redirect_uri: str,
        *,
        id_connector: int | None = None,
        connector_uuid: str | None = None,
        id_connection: int | None = None,
        source: str | None = None,
        state: str | None = None,
    ) -> str:
        """The ``GET /webauth`` URL for a browser (older flow; no HTTP call is made).

        ``code`` comes from :meth:`create_temporary_code`; Powens redirects the browser
        to the bank, then to ``redirect_uri`` as for :meth:`webauth_url`.
        """
        params = self._webauth_params(
            redirect_uri, id_connector, connector_uuid, id_connection, source, state
        )
        params["token"] = code
        return self.transport.url("webauth", params)

    # -- connection sources and logs --------------------------------------------------

    def list_connection_sources(
        self, connection_id: int, *, all: bool = False, user: UserRef = "me"
    ) -> list[dict[str, Any]]:
        """A connection's sources: ``GET .../connections/{id}/sources`` (``all``
        includes disabled ones)."""
        payload = self._user_call(
            "GET",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}/sources",
            params={"all": FLAG if all else None},
        )
        return _items(payload, "sources")

    def get_connection_source(
        self, connection_id: int, source_id: int, *, all: bool = False, user: UserRef = "me"
    ) -> dict[str, Any]:
        """One connection source: ``GET .../connections/{id}/sources/{source_id}``
        (``all`` reaches a disabled source)."""
        payload = self._user_call(
            "GET",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}"
            f"/sources/{_id(source_id, 'source_id')}",
            params={"all": FLAG if all else None},
        )
        return _object(payload, "connection source")

    def update_connection_source(
        self,
        connection_id: int,
        source_id: int,
        *,
        disabled: bool,
        all: bool = True,
        user: UserRef = "me",
    ) -> dict[str, Any]:
        """Enable or disable a connection source:
        ``POST .../connections/{id}/sources/{source_id}`` with ``{"disabled": ...}``.

        ``all`` (on by default) lets the call reach a source that is disabled now,
        which re-enabling needs.
        """
        payload = self._user_call(
            "POST",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}"
            f"/sources/{_id(source_id, 'source_id')}",
            params={"all": FLAG if all else None},
            json_body={"disabled": bool(disabled)},
        )
        return _object(payload, "connection source")

    def list_connection_logs(
        self,
        connection_id: int,
        *,
        limit: int | None = None,
        offset: int | None = None,
        min_date: dt.date | str | None = None,
        max_date: dt.date | str | None = None,
        id_source: int | None = None,
        user: UserRef = "me",
    ) -> list[dict[str, Any]]:
        """A connection's synchronization logs: ``GET .../connections/{id}/logs`` with
        the documented ``limit``/``offset``/``min_date``/``max_date``/``id_source``."""
        payload = self._user_call(
            "GET",
            f"users/{_user(user)}/connections/{_id(connection_id, 'connection_id')}/logs",
            params={
                "limit": limit,
                "offset": offset,
                "min_date": _as_date(min_date),
                "max_date": _as_date(max_date),
                "id_source": None if id_source is None else _id(id_source, "id_source"),
            },
        )
        return _items(payload, "connectionlogs", "logs")

    # -- connectors -------------------------------------------------------------------

    def list_connectors(
        self,
        *,
        country_codes: str | Iterable[str] | None = None,
        expand: Expand = None,
        id_payment: str | None = None,
        all: bool = False,
    ) -> list[dict[str, Any]]:
        """The domain's connectors: ``GET /connectors`` (no authentication).

        ``country_codes`` filters on ISO 3166-1 alpha-2 codes; ``expand`` may name
        fields, sources, payment_fields, countries, urls.
        """
        payload = self._public_call(
            "GET",
            "connectors",
            params={
                "country_codes": _codes(country_codes),
                "expand": _expand(expand),
                "id_payment": id_payment,
                "all": FLAG if all else None,
            },
        )
        return _items(payload, "connectors", "banks")

    def list_banks(
        self, *, country_codes: str | Iterable[str] | None = None, expand: Expand = None
    ) -> list[dict[str, Any]]:
        """Deprecated alias of :meth:`list_connectors`: ``GET /banks`` (``banks`` key)."""
        payload = self._public_call(
            "GET",
            "banks",
            params={"country_codes": _codes(country_codes), "expand": _expand(expand)},
        )
        return _items(payload, "banks", "connectors")

    def list_providers(
        self, *, country_codes: str | Iterable[str] | None = None, expand: Expand = None
    ) -> list[dict[str, Any]]:
        """Deprecated alias of :meth:`list_connectors`: ``GET /providers``."""
        payload = self._public_call(
            "GET",
            "providers",
            params={"country_codes": _codes(country_codes), "expand": _expand(expand)},
        )
        return _items(payload, "banks", "providers", "connectors")

    def get_connector(self, connector: str | int, *, expand: Expand = None) -> dict[str, Any]:
        """One connector by UUID (or deprecated integer id): ``GET /connectors/{uuid}``."""
        payload = self._public_call(
            "GET",
            f"connectors/{_segment(connector, 'connector')}",
            params={"expand": _expand(expand)},
        )
        return _object(payload, "connector")

    def update_connector(
        self, connector: str | int, *, hidden: bool = UNSET, sync_periodicity: float = UNSET
    ) -> dict[str, Any]:
        """Update a connector (config token): ``PUT /connectors/{uuid}``.

        ``hidden`` hides it from users; ``sync_periodicity`` (days) is deprecated.
        """
        body = self._connector_update(hidden, sync_periodicity)
        payload = self._config_call(
            "PUT", f"connectors/{_segment(connector, 'connector')}", json_body=body
        )
        return _object(payload, "connector")

    def update_connectors(self, updates: Mapping[str, Mapping[str, Any]]) -> Any:
        """Batch enable/disable connectors (config token): ``PATCH /connectors`` with
        ``{uuid: {"hidden": bool}, ...}``. Returns Powens' answer (possibly None)."""
        if not updates:
            raise ValueError("updates is empty")
        body = {str(uuid): dict(values) for uuid, values in updates.items()}
        return self._config_call("PATCH", "connectors", json_body=body)

    def update_connectors_by_ids(
        self, ids: Iterable[int], *, hidden: bool = UNSET, sync_periodicity: float = UNSET
    ) -> Any:
        """Deprecated batch update by integer ids (config token): ``PUT /connectors/1,2,3``."""
        joined = ",".join(_id(i, "connector id") for i in ids)
        if not joined:
            raise ValueError("ids is empty")
        body = self._connector_update(hidden, sync_periodicity)
        return self._config_call("PUT", f"connectors/{joined}", json_body=body)

    @staticmethod
    def _connector_update(hidden: Any, sync_periodicity: Any) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if hidden is not UNSET:
            body["hidden"] = bool(hidden)
        if sync_periodicity is not UNSET:
            body["sync_periodicity"] = sync_periodicity
        if not body:
            raise ValueError("Nothing to update: give hidden and/or sync_periodicity")
        return body

    def list_connector_sources(
        self, connector: str | int, *, country_codes: str | Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """A connector's sources: ``GET /connectors/{uuid}/sources``."""
        payload = self._public_call(
            "GET",
            f"connectors/{_segment(connector, 'connector')}/sources",
            params={"country_codes": _codes(country_codes)},
        )
        return _items(payload, "sources")

    def get_connector_source(self, connector: str | int, source_id: int) -> dict[str, Any]:
        """One connector source: ``GET /connectors/{uuid}/sources/{source_id}``."""
        payload = self._public_call(
            "GET",
            f"connectors/{_segment(connector, 'connector')}/sources/{_id(source_id, 'source_id')}",
        )
        return _object(payload, "connector source")

    def update_connector_source(
        self,
        connector: str | int,
        source_id: int,
        *,
        auth_mechanism: str = UNSET,
        disabled: dt.datetime | bool | None = UNSET,
    ) -> dict[str, Any]:
        """Update a connector source (config token):
        ``PUT /connectors/{uuid}/sources/{source_id}``.

        ``disabled`` is a datetime (disable from then), ``True`` (disable now) or
        ``None`` (enable).
        """
        body: dict[str, Any] = {}
        if auth_mechanism is not UNSET:
            body["auth_mechanism"] = auth_mechanism
        if disabled is not UNSET:
            if disabled is True:
                disabled = dt.datetime.now(dt.UTC)
            body["disabled"] = format_datetime(disabled) if isinstance(disabled, dt.date) else None
        if not body:
            raise ValueError("Nothing to update: give auth_mechanism and/or disabled")
        payload = self._config_call(
            "PUT",
            f"connectors/{_segment(connector, 'connector')}/sources/{_id(source_id, 'source_id')}",
            json_body=body,
        )
        return _object(payload, "connector source")
