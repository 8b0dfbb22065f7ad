"""What the fake banks do: scenarios picked by the login, syncs, accounts, sources, logs.

The login typed for a credentials connector picks a scenario (see ``SCENARIOS``);
anything else is a bank that works. Every outcome is deterministic for a given
connection, so tests can rely on it.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import regex
from django.db import transaction
from django.db.models import F

from . import config, webhooks
from .models import (
    BankAccount,
    Connection,
    ConnectionLog,
    ConnectionSource,
    Connector,
    ConnectorSource,
    Transaction,
    User,
)
from .wire import POWENS_TZ, ApiError, boolean, now, parse_datetime

OTP_CODE = "123456"

#: A state that no Powens client knows yet, for forward-compatibility tests.
FUTURE_STATE = "sandboxFutureState"

#: login -> the state a sync ends in (None: success). ``wrongpass``, ``otp``,
#: ``decoupled`` and ``sca`` have their own handling.
ERROR_SCENARIOS = {
    "expired": "passwordExpired",
    "action": "actionNeeded",
    "unavailable": "websiteUnavailable",
    "ratelimit": "rateLimiting",
    "bug": "bug",
    "future": FUTURE_STATE,
}
SCENARIOS = frozenset({"wrongpass", "otp", "decoupled", "sca", *ERROR_SCENARIOS})

#: What the bank says in each state (Connection.error_message).
BANK_MESSAGES = {
    "wrongpass": "Identifiant ou mot de passe incorrect.",
    "additionalInformationNeeded": "Saisissez le code reçu par SMS (sandbox : 123456).",
    "decoupled": "Validez la connexion dans l'application de votre banque.",
    "validating": None,
    "SCARequired": "Votre banque demande une authentification forte.",
    "passwordExpired": "Votre mot de passe a expiré : changez-le sur le site de votre banque.",
    "actionNeeded": "Acceptez les nouvelles conditions générales sur le site de votre banque.",
    "websiteUnavailable": "Le site de la banque est momentanément indisponible.",
    "rateLimiting": "Trop de connexions : la banque bloque temporairement l'accès.",
    "bug": None,
    FUTURE_STATE: "La banque demande quelque chose de nouveau.",
}
WRONG_OTP_MESSAGE = "Code incorrect. Saisissez le code reçu par SMS (sandbox : 123456)."

#: States a sync cannot get out of without the person (new input or a webauth).
NEEDS_PERSON = frozenset(
    {
        "additionalInformationNeeded",
        "decoupled",
        "validating",
        "wrongpass",
        "SCARequired",
        "webauthRequired",
    }
)
#: States Powens retries by itself.
TEMPORARY = frozenset({"websiteUnavailable", "rateLimiting", "bug"})

OTP_FIELD = {
    "name": "otp",
    "label": "Code reçu par SMS",
    "type": "text",
    "required": True,
    "regex": r"^[[:digit:]]{6}$",
    "values": [],
    "connector_sources": [],
    "auth_mechanisms": ["credentials"],
    "description": None,
}

RESERVED_KEYS = frozenset({"id_connector", "connector_uuid", "source", "expand"})
UPDATE_KEYS = frozenset({"source", "active", "expire", "resume", "refresh_auth", "expand"})


def scenario_for(values: dict[str, Any], fields: list[dict[str, Any]]) -> str:
    """The scenario picked by the credentials: the ``login`` value, or else the first
    non-password field's value; anything unknown is ``normal``."""
    login = values.get("login")
    if login is None:
        for item in fields:
            if item.get("type") != "password" and item.get("name") in values:
                login = values[item["name"]]
                break
    key = str(login or "").strip().lower()
    return key if key in SCENARIOS else "normal"


# -- credentials --------------------------------------------------------------------


def _relevant_fields(connector: Connector, sources: list[ConnectorSource]) -> list[dict]:
    names = {s.name for s in sources}
    return [
        f
        for f in connector.fields
        if (not f.get("connector_sources") or names & set(f["connector_sources"]))
        and (not f.get("auth_mechanisms") or "credentials" in f["auth_mechanisms"])
    ]


