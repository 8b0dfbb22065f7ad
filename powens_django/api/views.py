"""The API's endpoints: each parses input, calls one service and renders the result.

They do what the pages (:mod:`powens_django.views`) do, through the same services:
the catalogue, a person's connections (only their own: anything else is a 404),
linking by web authorization or by credentials, and the repairs a state calls for.
A :class:`~powens_django.services.ServiceError` becomes its ``http_status`` with the
stable ``code`` and translated message (:mod:`.errors`); Powens outages are 502 or
503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, transaction
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .. import services
from ..conf import powens_settings
from ..forms import ConnectorFieldsForm
from ..models import Connection
from . import examples
from . import serializers as s
from .errors import (
    InvalidInput,
    drf_error_response,
    error_body,
    form_errors,
    not_found,
    service_error_response,
)

#: What a Webview reconnection repairs (in webview mode the pages send every repair there).
WEBVIEW_REPAIRS = (
    services.Action.RECONNECT,
    services.Action.REAUTHENTICATE,
    services.Action.REENTER_CREDENTIALS,
    services.Action.ANSWER_FIELDS,
)

#: Throttle scopes (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``): starting a link or
#: sending credentials, asking Powens to act on a connection, and reading.
LINK_SCOPE = "powens_link"
ACTION_SCOPE = "powens_action"
READ_SCOPE = "powens_read"


# -- the shell every endpoint shares ------------------------------------------------------


class PowensScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, that lets a scope through when the host set no rate for it
    (DRF's own refuses to start): a host rates only what it wants to limit."""

    def __init__(self) -> None:
        # Read now, not when DRF was imported: the host's settings as they stand.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope or scope not in self.THROTTLE_RATES:
            return True
        return bool(super().allow_request(request, view))


class PowensPagination(PageNumberPagination):
    """Pages of ``POWENS["PICKER_PAGE_SIZE"]`` items (``page_size`` asks for up to 100)."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        self.page_size = int(powens_settings.PICKER_PAGE_SIZE)
        return int(super().get_page_size(request) or self.page_size)


#: The ids paths carry (Powens' integers; anything else in their place is a 404).
ID_PARAMETERS = {
    "powens_id": "The connection's Powens id (`id` in the answers).",
    "source_id": "The source's Powens id (a connection's `sources[].id`).",
}


class PowensAutoSchema(AutoSchema):
    """drf-spectacular's inspector, with the operation ids named by :func:`operation`
    and the ids of paths described as the integers they are."""

    def _resolve_path_parameters(self, variables: Any) -> Any:
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter.get("name") in ID_PARAMETERS:
                parameter["schema"] = {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": s.MAX_ID,
                }
                parameter["description"] = ID_PARAMETERS[parameter["name"]]
        return parameters

    def get_operation_id(self) -> str:
        handler = getattr(self.view, self.method.lower(), None)
        named = getattr(handler, "operation_id", None)
        return str(named) if named else str(super().get_operation_id())


def _handler(inherited: Callable[..., Any]) -> Callable[..., Any]:
    def handler(self: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        return inherited(self, request, *args, **kwargs)

    return handler


def operation(*, operation_id: str, **kwargs: Any) -> Callable[[Any], Any]:
    """``extend_schema`` for an endpoint (a view class with one handler, or a
    handler), with its operation id, whatever the host's ``DEFAULT_SCHEMA_CLASS``."""

    def decorate(target: Any) -> Any:
        if isinstance(target, type):
            for method in ("get", "post", "delete"):
                inherited = getattr(target, method, None)
                if inherited is None:
                    continue
                if method not in target.__dict__:
                    # Its own handler, to carry its own operation id.
                    setattr(target, method, _handler(inherited))
                target.__dict__[method].operation_id = operation_id
        else:
            target.operation_id = operation_id
            if "schema" not in getattr(target, "kwargs", {}):
                # A method has no schema of its own to extend: give it ours.
                target.schema = PowensAutoSchema
        return extend_schema(**kwargs)(target)

    return decorate


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(s.ErrorSerializer, description=examples.WHY[code])
        for code in statuses
    }


