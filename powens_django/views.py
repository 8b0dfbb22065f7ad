"""End-user pages: pick a bank, connect it, come back from the bank, manage linked banks.

Each view parses input, checks the user, calls one service and renders or redirects;
the rules (which banks, which source, what a state calls for, what an error means)
live in :mod:`powens_django.services` and :mod:`powens_django.states`. Every connection
is looked up through the requesting user (anything else is a 404); flows that change
something are POST-only and CSRF-protected; credential values are marked sensitive
so error reports never carry them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connections, transaction
from django.db.models import Prefetch
from django.db.models.fields.json import KT
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import services
from .adapter import get_adapter
from .cards import bank_cards
from .conf import powens_settings
from .countries import country_name
from .forms import ConnectorFieldsForm
from .models import Connection, ConnectionSource, Connector, account_totals_of
from .services import OutcomeKind

logger = logging.getLogger("powens_django.views")

T = "powens_django/"  # template folder


# -- helpers --------------------------------------------------------------------------


def _within_time_budget(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give the Powens calls of the request ``POWENS["REQUEST_TIME_BUDGET"]`` seconds
    in all: a person never waits minutes on retries and a slow bank.

    Such a view is also never wrapped in ``ATOMIC_REQUESTS``' transaction: it would
    hold row locks across the calls to Powens (blocking the link guard's second
    request instead of refusing it, and the sandbox's writes in development).
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with services.request_time_budget():
            return view(request, *args, **kwargs)

    for alias in connections:
        wrapped = transaction.non_atomic_requests(using=alias)(wrapped)
    return wrapped


def _user_connection(request: HttpRequest, powens_id: int) -> Connection:
    try:
        return services.get_user_connection(request.user, powens_id)
    except services.NotFound:
        raise Http404("No such connection") from None


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


def _log(request: HttpRequest, error: services.ServiceError) -> None:
    # A token no key opens is the site's own fault, for its error mails; the rest is
    # Powens or the person, worth a warning.
    level = logging.ERROR if isinstance(error, services.TokenUnreadable) else logging.WARNING
    logger.log(
        level, "%s for user pk=%s: %s", error.code, request.user.pk, error.detail or error.code
    )


def _failure(request: HttpRequest, error: services.ServiceError) -> HttpResponse:
    """A page in plain words for a service error; the details go to the log."""
    if isinstance(error, services.NotFound):
        raise Http404(error.detail)
    _log(request, error)
    text = get_adapter(request).error_message(error)
    return render(request, T + "powens_error.html", {"text": text}, status=error.http_status)


def _back(
    request: HttpRequest, error: services.ServiceError, fallback: str, *args: Any
) -> HttpResponse:
    """Return to the page the person acted from (a safe ``next``, else ``fallback``)
    with the error in plain words, instead of an error page at a POST URL."""
    if isinstance(error, services.NotFound):
        raise Http404(error.detail)
    _log(request, error)
    level = messages.INFO if error.transient else messages.ERROR
    messages.add_message(request, level, get_adapter(request).error_message(error))
    target = _safe_next(request, request.POST.get("next")) or reverse(fallback, args=args)
    return HttpResponseRedirect(target)


def _route(request: HttpRequest, outcome: services.Outcome, *, next_url: str = "") -> HttpResponse:
    """Send the person where a link outcome calls for."""
    adapter = get_adapter(request)
    connection = outcome.connection
    if outcome.kind == OutcomeKind.CANCELLED:
        url = adapter.get_cancel_url(outcome)
        if url:
            return HttpResponseRedirect(url)
        return render(request, T + "link_cancelled.html", {"next_url": next_url})
    if outcome.kind == OutcomeKind.FAILED:
        url = adapter.get_failure_url(outcome)
        if url:
            return HttpResponseRedirect(url)
        return render(
            request, T + "link_failed.html", {"next_url": next_url, "message": outcome.message}
        )
    if connection is None:
        return redirect("powens:connections")
    if outcome.kind == OutcomeKind.CONNECTED:
        messages.success(request, _("%(bank)s is connected.") % {"bank": connection.connector_name})
        return HttpResponseRedirect(next_url or adapter.get_success_url(outcome))
    if outcome.kind in (OutcomeKind.NEEDS_FIELDS, OutcomeKind.WRONG_CREDENTIALS):
        return redirect("powens:connection_fields", powens_id=connection.powens_id)
    if outcome.kind in (OutcomeKind.DECOUPLED, OutcomeKind.VALIDATING):
        return redirect("powens:connection_wait", powens_id=connection.powens_id)
    # The connection's page explains the state: the message only says where we are.
    messages.warning(
        request,
        _("%(bank)s is linked, but needs attention.") % {"bank": connection.connector_name},
    )
    return redirect("powens:connection", powens_id=connection.powens_id)


def _may_link(request: HttpRequest) -> HttpResponse | None:
    try:
        services.check_may_link(request.user, request=request)
    except services.NotAllowed as error:
        return _failure(request, error)
    return None


# -- picker ---------------------------------------------------------------------------


@login_required
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    """The bank picker: search by name (case and accents ignored), filter by country."""
    refused = _may_link(request)
    if refused is not None:
        return refused
    if services.uses_powens_picker(request):
        # Webview mode with Powens' own picker: the bank is chosen there.
        return _webview_page(request, "connect", action=reverse("powens:webview_connect"))
    query = request.GET.get("q", "").strip()[:100]
    country = request.GET.get("country", "").strip().upper()[:2]
    listing = services.browse_catalogue(
        query,
        country=country,
        page=request.GET.get("page"),
        per_page=int(powens_settings.PICKER_PAGE_SIZE),
        request=request,
    )
    return render(
        request,
        T + "picker.html",
        {
            "page": listing.page,
            "query": query,
            "country": country,
            # By name in the person's language, not by code.
            "countries": sorted(listing.countries, key=country_name),
        },
    )


# -- connect --------------------------------------------------------------------------


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
@_within_time_budget
def connect(request: HttpRequest, uuid: str) -> HttpResponse:
    """A connector's page: the form built from its fields (credentials) or a button
    to its website (webauth). Posting starts the link."""
    refused = _may_link(request)
    if refused is not None:
        return refused
    try:
        connector = services.get_connectable_connector(uuid, request=request)
    except services.NotFound:
        raise Http404("No such bank") from None
    options = services.connect_options(
        connector, source=request.POST.get("source") or request.GET.get("source") or None
    )
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    mode = services.link_mode(
        connector=connector, auth_mechanism=options.mechanism, request=request
    )
    if mode == "webview":
        if request.method == "POST":
            return _start_webview(request, "connect", connector=connector, next_url=next_url)
        return _webview_page(
            request, "connect", action=request.path, connector=connector, next_url=next_url
        )
    context: dict[str, Any] = {
        "connector": connector,
        "options": options,
        "sources": options.sources if options.choose_source else [],
        "source": options.source,
        "next_url": next_url,
    }
    if options.mechanism == "webauth":
        if request.method == "POST":
            return _start_webauth(
                request, connector=connector, source=options.source_name, next_url=next_url
            )
        return render(request, T + "connect_webauth.html", context)
    if not options.supported:
        return render(request, T + "connect_unsupported.html", context)
    return _credentials(request, connector, options, context)


def _start_webauth(
    request: HttpRequest,
    *,
    connector: Connector | None = None,
    connection: Connection | None = None,
    source: str | None = None,
    next_url: str = "",
) -> HttpResponse:
    return _send_to_flow(
        request,
        lambda: services.start_webauth(
            request.user,
            connector=connector,
            connection=connection,
            source=source,
            session_key=_session_key(request),
            next_url=next_url,
            request=request,
        ),
        connection=connection,
    )


def _start_webview(
    request: HttpRequest,
    flow: services.webview.Flow,
    *,
    connector: Connector | None = None,
    connection: Connection | None = None,
    reset_credentials: bool | None = None,
    next_url: str = "",
) -> HttpResponse:
    return _send_to_flow(
        request,
        lambda: services.start_webview(
            request.user,
            flow,
            connector=connector,
            connection=connection,
            reset_credentials=reset_credentials,
            session_key=_session_key(request),
            next_url=next_url,
            request=request,
        ),
        connection=connection,
    )


def _send_to_flow(
    request: HttpRequest,
    start: Callable[[], services.webauth.WebauthStart],
    *,
    connection: Connection | None,
) -> HttpResponse:
    """Redirect to the browser flow ``start()`` begins (the bank's website, Powens'
    Webview), or say why it could not begin."""
    try:
        started = start()
    except services.NothingToRepair as error:
        messages.info(request, get_adapter(request).error_message(error))
        return redirect("powens:connections")
    except services.ConnectorUnavailable as error:
        messages.error(request, get_adapter(request).error_message(error))
        return redirect("powens:picker")
    except services.ServiceError as error:
        if connection is not None and not isinstance(error, services.NotAllowed):
            return _back(request, error, "powens:connection", connection.powens_id)
        return _failure(request, error)
    return HttpResponseRedirect(started.url)


def _webview_page(
    request: HttpRequest,
    purpose: str,
    *,
    action: str,
    connector: Connector | None = None,
    connection: Connection | None = None,
    reset_credentials: bool = False,
    next_url: str = "",
) -> HttpResponse:
    """The page before Powens' Webview: what happens there, and the button to go."""
    return render(
        request,
        T + "webview_continue.html",
        {
            "purpose": purpose,
            "action": action,
            "connector": connector,
            "connection": connection,
            "reset_credentials": reset_credentials,
            "next_url": next_url,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@_within_time_budget
def webview_connect(request: HttpRequest) -> HttpResponse:
    """Webview mode: connect a bank chosen in Powens' own picker (several may be
    linked in one visit)."""
    refused = _may_link(request)
    if refused is not None:
        return refused
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        return _start_webview(request, "connect", next_url=next_url)
    return _webview_page(request, "connect", action=request.path, next_url=next_url)


@login_required
@require_http_methods(["GET", "POST"])
@_within_time_budget
def webview_manage(request: HttpRequest) -> HttpResponse:
    """Webview mode: see and manage the linked banks on Powens' Webview."""
    refused = _may_link(request)
    if refused is not None:
        return refused
    if request.method == "POST":
        return _start_webview(request, "manage", next_url=reverse("powens:connections"))
    return _webview_page(request, "manage", action=request.path)


@sensitive_variables("form", "values")
def _credentials(
    request: HttpRequest,
    connector: Connector,
    options: services.ConnectOptions,
    context: dict[str, Any],
) -> HttpResponse:
    bank_message: str | Promise | None = None
    problem: str | Promise | None = None
    if request.method == "POST":
        form = ConnectorFieldsForm(options.fields, request.POST)
        if form.is_valid():
            values = form.powens_values()
            try:
                outcome = services.add_credentials_connection(
                    request.user, connector, values, source=options.source_name, request=request
                )
            except services.ServiceError as error:
                if isinstance(error, services.NotAllowed | services.ConnectorUnavailable):
                    return _failure(request, error)
                logger.warning("Adding a connection failed: %s", error.detail or error.code)
                problem = get_adapter(request).error_message(error)
            else:
                if outcome.connection is not None or outcome.ok:
                    return _route(request, outcome, next_url=context["next_url"])
                # The bank's own words when it gave some, else ours.
                bank_message = outcome.message
                problem = None if outcome.message else outcome.text
            # Ask again, keeping what was typed except secrets (never re-rendered).
            form = ConnectorFieldsForm(options.fields, initial=form.public_values())
    else:
        form = ConnectorFieldsForm(options.fields)
    return render(
        request,
        T + "connect_credentials.html",
        {**context, "form": form, "bank_message": bank_message, "problem": problem},
    )


# -- callback -------------------------------------------------------------------------


@login_required
@require_GET
@_within_time_budget
def callback(request: HttpRequest) -> HttpResponse:
    """Where the bank sends the browser back (the ``redirect_uri`` given to Powens)."""
    try:
        outcome = services.finish_callback(
            request.user, request.GET, session_key=request.session.session_key
        )
    except services.InvalidCallback:
        return render(request, T + "link_invalid.html", status=400)
    except services.ServiceError as error:
        return _failure(request, error)
    return _route(request, outcome, next_url=_safe_next(request, outcome.next_url))


# -- my banks -------------------------------------------------------------------------


@login_required
@require_GET
def connection_list(request: HttpRequest) -> HttpResponse:
    """The person's linked banks, their state in plain words and what to do."""
    webview = services.link_mode(request=request) == "webview"
    banks = _banks(request.user)
    # Problems first (a stable sort keeps the newest first within each group); a bank
    # linked more than once is told apart and pointed out (see bank_cards).
    banks.sort(key=lambda connection: connection.state_info.ok)
    return render(
        request,
        T + "connection_list.html",
        {
            "connections": banks,
            "cards": bank_cards(banks),
            "webview": webview,
            "powens_next": request.get_full_path(),
        },
    )


def _banks(user: Any) -> list[Connection]:
    # Only what the cards show: no token (the page never calls Powens, so nothing is
    # decrypted), no stored payload (of the connection's own, only the bank's name it
    # embeds, for a connector not in the catalogue yet), and of the accounts only what
    # their balances need.
    banks: list[Connection] = list(
        services.user_connections(user)
        .select_related(None)
        .select_related("connector")
        .only(*_CARD_COLUMNS)
        .annotate(embedded_connector_name=KT("raw__connector__name"))
        .prefetch_related(None)
        .prefetch_related(
            Prefetch("sources", ConnectionSource.objects.only("connection", "name", "disabled"))
        )
        .order_by("-created", "-powens_id")
    )
    account_totals_of(banks)
    return banks


#: What My banks reads of a connection and its connector (the cards' needs: anything
#: else a host's own template reaches for is read when it does).
_CARD_COLUMNS = (
    "powens_id",
    "powens_user",
    "state",
    "last_update",
    "created",
    "connector",
    "connector__uuid",
    "connector__name",
    "connector__color",
    "connector__auth_mechanism",
)


@login_required
@require_POST
@_within_time_budget
def refresh_all(request: HttpRequest) -> HttpResponse:
    try:
        services.fetch_connections(request.user)
    except services.ServiceError as error:
        return _back(request, error, "powens:connections")
    messages.success(request, _("Your bank connections are up to date."))
    return redirect("powens:connections")


@login_required
@require_GET
def connection_detail(request: HttpRequest, powens_id: int) -> HttpResponse:
    connection = _user_connection(request, powens_id)
    sources = list(connection.sources.order_by("powens_id"))
    accounts = list(connection.accounts.order_by("powens_id"))
    return render(
        request,
        T + "connection_detail.html",
        {
            "connection": connection,
            "sources": sources,
            "accounts": accounts,
            "info": connection.state_info,
        },
    )


@login_required
@require_POST
@_within_time_budget
def connection_sync(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Sync now (the person asked), or clear SCARequired with the empty POST Powens
    wants, in the background: the person watches it on the syncing page. When the
    bank needs them first (an OTP, new credentials, a login on its website), they go
    where that is done."""
    connection = _user_connection(request, powens_id)
    next_url = _safe_next(request, request.POST.get("next"))
    try:
        started = services.start_background_sync(connection, next_url=next_url)
    except services.ServiceError as error:
        return _back(request, error, "powens:connection", powens_id)
    if started.ticket is None:
        assert started.outcome is not None  # one or the other
        return _route(request, started.outcome)
    request.session[_sync_key(powens_id)] = started.ticket.to_dict()
    # Post/redirect/get: the syncing page reloads itself, which must never sync again.
    return redirect("powens:connection_syncing", powens_id=powens_id)


def _sync_key(powens_id: int) -> str:
    return f"powens_sync_{powens_id}"


@login_required
@require_GET
@_within_time_budget
def connection_syncing(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Watch a background sync the person started: a page that reloads itself while
    the sync runs (with or without JavaScript), then the connection's page (or where
    the sync was asked from) once it ends, or where its new state calls for."""
    key = _sync_key(powens_id)
    try:
        connection = _user_connection(request, powens_id)
    except Http404:
        if key not in request.session or Connection.objects.filter(powens_id=powens_id).exists():
            raise
        # Watched, then gone meanwhile (a CONNECTION_DELETED webhook, another tab).
        del request.session[key]
        messages.info(request, _("This bank connection no longer exists."))
        return redirect("powens:connections")
    try:
        ticket = services.BackgroundSync.from_dict(request.session.get(key))
        if ticket.connection_id != connection.powens_id:
            raise ValueError("A record for another connection")
    except ValueError:
        # Nothing (or nothing readable) is being watched: the connection's page says
        # where it stands.
        request.session.pop(key, None)
        return redirect("powens:connection", powens_id=powens_id)
    note = False
    try:
        outcome = services.sync_progress(connection, ticket)
    except services.ServiceError as error:
        if isinstance(error, services.NotFound) or not error.transient:
            request.session.pop(key, None)
            return _failure(request, error)
        # Powens did not answer this time: the sync goes on, look again shortly.
        _log(request, error)
        outcome = None
        note = True
    if outcome is None:
        overdue = ticket.overdue()
        if overdue:
            request.session.pop(key, None)
        return render(
            request,
            T + "connection_syncing.html",
            {
                "connection": connection,
                "running": not overdue,
                "overdue": overdue,
                "note": note,
                "refresh_seconds": SYNC_REFRESH_SECONDS,
            },
        )
    request.session.pop(key, None)
    if outcome.kind == OutcomeKind.DELETED:
        messages.info(request, _("This bank connection no longer exists."))
        return redirect("powens:connections")
    if outcome.ok:
        messages.success(request, _("Synchronized."))
        next_url = _safe_next(request, ticket.next_url)
        return HttpResponseRedirect(next_url or reverse("powens:connection", args=[powens_id]))
    return _route(request, outcome)


#: How often the syncing page looks again (seconds). Each look costs one to three Powens
#: calls: every 5 s keeps a watched sync within Powens' fair use (about 30 calls a minute).
SYNC_REFRESH_SECONDS = 5


@login_required
@require_POST
@_within_time_budget
def connection_reconnect(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Send the person through the bank's website again (webauth, SCA, consent)."""
    connection = _user_connection(request, powens_id)
    next_url = _safe_next(request, request.POST.get("next"))
    if services.link_mode(connection=connection, request=request) == "webview":
        reset = request.POST.get("reset_credentials") == "1" or None
        return _start_webview(
            request, "reconnect", connection=connection, reset_credentials=reset, next_url=next_url
        )
    wanted = request.POST.get("source") or None
    source = connection.sources.filter(name=wanted).first() if wanted else None
    return _start_webauth(
        request,
        connection=connection,
        source=source.name if source else None,
        next_url=_safe_next(request, request.POST.get("next")),
    )


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("form", "values")
@_within_time_budget
def connection_fields(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Ask what the connection needs: an OTP, or the credentials again (in webview
    mode, on Powens' Webview: this page only leads there)."""
    connection = _user_connection(request, powens_id)
    if services.link_mode(connection=connection, request=request) == "webview":
        return _webview_page(
            request,
            "reconnect",
            action=reverse("powens:connection_reconnect", args=[powens_id]),
            connection=connection,
            reset_credentials=connection.state in services.webview.CREDENTIAL_STATES,
        )
    asked = services.fields_request(connection)
    if not asked.fields:
        # The connector is not in the catalogue (or asks nothing here): say so rather
        # than bounce silently.
        messages.info(
            request,
            _("Your bank asks nothing to type here. Use the other actions on this page."),
        )
        return redirect("powens:connection", powens_id=powens_id)
    bank_message: str | Promise | None = connection.error_message
    problem: str | Promise | None = None
    if request.method == "POST":
        form = ConnectorFieldsForm(asked.fields, request.POST)
        if form.is_valid():
            values = form.powens_values()
            try:
                outcome = services.submit_connection_fields(connection, values)
            except services.ServiceError as error:
                if isinstance(error, services.NotFound):
                    raise Http404(error.detail) from None
                logger.warning("Sending fields failed: %s", error.detail or error.code)
                problem = get_adapter(request).error_message(error)
                form = ConnectorFieldsForm(asked.fields)
            else:
                if outcome.kind not in (OutcomeKind.NEEDS_FIELDS, OutcomeKind.WRONG_CREDENTIALS):
                    return _route(request, outcome)
                # Still asked: the bank's words and what it asks now, values cleared.
                connection = outcome.connection or connection
                form = ConnectorFieldsForm(outcome.fields or asked.fields)
                bank_message = outcome.message
                problem = None if outcome.message else outcome.text
    else:
        form = ConnectorFieldsForm(asked.fields)
    return render(
        request,
        T + "connection_fields.html",
        {
            "connection": connection,
            "form": form,
            "asked": asked,
            "info": connection.state_info,
            "bank_message": bank_message,
            # Asked for something new (an OTP) and not refused: the bank's words guide.
            "bank_message_is_info": asked.asked_by_bank
            and problem is None
            and connection.state_info.kind == OutcomeKind.NEEDS_FIELDS
            and request.method != "POST",
            "problem": problem,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@_within_time_budget
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
            outcome = services.refresh_connection(connection)
    except services.ServiceError as error:
        return _failure(request, error)
    if outcome.kind == OutcomeKind.DELETED:
        messages.info(request, _("This bank connection no longer exists."))
        return redirect("powens:connections")
    if outcome.kind not in (OutcomeKind.DECOUPLED, OutcomeKind.VALIDATING):
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
            "validating": outcome.kind == OutcomeKind.VALIDATING,
            "refresh_seconds": 3,
        },
    )


@login_required
@require_POST
@_within_time_budget
def source_toggle(request: HttpRequest, powens_id: int, source_id: int) -> HttpResponse:
    connection = _user_connection(request, powens_id)
    try:
        source = services.get_connection_source(connection, source_id)
    except services.NotFound:
        raise Http404("No such source") from None
    enable = request.POST.get("enable") == "1"
    try:
        services.set_source_enabled(source, enable)
    except services.ServiceError as error:
        return _back(request, error, "powens:connection", powens_id)
    if enable:
        messages.success(request, _("“%(name)s” is turned on.") % {"name": source.label})
    else:
        messages.success(request, _("“%(name)s” is turned off.") % {"name": source.label})
    return redirect("powens:connection", powens_id=powens_id)


@login_required
@require_http_methods(["GET", "POST"])
@_within_time_budget
def connection_delete(request: HttpRequest, powens_id: int) -> HttpResponse:
    """Confirm, then delete the connection at Powens (permanent) and here."""
    connection = _user_connection(request, powens_id)
    if request.method == "POST":
        name = connection.connector_name
        try:
            services.delete_connection(connection)
        except services.ServiceError as error:
            return _back(request, error, "powens:connection", powens_id)
        messages.success(
            request, _("%(bank)s was disconnected and its data deleted.") % {"bank": name}
        )
        return redirect("powens:connections")
    return render(request, T + "connection_confirm_delete.html", {"connection": connection})


@login_required
@require_GET
@_within_time_budget
def connection_logs(request: HttpRequest, powens_id: int) -> HttpResponse:
    """The connection's synchronization history."""
    connection = _user_connection(request, powens_id)
    try:
        logs = services.connection_history(connection, limit=50)
    except services.ServiceError as error:
        return _failure(request, error)
    return render(request, T + "connection_logs.html", {"connection": connection, "logs": logs})
