"""End-user pages: pick a bank, connect it, come back from the bank, manage linked banks.

Each view parses input, checks the user, calls one service and renders or redirects.
Every connection is looked up through the requesting user (anything else is a 404);
flows that change something are POST-only and CSRF-protected; credential values are
marked sensitive so error reports never carry them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import services
from .client import ConflictError, InvalidValueError, PowensError, RateLimitedError
from .conf import powens_settings
from .forms import ConnectorFieldsForm
from .models import Connection, ConnectionSource, Connector, ConnectorCountry
from .states import describe_state
from .sync import search_key

logger = logging.getLogger("powens_django.views")

T = "powens_django/"  # template folder


# -- helpers --------------------------------------------------------------------------


def _user_connection(request: HttpRequest, powens_id: int) -> Connection:
    return get_object_or_404(
        Connection.objects.select_related("connector", "powens_user"),
        powens_id=powens_id,
        powens_user__user=request.user,
    )


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return str(request.session.session_key)


def _redirect_uri(request: HttpRequest) -> str:
    configured = powens_settings.REDIRECT_URI
    return str(configured) if configured else request.build_absolute_uri(reverse("powens:callback"))


def _powens_failure(request: HttpRequest, error: PowensError) -> HttpResponse:
    """A page in plain words for a Powens failure; the details go to the log."""
    logger.warning("Powens call failed for user pk=%s: %s", request.user.pk, error)
    if isinstance(error, RateLimitedError | ConflictError):
        text = _("Your bank connection is busy right now. Please try again in a few minutes.")
    elif error.transient:
        text = _("We could not reach the bank connection service. Please try again shortly.")
    else:
        text = _("The bank connection service refused this request. Please try again later.")
    return render(request, T + "powens_error.html", {"text": text}, status=502)


def _route(
    request: HttpRequest, outcome: services.LinkOutcome, *, next_url: str = ""
) -> HttpResponse:
    """Send the person where a link outcome calls for."""
    connection = outcome.connection
    if outcome.kind == services.CANCELLED:
        return render(request, T + "link_cancelled.html", {"next_url": next_url})
    if outcome.kind == services.FAILED:
        return render(request, T + "link_failed.html", {"next_url": next_url})
    if connection is None:
        return redirect("powens:connections")
    if outcome.kind == services.CONNECTED:
        messages.success(request, _("%(bank)s is connected.") % {"bank": connection.connector_name})
        if next_url:
            return HttpResponseRedirect(next_url)
        if powens_settings.SUCCESS_URL:
            return redirect(resolve_url(powens_settings.SUCCESS_URL))
        return redirect("powens:connection", powens_id=connection.powens_id)
    if outcome.kind in (services.NEEDS_FIELDS, services.WRONG_CREDENTIALS):
        return redirect("powens:connection_fields", powens_id=connection.powens_id)
    if outcome.kind in (services.DECOUPLED, services.VALIDATING):
        return redirect("powens:connection_wait", powens_id=connection.powens_id)
    info = describe_state(outcome.state)
    messages.warning(request, f"{info.label}: {info.explanation}")
    return redirect("powens:connection", powens_id=connection.powens_id)


def _sources(connector: Connector) -> list[Any]:
    return sorted(
        (s for s in connector.sources.all() if s.disabled is None),
        key=lambda s: (s.priority is None, s.priority or 0, s.powens_id),
    )


# -- picker ---------------------------------------------------------------------------


@login_required
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    """The bank picker: search by name (case and accents ignored), filter by country."""
    query = request.GET.get("q", "").strip()[:100]
    country = request.GET.get("country", "").strip().upper()[:2]
    connectors: QuerySet[Connector] = Connector.objects.filter(hidden=False, restricted=False)
    if query:
        connectors = connectors.filter(search_name__contains=search_key(query))
    if country:
        connectors = connectors.filter(countries__code=country)
    connectors = connectors.only(
        "uuid", "name", "color", "beta", "auth_mechanism", "search_name"
    ).order_by("search_name", "uuid")
    page = Paginator(connectors, int(powens_settings.PICKER_PAGE_SIZE)).get_page(
        request.GET.get("page")
    )
    countries = (
        ConnectorCountry.objects.filter(connector__hidden=False, connector__restricted=False)
        .values_list("code", flat=True)
        .distinct()
        .order_by("code")
    )
    return render(
        request,
        T + "picker.html",
        {"page": page, "query": query, "country": country, "countries": list(countries)},
    )


# -- connect --------------------------------------------------------------------------


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, uuid: str) -> HttpResponse:
    """A connector's page: the form built from its fields (credentials) or a button
    to its website (webauth). Posting starts the link."""
    connector = get_object_or_404(
        Connector.objects.prefetch_related("sources"), uuid=uuid, hidden=False, restricted=False
    )
    sources = _sources(connector)
    names = [s.name for s in sources]
    wanted = request.POST.get("source") or request.GET.get("source") or ""
    source = next((s for s in sources if s.name == wanted), sources[0] if sources else None)
    mechanism = (source.auth_mechanism if source else "") or connector.auth_mechanism
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    context: dict[str, Any] = {
        "connector": connector,
        "sources": sources if len(names) > 1 else [],
        "source": source,
        "next_url": next_url,
    }
    if mechanism == "webauth":
        if request.method == "POST":
            return _start_webauth(request, connector=connector, source=source, next_url=next_url)
        return render(request, T + "connect_webauth.html", context)
    if mechanism != "credentials":
        return render(request, T + "connect_unsupported.html", context)
    return _credentials(request, connector, source.name if source else None, context)


def _start_webauth(
    request: HttpRequest,
    *,
    connector: Connector | None = None,
    connection: Connection | None = None,
    source: Any = None,
    next_url: str = "",
) -> HttpResponse:
    try:
        start = services.start_webauth(
            request.user,
            redirect_uri=_redirect_uri(request),
            connector=connector,
            connection=connection,
            source=source.name if source else None,
            session_key=_session_key(request),
            next_url=next_url,
        )
    except InvalidValueError:
        # Powens' 409: the connection needs no reconnection.
        messages.info(request, _("This bank connection is already up to date."))
        return redirect("powens:connections")
    except services.ConnectorUnavailable:
        messages.error(request, _("This bank cannot be connected at the moment."))
        return redirect("powens:picker")
    except PowensError as error:
        return _powens_failure(request, error)
    return HttpResponseRedirect(start.url)


@sensitive_variables("form", "values")
def _credentials(
    request: HttpRequest, connector: Connector, source: str | None, context: dict[str, Any]
) -> HttpResponse:
    definitions = connector.fields
    bank_message = None
    if request.method == "POST":
        form = ConnectorFieldsForm(
            definitions, request.POST, source=source, auth_mechanism="credentials"
        )
        if form.is_valid():
            values = form.powens_values()
            try:
                outcome = services.add_credentials_connection(
                    request.user, connector, values, source=source
                )
            except PowensError as error:
                logger.warning("Adding a connection failed: %s", error)
                bank_message = _(
                    "We could not reach your bank right now. Please try again shortly."
                )
            else:
                if outcome.connection is not None or outcome.kind == services.CONNECTED:
                    return _route(request, outcome, next_url=context["next_url"])
                bank_message = outcome.message or _bank_refusal(outcome.kind)
            # Ask again, keeping what was typed except secrets (never re-rendered).
            form = ConnectorFieldsForm(
                definitions,
                initial=_without_secrets(form),
                source=source,
                auth_mechanism="credentials",
            )
    else:
        form = ConnectorFieldsForm(definitions, source=source, auth_mechanism="credentials")
    return render(
        request,
        T + "connect_credentials.html",
        {**context, "form": form, "bank_message": bank_message},
    )


def _without_secrets(form: ConnectorFieldsForm) -> dict[str, Any]:
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if getattr(form.fields[name], "powens_type", "") != "password"
    }


def _bank_refusal(kind: str) -> str:
    if kind == services.WRONG_CREDENTIALS:
        return _("Your bank refused these credentials. Check them and try again.")
    if kind == services.ACTION_NEEDED:
        return _("Your bank needs you to do something on its website first.")
    return _("Your bank is unavailable right now. Please try again later.")


# -- callback -------------------------------------------------------------------------


@login_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where the bank sends the browser back (the ``redirect_uri`` given to Powens)."""
    try:
        outcome = services.finish_callback(
            request.user, request.GET, session_key=request.session.session_key
        )
    except services.InvalidCallback:
        return render(request, T + "link_invalid.html", status=400)
    except PowensError as error:
        return _powens_failure(request, error)
    return _route(request, outcome, next_url=_safe_next(request, outcome.next_url))