#: The refusals any endpoint may answer, beside its own.
COMMON = (400, 401, 403, 429)
#: ... and those of an endpoint that calls Powens.
POWENS_FAILURES = (409, 502, 503)

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[409, 429, 502, 503],
    description="Seconds to wait before trying again.",
)


class PowensAPIView(APIView):
    """The base of every endpoint: an authenticated user (with the host's own
    permissions on top), the host's authentication and throttles plus the scoped one,
    service errors as error bodies, and a time budget for the Powens calls."""

    schema = PowensAutoSchema()
    throttle_scope: str | None = READ_SCOPE

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        view = super().as_view(**initkwargs)
        # Never inside ATOMIC_REQUESTS' transaction: it would hold row locks across
        # the calls to Powens (as the pages, views._within_time_budget).
        for alias in connections:
            view = transaction.non_atomic_requests(using=alias)(view)
        return view

    def get_authenticators(self) -> list[Any]:
        return [auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES]

    def get_permissions(self) -> list[Any]:
        host = [p for p in api_settings.DEFAULT_PERMISSION_CLASSES if p is not AllowAny]
        return [IsAuthenticated(), *(p() for p in host)]

    def get_throttles(self) -> list[Any]:
        classes = list(api_settings.DEFAULT_THROTTLE_CLASSES)
        if not any(issubclass(cls, ScopedRateThrottle) for cls in classes):
            classes.append(PowensScopedRateThrottle)
        return [cls() for cls in classes]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with services.request_time_budget():
            return super().dispatch(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.ServiceError):
            return service_error_response(self.request, exc)
        if isinstance(exc, RecursionError):
            # JSON nested too deep for the parser (DRF catches only ValueError).
            exc = exceptions.ParseError(_("The request body is nested too deeply."))
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.APIException):
            return drf_error_response(response, exc)
        return response

    # -- helpers --------------------------------------------------------------------------

    @property
    def http_request(self) -> Any:
        """The Django request (the adapter's and the services' ``request``)."""
        return self.request._request

    def check_may_link(self) -> None:
        services.check_may_link(self.request.user, request=self.http_request)

    def session_key(self) -> str | None:
        """The session a browser flow is bound to: the session of a client signed in
        by it; none for an app client (a token), which cannot share the browser's."""
        if not isinstance(self.request.successful_authenticator, SessionAuthentication):
            return None
        session = self.http_request.session
        if not session.session_key:
            session.save()
        return str(session.session_key)

    def connection(self, powens_id: Any) -> Connection:
        """The requesting user's connection, or a 404."""
        key = s.parse_id(powens_id)
        if key is None:
            raise not_found()
        return services.get_user_connection(self.request.user, key)

    def offered(self, connection: Connection, *actions: services.Action) -> None:
        """Refuse (409 ``not_offered``) an action the connection's state does not call
        for, as the pages offer only those: Powens would refuse it, or do harm."""
        if not set(actions) & set(connection.actions):
            raise Conflict(
                "not_offered",
                _(
                    "This bank connection does not need this right now. Refresh it to see "
                    "what it needs."
                ),
            )

    def not_on_webview(self, connection: Connection) -> None:
        """Refuse (409 ``use_webview``) typing values here for a connection the site
        repairs on Powens' Webview (as the pages lead there instead)."""
        if services.link_mode(connection=connection, request=self.http_request) == "webview":
            raise Conflict(
                "use_webview",
                _("Your bank asks this on our partner's page: reconnect it to answer."),
            )

    def validated(self, serializer_class: type, data: Any) -> dict[str, Any]:
        """``data`` checked by ``serializer_class``; a 400 naming each problem."""
        serializer = serializer_class(data=data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class Conflict(exceptions.APIException):
    """A 409 of the API's own: what was asked does not apply to the object as it is."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, code: str, message: Any) -> None:
        super().__init__(message, code)
        self.api_code = code


def sensitive(view: Callable[..., Any]) -> Callable[..., Any]:
    """Keep every POSTed value out of error reports (credentials, codes)."""
    return sensitive_post_parameters()(view)


# -- the catalogue ----------------------------------------------------------------------


@operation(
    tags=["connectors"],
    operation_id="connectors_list",
    summary="Search the banks a person may link",
    parameters=[s.ConnectorQuerySerializer],
    responses={200: s.ConnectorSerializer(many=True), **_errors(*COMMON, 404)},
    examples=[examples.CONNECTOR_PAGE],
)
class ConnectorListView(PowensAPIView, generics.ListAPIView):
    """Connectable banks, ordered by name: ``q`` finds a name (case and accents
    ignored), ``country`` keeps a country's; paginated (``page``, ``page_size``)."""

    serializer_class = s.ConnectorSerializer
    pagination_class = PowensPagination

    def get_queryset(self) -> Any:
        self.check_may_link()
        query = self.validated(s.ConnectorQuerySerializer, self.request.query_params)
        return services.search_connectors(
            query.get("q", ""), country=query.get("country", ""), request=self.http_request
        ).prefetch_related("countries")


@operation(
    tags=["connectors"],
    operation_id="connectors_countries",
    summary="The countries of the banks offered",
    responses={
        200: OpenApiResponse(
            {"type": "array", "items": {"type": "string"}}, description="ISO codes"
        ),
        **_errors(*COMMON),
    },
)
class CountryListView(PowensAPIView):
    """The ISO codes of the countries of connectable banks (for a country filter)."""

    def get(self, request: Request) -> Response:
        self.check_may_link()
        return Response(services.catalogue_countries(request=self.http_request))


@operation(
    tags=["connectors"],
    operation_id="connectors_retrieve",
    summary="A bank and how to connect it",
    parameters=[s.ConnectorDetailQuerySerializer],
    responses={200: s.ConnectOptionsSerializer, **_errors(*COMMON, 404)},
    examples=[examples.CONNECT_OPTIONS],
)
class ConnectorDetailView(PowensAPIView):
    """A bank with its usable sources and the login method of the chosen one; for
    credentials, the form to render (field types, patterns, choices)."""

    def get(self, request: Request, uuid: str) -> Response:
        self.check_may_link()
        if len(uuid) > 64 or not uuid.isprintable():
            raise not_found()
        query = self.validated(s.ConnectorDetailQuerySerializer, request.query_params)
        connector = services.get_connectable_connector(uuid[:64], request=self.http_request)
        options = services.connect_options(connector, source=query.get("source"))
        if query.get("source") and options.source_name != query["source"]:
            raise InvalidInput({"source": [_("This bank has no such source.")]})
        mode = services.link_mode(
            connector=connector, auth_mechanism=options.mechanism, request=self.http_request
        )
        return Response(s.ConnectOptionsSerializer(options, context={"mode": mode}).data)


# -- linking ------------------------------------------------------------------------------


@operation(
    tags=["linking"],
    operation_id="webauth_create",
    summary="Start linking a bank on a website (the bank's, or Powens' Webview)",
    request=s.WebauthSerializer,
    responses={201: s.WebauthLinkSerializer, **_errors(*COMMON, 404, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
    examples=[examples.WEBAUTH_REQUEST, examples.WEBAUTH_LINK],
)
class WebauthView(PowensAPIView):
    """A link for a new connection: to the bank's website, or to Powens' Webview when
    the site links this bank there (``POWENS["LINK_MODE"]``, the adapter's
    ``get_link_mode``). Open ``url``; the browser comes back to the site's
    ``redirect_uri`` with a ``state`` bound to this user (and, for a client signed in by
    session, to its session), single-use and short-lived: post that query to
    ``callback/``."""

    throttle_scope = LINK_SCOPE

    def post(self, request: Request) -> Response:
        data = self.validated(s.WebauthSerializer, request.data)
        self.check_may_link()
        connector = services.get_connectable_connector(data["connector"], request=self.http_request)
        options = services.connect_options(connector, source=data.get("source"))
        if data.get("source") and options.source_name != data["source"]:
            raise InvalidInput({"source": [_("This bank has no such source.")]})
        mode = services.link_mode(
            connector=connector, auth_mechanism=options.mechanism, request=self.http_request
        )
        if mode == "webview":
            start = services.start_webview(
                request.user,
                "connect",
                connector=connector,
                session_key=self.session_key(),
                next_url=data.get("next", ""),
                request=self.http_request,
            )
            return Response(_link(start), status=status.HTTP_201_CREATED)
        if options.mechanism != "webauth":
            raise services.ConnectorUnavailable(
                f"Connector {connector.uuid} logs in by {options.mechanism!r}, not webauth",
                message=_("This bank is not linked on its website: use its form instead.")
                if options.mechanism == "credentials"
                else None,
            )
        start = services.start_webauth(
            request.user,
            connector=connector,
            source=options.source_name,
            session_key=self.session_key(),
            next_url=data.get("next", ""),
            request=self.http_request,
        )
        return Response(_link(start), status=status.HTTP_201_CREATED)


def _link(start: services.WebauthStart) -> dict[str, Any]:
    return {"url": start.url, "expires_in": int(powens_settings.STATE_MAX_AGE)}


@operation(
    tags=["linking"],
    operation_id="webview_create",
    summary="Visit Powens' Webview: banks chosen there, or the linked banks managed",
    request=s.WebviewSerializer,
    responses={201: s.WebauthLinkSerializer, **_errors(*COMMON, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
)
class WebviewView(PowensAPIView):
    """A link to Powens' Webview (webview mode, docs/webview.md): ``connect`` to link
    banks chosen in its own picker (several in one visit), ``manage`` to see and manage
    the linked banks there. Finish it with ``callback/``, as any link."""

    throttle_scope = LINK_SCOPE

    def post(self, request: Request) -> Response:
        data = self.validated(s.WebviewSerializer, request.data)
        self.check_may_link()
        start = services.start_webview(
            request.user,
            data["flow"],
            session_key=self.session_key(),
            next_url=data.get("next", ""),
            request=self.http_request,
        )
        return Response(_link(start), status=status.HTTP_201_CREATED)


@operation(
    tags=["linking"],
    operation_id="callback_create",
    summary="Finish a link: post what the bank sent back",
    request=s.CallbackSerializer,
    responses={200: s.CallbackOutcomeSerializer, **_errors(*COMMON, 404, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
    examples=[examples.CALLBACK_REQUEST, examples.CALLBACK_OUTCOME],
)
class CallbackView(PowensAPIView):
    """Post the query the browser came back with (``state``, ``id_connection`` or
    ``connection_id``/``connection_ids``, or ``error``). A state that is not this
    user's, unknown, used or expired is a 400 ``invalid_callback`` and changes nothing;
    a cancelled or failed link is an outcome (``cancelled``, ``failed``)."""

    throttle_scope = LINK_SCOPE

    def post(self, request: Request) -> Response:
        data = self.validated(s.CallbackSerializer, request.data)
        params = {key: value for key, value in data.items() if value}
        outcome = services.finish_callback(request.user, params, session_key=self.session_key())
        return Response(s.CallbackOutcomeSerializer(outcome).data)


# -- connections --------------------------------------------------------------------------


def _user_connections(user: Any) -> Any:
    return (
        services.user_connections(user)
        .prefetch_related("accounts")
        .order_by("-created", "-powens_id")
    )


@extend_schema(tags=["connections"])
class ConnectionListView(PowensAPIView, generics.ListAPIView):
    """The person's linked banks (GET), or a new one from credentials (POST)."""

    serializer_class = s.ConnectionSerializer
    pagination_class = None

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = LINK_SCOPE if self.request.method == "POST" else READ_SCOPE
        return super().get_throttles()

    def get_queryset(self) -> Any:
        return _user_connections(self.request.user)

    @operation(
        operation_id="connections_list",
        summary="The person's linked banks",
        responses={200: s.ConnectionSerializer(many=True), **_errors(*COMMON)},
        examples=[examples.CONNECTION_LIST],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @operation(
        operation_id="connections_create",
        summary="Link a bank with the credentials typed in its form",
        request=s.CredentialsSerializer,
        responses={
            201: s.OutcomeSerializer,
            **_errors(*COMMON, 404, *POWENS_FAILURES),
        },
        parameters=[RETRY_AFTER],
        examples=[
            examples.CREDENTIALS_REQUEST,
            examples.OUTCOME_NEEDS_FIELDS,
            examples.WRONG_CREDENTIALS,
            examples.INVALID_VALUES,
        ],
    )
    @sensitive_variables("data", "form", "values")
    def post(self, request: Request) -> Response:
        """The values are checked with the bank's form rules (400 ``invalid`` with
        ``fields``), sent to Powens and forgotten: never stored, logged or echoed. A
        refusal by the bank is a 400 (``wrong_credentials``, ``action_needed``) or a 503
        (``temporary_error``) and creates nothing; otherwise the outcome routes on."""
        data = self.validated(s.CredentialsSerializer, request.data)
        self.check_may_link()
        connector = services.get_connectable_connector(data["connector"], request=self.http_request)
        options = services.connect_options(connector, source=data.get("source"))
        if data.get("source") and options.source_name != data["source"]:
            raise InvalidInput({"source": [_("This bank has no such source.")]})
        mode = services.link_mode(
            connector=connector, auth_mechanism=options.mechanism, request=self.http_request
        )
        if mode == "webview":
            raise services.ConnectorUnavailable(
                f"Connector {connector.uuid} is linked on Powens' Webview here",
                message=_("This bank is linked on our partner's page: create a web link instead."),
            )
        if options.mechanism != "credentials":
            raise services.ConnectorUnavailable(
                f"Connector {connector.uuid} logs in by {options.mechanism!r}, not credentials",
                message=_("This bank is linked on its website: create a web link instead.")
                if options.mechanism == "webauth"
                else None,
            )
        values = _checked_values(options.fields, data["values"])
        outcome = services.add_credentials_connection(
            request.user, connector, values, source=options.source_name, request=self.http_request
        )
        if outcome.connection is None and not outcome.ok:
            return _refusal(outcome)
        return Response(s.OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)


@sensitive_variables("values", "form")
def _checked_values(definitions: list[dict[str, Any]], values: dict[str, str]) -> dict[str, str]:
    """The values as Powens wants them, checked with the pages' form rules; a 400
    naming each problem (never a value) otherwise."""
    form = ConnectorFieldsForm(definitions, data=values)
    problems = form_errors(form.errors, prefix="values.") if not form.is_valid() else {}
    unknown = sorted(set(values) - set(form.fields))
    for name in unknown[:20]:
        problems.setdefault(f"values.{name[:64]}", []).append(
            str(_("This bank's form has no such field."))
        )
    if problems:
        raise InvalidInput(problems)
    return form.powens_values()


def _refusal(outcome: services.Outcome) -> Response:
    """The bank refused a new connection: nothing was made, the person tries again."""
    temporary = outcome.kind == services.OutcomeKind.TEMPORARY_ERROR
    retry = 60 if temporary else None
    return Response(
        error_body(str(outcome.kind), outcome.text, retry_after=retry),
        status=status.HTTP_503_SERVICE_UNAVAILABLE if temporary else status.HTTP_400_BAD_REQUEST,
        headers={"Retry-After": str(retry)} if retry else None,
    )


@operation(
    tags=["connections"],
    operation_id="connections_refresh_all",
    summary="Fetch the person's banks from Powens again",
    request=None,
    responses={200: s.ConnectionSerializer(many=True), **_errors(*COMMON, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
)
class RefreshAllView(PowensAPIView):
    """Read the person's connections from Powens again (and adopt any the site
    missed); answers the list."""

    throttle_scope = ACTION_SCOPE

    def post(self, request: Request) -> Response:
        services.fetch_connections(request.user)
        connections = _user_connections(request.user)
        return Response(s.ConnectionSerializer(connections, many=True).data)


class ConnectionDetailView(PowensAPIView):
    """One of the person's linked banks."""

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = ACTION_SCOPE if self.request.method == "DELETE" else READ_SCOPE
        return super().get_throttles()

    @operation(
        tags=["connections"],
        operation_id="connections_retrieve",
        summary="A linked bank: state, what it calls for, sources, accounts",
        responses={200: s.ConnectionSerializer, **_errors(*COMMON, 404)},
        examples=[examples.CONNECTION],
    )
    def get(self, request: Request, powens_id: str) -> Response:
        connection = self.connection(powens_id)
        connection = _user_connections(request.user).get(pk=connection.pk)
        return Response(s.ConnectionSerializer(connection).data)

    @operation(
        tags=["connections"],
        operation_id="connections_destroy",
        summary="Disconnect a bank (at Powens first; permanent)",
        responses={204: None, **_errors(*COMMON, 404, *POWENS_FAILURES)},
        parameters=[RETRY_AFTER],
    )
    def delete(self, request: Request, powens_id: str) -> Response:
        services.delete_connection(self.connection(powens_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _outcome_endpoint(
    operation_id: str, summary: str, request_serializer: Any = None
) -> Callable[[type], type]:
    return operation(
        tags=["connections"],
        operation_id=operation_id,
        summary=summary,
        request=request_serializer,
        responses={200: s.OutcomeSerializer, **_errors(*COMMON, 404, *POWENS_FAILURES)},
        parameters=[RETRY_AFTER],
        examples=[examples.OUTCOME_CONNECTED],
    )


@_outcome_endpoint("connections_sync", "Synchronize now (the person asked)")
class SyncView(PowensAPIView):
    """Fresh data now, at the person's request; ``SCARequired`` is cleared with the
    empty update Powens asks for. Answers the outcome; 409 ``not_offered`` when the
    state does not call for it (waiting for the person, or for Powens' own retry)."""

    throttle_scope = ACTION_SCOPE

    def post(self, request: Request, powens_id: str) -> Response:
        connection = self.connection(powens_id)
        self.offered(connection, services.Action.SYNC, services.Action.REAUTHENTICATE)
        outcome = services.sync_now(connection)
        return Response(s.OutcomeSerializer(outcome).data)


@_outcome_endpoint("connections_refresh", "Read a bank's state from Powens again")
class RefreshView(PowensAPIView):
    """Read the connection again (GETs at Powens only): poll it while it is
    ``validating``. ``deleted`` when Powens no longer has it."""

    throttle_scope = ACTION_SCOPE

    def post(self, request: Request, powens_id: str) -> Response:
        outcome = services.refresh_connection(self.connection(powens_id))
        return Response(s.OutcomeSerializer(outcome).data)


@_outcome_endpoint(
    "connections_resume", "Continue once confirmed in the bank's app", s.ResumeSerializer
)
class ResumeView(PowensAPIView):
    """For a ``decoupled`` connection, once the person confirmed in their bank's app.
    In the background by default: the outcome is then ``validating``; poll
    ``refresh/``. 409 ``not_offered`` for a connection in another state."""

    throttle_scope = ACTION_SCOPE

    def post(self, request: Request, powens_id: str) -> Response:
        data = self.validated(s.ResumeSerializer, request.data)
        connection = self.connection(powens_id)
        self.offered(connection, services.Action.RESUME)
        outcome = services.resume_decoupled(connection, background=data["background"])
        return Response(s.OutcomeSerializer(outcome).data)


@operation(
    tags=["connections"],
    operation_id="connections_reconnect",
    summary="Repair a bank on a website (the bank's, or Powens' Webview)",
    request=s.ReconnectSerializer,
    responses={201: s.WebauthLinkSerializer, **_errors(*COMMON, 404, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
)
class ReconnectView(PowensAPIView):
    """A link to repair the connection (SCA, consent renewal, reconnection, and in
    webview mode new credentials or the bank's questions) on the bank's website or
    Powens' Webview; finish it like a new link, with ``callback/``. 409 ``not_offered``
    when its state does not call for it, ``nothing_to_repair`` when Powens says it
    needs nothing."""

    throttle_scope = LINK_SCOPE

    def post(self, request: Request, powens_id: str) -> Response:
        data = self.validated(s.ReconnectSerializer, request.data)
        connection = self.connection(powens_id)
        if services.link_mode(connection=connection, request=self.http_request) == "webview":
            # Powens' Webview repairs whatever the state calls for, credentials included.
            self.offered(connection, *WEBVIEW_REPAIRS)
            start = services.start_webview(
                request.user,
                "reconnect",
                connection=connection,
                reset_credentials=data.get("reset_credentials"),
                session_key=self.session_key(),
                next_url=data.get("next", ""),
                request=self.http_request,
            )
            return Response(_link(start), status=status.HTTP_201_CREATED)
        self.offered(connection, services.Action.RECONNECT)
        source = None
        if data.get("source"):
            source = connection.sources.filter(name=data["source"]).first()
            if source is None:
                raise InvalidInput({"source": [_("This connection has no such source.")]})
        start = services.start_webauth(
            request.user,
            connection=connection,
            source=source.name if source else None,
            session_key=self.session_key(),
            next_url=data.get("next", ""),
            request=self.http_request,
        )
        return Response(_link(start), status=status.HTTP_201_CREATED)


class FieldsView(PowensAPIView):
    """What to ask the person (GET: an OTP, or the credentials again), and their
    answer (POST)."""

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = ACTION_SCOPE if self.request.method == "POST" else READ_SCOPE
        return super().get_throttles()

    @operation(
        tags=["connections"],
        operation_id="connections_fields_retrieve",
        summary="What the bank asks",
        responses={200: s.FieldsRequestSerializer, **_errors(*COMMON, 404)},
    )
    def get(self, request: Request, powens_id: str) -> Response:
        connection = self.connection(powens_id)
        self.not_on_webview(connection)
        asked = services.fields_request(connection)
        return Response(s.FieldsRequestSerializer(asked, context={"connection": connection}).data)

    @operation(
        tags=["connections"],
        operation_id="connections_fields_create",
        summary="Answer the bank (an OTP, new credentials)",
        request=s.FieldValuesSerializer,
        responses={200: s.OutcomeSerializer, **_errors(*COMMON, 404, *POWENS_FAILURES)},
        parameters=[RETRY_AFTER],
        examples=[examples.OTP_REQUEST, examples.OUTCOME_CONNECTED],
    )
    @sensitive_variables("data", "values")
    def post(self, request: Request, powens_id: str) -> Response:
        """Checked with the form rules of what is asked (400 ``invalid``), sent to
        Powens and forgotten. The outcome may ask again (``needs_fields``,
        ``wrong_credentials``, with the bank's words). 409 ``nothing_to_ask`` when
        there is nothing to type for this connection."""
        data = self.validated(s.FieldValuesSerializer, request.data)
        connection = self.connection(powens_id)
        self.not_on_webview(connection)
        asked = services.fields_request(connection)
        if not asked.fields:
            raise Conflict(
                "nothing_to_ask",
                _("Your bank asks nothing to type here. Use the other actions instead."),
            )
        values = _checked_values(asked.fields, data["values"])
        outcome = services.submit_connection_fields(connection, values)
        return Response(s.OutcomeSerializer(outcome).data)


class SourceToggleView(PowensAPIView):
    """Enable or disable one source of a connection (the ``enable`` given by the URL)."""

    throttle_scope = ACTION_SCOPE
    enable = True

    def post(self, request: Request, powens_id: str, source_id: str) -> Response:
        connection = self.connection(powens_id)
        key = s.parse_id(source_id)
        if key is None:
            raise not_found()
        source = services.get_connection_source(connection, key)
        outcome = services.set_source_enabled(source, self.enable)
        return Response(s.OutcomeSerializer(outcome).data)


@_outcome_endpoint("connections_sources_enable", "Enable a source")
class SourceEnableView(SourceToggleView):
    """Enable a source of the connection."""

    enable = True


@_outcome_endpoint("connections_sources_disable", "Disable a source")
class SourceDisableView(SourceToggleView):
    """Disable a source of the connection (Powens stops synchronizing it)."""

    enable = False


@operation(
    tags=["connections"],
    operation_id="connections_logs",
    summary="A bank's synchronization history",
    responses={200: s.LogSerializer(many=True), **_errors(*COMMON, 404, *POWENS_FAILURES)},
    parameters=[RETRY_AFTER],
)
class LogsView(PowensAPIView):
    """The connection's last 50 synchronizations, newest first."""

    def get(self, request: Request, powens_id: str) -> Response:
        rows = services.connection_history(self.connection(powens_id), limit=50)
        return Response(s.LogSerializer(rows, many=True).data)


__all__ = [
    "ACTION_SCOPE",
    "LINK_SCOPE",
    "READ_SCOPE",
    "CallbackView",
    "ConnectionDetailView",
    "ConnectionListView",
    "ConnectorDetailView",
    "ConnectorListView",
    "CountryListView",
    "FieldsView",
    "LogsView",
    "PowensAPIView",
    "PowensPagination",
    "PowensScopedRateThrottle",
    "ReconnectView",
    "RefreshAllView",
    "RefreshView",
    "ResumeView",
    "SourceDisableView",
    "SourceEnableView",
    "SyncView",
    "WebauthView",
    "WebviewView",
]
