"""The connector catalogue: refresh the mirror, search it, and what to offer for a bank."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .. import signals, sync
from ..conf import get_client
from ..models import CatalogueVersion, Connector, ConnectorCountry, ConnectorSource
from ..sync import clean_field_definition
from .errors import ConnectorUnavailable, NotFound, powens_failures

CATALOGUE_EXPAND = ("fields", "sources", "countries")

#: The login methods this app can run itself (others need Powens' Webview).
SUPPORTED_MECHANISMS = ("credentials", "webauth")


def parse_country_codes(value: str | Iterable[str] | None) -> list[str]:
    """ISO country codes from ``"fr, es"`` or ``["fr", "ES"]``: upper-cased, stripped,
    without blanks or duplicates, in order."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    codes: list[str] = []
    for item in items:
        code = str(item).strip().upper()
        if code and code not in codes:
            codes.append(code)
    return codes


def refresh_catalogue(
    *,
    country_codes: str | Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> sync.SyncResult:
    """Mirror the connector catalogue (``GET /connectors?all&expand=fields,sources,countries``:
    hidden connectors included, marked ``hidden``).

    With ``country_codes`` only those countries are fetched and nothing is pruned;
    without, connectors Powens no longer lists are removed. ``progress`` is an
    optional callable receiving ``(done, total)`` while payloads are compared. Sends
    ``catalogue_refreshed`` after commit; a Powens failure raises a service error and
    changes nothing.
    """
    codes = parse_country_codes(country_codes)
    with powens_failures():
        # Hidden connectors too (``all``): the mirror keeps them, marked hidden, so
        # people never see them while the admin can show them again.
        payloads = get_client().list_connectors(
            country_codes=codes or None, expand=CATALOGUE_EXPAND, all=True
        )
    result = sync.sync_connectors(payloads, prune=not codes, progress=progress)
    transaction.on_commit(
        lambda: signals.catalogue_refreshed.send(Connector, result=result, country_codes=codes)
    )
    return result


def connectable_connectors(*, request: HttpRequest | None = None) -> QuerySet[Connector]:
    """Connectors people may add a connection with: not hidden, not restricted, and
    kept by the host's adapter (``filter_connectors``)."""
    from ..adapter import get_adapter

    queryset = Connector.objects.filter(hidden=False, restricted=False)
    return get_adapter(request).filter_connectors(queryset)


def search_connectors(
    query: str = "", *, country: str = "", request: HttpRequest | None = None
) -> QuerySet[Connector]:
    """Connectable connectors whose name contains ``query`` (case and accents ignored:
    "credit" finds "Crédit"), in ``country`` (ISO code) when given, ordered by name.

    A lazy queryset: page it with Django's ``Paginator`` or DRF's pagination.
    """
    connectors = connectable_connectors(request=request)
    query = (query or "").strip()[:100]
    if query:
        connectors = connectors.filter(search_name__contains=sync.search_key(query))
    code = (country or "").strip().upper()[:2]
    if code:
        connectors = connectors.filter(countries__code=code)
    return connectors.order_by("search_name", "uuid")


# -- what is derived from the whole catalogue, computed once per catalogue version -----

#: How long a derived figure is kept even when the catalogue did not change (an
#: adapter's ``filter_connectors`` may read data of the host's own).
DERIVED_TTL = 300.0
_DERIVED_MAX = 256
_derived: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
_derived_lock = threading.Lock()


def catalogue_version() -> tuple[int, Any]:
    """A stamp that changes whenever a catalogue sync changes the catalogue (one
    primary-key read). Figures derived from the whole catalogue are keyed on it."""
    row = (
        CatalogueVersion._default_manager.filter(pk=1).values_list("version", "changed_at").first()
    )
    return row if row is not None else (0, None)


def _derived_value(
    kind: str, queryset: QuerySet[Any], version: tuple[int, Any] | None, compute: Callable[[], Any]
) -> Any:
    # Keyed on the SQL itself: two requests whose adapter filters the same way share
    # the figure, any other filter gets its own.
    sql, params = queryset.query.sql_with_params()
    key = (kind, queryset.db, version or catalogue_version(), sql, repr(params))
    now = time.monotonic()
    with _derived_lock:
        hit = _derived.get(key)
        if hit is not None and now - hit[0] < DERIVED_TTL:
            _derived.move_to_end(key)
            return hit[1]
    value = compute()
    with _derived_lock:
        _derived[key] = (now, value)
        while len(_derived) > _DERIVED_MAX:
            _derived.popitem(last=False)
    return value


def forget_derived() -> None:
    """Drop the figures derived from the catalogue in this process (for tests)."""
    with _derived_lock:
        _derived.clear()


def catalogue_countries(
    *, request: HttpRequest | None = None, version: tuple[int, Any] | None = None
) -> list[str]:
    """The ISO codes of the countries of connectable connectors, sorted.

    Computed once per catalogue version (:func:`catalogue_version`, read again unless
    ``version`` is given) and connectable set, not per request."""
    connectors = connectable_connectors(request=request)
    countries = (
        ConnectorCountry.objects.filter(connector__in=connectors)
        .values_list("code", flat=True)
        .distinct()
        .order_by("code")
    )
    return list(_derived_value("countries", countries, version, lambda: list(countries)))


def count_connectors(
    connectors: QuerySet[Connector], *, version: tuple[int, Any] | None = None
) -> int:
    """``connectors.count()``, computed once per catalogue version and query."""
    return int(_derived_value("count", connectors, version, connectors.count))


class _CountedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


@dataclass(frozen=True)
class CatalogueListing:
    """A page of the connectors a person can pick, and the countries to filter by."""

    page: Page
    countries: list[str]


def browse_catalogue(
    query: str = "",
    *,
    country: str = "",
    page: Any = None,
    per_page: int = 24,
    request: HttpRequest | None = None,
) -> CatalogueListing:
    """One page of :func:`search_connectors` (only the columns a list shows) with the
    catalogue's countries. The count and the countries come from figures derived once
    per catalogue version, so a request costs the same at 500 or 50,000 connectors."""
    version = catalogue_version()
    connectors = search_connectors(query, country=country, request=request).only(
        "uuid", "name", "color", "beta", "auth_mechanism", "search_name"
    )
    count = count_connectors(connectors, version=version)
    paginator = _CountedPaginator(connectors, per_page, count)
    return CatalogueListing(
        page=paginator.get_page(page),
        countries=catalogue_countries(request=request, version=version),
    )


def get_connectable_connector(uuid: str, *, request: HttpRequest | None = None) -> Connector:
    """The connectable connector ``uuid`` with its sources loaded, or :class:`NotFound`."""
    connector = (
        connectable_connectors(request=request)
        .prefetch_related("sources")
        .filter(uuid=uuid)
        .first()
    )
    if connector is None:
        raise NotFound(
            f"No connectable connector {uuid!r}", message=ConnectorUnavailable.default_message
        )
    return connector


def relevant_fields(
    definitions: Iterable[Mapping[str, Any]] | None,
    *,
    source: str | None = None,
    auth_mechanism: str | None = None,
) -> list[dict[str, Any]]:
    """The ConnectorField definitions that apply to ``source`` and ``auth_mechanism``,
    made renderable.

    A field listing ``connector_sources`` (or ``auth_mechanisms``) applies only to those;
    a field listing none applies everywhere. Whatever reaches here (a connector's
    ``fields`` stored by an older version, a connection's ``fields`` as Powens sent
    them) is repaired as the catalogue sync does (:func:`clean_field_definition`):
    entries without a usable name are dropped, odd ``values`` or source lists repaired;
    a name listed twice keeps its first definition. Names that are keys of the request
    are kept: sending them fails with a clear error rather than losing the field.
    """
    if not isinstance(definitions, list | tuple):
        return []
    chosen: dict[str, dict[str, Any]] = {}
    for definition in definitions:
        cleaned = clean_field_definition(definition)
        if cleaned is None or cleaned["name"] in chosen:
            continue
        sources = cleaned.get("connector_sources") or []
        mechanisms = cleaned.get("auth_mechanisms") or []
        if source and sources and source not in sources:
            continue
        if auth_mechanism and mechanisms and auth_mechanism not in mechanisms:
            continue
        chosen[cleaned["name"]] = cleaned
    return list(chosen.values())


@dataclass(frozen=True)
class ConnectOptions:
    """How a person can connect a connector.

    ``sources`` are the usable sources, best first; ``source`` the one chosen (the
    requested one when usable, else the best); ``mechanism`` its login method
    (``credentials``, ``webauth`` or a value this version cannot run: see
    ``supported``); ``fields`` the ConnectorField definitions to ask for credentials.
    """

    connector: Connector
    sources: list[ConnectorSource] = field(default_factory=list)
    source: ConnectorSource | None = None
    mechanism: str = ""
    fields: list[dict[str, Any]] = field(default_factory=list)

    @property
    def source_name(self) -> str | None:
        return self.source.name if self.source else None

    @property
    def choose_source(self) -> bool:
        """True when the person has a real choice of source."""
        return len(self.sources) > 1

    @property
    def supported(self) -> bool:
        return self.mechanism in SUPPORTED_MECHANISMS


def connect_options(connector: Connector, *, source: str | None = None) -> ConnectOptions:
    """The sources and login method to offer for ``connector``, and the fields to ask
    when it takes credentials (``source`` picks a source by name when usable)."""
    sources = sorted(
        (s for s in connector.sources.all() if s.disabled is None),
        key=lambda s: (s.priority is None, s.priority or 0, s.powens_id),
    )
    chosen = next((s for s in sources if s.name == source), sources[0] if sources else None)
    mechanism = (chosen.auth_mechanism if chosen else "") or connector.auth_mechanism
    fields: list[dict[str, Any]] = []
    if mechanism == "credentials":
        fields = relevant_fields(
            connector.fields, source=chosen.name if chosen else None, auth_mechanism=mechanism
        )
    return ConnectOptions(
        connector=connector, sources=sources, source=chosen, mechanism=mechanism, fields=fields
    )


def check_connectable(connector: Connector, *, request: HttpRequest | None = None) -> None:
    """Raise :class:`ConnectorUnavailable` unless people may connect ``connector``
    (hidden, restricted, or left out by the host's adapter)."""
    if (
        not connector.can_connect
        or not connectable_connectors(request=request).filter(pk=connector.pk).exists()
    ):
        raise ConnectorUnavailable(f"Connector {connector.uuid} does not accept new connections")