def credentials_fields(connector: Connector, connection: Connection | None = None) -> list[dict]:
    """The credentials fields a form asks: those of ``connection``'s sources, or of the
    sources a new credentials connection on ``connector`` would start with."""
    if connection is not None:
        sources = [
            s.connector_source for s in connection.sources.select_related("connector_source")
        ]
    else:
        sources = pick_sources(connector, "credentials", None)
    return _relevant_fields(connector, sources)


def _matches(pattern: str, value: str) -> bool:
    try:
        return regex.search(pattern, value, timeout=0.1) is not None
    except (regex.error, TimeoutError):
        # A pattern the sandbox cannot run says nothing about the value.
        return True


def validate_values(fields: list[dict[str, Any]], values: dict[str, Any], *, require: bool) -> None:
    """Check field values as the bank's form would: required, list values, dates,
    numbers and PCRE regexes (run with the ``regex`` package, as Python's ``re``
    cannot read PCRE's ``\\p{L}`` or ``[[:digit:]]``)."""
    for item in fields:
        name = item["name"]
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if require and item.get("required"):
                raise ApiError(400, "missingParameter", f"The field {name!r} is required")
            continue
        text = str(value)
        kind = item.get("type")
        if kind == "list":
            allowed = {str(v.get("value")) for v in item.get("values") or []}
            if allowed and text not in allowed:
                raise ApiError(400, "invalidValue", f"{name!r} must be one of {sorted(allowed)}")
        elif kind == "date":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                raise ApiError(400, "invalidValue", f"{name!r} must be a YYYY-MM-DD date") from None
        elif kind == "number" and not regex.fullmatch(r"-?\d+(?:\.\d+)?", text):
            raise ApiError(400, "invalidValue", f"{name!r} must be a number")
        if item.get("regex") and not _matches(item["regex"], text):
            raise ApiError(400, "invalidValue", f"{name!r} does not match the expected format")


def pick_sources(
    connector: Connector, mechanism: str, source_name: str | None
) -> list[ConnectorSource]:
    """The connector sources a new connection (or a new source) starts with: the one
    named, else every enabled source of that auth mechanism."""
    enabled = [s for s in connector.sources.order_by("priority", "id") if s.disabled is None]
    if source_name:
        named = [s for s in enabled if s.name == source_name]
        if not named:
            raise ApiError(
                400, "invalidValue", f"{connector.name} has no enabled source {source_name!r}"
            )
        chosen = named
    else:
        chosen = [
            s
            for s in enabled
            if s.auth_mechanism == mechanism or mechanism in (s.available_auth_mechanisms or [])
        ]
        if not chosen and len(enabled) == 1 and connector.auth_mechanism in (mechanism, None):
            chosen = enabled
    if not chosen:
        other = "/webauth-url" if mechanism == "credentials" else "credentials"
        raise ApiError(
            400,
            "invalidValue",
            f"{connector.name} cannot be reached with {mechanism}: use {other}",
        )
    for source in chosen:
        mechanisms = {source.auth_mechanism, *(source.available_auth_mechanisms or [])}
        if mechanism not in mechanisms:
            raise ApiError(400, "invalidValue", f"Source {source.name!r} does not take {mechanism}")
    return chosen


# -- outcomes -----------------------------------------------------------------------


@dataclass
class Outcome:
    """How a create or update call ends: the connection and the HTTP status."""

    connection: Connection
    status: int = 200
    error: ApiError | None = None
    synced: bool = field(default=False)
    #: A blocking resume: the view waits for it after the transaction commits.
    wait_resume: bool = False


def _set_state(
    connection: Connection, state: str | None, *, message: str | None = None, fields: Any = None
) -> None:
    connection.state = state
    connection.error_message = message if message is not None else BANK_MESSAGES.get(state or "")
    connection.fields = fields
    moment = now()
    if state in TEMPORARY or state == FUTURE_STATE:
        connection.next_try = moment + dt.timedelta(hours=1)
    elif state is None:
        days = connection.connector.sync_frequency or 1.0
        connection.next_try = moment + dt.timedelta(days=days)
    else:
        connection.next_try = None
    connection.save()
    sources = connection.sources.filter(disabled__isnull=True)
    sources.update(state=state, next_try=connection.next_try)


