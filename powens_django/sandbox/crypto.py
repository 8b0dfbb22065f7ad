"""The sandbox's RSA key: ``GET /publickey`` and decryption of JWE field values."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

from .models import KeyPair
from .wire import ApiError, now

ALGORITHM = "RSA-OAEP-256"
ENCRYPTION = "A256GCM"


def _private_key() -> jwk.JWK:
    pair = KeyPair.objects.order_by("-created", "-id").first()
    if pair is None:
        key = jwk.JWK.generate(kty="RSA", size=2048)
        kid = key.thumbprint()
        pem = key.export_to_pem(private_key=True, password=None).decode()
        try:
            with transaction.atomic():
                pair = KeyPair.objects.create(kid=kid, private_pem=pem, created=now())
        except IntegrityError:  # another process made one at the same moment
            pair = KeyPair.objects.order_by("-created", "-id").first()
            assert pair is not None
    key = jwk.JWK.from_pem(pair.private_pem.encode())
    return jwk.JWK(**{**json.loads(key.export_private()), "kid": pair.kid})


def public_jwk() -> dict[str, Any]:
    """The public key as a JWK (``kty``, ``n``, ``e``, ``kid``, ``alg``, ``use``)."""
    public = json.loads(_private_key().export_public())
    return {
        "kty": public["kty"],
        "n": public["n"],
        "e": public["e"],
        "kid": public["kid"],
        "alg": ALGORITHM,
        "use": "enc",
    }


def looks_like_jwe(value: Any) -> bool:
    """Whether ``value`` is a compact JWE (five dot-separated parts, a JSON header)."""
    if not isinstance(value, str) or value.count(".") != 4:
        return False
    header = value.split(".", 1)[0]
    try:
        decoded = json.loads(jwk.base64url_decode(header))
    except (ValueError, TypeError):
        return False
    return isinstance(decoded, dict) and "enc" in decoded


def decrypt_fields(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every compact-JWE string decrypted; plain values pass through.

    A JWE that cannot be decrypted with the sandbox key is a 400 ``invalidValue``.
    """
    if not any(looks_like_jwe(v) for v in values.values()):
        return values
    key = _private_key()
    result = dict(values)
    for name, value in values.items():
        if not looks_like_jwe(value):
            continue
        token = jwe.JWE()
        try:
            token.deserialize(value, key=key)
            header = token.jose_header
        except (JWException, ValueError, TypeError):
            raise ApiError(
                400,
                "invalidValue",
                f"The value of {name!r} is a JWE that the sandbox key cannot decrypt",
            ) from None
        if header.get("alg") != ALGORITHM or header.get("enc") != ENCRYPTION:
            raise ApiError(
                400, "invalidValue", f"The value of {name!r} must use {ALGORITHM} + {ENCRYPTION}"
            )
        result[name] = token.payload.decode("utf-8")
    return result
