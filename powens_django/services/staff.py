"""Staff operations: what a site's support team does from the admin, beyond a person's
own connections.

Connector updates (hide a connector, enable or disable one of its sources, change a
source's login method) need the Powens console's configuration token
(``POWENS["CONFIG_TOKEN"]``); after each one the connector is read back from Powens
and mirrored through the catalogue's sync path, so the mirror says what Powens says.
Operations over many objects return a :class:`BatchResult`: one failure never stops
the others and leaves its object as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

from .. import sync
from ..conf import get_client, powens_settings
from ..models import Connection, Connector, ConnectorSource, PowensUser
from .batch import _connections, _each
from .catalogue import CATALOGUE_EXPAND
from .connections import set_connection_active
from .errors import NotFound, ServiceError, powens_failures
from .outcomes import BatchResult, Outcome
from .users import delete_powens_user


class ConfigTokenMissing(ServiceError):
    """Connector updates need ``POWENS["CONFIG_TOKEN"]``, which is not set."""

    code = "config_token_missing"
    default_message = _(
        'Connector updates need the Powens configuration token: set POWENS["CONFIG_TOKEN"] '
        "(from the Powens console). Nothing was changed."
    )
    http_status = 503


class InvalidAuthMechanism(ServiceError):
    """The login method asked for is not one the source offers."""

    code = "invalid_auth_mechanism"
    default_message = _("This source does not offer that login method. Nothing was changed.")


class ChangedNotMirrored(ServiceError):
    """Powens made the change, but reading the connector back failed: the mirror
    shows the old values until the next catalogue refresh."""

    code = "changed_not_mirrored"
    default_message = _(
        "Changed at Powens, but reading it back failed: refresh the catalogue to see "
        "the change here."
    )
    transient = True
    http_status = 503


def _config_client() -> Any:
    if not powens_settings.CONFIG_TOKEN:
        raise ConfigTokenMissing("POWENS['CONFIG_TOKEN'] is not set")
    return get_client()


def _remirror(uuid: str) -> Connector:
    """Read the connector back from Powens and mirror it (sources and countries
    included), without touching the rest of the catalogue."""
    try:
        with powens_failures():
            payload = get_client().get_connector(uuid, expand=CATALOGUE_EXPAND)
    except ServiceError as error:
        raise ChangedNotMirrored(error.detail, powens_error=error.powens_error) from None
    sync.sync_connectors([payload], prune=False)
    connector = Connector.objects.filter(uuid=uuid).first()
    if connector is None:  # pragma: no cover - Powens answered another connector
        raise NotFound(f"Powens answered connector {uuid} with a payload the mirror refused")
    return connector


def set_connector_hidden(connector: Connector, hidden: bool) -> Connector:
    """Hide the connector from people at Powens (``PUT /connectors/{uuid}``, config
    token), or show it again, then mirror it; returns the refreshed row.

    A hidden connector is offered to nobody for new connections (the pages and the API
    leave it out); existing connections keep working.
    """
    client = _config_client()
    with powens_failures():
        client.update_connector(connector.uuid, hidden=hidden)
    return _remirror(connector.uuid)


def set_connectors_hidden(connectors: Iterable[Connector], hidden: bool) -> BatchResult:
    """:func:`set_connector_hidden` for each connector; keyed by uuid, each ``result``
    the refreshed connector."""
    return _each(connectors, lambda c: c.uuid, lambda c: set_connector_hidden(c, hidden))


def set_connector_source_enabled(source: ConnectorSource, enabled: bool) -> Connector:
    """Enable or disable one source of a connector at Powens (``PUT
    /connectors/{uuid}/sources/{id}``, config token), then mirror the connector;
    returns it. A disabled source is offered to nobody."""
    connector = source.connector
    client = _config_client()
    with powens_failures():
        client.update_connector_source(
            connector.uuid, source.powens_id, disabled=None if enabled else True
        )
    return _remirror(connector.uuid)


def set_connector_source_auth_mechanism(source: ConnectorSource, mechanism: str) -> Connector:
    """Change the login method of one source of a connector at Powens (config
    token), then mirror the connector; returns it.

    ``mechanism`` must be the source's current method or one of its
    ``available_auth_mechanisms`` (else :class:`InvalidAuthMechanism`, and nothing is
    sent).
    """
    choices = auth_mechanism_choices(source)
    if not isinstance(mechanism, str) or mechanism not in choices:
        raise InvalidAuthMechanism(
            f"Source {source.powens_id} offers {choices}, not {str(mechanism)[:64]!r}"
        )
    connector = source.connector
    client = _config_client()
    with powens_failures():
        client.update_connector_source(connector.uuid, source.powens_id, auth_mechanism=mechanism)
    return _remirror(connector.uuid)


def auth_mechanism_choices(source: ConnectorSource) -> list[str]:
    """The login methods a source can be switched to: its current one first, then its
    ``available_auth_mechanisms`` (strings only, without repeats)."""
    choices: list[str] = []
    for value in [source.auth_mechanism, *(source.available_auth_mechanisms or [])]:
        if isinstance(value, str) and value and value not in choices:
            choices.append(value)
    return choices


def set_connections_active(connections: Iterable[Connection], active: bool) -> BatchResult:
    """Turn Powens' automatic syncs of each connection on or off
    (:func:`~.connections.set_connection_active`); keyed by Powens id."""
    return _each(
        _connections(connections),
        lambda c: c.powens_id,
        lambda c: set_connection_active(c, active),
    )


def delete_powens_users(powens_users: Iterable[PowensUser]) -> BatchResult:
    """Erase each user's data at Powens (``DELETE /users/me``, GDPR), then locally
    (:func:`~.users.delete_powens_user`); keyed by Powens user id (or the local pk of
    a user who never got one). The Django users stay."""

    def run(powens_user: PowensUser) -> Outcome:
        return delete_powens_user(powens_user.user)

    return _each(
        powens_users,
        lambda u: u.powens_id if u.powens_id is not None else f"pk={u.pk}",
        run,
    )
