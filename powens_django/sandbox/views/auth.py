"""Users and tokens: /auth/init, /auth/renew, /auth/token/code, /auth/token/access,
/auth/token, /users/me, /publickey."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from .. import bank, config, crypto, serializers
from ..models import AccessToken, TemporaryCode, User
from ..wire import ApiError, body, boolean, json_response, now
from .base import authenticate_user, check_client, endpoint, user_for_path


def _new_token(user: User, *, expires: dt.datetime | None = None) -> AccessToken:
    return AccessToken.objects.create(
        token=secrets.token_urlsafe(48),
        user=user,
        type="temporary" if expires else "permanent",
        created=now(),
        expires=expires,
    )


@transaction.atomic
def _init(request: HttpRequest) -> HttpResponse:
    """``POST /auth/init``: a new user and its token. With client credentials the token
    is permanent; without any, temporary (30 minutes), as the OpenAPI file says."""
    data = body(request)
    client_id, client_secret = data.get("client_id"), data.get("client_secret")
    if client_id in (None, "") and client_secret in (None, ""):
        user = User.objects.create(signin=now())
        ttl = int(config.get("CODE_TTL"))
        token = _new_token(user, expires=now() + dt.timedelta(seconds=ttl))
        return json_response(
            {"auth_token": token.token, "type": "temporary", "id_user": user.pk, "expires_in": ttl}
        )
    client = check_client(client_id, client_secret)
    user = User.objects.create(client_id=client, signin=now())
    token = _new_token(user)
    return json_response(
        {"auth_token": token.token, "type": "permanent", "id_user": user.pk, "expires_in": None}
    )


init = endpoint({"POST": _init})


@transaction.atomic
def _renew(request: HttpRequest) -> HttpResponse:
    """``POST /auth/renew``: a new permanent token for an existing user (or a new user
    when ``id_user`` is absent), revoking the others with ``revoke_previous``."""
    data = body(request)
    client = check_client(data.get("client_id"), data.get("client_secret"))
    if data.get("grant_type", "client_credentials") != "client_credentials":
        raise ApiError(400, "invalidValue", "grant_type must be client_credentials")
    id_user = data.get("id_user")
    user: User | None
    if id_user in (None, ""):
        user = User.objects.create(client_id=client, signin=now())
    else:
        user = User.objects.filter(pk=_int(id_user, "id_user")).first()
        if user is None or (user.client_id is not None and user.client_id != client):
            raise ApiError(400, "invalidValue", f"No user {id_user} for this client")
    if boolean(data.get("revoke_previous", False), "revoke_previous"):
        user.tokens.filter(revoked__isnull=True).update(revoked=now())
    token = _new_token(user)
    return json_response({"access_token": token.token, "token_type": "Bearer"})


renew = endpoint({"POST": _renew})


def _int(value: object, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ApiError(400, "invalidValue", f"{name} must be an integer") from None
    if number <= 0:
        raise ApiError(400, "invalidValue", f"{name} must be positive")
    return number


def _code(request: HttpRequest) -> HttpResponse:
    """``GET /auth/token/code?type=singleAccess|requestAccess``: a temporary code."""
    user, _ = authenticate_user(request)
    kind = request.GET.get("type") or "requestAccess"
    if kind not in ("singleAccess", "requestAccess"):
        raise ApiError(400, "invalidValue", "type must be singleAccess or requestAccess")
    ttl = int(config.get("CODE_TTL"))
    code = TemporaryCode.objects.create(
        code=secrets.token_urlsafe(32),
        user=user,
        access="single" if kind == "singleAccess" else "standard",
        expires=now() + dt.timedelta(seconds=ttl),
    )
    return json_response(
        {"code": code.code, "type": "temporary", "access": code.access, "expires_in": ttl}
    )


token_code = endpoint({"GET": _code})


def take_code(value: object) -> TemporaryCode:
    """The user behind a temporary code; a single-access code is used up. A missing,
    unknown, expired or used code is a 401 ``forbidden``."""
    if not value:
        raise ApiError(400, "missingParameter", "A temporary code is required")
    with transaction.atomic():
        code = TemporaryCode.objects.select_related("user").filter(code=str(value)).first()
        if code is None or code.expires <= now() or code.used is not None:
            raise ApiError(401, "forbidden", "Unknown, expired or already used temporary code")
        if code.access == "single":
            used = TemporaryCode.objects.filter(pk=code.pk, used__isnull=True).update(used=now())
            if not used:
                raise ApiError(401, "forbidden", "This temporary code was already used")
    return code


@transaction.atomic
def _access(request: HttpRequest) -> HttpResponse:
    """``POST /auth/token/access``: exchange a temporary code for a permanent token."""
    data = body(request)
    check_client(data.get("client_id"), data.get("client_secret"))
    if data.get("grant_type", "authorization_code") != "authorization_code":
        raise ApiError(400, "invalidValue", "grant_type must be authorization_code")
    code = take_code(data.get("code"))
    token = _new_token(code.user)
    return json_response({"access_token": token.token, "token_type": "Bearer"})


token_access = endpoint({"POST": _access})


def _revoke(request: HttpRequest) -> HttpResponse:
    """``DELETE /auth/token``: revoke the token the call carries."""
    _, token = authenticate_user(request)
    AccessToken.objects.filter(pk=token.pk).update(revoked=now())
    return json_response(None, status=204)


token = endpoint({"DELETE": _revoke})


def _get_user(request: HttpRequest, user_ref: str) -> HttpResponse:
    user, _ = user_for_path(request, user_ref)
    return json_response(serializers.user(user))


def _delete_user(request: HttpRequest, user_ref: str) -> HttpResponse:
    user, token = user_for_path(request, user_ref)
    bank.delete_user(user, token.token)
    return json_response(None, status=204)


user = endpoint({"GET": _get_user, "DELETE": _delete_user})


def _publickey(request: HttpRequest) -> HttpResponse:
    """``GET /publickey``: the RSA key (JWK) to encrypt field values with."""
    return json_response(crypto.public_jwk())


publickey = endpoint({"GET": _publickey})
