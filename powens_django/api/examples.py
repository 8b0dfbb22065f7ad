"""Examples shown in the OpenAPI schema (what a front end sends and gets back)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

#: What each refusal status means, in the schema.
WHY = {
    400: "Bad input (`invalid`, with `fields`), a refused callback (`invalid_callback`), a "
    "bank that cannot be linked this way (`connector_unavailable`), or a bank refusing the "
    "credentials (`wrong_credentials`, `action_needed`). Nothing was changed.",
    401: "Not signed in (`not_authenticated`), with an authentication that sends "
    "`WWW-Authenticate`.",
    403: "Not signed in (session authentication), a CSRF failure or another permission "
    "refused (`permission_denied`), or a person the site does not let link (`not_allowed`).",
    404: "No such object for this person (`not_found`): another person's connection too.",
    409: "Powens is busy with this connection (`sync_in_progress`), another link of this "
    "person is being made (`link_in_progress`), an action the connection's state does not "
    "call for (`not_offered`), nothing to repair (`nothing_to_repair`) or to ask "
    "(`nothing_to_ask`), or no bank linked yet (`no_powens_account`).",
    429: "Too many requests (`throttled`): wait `Retry-After` seconds.",
    502: "Powens refused the site's access or the request (`access_refused`, "
    "`powens_refused`): the site's team must look. Nothing was changed.",
    503: "Powens or the bank is unavailable or asks to slow down (`powens_unavailable`, "
    "`rate_limited`, `temporary_error`, `link_outcome_unknown`...): try again after "
    "`Retry-After` seconds. Nothing was changed.",
}

_CONNECTOR = {
    "uuid": "338178e6-3d01-564f-9a7b-52ca442459bf",
    "id": 59,
    "name": "Connecteur de test",
    "color": "ff0000",
    "beta": False,
    "auth_mechanism": "credentials",
    "auth_mechanism_label": "Credentials entered here",
    "countries": ["FR"],
}

CONNECTOR_PAGE = OpenApiExample(
    "A page of banks",
    response_only=True,
    value=_CONNECTOR,
)

CONNECT_OPTIONS = OpenApiExample(
    "A bank connected with credentials",
    response_only=True,
    value={
        "connector": _CONNECTOR,
        "sources": [{"name": "directaccess", "auth_mechanism": "credentials", "priority": 1}],
        "source": "directaccess",
        "auth_mechanism": "credentials",
        "login": "credentials",
        "fields": [
            {
                "name": "website",
                "label": "Espace",
                "type": "list",
                "required": True,
                "regex": None,
                "values": [
                    {"value": "par", "label": "Particuliers"},
                    {"value": "pro", "label": "Professionnels"},
                ],
                "description": None,
            },
            {
                "name": "login",
                "label": "Identifiant",
                "type": "text",
                "required": True,
                "regex": "^[a-z0-9]+$",
                "values": [],
                "description": None,
            },
            {
                "name": "password",
                "label": "Mot de passe",
                "type": "password",
                "required": True,
                "regex": None,
                "values": [],
                "description": None,
            },
        ],
    },
)

WEBAUTH_REQUEST = OpenApiExample(
    "A bank's website",
    request_only=True,
    value={"connector": "5b3a1a3c-5d37-5a63-8f4c-2f0f2b0a6a11", "next": "/dashboard/"},
)

WEBAUTH_LINK = OpenApiExample(
    "The link to open",
    response_only=True,
    value={
        "url": "https://webview.powens.com/connect?client_id=10000001&state=...",
        "expires_in": 1800,
    },
)

CALLBACK_REQUEST = OpenApiExample(
    "What the bank sent back",
    request_only=True,
    value={"state": "hT3k...Q", "id_connection": "3456"},
)

_STATE_OK = {
    "code": None,
    "label": "Up to date",
    "explanation": "The last synchronization succeeded.",
    "tone": "ok",
    "kind": "connected",
    "known": True,
}

_CONNECTION: dict[str, Any] = {
    "id": 3456,
    "connector": {
        "uuid": _CONNECTOR["uuid"],
        "name": "Connecteur de test",
        "color": "ff0000",
        "auth_mechanism": "credentials",
    },
    "bank_name": "Connecteur de test",
    "state": _STATE_OK,
    "bank_message": None,
    "actions": [{"code": "sync", "label": "Sync now"}, {"code": "delete", "label": "Disconnect"}],
    "active": True,
    "created": "2026-11-30T09:12:00Z",
    "last_update": "2026-12-01T08:00:00Z",
    "next_try": "2026-12-02T08:00:00Z",
    "sources": [
        {
            "id": 7001,
            "name": "directaccess",
            "state": _STATE_OK,
            "enabled": True,
            "disabled": None,
            "last_update": "2026-12-01T08:00:00Z",
        }
    ],
    "accounts": [
        {
            "id": 90001,
            "name": "Compte chèque",
            "original_name": "CCP M. Dupont",
            "number": "•••••••0143",
            "iban": "FR•••••••••••••••••••••0143",
            "balance": "1523.42000000",
            "coming": None,
            "currency": "EUR",
            "type": "checking",
            "usage": "PRIV",
            "enabled": True,
            "disabled": None,
            "last_update": "2026-12-01T08:00:00Z",
        }
    ],
}

CONNECTION = OpenApiExample("A linked bank", response_only=True, value=_CONNECTION)
CONNECTION_LIST = OpenApiExample("Linked banks", response_only=True, value=[_CONNECTION])

_CONNECTED: dict[str, Any] = {
    "kind": "connected",
    "text": "The last synchronization succeeded.",
    "bank_message": None,
    "error": None,
    "fields": [],
    "connection": _CONNECTION,
    "connection_ids": [],
}

OUTCOME_CONNECTED = OpenApiExample("Connected", response_only=True, value=_CONNECTED)

CALLBACK_OUTCOME = OpenApiExample(
    "Linked",
    response_only=True,
    value={**_CONNECTED, "connection_ids": [3456], "next": "/dashboard/"},
)

OUTCOME_NEEDS_FIELDS = OpenApiExample(
    "The bank asks a one-time code",
    response_only=True,
    status_codes=[201],
    value={
        **_CONNECTED,
        "kind": "needs_fields",
        "text": "Enter the code sent to your phone.",
        "bank_message": "Enter the code sent to your phone.",
        "fields": [
            {
                "name": "otp",
                "label": "Code",
                "type": "text",
                "required": True,
                "regex": None,
                "values": [],
                "description": None,
            }
        ],
    },
)

CREDENTIALS_REQUEST = OpenApiExample(
    "Credentials typed in the bank's form",
    request_only=True,
    value={
        "connector": _CONNECTOR["uuid"],
        "values": {"website": "par", "login": "alice", "password": "..."},
    },
)

OTP_REQUEST = OpenApiExample(
    "A one-time code", request_only=True, value={"values": {"otp": "123456"}}
)

WRONG_CREDENTIALS = OpenApiExample(
    "The bank refused the credentials",
    response_only=True,
    status_codes=[400],
    value={"code": "wrong_credentials", "message": "Wrong password."},
)

INVALID_VALUES = OpenApiExample(
    "A value the bank's form refuses",
    response_only=True,
    status_codes=[400],
    value={
        "code": "invalid",
        "message": "Some of the values sent are not valid.",
        "fields": {"values.login": ["Enter a value in the format your bank expects."]},
    },
)
