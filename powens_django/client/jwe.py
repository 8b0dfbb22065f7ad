"""End-to-end encryption of credential field values (Powens' JWE requirement).

Powens asks integrators that post bank credentials themselves to encrypt each field
value as a compact JWE: key wrapping RSA-OAEP-256, content A256GCM, the key's ``kid``
in the protected header, the public key coming from ``GET /publickey``. The shape of
that answer is not pinned down by the documentation we have, so
:func:`load_public_key` accepts a JWK, a JWK set, or a PEM (bare or in a JSON member).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_decode

from ._sensitive import sensitive
from .errors import MalformedResponseError

ALGORITHM = "RSA-OAEP-256"
ENCRYPTION = "A256GCM"
#: The smallest RSA modulus accepted (NIST SP 800-57, ANSSI RGS): a smaller key is
#: refused rather than used to "protect" credentials.
MIN_RSA_BITS = 2048
_PEM_MEMBERS = ("publickey", "public_key", "key", "pem")


def load_public_key(payload: Any) -> jwk.JWK:
    """Build the RSA public key from what ``GET /publickey`` answered.

    Accepts a JWK dict, ``{"keys": [jwk, ...]}`` (the first encryption key wins), a PEM
    string, or a dict holding a PEM under ``publickey``/``public_key``/``key``/``pem``
    with an optional ``kid``. A key without ``kid`` gets its RFC 7638 thumbprint. An
    RSA key under :data:`MIN_RSA_BITS` bits is refused (:class:`MalformedResponseError`).
    """
    key: jwk.JWK | None = None
    kid: str | None = None
    try:
        if isinstance(payload, Mapping):
            if "keys" in payload and isinstance(payload["keys"], list):
                candidates = [k for k in payload["keys"] if isinstance(k, Mapping)]
                chosen = next((k for k in candidates if k.get("use", "enc") == "enc"), None)
                if chosen is not None:
                    key = jwk.JWK(**chosen)
            elif "kty" in payload:
                key = jwk.JWK(**payload)
            else:
                pem = next(
                    (payload[m] for m in _PEM_MEMBERS if isinstance(payload.get(m), str)), None
                )
                if pem:
                    key = jwk.JWK.from_pem(pem.encode())
                    kid = payload.get("kid") or payload.get("id")
        elif isinstance(payload, str | bytes):
            text = payload.encode() if isinstance(payload, str) else payload
            key = jwk.JWK.from_pem(text)
    except (ValueError, TypeError, jwk.InvalidJWKValue) as exc:
        raise MalformedResponseError(f"Powens' public key cannot be read: {exc}") from None
    if key is None or key.get("kty") != "RSA":
        raise MalformedResponseError("Powens' /publickey answer holds no RSA public key")
    bits = _modulus_bits(key)
    if bits < MIN_RSA_BITS:
        raise MalformedResponseError(
            f"Powens' /publickey answer holds a {bits}-bit RSA key; credentials are only "
            f"encrypted under keys of at least {MIN_RSA_BITS} bits"
        )
    if key.has_private:
        # We only ever need the public half; never keep more than that in memory.
        key = jwk.JWK(**key.export_public(as_dict=True))
    if kid is None:
        kid = key.get("kid") or key.thumbprint()
    if key.get("kid") != kid:
        key = jwk.JWK(**{**key.export_public(as_dict=True), "kid": str(kid)})
    return key


def _modulus_bits(key: jwk.JWK) -> int:
    try:
        return int.from_bytes(base64url_decode(str(key.get("n"))), "big").bit_length()
    except (ValueError, TypeError):
        return 0


# Every local of the encryption (the value, jwcrypto's plaintext) is hidden from error
# reports, down through jwcrypto's and cryptography's frames.
@sensitive()
def encrypt_value(key: jwk.JWK, value: str) -> str:
    """Encrypt one field value as a compact JWE (RSA-OAEP-256 + A256GCM, ``kid``)."""
    protected = {"alg": ALGORITHM, "enc": ENCRYPTION, "kid": key.get("kid")}
    token = jwe.JWE(value.encode("utf-8"), protected=json.dumps(protected), recipient=key)
    return str(token.serialize(compact=True))


class PublicKeyCache:
    """Keeps the Powens public key for ``ttl`` seconds; safe to share between threads."""

    def __init__(self, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._key: jwk.JWK | None = None
        self._fetched_at = 0.0

    def get(self, fetch: Callable[[], Any]) -> jwk.JWK:
        """The cached key, or a freshly fetched one when missing or older than ``ttl``."""
        with self._lock:
            if self._key is None or self._clock() - self._fetched_at >= self.ttl:
                self._key = load_public_key(fetch())
                self._fetched_at = self._clock()
            return self._key

    def clear(self) -> None:
        """Forget the key (e.g. after Powens rejected a value encrypted with it)."""
        with self._lock:
            self._key = None