def _log(connection: Connection, psu_requested: bool | None = None) -> None:
    moment = now()
    sources: list[ConnectionSource | None] = list(connection.sources.filter(disabled__isnull=True))
    counts: dict[int | None, int] = {}
    for source_id in connection.accounts.values_list("source_id", flat=True):
        counts[source_id] = counts.get(source_id, 0) + 1
    ConnectionLog.objects.bulk_create(
        ConnectionLog(
            connection=connection,
            source=source,
            timestamp=moment,
            state=connection.state,
            error_message=connection.error_message,
            fields=connection.fields,
            nb_accounts=counts.get(source.pk if source else None, 0),
            psu_requested=psu_requested,
        )
        for source in (sources or [None])
    )


_ACCOUNT_KINDS = (
    ("checking", "Compte courant"),
    ("savings", "Livret A"),
    ("card", "Carte Visa Premier"),
    ("deposit", "Compte à terme"),
    ("lifeinsurance", "Assurance vie"),
)
_WORDINGS = (
    ("card", "CB CARREFOUR MARKET", -1),
    ("card", "CB SNCF INTERNET", -1),
    ("transfer", "VIR SALAIRE ACME SAS", 1),
    ("order", "PRLV EDF CLIENTS PARTICULIERS", -1),
    ("withdrawal", "RETRAIT DAB PARIS 11", -1),
    ("check", "CHEQUE 0001234", -1),
    ("bank", "FRAIS TENUE DE COMPTE", -1),
    ("deposit", "REMISE CHEQUES", 1),
)


def french_iban(rng: random.Random) -> str:
    """A French IBAN with valid check digits (ISO 13616 mod 97), so that sites that
    validate IBANs accept the sandbox's."""
    bban = f"{rng.randrange(10**22, 10**23)}"
    # Letters count as 10..35 (F=15, R=27) and the country code moves to the end.
    check = 98 - int(bban + "152700") % 97
    return f"FR{check:02d}{bban}"


def _make_accounts(connection: Connection, rng: random.Random) -> list[BankAccount]:
    connector = connection.connector
    source = connection.sources.filter(disabled__isnull=True).order_by("id").first()
    usages = [u for u in connector.account_usages if u in ("PRIV", "ORGA", "ASSO")] or ["PRIV"]
    currency = "GBP" if connector.countries == ["GB"] else "EUR"
    moment = now()
    accounts = []
    for index in range(rng.randint(1, 3)):
        kind, name = _ACCOUNT_KINDS[(connection.pk + index) % len(_ACCOUNT_KINDS)]
        number = f"{rng.randrange(10**10, 10**11)}"
        accounts.append(
            BankAccount(
                connection=connection,
                source=source,
                name=name,
                type=kind,
                usage=usages[index % len(usages)],
                number=number,
                iban=french_iban(rng) if currency == "EUR" else None,
                balance=Decimal(rng.randrange(10000, 500000)) / 100,
                currency=currency,
                created=moment,
                last_update=moment,
            )
        )
    BankAccount.objects.bulk_create(accounts)
    return list(connection.accounts.all())


def _add_transactions(connection: Connection, rng: random.Random, *, first: bool) -> None:
    accounts = list(connection.accounts.filter(disabled__isnull=True))
    if not accounts:
        accounts = _make_accounts(connection, rng)
    moment = now()
    today = moment.astimezone(POWENS_TZ).date()
    rows = []
    for item in accounts:
        count = rng.randint(4, 8) if first else rng.randint(1, 2)
        total = Decimal(0)
        for _ in range(count):
            kind, wording, sign = rng.choice(_WORDINGS)
            value = Decimal(sign * rng.randrange(100, 250000)) / 100
            total += value
            rows.append(
                Transaction(
                    account=item,
                    date=today - dt.timedelta(days=rng.randint(0, 60) if first else 0),
                    value=value,
                    wording=wording.title(),
                    type=kind,
                    coming=False,
                    date_scraped=moment,
                    sync_number=connection.sync_count,
                )
            )
        item.balance += total
        item.last_update = moment
    Transaction.objects.bulk_create(rows)
    BankAccount.objects.bulk_update(accounts, ["balance", "last_update"])


