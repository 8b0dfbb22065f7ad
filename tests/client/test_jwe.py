"""End-to-end encryption of credential fields: compact JWE that Powens can decrypt with
its private key, under the public key from GET /publickey, fetched once and cached."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwe, jwk

from powens_django.client import MalformedResponseError, encrypt_value, load_public_key
from powens_django.client.jwe import PublicKeyCache

from .wire import USER_TOKEN, sent, url


def public_jwk(key: jwk.JWK, **extra) -> dict:
    return {**key.export_public(as_dict=True), **extra}


def decrypt(token: str, private_key: jwk.JWK) -> tuple[bytes, dict]:
    """What Powens does with a field value: the plaintext and the protected header."""
    protected = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    message = jwe.JWE()
    message.deserialize(token, key=private_key)
    return message.payload, header


# -- reading Powens' public key --------------------------------------------------------


def test_a_public_jwk_is_loaded_with_its_kid(rsa_key):
    key = load_public_key(public_jwk(rsa_key))

    assert key.get("kid") == "powens-e2e-2025"
    assert key.thumbprint() == rsa_key.thumbprint()
    assert not key.has_private


def test_a_jwk_without_kid_is_named_by_its_thumbprint(rsa_key):
    unnamed = {k: v for k, v in public_jwk(rsa_key).items() if k != "kid"}

    assert load_public_key(unnamed).get("kid") == rsa_key.thumbprint()


def test_a_jwk_set_gives_its_encryption_key(rsa_key):
    keys = {
        "keys": [
            public_jwk(rsa_key, kid="signing", use="sig"),
            public_jwk(rsa_key, kid="encryption", use="enc"),
        ]
    }

    assert load_public_key(keys).get("kid") == "encryption"


def test_a_pem_string_is_loaded_and_named_by_its_thumbprint(rsa_key):
    pem = rsa_key.export_to_pem().decode()

    key = load_public_key(pem)

    assert key.thumbprint() == rsa_key.thumbprint()
    assert key.get("kid") == rsa_key.thumbprint()


@pytest.mark.parametrize("member", ["key", "publickey", "public_key", "pem"])
def test_a_pem_inside_a_json_member_is_loaded_with_the_kid_given_beside_it(rsa_key, member):
    pem = rsa_key.export_to_pem().decode()

    key = load_public_key({member: pem, "kid": "console-key-3"})

    assert key.thumbprint() == rsa_key.thumbprint()
    assert key.get("kid") == "console-key-3"


def test_a_private_jwk_is_reduced_to_its_public_half(rsa_key):
    key = load_public_key(rsa_key.export_private(as_dict=True))

    assert not key.has_private
    assert key.get("kid") == "powens-e2e-2025"
    assert "d" not in key.export_public(as_dict=True)


@pytest.mark.parametrize(
    "answer",
    [
        "not a key",
        "",
        42,
        None,
        {},
        {"keys": []},
        {"keys": [{"kty": "RSA", "use": "sig"}]},
        {"kty": "RSA"},
        {"kty": "RSA", "n": "!!", "e": "AQAB"},
        {"key": "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----"},
        {"kty": "oct", "k": "c2VjcmV0"},
    ],
    ids=[
        "text",
        "empty",
        "number",
        "null",
        "empty-object",
        "empty-set",
        "signing-only-set",
        "incomplete-jwk",
        "bad-modulus",
        "bad-pem",
        "symmetric-key",
    ],
)
def test_an_answer_without_a_usable_rsa_key_is_malformed(answer):
    with pytest.raises(MalformedResponseError):
        load_public_key(answer)


def test_an_elliptic_curve_key_is_refused():
    ec_key = jwk.JWK.generate(kty="EC", crv="P-256")

    with pytest.raises(MalformedResponseError, match="RSA"):
        load_public_key(ec_key.export_public(as_dict=True))


def rsa_public_jwk(bits: int) -> dict:
    """An RSA public key with a ``bits``-bit modulus (keys under 1024 bits cannot be
    generated any more; a public key only needs a modulus of that size)."""
    modulus = 2 ** (bits - 1) + 111
    key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return jwk.JWK.from_pyca(key).export_public(as_dict=True)


@pytest.mark.parametrize("bits", [512, 1024, 1536, 2047])
def test_an_rsa_key_under_2048_bits_is_refused(bits):
    with pytest.raises(MalformedResponseError, match=f"{bits}-bit RSA key.*at least 2048"):
        load_public_key(rsa_public_jwk(bits))


def test_a_weak_key_is_refused_in_pem_and_jwk_sets_too():
    weak = jwk.JWK.generate(kty="RSA", size=1024)
    pem = weak.export_to_pem().decode()

    for answer in (pem, {"publickey": pem, "kid": "k1"}, {"keys": [weak.export_public(True)]}):
        with pytest.raises(MalformedResponseError, match="1024-bit"):
            load_public_key(answer)


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_rsa_keys_of_2048_bits_and_more_are_accepted(bits):
    key = load_public_key(rsa_public_jwk(bits))

    public = key.get_op_key("wrapKey")
    assert public.key_size == bits
    assert public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)


def test_a_weak_key_is_not_cached_and_nothing_is_encrypted_with_it(powens, client, rsa_key):
    powens.get(url("publickey"), json=rsa_public_jwk(1024))
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    with pytest.raises(MalformedResponseError, match="1024-bit"):
        client.encrypt_fields({"password": "hunter2"})
    encrypted = client.encrypt_fields({"password": "hunter2"})

    assert decrypt(encrypted["password"], rsa_key)[0] == b"hunter2"


# -- encrypting values -----------------------------------------------------------------


def test_a_value_is_encrypted_as_compact_jwe_that_powens_can_decrypt(rsa_key):
    token = encrypt_value(load_public_key(public_jwk(rsa_key)), "hunter2 éà")

    plaintext, header = decrypt(token, rsa_key)

    assert len(token.split(".")) == 5
    assert plaintext == "hunter2 éà".encode()
    assert header == {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "powens-e2e-2025"}


def test_get_public_key_asks_powens_without_credentials(powens, user_client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    assert user_client.get_public_key() == public_jwk(rsa_key)
    assert sent(powens) == {
        "method": "GET",
        "url": url("publickey"),
        "authorization": None,
        "json": None,
    }


def test_encrypt_fields_encrypts_every_value_under_powens_key(powens, client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    encrypted = client.encrypt_fields({"login": "alice", "password": "hunter2", "pin": 1234})

    assert set(encrypted) == {"login", "password", "pin"}
    assert "hunter2" not in json.dumps(encrypted)
    decrypted = {name: decrypt(token, rsa_key)[0] for name, token in encrypted.items()}
    assert decrypted == {"login": b"alice", "password": b"hunter2", "pin": b"1234"}


def test_encrypting_the_same_value_twice_gives_different_ciphertexts(powens, client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    first = client.encrypt_fields({"password": "hunter2"})
    second = client.encrypt_fields({"password": "hunter2"})

    assert first["password"] != second["password"]


# -- caching the key -------------------------------------------------------------------


def test_the_key_is_fetched_once_for_several_encryptions(powens, client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    client.encrypt_fields({"login": "alice"})
    client.encrypt_fields({"password": "hunter2"})

    assert len(powens.calls) == 1


def test_the_key_cache_is_shared_by_per_user_clients(powens, client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    client.with_token(USER_TOKEN).encrypt_fields({"login": "alice"})
    client.with_token("another-token").encrypt_fields({"login": "bob"})
    client.encrypt_fields({"login": "carol"})

    assert len(powens.calls) == 1


def test_forget_public_key_makes_the_next_encryption_fetch_it_again(powens, client, rsa_key):
    powens.get(url("publickey"), json=public_jwk(rsa_key, kid="old"))
    powens.get(url("publickey"), json=public_jwk(rsa_key, kid="rotated"))

    client.encrypt_fields({"login": "alice"})
    client.forget_public_key()
    token = client.encrypt_fields({"login": "alice"})["login"]

    assert len(powens.calls) == 2
    assert decrypt(token, rsa_key)[1]["kid"] == "rotated"


def test_the_key_is_fetched_again_once_its_ttl_has_passed(powens, make_client, rsa_key):
    client = make_client(public_key_ttl=0)
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    client.encrypt_fields({"login": "alice"})
    client.encrypt_fields({"login": "alice"})

    assert len(powens.calls) == 2


def test_the_key_cache_keeps_a_key_for_exactly_its_ttl(rsa_key):
    now = [1000.0]
    fetched = []

    def fetch():
        fetched.append(now[0])
        return public_jwk(rsa_key)

    cache = PublicKeyCache(ttl=3600.0, clock=lambda: now[0])
    cache.get(fetch)
    now[0] += 3599.0
    cache.get(fetch)
    now[0] += 1.0
    cache.get(fetch)

    assert fetched == [1000.0, 4600.0]


def test_an_unreadable_key_is_not_cached(powens, client, rsa_key):
    powens.get(url("publickey"), json={"oops": True})
    powens.get(url("publickey"), json=public_jwk(rsa_key))

    with pytest.raises(MalformedResponseError):
        client.encrypt_fields({"login": "alice"})
    client.encrypt_fields({"login": "alice"})

    assert len(powens.calls) == 2
