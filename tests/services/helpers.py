"""What the service tests share: the people's tokens, the query the services add to
connection requests, and short ways to arrange the mirror and read it back."""

from __future__ import annotations

import base64
import json

from jwcrypto import jwe, jwk

from powens_django import sync
from powens_django.models import Connection, Connector, LinkState, PowensUser

from ..factories import connector_payload
from ..powens_api import ALICE_TOKEN, BOB_TOKEN  # noqa: F401 (re-exported to the tests)

EXPAND = "expand=connector,sources,all_accounts"
BUG = {"code": "bug", "description": "Internal error", "message": None}
REDIRECT_URI = "https://shop.example/banks/callback/"
BANK_URL = "https://webview.test.example/auth?session=abc"
CREDENTIALS = {"login": "alice", "password": "hunter2-alice"}
OTP_FIELD = {"name": "otp", "label": "Code reçu par SMS", "type": "text", "required": True}


def mirror(user, *payloads: dict) -> None:
    """Put connections in the local mirror as an earlier refresh would have."""
    sync.sync_connections(PowensUser.objects.get(user=user), list(payloads))


def connection(powens_id: int) -> Connection:
    return Connection.objects.select_related("powens_user").get(powens_id=powens_id)


def source_states(powens_id: int) -> dict[int, bool]:
    """The connection's mirrored sources: {source id: enabled}."""
    return {s.powens_id: s.enabled for s in connection(powens_id).sources.all()}


def authorization(powens_api, index: int = 0) -> str | None:
    return powens_api.requests[index].headers.get("Authorization")


def fetched(powens_id: int) -> list[str]:
    """The requests that fetching one connection into the mirror makes."""
    path = f"users/me/connections/{powens_id}"
    return [f"GET {path}?{EXPAND}", f"GET {path}/sources?all"]


def link_states() -> list[tuple]:
    return list(
        LinkState.objects.order_by("pk").values_list(
            "state_hash", "user_id", "session_hash", "created_at", "used_at"
        )
    )


def catalogue() -> dict[str, str]:
    return dict(Connector.objects.values_list("uuid", "name"))


def uuid(i: int) -> str:
    return connector_payload(i)["uuid"]


def decrypt(value: str, key: jwk.JWK) -> tuple[str, dict]:
    """What Powens does with an encrypted value: the plaintext and the JWE header."""
    protected = value.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    message = jwe.JWE()
    message.deserialize(value, key=key)
    return message.payload.decode(), header