def run_sync(
    connection: Connection, *, user_initiated: bool, psu_requested: bool | None = True
) -> None:
    """Sync ``connection`` with its bank: the scenario decides the resulting state.

    A successful sync fetches accounts and new transactions; every finished sync is
    logged and sends ``CONNECTION_SYNCED``.
    """
    moment = now()
    Connection.objects.filter(pk=connection.pk).update(sync_count=F("sync_count") + 1)
    connection.refresh_from_db(fields=["sync_count"])
    connection.last_sync_attempt = moment
    scenario = connection.scenario
    if scenario in ERROR_SCENARIOS:
        state: str | None = ERROR_SCENARIOS[scenario]
    elif scenario == "sca" and not user_initiated:
        state = "SCARequired"
    else:
        state = None
    if state is None:
        # Seeded per connection and sync so that tests see the same accounts every run.
        rng = random.Random(f"{connection.pk}:{connection.sync_count}")  # noqa: S311
        _add_transactions(connection, rng, first=not connection.accounts.exists())
        connection.last_update = moment
        connection.sources.filter(disabled__isnull=True).update(last_update=moment)
    _set_state(connection, state)
    _log(connection, psu_requested)
    webhooks.connection_synced(connection)


def _ask_person(connection: Connection, scenario: str) -> int:
    """Put a new or updated connection in the state its interactive scenario asks."""
    connection.last_sync_attempt = now()
    if scenario == "otp":
        _set_state(connection, "additionalInformationNeeded", fields=[dict(OTP_FIELD)])
    else:
        _set_state(connection, "decoupled")
    _log(connection)
    return 202


# -- create -------------------------------------------------------------------------


@transaction.atomic
def create_connection(
    user: User, connector: Connector, values: dict[str, Any], source_name: str | None
) -> Outcome:
    """``POST /users/me/connections`` for a credentials connector."""
    if connector.restricted:
        raise ApiError(
            400, "invalidValue", f"{connector.name} is restricted: no new connection can be added"
        )
    sources = pick_sources(connector, "credentials", source_name)
    fields = _relevant_fields(connector, sources)
    validate_values(fields, values, require=True)
    scenario = scenario_for(values, fields)
    if scenario == "wrongpass":
        raise ApiError(400, "wrongpass", "Wrong credentials", message=BANK_MESSAGES["wrongpass"])
    moment = now()
    connection = Connection.objects.create(
        user=user,
        connector=connector,
        scenario=scenario,
        created=moment,
        last_sync_attempt=moment,
    )
    _add_sources(connection, sources)
    if scenario in ("otp", "decoupled"):
        return Outcome(connection, _ask_person(connection, scenario))
    run_sync(connection, user_initiated=True)
    return Outcome(connection, 201, synced=True)


def _add_sources(connection: Connection, sources: list[ConnectorSource]) -> None:
    moment = now()
    existing = set(connection.sources.values_list("connector_source_id", flat=True))
    ConnectionSource.objects.bulk_create(
        ConnectionSource(
            connection=connection,
            connector_source=source,
            name=source.name,
            created=moment,
            access_expire=moment + dt.timedelta(days=180)
            if source.auth_mechanism == "webauth"
            else None,
        )
        for source in sources
        if source.pk not in existing
    )


# -- update -------------------------------------------------------------------------


def _locked(connection: Connection) -> None:
    if connection.pending_action:
        raise ApiError(
            409,
            "connectionLocked",
            "An operation is in progress on this connection: poll it until it ends",
        )


def _start_pending(connection: Connection, action: str, delay: float, psu: bool = True) -> None:
    connection.pending_action = action
    connection.pending_until = now() + dt.timedelta(seconds=max(0.0, float(delay)))
    connection.pending_psu_requested = psu
    connection.save()


