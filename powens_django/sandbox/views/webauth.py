"""Web authorization: /webauth-url, /webauth, and the sandbox bank's own page.

The bank page is another party than the site that sent the person there: it carries
its own unguessable, single-use flow id in its URL and does not depend on the site's
cookies or CSRF token (its forms are CSRF-exempt; the flow id is the secret).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from .. import bank, config, webhooks
from ..models import Connection, Connector, User, WebauthFlow
from ..wire import ApiError, error_response, integer, json_response, new_request_id, now
from .auth import take_code
from .base import authenticate_user, endpoint

_HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _check_redirect_uri(value: str | None) -> str:
    """``value`` if it is a registered redirect URI, else Powens' 400 answer.

    Powens sends the person back only to a ``redirect_uri`` registered in its console;
    the sandbox only to one of ``POWENS_SANDBOX["REDIRECT_URIS"]`` (see
    :func:`config.redirect_uri_key` for what matching means). Anything else would make
    the bank page an open redirect.
    """
    if not value:
        raise ApiError(400, "missingParameter", "redirect_uri is required")
    problem = config.redirect_uri_problem(value)
    if problem is not None:
        raise ApiError(400, "invalidValue", problem)
    if not config.is_registered_redirect_uri(value):
        raise ApiError(
            400,
            "invalidValue",
            "redirect_uri is not registered for this client application: add it to "
            f'{config.SETTING_NAME}["REDIRECT_URIS"] (same scheme, host, port and path)',
        )
    return value


def _start_flow(request: HttpRequest, user: User) -> WebauthFlow:
    """Check the parameters shared by /webauth-url and /webauth and open a bank page."""
    params = request.GET
    client_id = params.get("client_id")
    if not client_id:
        raise ApiError(400, "missingParameter", "client_id is required")
    if client_id not in config.clients() or (user.client_id and user.client_id != client_id):
        raise ApiError(403, "forbidden", f"client_id {client_id} cannot act for this user")
    redirect_uri = _check_redirect_uri(params.get("redirect_uri"))
    source = params.get("source") or None
    names = ("id_connector", "connector_uuid", "id_connection")
    targets = [name for name in names if params.get(name)]
    if len(targets) != 1:
        raise ApiError(
            400, "missingParameter", "Give one of id_connector, connector_uuid, id_connection"
        )
    connection: Connection | None = None
    if targets[0] == "id_connection":
        connection_id = integer(params["id_connection"], "id_connection", minimum=1)
        bank.settle_pending(Connection.objects.filter(pk=connection_id, user=user))
        connection = (
            Connection.objects.select_related("connector")
            .filter(pk=connection_id, user=user)
            .first()
        )
        if connection is None:
            raise ApiError(404, "notFound", f"No connection {connection_id}")
        if not bank.needs_webauth(connection, source):
            raise ApiError(
                409,
                "invalidValue",
                "The connection is up to date: there is nothing to authorize",
            )
        connector = connection.connector
    else:
        connector = _connector(params)
        if connector.restricted:
            raise ApiError(
                400, "invalidValue", f"{connector.name} is restricted: no new connection"
            )
    # Fails now (400) rather than on the bank page when nothing takes webauth.
    bank.pick_sources(connector, "webauth", source)
    return WebauthFlow.objects.create(
        token=secrets.token_urlsafe(32),
        user=user,
        client_id=client_id,
        connector=connector,
        connection=connection,
        source=source,
        redirect_uri=redirect_uri,
        state=params.get("state"),
        created=now(),
        expires=now() + dt.timedelta(seconds=int(config.get("WEBAUTH_TTL"))),
    )


def _connector(params: Any) -> Connector:
    query = Connector.objects.all()
    if params.get("connector_uuid"):
        try:
            query = query.filter(uuid=uuid.UUID(params["connector_uuid"]))
        except ValueError:
            raise ApiError(400, "invalidValue", "connector_uuid is not a UUID") from None
    else:
        query = query.filter(pk=integer(params["id_connector"], "id_connector", minimum=1))
    row = query.first()
    if row is None:
        raise ApiError(404, "notFound", "No such connector")
    return row


def _bank_url(request: HttpRequest, flow: WebauthFlow) -> str:
    return request.build_absolute_uri(reverse("powens_sandbox:bank", args=[flow.token]))


def _webauth_url(request: HttpRequest) -> HttpResponse:
    """``GET /webauth-url``: a WebauthURL object pointing at the sandbox bank page."""
    user, _ = authenticate_user(request)
    flow = _start_flow(request, user)
    return json_response({"url": _bank_url(request, flow)})


webauth_url = endpoint({"GET": _webauth_url})


def _webauth(request: HttpRequest) -> HttpResponse:
    """``GET /webauth?token=<temporary code>``: the same, as a browser redirect (307,
    the reference page's status)."""
    # Checked before the single-use code is spent: a refused call changes nothing.
    _check_redirect_uri(request.GET.get("redirect_uri"))
    code = take_code(request.GET.get("token"))
    flow = _start_flow(request, code.user)
    return HttpResponseRedirect(_bank_url(request, flow), status=307)


webauth = endpoint({"GET": _webauth}, inject_faults=False)


# -- the bank page ------------------------------------------------------------------


def _redirect(flow: WebauthFlow, params: dict[str, Any]) -> HttpResponse:
    if flow.state is not None:
        params["state"] = flow.state
    return HttpResponseRedirect(f"{flow.redirect_uri}?{urlencode(params)}", status=303)


@csrf_exempt
def bank_page(request: HttpRequest, token: str) -> HttpResponse:
    """The sandbox bank: a page with Approve, Cancel and Fail buttons."""
    webhooks.begin_request()
    flow = (
        WebauthFlow.objects.select_related("connector", "connection", "user")
        .filter(token=token)
        .first()
    )
    if flow is None or flow.used is not None or flow.expires <= now():
        return render(request, "powens_sandbox/bank_closed.html", status=410)
    try:
        # The setting may have changed since the page was opened: still no open redirect.
        _check_redirect_uri(flow.redirect_uri)
    except ApiError as error:
        return error_response(error, new_request_id())
    connector = flow.connector
    color = connector.color if connector.color and _HEX_COLOR.match(connector.color) else "1d4281"
    if request.method == "GET":
        return render(
            request,
            "powens_sandbox/bank.html",
            {
                "flow": flow,
                "connector": connector,
                "color": color,
                "repair": flow.connection is not None,
                "action_url": request.path,
            },
        )
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    with transaction.atomic():
        claimed = WebauthFlow.objects.filter(pk=flow.pk, used__isnull=True).update(used=now())
    if not claimed:
        return render(request, "powens_sandbox/bank_closed.html", status=410)
    action = request.POST.get("action")
    if action == "approve":
        try:
            connection = bank.approve_webauth(flow.user, connector, flow.connection, flow.source)
        except ApiError as error:
            description = error.description
            return _redirect(flow, {"error": "server_error", "error_description": description})
        return _redirect(flow, {"id_connection": connection.pk})
    if action == "cancel":
        return _redirect(flow, {"error": "access_denied"})
    return _redirect(
        flow,
        {
            "error": "server_error",
            "error_description": "The sandbox bank failed on purpose (Fail button)",
        },
    )


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Unknown API routes answer Powens' JSON 404."""
    error = ApiError(404, "notFound", f"No such endpoint: /{path}")
    return error_response(error, new_request_id())