# -- my banks -------------------------------------------------------------------------


@login_required
@require_GET
def connection_list(request: HttpRequest) -> HttpResponse:
    """The person's linked banks, their state in plain words and what to do."""
    connections = services.user_connections(request.user).order_by("-created", "-powens_id")
    return render(request, T + "connection_list.html", {"connections": connections})


@login_required
@require_POST
def refresh_all(request: HttpRequest) -> HttpResponse:
    try:
        services.fetch_connections(request.user)
    except PowensError as error:
        return _powens_failure(request, error)
    messages.success(request, _("Your bank connections are up to date."))
    return redirect("powens:connections")


@login_required
@require_GET
def connection_detail(request: HttpRequest, powens_id: int) -> HttpResponse:
    connection = _user_connection(request, powens_id)
    sources = list(connection.sources.order_by("powens_id"))
    return render(
        request,
        T + "connection_detail.html",
        {"connection": connection, "sources": sources, "info": connection.state_info},
    )


@login_required
@require_POST
def connection_sync(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Sync now (the person asked), or clear SCARequired with the empty POST Powens wants."""
    connection = _user_connection(request, powens_id)
    try:
        outcome = services.sync_now(connection)
    except ConflictError:
        messages.info(request, _("A synchronization is already running. Try again in a moment."))
        return redirect("powens:connection", powens_id=powens_id)
    except PowensError as error:
        return _powens_failure(request, error)
    if outcome.kind == services.CONNECTED:
        messages.success(request, _("Synchronized."))
        return redirect("powens:connection", powens_id=powens_id)
    return _route(request, outcome)


@login_required
@require_POST
def connection_reconnect(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Send the person through the bank's website again (webauth, SCA, consent)."""
    connection = _user_connection(request, powens_id)
    source = request.POST.get("source") or None
    found = connection.sources.filter(name=source).first() if source else None
    return _start_webauth(request, connection=connection, source=found)


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("form", "values")
def connection_fields(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Ask what the connection needs: an OTP, or new credentials after wrongpass."""
    connection = _user_connection(request, powens_id)
    definitions = services.fields_to_ask(connection)
    if not definitions:
        return redirect("powens:connection", powens_id=powens_id)
    bank_message = connection.error_message
    if request.method == "POST":
        form = ConnectorFieldsForm(definitions, request.POST)
        if form.is_valid():
            values = form.powens_values()
            try:
                outcome = services.submit_connection_fields(connection, values)
            except PowensError as error:
                return _powens_failure(request, error)
            if outcome.kind not in (services.NEEDS_FIELDS, services.WRONG_CREDENTIALS):
                return _route(request, outcome)
            # Still asked: show the bank's words and what it asks now, values cleared.
            connection = outcome.connection or connection
            form = ConnectorFieldsForm(outcome.fields or definitions)
            bank_message = outcome.message or _bank_refusal(outcome.kind)
    else:
        form = ConnectorFieldsForm(definitions)
    return render(
        request,
        T + "connection_fields.html",
        {
            "connection": connection,
            "form": form,
            "info": connection.state_info,
            "bank_message": bank_message,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def connection_wait(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Decoupled validation: wait for the person to confirm in their bank's app.

    GET refreshes the connection and routes on when the bank has answered; POST
    resumes the connection (in the background) once the person says they confirmed.
    """
    connection = _user_connection(request, powens_id)
    try:
        if request.method == "POST":
            outcome = services.resume_decoupled(connection, background=True)
        else:
            refreshed = services.fetch_connection(request.user, powens_id)
            if refreshed is None:
                messages.info(request, _("This bank connection no longer exists."))
                return redirect("powens:connections")
            outcome = services.outcome_for(refreshed)
    except PowensError as error:
        return _powens_failure(request, error)
    if outcome.kind not in (services.DECOUPLED, services.VALIDATING):
        return _route(request, outcome)
    if request.method == "POST":
        # Post/redirect/get: the page reloads itself while waiting, and reloading a
        # POST response would resume a second time.
        return redirect("powens:connection_wait", powens_id=powens_id)
    return render(
        request,
        T + "connection_wait.html",
        {
            "connection": outcome.connection or connection,
            "validating": outcome.kind == services.VALIDATING,
            "refresh_seconds": 3,
        },
    )


@login_required
@require_POST
def source_toggle(request: HttpRequest, powens_id: int, source_id: int) -> HttpResponse:
    connection = _user_connection(request, powens_id)
    source = get_object_or_404(ConnectionSource, connection=connection, powens_id=source_id)
    enable = request.POST.get("enable") == "1"
    try:
        services.set_source_enabled(source, enable)
    except PowensError as error:
        return _powens_failure(request, error)
    if enable:
        messages.success(request, _("The source %(name)s is enabled.") % {"name": source.name})
    else:
        messages.success(request, _("The source %(name)s is disabled.") % {"name": source.name})
    return redirect("powens:connection", powens_id=powens_id)


@login_required
@require_http_methods(["GET", "POST"])
def connection_delete(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Confirm, then delete the connection at Powens (permanent) and here."""
    connection = _user_connection(request, powens_id)
    if request.method == "POST":
        name = connection.connector_name
        try:
            services.delete_connection(connection)
        except PowensError as error:
            return _powens_failure(request, error)
        messages.success(
            request, _("%(bank)s was disconnected and its data deleted.") % {"bank": name}
        )
        return redirect("powens:connections")
    return render(request, T + "connection_confirm_delete.html", {"connection": connection})


@login_required
@require_GET
def connection_logs(request: HttpRequest, powens_id: int) -> HttpResponse:
    """The connection's synchronization history."""
    connection = _user_connection(request, powens_id)
    try:
        logs = services.connection_logs(connection, limit=50)
    except PowensError as error:
        return _powens_failure(request, error)
    return render(
        request, T + "connection_logs.html", {"connection": connection, "logs": _log_rows(logs)}
    )


def _log_rows(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from .client import parse_datetime

    rows = []
    for log in logs:
        state = log.get("state", log.get("error"))
        rows.append(
            {
                "when": parse_datetime(log.get("timestamp") or log.get("date")),
                "info": describe_state(state),
                "message": log.get("error_message"),
                "accounts": log.get("nb_accounts"),
            }
        )
    return rows