@transaction.atomic
def update_connection(
    connection: Connection, data: dict[str, Any], *, background: bool, source_name: str | None
) -> Outcome:
    """``POST /users/me/connections/{id}``: settings, new credentials, an OTP, a
    decoupled resume, or (empty) a user-initiated sync."""
    _locked(connection)
    values = {k: v for k, v in data.items() if k not in UPDATE_KEYS}
    touched_settings = False
    if "active" in data:
        connection.active = boolean(data["active"], "active")
        touched_settings = True
    if data.get("expire") not in (None, ""):
        connection.expire = parse_datetime(data["expire"], "expire")
        touched_settings = True
    elif "expire" in data:
        connection.expire = None
        touched_settings = True
    if touched_settings:
        connection.save()

    if source_name and not connection.sources.filter(name=source_name).exists():
        return _add_credentials_source(connection, source_name, values)
    if data.get("resume") is not None and boolean(data["resume"], "resume"):
        return _resume(connection, background)
    if data.get("refresh_auth") is not None and boolean(data["refresh_auth"], "refresh_auth"):
        connection.last_sync_attempt = now()
        _set_state(connection, "SCARequired")
        _log(connection)
        return Outcome(connection, 200)
    if values:
        return _new_values(connection, values)
    if touched_settings:
        return Outcome(connection, 200)
    # An empty body: the person asks for a sync.
    if connection.state in NEEDS_PERSON - {"SCARequired"}:
        return Outcome(connection, 200)
    if background:
        _start_pending(connection, "user_sync", config.get("BACKGROUND_DELAY"))
        return Outcome(connection, 202)
    run_sync(connection, user_initiated=True)
    return Outcome(connection, 200, synced=True)


def _add_credentials_source(
    connection: Connection, source_name: str, values: dict[str, Any]
) -> Outcome:
    sources = pick_sources(connection.connector, "credentials", source_name)
    fields = _relevant_fields(connection.connector, sources)
    validate_values(fields, values, require=True)
    scenario = scenario_for(values, fields)
    if scenario == "wrongpass":
        raise ApiError(400, "wrongpass", "Wrong credentials", message=BANK_MESSAGES["wrongpass"])
    _add_sources(connection, sources)
    connection.scenario = scenario
    connection.save()
    if scenario in ("otp", "decoupled"):
        return Outcome(connection, _ask_person(connection, scenario))
    run_sync(connection, user_initiated=True)
    return Outcome(connection, 200, synced=True)


def _new_values(connection: Connection, values: dict[str, Any]) -> Outcome:
    if connection.state == "additionalInformationNeeded" and "otp" in values:
        if str(values["otp"]).strip() == OTP_CODE:
            if connection.scenario == "otp":
                connection.scenario = "normal"
            run_sync(connection, user_initiated=True)
            return Outcome(connection, 200, synced=True)
        connection.last_sync_attempt = now()
        _set_state(
            connection,
            "additionalInformationNeeded",
            message=WRONG_OTP_MESSAGE,
            fields=[dict(OTP_FIELD)],
        )
        _log(connection)
        return Outcome(connection, 202)
    sources = [s.connector_source for s in connection.sources.select_related("connector_source")]
    fields = _relevant_fields(connection.connector, sources)
    known = {f["name"] for f in fields}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ApiError(400, "invalidValue", f"Unknown fields for this connection: {unknown}")
    validate_values(fields, values, require=False)
    scenario = scenario_for(values, fields) if "login" in values else connection.scenario
    if scenario == "wrongpass":
        connection.scenario = "wrongpass"
        connection.last_sync_attempt = now()
        _set_state(connection, "wrongpass", fields=[dict(f) for f in fields])
        _log(connection)
        connection.save()
        return Outcome(
            connection,
            400,
            error=ApiError(
                400, "wrongpass", "Wrong credentials", message=BANK_MESSAGES["wrongpass"]
            ),
        )
    connection.scenario = scenario
    connection.save()
    if scenario in ("otp", "decoupled"):
        return Outcome(connection, _ask_person(connection, scenario))
    run_sync(connection, user_initiated=True)
    return Outcome(connection, 200, synced=True)


def _resume(connection: Connection, background: bool) -> Outcome:
    if connection.state != "decoupled":
        raise ApiError(
            400, "invalidValue", "Only a connection in the decoupled state can be resumed"
        )
    _set_state(connection, "validating")
    if background:
        _start_pending(connection, "resume", config.get("BACKGROUND_DELAY"))
        return Outcome(connection, 202)
    # The caller waits with finish_blocking_resume() once this is committed, so that
    # a poll meanwhile sees `validating`.
    _start_pending(connection, "resume", float(config.get("RESUME_DELAY") or 0))
    return Outcome(connection, 200, wait_resume=True)


