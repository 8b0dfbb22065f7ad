"""The sandbox's hosted Webview, imitating Powens' (https://webview.powens.com).

The site redirects the browser to ``{WEBVIEW_URL}/{lang}/{flow}/?domain&client_id&
redirect_uri&code&state`` (plus ``connector_uuids`` for ``connect``, ``connection_id``
and ``reset_credentials`` for ``reconnect``). Every parameter is checked before the
single-use ``code`` is spent; a refused visit gets a plain 400 page that redirects
nowhere. An accepted one becomes a :class:`~..models.WebviewVisit` whose unguessable
id is in every later URL; its pages are forms of this same Django site, CSRF-protected.

It ends by redirecting to ``redirect_uri`` once (the visit is then closed):
``connection_id`` + ``connection_ids`` on success, ``error`` + ``error_description``
otherwise, ``state`` as given in both. Connections are created, repaired and deleted
through :mod:`..bank`, the code the API uses, so rows and webhooks are the same.
Credentials typed here are handed to :mod:`..bank` and forgotten: never stored, logged
or rendered back into a form.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import bank, config, webhooks
from ..models import Connection, Connector, TemporaryCode, WebviewVisit
from ..webview_text import TEMPORARY_STATES, language, state_label, texts
from ..wire import ApiError, boolean, now
from .auth import take_code

NAMESPACE = "powens_sandbox_webview"
FLOWS = (WebviewVisit.CONNECT, WebviewVisit.RECONNECT, WebviewVisit.MANAGE)
STATE_MAX_LENGTH = 200
#: How many banks the picker lists at most.
PICKER_LIMIT = 50

#: The Webview's own errors, reachable on purpose in the sandbox: a login typed in any
#: credentials form, or a button of the "Sandbox" box of every page.
SPECIAL_ERRORS = {
    "tos_declined": "The user declined the terms of service (sandbox scenario)",
    "server_error": "The Webview failed (sandbox scenario)",
    "session_expired": "The Webview session expired (sandbox scenario)",
}
#: States in which the Webview keeps the person on the connection's page.
IN_PROGRESS = frozenset({"additionalInformationNeeded", "decoupled", "validating", "wrongpass"})

View = Callable[..., HttpResponse]

_HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _color(connector: Connector) -> str | None:
    """The connector's colour for the page's buttons, when it is a plain hex colour."""
    return connector.color if connector.color and _HEX_COLOR.match(connector.color) else None


class Refused(Exception):
    """A Webview URL the sandbox will not open: shown on a plain 400 page."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


# -- plain pages --------------------------------------------------------------------