def finish_blocking_resume(connection: Connection) -> Connection:
    """Wait out a blocking resume (outside the request's transaction) and settle it."""
    if connection.pending_action == "resume" and connection.pending_until:
        wait = (connection.pending_until - now()).total_seconds()
        if wait > 0:
            time.sleep(wait)
    settle_pending(Connection.objects.filter(pk=connection.pk))
    connection.refresh_from_db()
    return connection


# -- forced sync --------------------------------------------------------------------


@transaction.atomic
def sync_connection(connection: Connection, *, psu_requested: bool, background: bool) -> Outcome:
    """``PUT /users/me/connections/{id}``: a forced sync."""
    _locked(connection)
    cooldown = float(config.get("SYNC_COOLDOWN") or 0)
    if cooldown and connection.last_sync_attempt:
        elapsed = (now() - connection.last_sync_attempt).total_seconds()
        if elapsed < cooldown:
            raise ApiError(
                409,
                "connectionLocked",
                f"This connection was synced {elapsed:.0f} s ago: wait {cooldown:.0f} s "
                "between forced syncs",
            )
    if connection.state in NEEDS_PERSON:
        # The bank needs the person first: the attempt is logged and changes nothing.
        connection.last_sync_attempt = now()
        connection.save(update_fields=["last_sync_attempt"])
        _log(connection, psu_requested)
        return Outcome(connection, 200)
    if background:
        connection.last_sync_attempt = now()
        _start_pending(connection, "sync", config.get("BACKGROUND_DELAY"), psu_requested)
        return Outcome(connection, 202)
    run_sync(connection, user_initiated=False, psu_requested=psu_requested)
    return Outcome(connection, 200, synced=True)


def settle_pending(connections: Any) -> None:
    """Finish the background operations of ``connections`` (a queryset) that are due.

    Called whenever connections are read: a ``?background=true`` call answers at
    once, and the work is done by the first read after ``BACKGROUND_DELAY``. Each
    operation is claimed with a conditional update, so that two concurrent reads
    cannot both finish it.
    """
    due = list(
        connections.filter(pending_action__isnull=False, pending_until__lte=now()).select_related(
            "connector", "user"
        )
    )
    for connection in due:
        action = connection.pending_action
        claimed = Connection.objects.filter(
            pk=connection.pk, pending_action=action, pending_until=connection.pending_until
        ).update(pending_action=None, pending_until=None)
        if not claimed:
            continue
        connection.pending_action = connection.pending_until = None
        with transaction.atomic():
            if action == "resume":
                if connection.scenario == "decoupled":
                    connection.scenario = "normal"
                run_sync(connection, user_initiated=True)
            else:
                run_sync(
                    connection,
                    user_initiated=action == "user_sync",
                    psu_requested=connection.pending_psu_requested,
                )


# -- webauth ------------------------------------------------------------------------


@transaction.atomic
def approve_webauth(
    user: User, connector: Connector, connection: Connection | None, source_name: str | None
) -> Connection:
    """The person approved on the bank page: create or repair the connection."""
    sources = pick_sources(connector, "webauth", source_name)
    if connection is None:
        connection = Connection.objects.create(
            user=user, connector=connector, scenario="normal", created=now()
        )
    else:
        connection.pending_action = connection.pending_until = None
        connection.scenario = "normal"
        connection.save()
    _add_sources(connection, sources)
    connection.sources.filter(connector_source__in=sources).update(
        access_expire=now() + dt.timedelta(days=180)
    )
    run_sync(connection, user_initiated=True)
    return connection


def needs_webauth(connection: Connection, source_name: str | None) -> bool:
    """Whether a webauth on ``connection`` has something to do (else Powens answers
    409): a state to fix, or a source to add."""
    if connection.state is not None:
        return True
    if source_name:
        return not connection.sources.filter(name=source_name, disabled__isnull=True).exists()
    return False


# -- delete -------------------------------------------------------------------------


@transaction.atomic
def delete_connection(connection: Connection) -> None:
    """Delete a connection and all its data, then send ``CONNECTION_DELETED``."""
    webhooks.connection_deleted(connection)
    connection.delete()


@transaction.atomic
def delete_user(user: User, token: str | None) -> None:
    """Delete a user and everything it owns, then send ``USER_DELETED``."""
    webhooks.user_deleted(user, token)
    user.delete()