def _page(
    request: HttpRequest, template: str, lang: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(
        request,
        f"powens_sandbox/webview/{template}",
        {"t": texts(lang), "lang": language(lang), **context},
        status=status,
    )
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    # The visit's id is in the URL: keep it out of Referer headers sent elsewhere.
    response["Referrer-Policy"] = "same-origin"
    return response


def _error_page(
    request: HttpRequest, lang: str, description: str, status: int = 400
) -> HttpResponse:
    return _page(request, "error.html", lang, {"description": description}, status)


def _closed_page(request: HttpRequest, lang: str) -> HttpResponse:
    return _page(request, "closed.html", lang, {}, status=410)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Anything else under the Webview: a plain 404 page."""
    lang = language(path.split("/", 1)[0] if "/" in path else "")
    return _page(request, "not_found.html", lang, {}, status=404)


# -- opening a visit ----------------------------------------------------------------


def _connector_uuids(raw: str) -> list[str]:
    values: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        try:
            value = str(uuid.UUID(item))
        except ValueError:
            raise Refused(
                f"connector_uuids must be comma-separated UUIDs: {item!r} is not one"
            ) from None
        if value not in values:
            values.append(value)
    known = {
        str(u) for u in Connector.objects.filter(uuid__in=values).values_list("uuid", flat=True)
    }
    unknown = [value for value in values if value not in known]
    if unknown:
        raise Refused(f"connector_uuids names no connector of the catalogue: {', '.join(unknown)}")
    return values


def _check(request: HttpRequest, flow: str) -> dict[str, Any]:
    """Every check that needs no code; the visit's values."""
    params = request.GET
    if flow not in FLOWS:
        raise Refused(f"Unknown flow {flow!r}: use connect, reconnect or manage")
    client_id = params.get("client_id")
    if not client_id:
        raise Refused("client_id is required")
    if client_id not in config.clients():
        raise Refused(f"Unknown client_id {client_id!r}")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise Refused("redirect_uri is required")
    problem = config.redirect_uri_problem(redirect_uri)
    if problem is not None:
        raise Refused(problem)
    if not config.is_registered_redirect_uri(redirect_uri):
        raise Refused(
            "redirect_uri is not registered for this client application: add it to "
            f'{config.SETTING_NAME}["REDIRECT_URIS"]'
        )
    domain = (params.get("domain") or "").strip().lower()
    if not domain:
        raise Refused("domain is required")
    if domain != request.get_host().lower() and domain not in config.webview_domains():
        raise Refused(
            f"Unknown domain {domain!r}: use this sandbox's host[:port] or add it to "
            f'{config.SETTING_NAME}["WEBVIEW_DOMAINS"]'
        )
    state = params.get("state")
    if state is not None and len(state) > STATE_MAX_LENGTH:
        raise Refused(f"state is longer than {STATE_MAX_LENGTH} characters")
    values: dict[str, Any] = {
        "flow": flow,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "connector_uuids": [],
        "connection_id": None,
        "reset_credentials": False,
    }
    if flow == WebviewVisit.CONNECT and (params.get("connector_uuids") or "").strip():
        values["connector_uuids"] = _connector_uuids(params["connector_uuids"])
    if flow == WebviewVisit.RECONNECT:
        raw = (params.get("connection_id") or "").strip()
        if not raw:
            raise Refused("connection_id is required to reconnect")
        if not raw.isdigit() or int(raw) < 1:
            raise Refused(f"connection_id must be a positive integer, not {raw!r}")
        values["connection_id"] = int(raw)
        try:
            values["reset_credentials"] = boolean(
                params.get("reset_credentials", "false"), "reset_credentials"
            )
        except ApiError as error:
            raise Refused(error.description) from None
    if not params.get("code"):
        raise Refused("code is required (a temporary code from /auth/token/code)")
    return values


@transaction.atomic
def _open_visit(request: HttpRequest, lang: str, flow: str) -> WebviewVisit:
    values = _check(request, flow)
    raw_code = request.GET["code"]
    # Looked at before it is spent: a refused visit leaves the code usable.
    code = TemporaryCode.objects.select_related("user").filter(code=raw_code).first()
    if code is None or code.used is not None or code.expires <= now():
        raise Refused("Unknown, expired or already used code")
    user = code.user
    if user.client_id and user.client_id != values["client_id"]:
        raise Refused(f"client_id {values['client_id']} cannot act for this user")
    connection = None
    if values["connection_id"] is not None:
        connection = Connection.objects.filter(pk=values["connection_id"], user=user).first()
        if connection is None:
            raise Refused(f"No connection {values['connection_id']} for this user")
    try:
        take_code(raw_code)
    except ApiError as error:
        raise Refused(error.description) from None
    moment = now()
    return WebviewVisit.objects.create(
        token=secrets.token_urlsafe(32),
        user=user,
        client_id=values["client_id"],
        redirect_uri=values["redirect_uri"],
        state=values["state"],
        lang=language(lang),
        flow=flow,
        connector_uuids=values["connector_uuids"],
        connection=connection,
        reset_credentials=values["reset_credentials"],
        created=moment,
        expires=moment + dt.timedelta(seconds=int(config.get("CODE_TTL"))),
    )


def start(request: HttpRequest, lang: str, flow: str) -> HttpResponse:
    """``GET {WEBVIEW_URL}/{lang}/{flow}/?...``: check, open a visit, show its first page."""
    webhooks.begin_request()
    lang = language(lang)
    if request.method != "GET":
        # Not even HEAD: a link previewer must not spend the person's code.
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        visit = _open_visit(request, lang, flow)
    except Refused as refused:
        return _error_page(request, lang, refused.description)
    return _redirect_to(visit, "home")


# -- a visit's pages ----------------------------------------------------------------


def _url(visit: WebviewVisit, name: str, *args: Any) -> str:
    return reverse(f"{NAMESPACE}:{name}", args=[visit.token, *args])


def _redirect_to(visit: WebviewVisit, name: str, *args: Any, query: str = "") -> HttpResponse:
    return HttpResponseRedirect(
        _url(visit, name, *args) + (f"?{query}" if query else ""), status=303
    )


def _end(request: HttpRequest, visit: WebviewVisit, params: dict[str, Any]) -> HttpResponse:
    """Close the visit and send the person back to the site (once)."""
    claimed = WebviewVisit.objects.filter(pk=visit.pk, finished__isnull=True).update(finished=now())
    if not claimed:
        return _closed_page(request, visit.lang)
    if visit.state is not None:
        params["state"] = visit.state
    return HttpResponseRedirect(f"{visit.redirect_uri}?{urlencode(params)}", status=303)


def _end_with_error(
    request: HttpRequest, visit: WebviewVisit, code: str, description: str
) -> HttpResponse:
    return _end(request, visit, {"error": code, "error_description": description})


def _finish(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    """The success return: the connections of this visit that still exist."""
    existing = set(
        Connection.objects.filter(user=visit.user, pk__in=visit.connection_ids).values_list(
            "pk", flat=True
        )
    )
    ids = [pk for pk in visit.connection_ids if pk in existing]
    params: dict[str, Any] = {}
    if ids:
        params["connection_id"] = ids[-1]
        params["connection_ids"] = ",".join(str(pk) for pk in ids)
    return _end(request, visit, params)


def visit_page(view: View) -> View:
    """Load the visit named in the URL: a closed or unknown one is a 410 page, an
    expired one ends with ``session_expired``."""

    @functools.wraps(view)
    @csrf_protect
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        webhooks.begin_request()
        visit = (
            WebviewVisit.objects.select_related("user", "connection").filter(token=token).first()
        )
        if visit is None or visit.finished is not None:
            return _closed_page(request, visit.lang if visit else "en")
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        if not config.is_registered_redirect_uri(visit.redirect_uri):
            # Unregistered since the visit began: still no open redirect.
            return _error_page(request, visit.lang, "redirect_uri is no longer registered")
        if visit.expires <= now():
            return _end_with_error(request, visit, "session_expired", "The Webview session expired")
        return view(request, visit, *args, **kwargs)

    return wrapper


def _context(request: HttpRequest, visit: WebviewVisit, **extra: Any) -> dict[str, Any]:
    return {
        "visit": visit,
        "home_url": _url(visit, "home"),
        "end_url": _url(visit, "end"),
        "special_errors": list(SPECIAL_ERRORS),
        **extra,
    }


@visit_page
def end(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    """``POST .../end/``: Cancel, Finish, Done, or a sandbox error button."""
    if request.method != "POST":
        return _redirect_to(visit, "home")
    action = request.POST.get("action")
    if action == "cancel":
        return _end_with_error(request, visit, "access_denied", "The user cancelled the Webview")
    if action == "finish":
        return _finish(request, visit)
    if action in SPECIAL_ERRORS:
        return _end_with_error(request, visit, action, SPECIAL_ERRORS[action])
    return _redirect_to(visit, "home")


@visit_page
def home(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    """The first page of each flow: the bank picker, the connection, the list."""
    if visit.flow == WebviewVisit.RECONNECT:
        if visit.connection is None:
            return _end_with_error(request, visit, "server_error", "The connection was deleted")
        return _redirect_to(visit, "connection", visit.connection.pk)
    if visit.flow == WebviewVisit.MANAGE:
        return _manage_page(request, visit)
    if len(visit.connector_uuids) == 1 and not visit.connection_ids:
        return _redirect_to(visit, "bank", visit.connector_uuids[0])
    query = (request.GET.get("q") or "").strip()[:100]
    rows = Connector.objects.order_by("name", "id")
    if visit.connector_uuids:
        rows = rows.filter(uuid__in=visit.connector_uuids)
    else:
        rows = rows.exclude(hidden=True)
    if query:
        rows = rows.filter(name__icontains=query)
    banks = list(rows[: PICKER_LIMIT + 1])
    return _page(
        request,
        "picker.html",
        visit.lang,
        _context(
            request,
            visit,
            query=query,
            banks=[(row, _url(visit, "bank", str(row.uuid))) for row in banks[:PICKER_LIMIT]],
            more=len(banks) > PICKER_LIMIT,
        ),
    )


# -- credentials forms --------------------------------------------------------------


def _form_fields(fields: list[dict[str, Any]], chosen: dict[str, str] | None = None) -> list[dict]:
    """Field definitions ready for the template. Only a list's choice is shown again:
    typed values (logins, passwords, codes) are never rendered back."""
    result = []
    for item in fields:
        kind = item.get("type") or "text"
        result.append(
            {
                "name": item["name"],
                "label": item.get("label") or item["name"],
                "input": kind if kind in ("text", "password", "date", "list", "number") else "text",
                "required": bool(item.get("required")),
                "description": item.get("description"),
                "choices": [
                    {
                        "value": str(v.get("value")),
                        "label": v.get("label") or v.get("value"),
                        "selected": (chosen or {}).get(item["name"]) == str(v.get("value")),
                    }
                    for v in item.get("values") or []
                ],
            }
        )
    return result


@sensitive_variables("values")
def _posted_values(request: HttpRequest, fields: list[dict[str, Any]]) -> dict[str, str]:
    return {
        item["name"]: request.POST[item["name"]]
        for item in fields
        if request.POST.get(item["name"], "") != ""
    }


@sensitive_variables("values")
def _special_error(values: dict[str, str], fields: list[dict[str, Any]]) -> str | None:
    """A Webview error scenario picked by the login (or first non-password field)."""
    login = values.get("login")
    if login is None:
        for item in fields:
            if item.get("type") != "password" and item["name"] in values:
                login = values[item["name"]]
                break
    key = (login or "").strip().lower()
    return key if key in SPECIAL_ERRORS else None


def _chosen_lists(values: dict[str, str], fields: list[dict[str, Any]]) -> dict[str, str]:
    return {
        f["name"]: values[f["name"]]
        for f in fields
        if f.get("type") == "list" and f["name"] in values
    }


def _connector_allowed(visit: WebviewVisit, connector_uuid: str) -> Connector | None:
    rows = Connector.objects.filter(uuid=connector_uuid)
    if visit.connector_uuids:
        rows = rows.filter(uuid__in=visit.connector_uuids)
    else:
        rows = rows.exclude(hidden=True)
    return rows.first()


def _uses_webauth(connector: Connector, connection: Connection | None = None) -> bool:
    if connection is not None:
        mechanisms = {
            source.connector_source.auth_mechanism
            for source in connection.sources.select_related("connector_source")
            if source.disabled is None
        }
        if mechanisms:
            return "credentials" not in mechanisms
    return connector.auth_mechanism == "webauth"


@visit_page
@sensitive_post_parameters()
@sensitive_variables("values")
def bank_form(request: HttpRequest, visit: WebviewVisit, connector_uuid: str) -> HttpResponse:
    """A connect's bank: its credentials form, or its authorization page (webauth)."""
    connector = _connector_allowed(visit, connector_uuid) if visit.flow == "connect" else None
    if connector is None:
        return _page(request, "not_found.html", visit.lang, {}, status=404)
    webauth = _uses_webauth(connector)
    error: str | None = None
    fields: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    if not webauth:
        try:
            fields = bank.credentials_fields(connector)
        except ApiError as problem:
            error = problem.description
    if request.method == "POST" and connector.restricted:
        error = texts(visit.lang)["restricted"]
    elif request.method == "POST" and webauth:
        if request.POST.get("action") == "refuse":
            return _end_with_error(request, visit, "access_denied", "The user refused at the bank")
        try:
            connection = bank.approve_webauth(visit.user, connector, None, None)
        except ApiError as problem:
            return _end_with_error(request, visit, "server_error", problem.description)
        return _done(request, visit, connection)
    elif request.method == "POST" and error is None:
        values = _posted_values(request, fields)
        special = _special_error(values, fields)
        if special is not None:
            return _end_with_error(request, visit, special, SPECIAL_ERRORS[special])
        try:
            outcome = bank.create_connection(visit.user, connector, values, None)
        except ApiError as problem:
            error = problem.message or problem.description
        else:
            if outcome.status == 202:
                return _redirect_to(visit, "connection", outcome.connection.pk)
            return _done(request, visit, outcome.connection)
    back = (
        None
        if len(visit.connector_uuids) == 1 and not visit.connection_ids
        else _url(visit, "home")
    )
    return _page(
        request,
        "bank.html",
        visit.lang,
        _context(
            request,
            visit,
            connector=connector,
            color=_color(connector),
            webauth=webauth,
            restricted=connector.restricted,
            fields=_form_fields(fields, _chosen_lists(values, fields)),
            error=error,
            title="webauth_title" if webauth else "credentials_title",
            action_url=request.path,
            back_url=back,
        ),
    )


# -- a connection's steps -----------------------------------------------------------


def _step(visit: WebviewVisit, connection: Connection) -> str:
    """What the connection's page asks of the person."""
    if _uses_webauth(connection.connector, connection):
        return "webauth"
    if visit.flow == WebviewVisit.RECONNECT and visit.reset_credentials:
        return "credentials"
    state = connection.state
    if state == "additionalInformationNeeded":
        return "fields"
    if state in ("decoupled", "validating", "SCARequired"):
        return {"decoupled": "decoupled", "validating": "validating", "SCARequired": "sca"}[state]
    if state is None:
        return "uptodate"
    if state in TEMPORARY_STATES:
        return "retry"
    return "credentials"


def _visit_connection(visit: WebviewVisit, connection_id: int) -> Connection | None:
    """The connection a visit may work on: a reconnect's own, a connect's new ones, any
    of the person's in manage; never another user's."""
    rows = Connection.objects.filter(user=visit.user, pk=connection_id)
    bank.settle_pending(rows)
    connection = rows.select_related("connector").first()
    if connection is None:
        return None
    if visit.flow == WebviewVisit.RECONNECT and connection.pk != visit.connection_id:
        return None
    if (
        visit.flow == WebviewVisit.CONNECT
        and connection.created < visit.created
        and connection.pk not in visit.connection_ids
    ):
        return None
    return connection


def _done(request: HttpRequest, visit: WebviewVisit, connection: Connection) -> HttpResponse:
    """A connection was linked or repaired: record it and move on."""
    if connection.pk not in visit.connection_ids:
        visit.connection_ids = [*visit.connection_ids, connection.pk]
    visit.save(update_fields=["connection_ids", "reset_credentials"])
    if visit.flow == WebviewVisit.RECONNECT:
        return _finish(request, visit)
    if visit.flow == WebviewVisit.MANAGE:
        return _redirect_to(visit, "home", query=f"updated={connection.pk}")
    return _redirect_to(visit, "linked")


@visit_page
@sensitive_post_parameters()
@sensitive_variables("values")
def connection_page(request: HttpRequest, visit: WebviewVisit, connection_id: str) -> HttpResponse:
    """A connection's next step: OTP, decoupled validation, SCA, new credentials..."""
    connection = _visit_connection(visit, int(connection_id))
    if connection is None:
        return _page(request, "not_found.html", visit.lang, {}, status=404)
    step = _step(visit, connection)
    connector = connection.connector
    error: str | None = None
    fields: list[dict[str, Any]] = []
    if step == "fields":
        fields = list(connection.fields or [])
    elif step == "credentials":
        fields = bank.credentials_fields(connector, connection)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "refuse":
            return _end_with_error(request, visit, "access_denied", "The user refused at the bank")
        try:
            if step == "webauth":
                try:
                    connection = bank.approve_webauth(visit.user, connector, connection, None)
                except ApiError as problem:
                    return _end_with_error(request, visit, "server_error", problem.description)
                visit.reset_credentials = False
                return _done(request, visit, connection)
            if step == "validating":
                return _redirect_to(visit, "connection", connection.pk)
            data: dict[str, Any] = {}
            if step in ("fields", "credentials"):
                values = _posted_values(request, fields)
                special = _special_error(values, fields) if step == "credentials" else None
                if special is not None:
                    return _end_with_error(request, visit, special, SPECIAL_ERRORS[special])
                bank.validate_values(fields, values, require=True)
                data = values
            elif step == "decoupled":
                data = {"resume": True}
            outcome = bank.update_connection(connection, data, background=False, source_name=None)
            if outcome.wait_resume:
                bank.finish_blocking_resume(outcome.connection)
        except ApiError as problem:
            error = problem.message or problem.description
        else:
            if step == "credentials":
                visit.reset_credentials = False
                visit.save(update_fields=["reset_credentials"])
            connection.refresh_from_db()
            if outcome.error is None and connection.state not in IN_PROGRESS:
                return _done(request, visit, connection)
            return _redirect_to(visit, "connection", connection.pk)
    bank_message = connection.error_message if connection.state is not None else None
    if step == "credentials" and visit.reset_credentials:
        bank_message = None
    return _page(
        request,
        "connection.html",
        visit.lang,
        _context(
            request,
            visit,
            connection=connection,
            connector=connector,
            color=_color(connector),
            step=step,
            fields=_form_fields(fields),
            error=error,
            bank_message=bank_message,
            state_label=state_label(connection.state, visit.lang),
            action_url=request.path,
            back_url=_url(visit, "home") if visit.flow == WebviewVisit.MANAGE else None,
        ),
    )


# -- after linking, and the manage flow ---------------------------------------------


@visit_page
def linked(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    """After a success in a connect: link another bank, or finish."""
    if visit.flow != WebviewVisit.CONNECT:
        return _redirect_to(visit, "home")
    rows = {
        row.pk: row
        for row in Connection.objects.filter(
            user=visit.user, pk__in=visit.connection_ids
        ).select_related("connector")
    }
    connections = [
        (rows[pk], state_label(rows[pk].state, visit.lang))
        for pk in visit.connection_ids
        if pk in rows
    ]
    return _page(
        request, "linked.html", visit.lang, _context(request, visit, connections=connections)
    )


def _manage_page(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    rows = Connection.objects.filter(user=visit.user)
    bank.settle_pending(rows)
    connections = [
        (row, state_label(row.state, visit.lang), _url(visit, "connection", row.pk))
        for row in rows.select_related("connector").order_by("id")
    ]
    notice = None
    if request.GET.get("deleted"):
        notice = texts(visit.lang)["deleted_notice"]
    elif request.GET.get("updated"):
        notice = texts(visit.lang)["updated_notice"]
    return _page(
        request,
        "manage.html",
        visit.lang,
        _context(
            request, visit, connections=connections, notice=notice, manage_url=_url(visit, "manage")
        ),
    )


@visit_page
def manage(request: HttpRequest, visit: WebviewVisit) -> HttpResponse:
    """``POST .../manage/`` with ``action=delete&connection=<id>``: delete a connection
    as ``DELETE /users/me/connections/{id}`` does (``CONNECTION_DELETED``)."""
    if visit.flow != WebviewVisit.MANAGE or request.method != "POST":
        return _redirect_to(visit, "home")
    raw = request.POST.get("connection") or ""
    connection = (
        Connection.objects.filter(user=visit.user, pk=int(raw)).first() if raw.isdigit() else None
    )
    if connection is None:
        return _page(request, "not_found.html", visit.lang, {}, status=404)
    if request.POST.get("action") == "delete":
        bank.delete_connection(connection)
        return _redirect_to(visit, "home", query=f"deleted={raw}")
    return _redirect_to(visit, "connection", connection.pk)
