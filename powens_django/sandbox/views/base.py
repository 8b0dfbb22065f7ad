"""Plumbing shared by the API views: method dispatch, errors, faults, authentication."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .. import config, faults, webhooks
from ..models import AccessToken, User
from ..wire import ApiError, error_response, new_request_id, now

Handler = Callable[..., HttpResponse]


def endpoint(handlers: dict[str, Handler], *, inject_faults: bool = True) -> Handler:
    """A view answering each HTTP method with its handler, errors in Powens' format.

    Every answer carries ``X-Request-Id``; a method without a handler is a 405
    ``methodNotAllowed``. The API is called with bearer tokens, never cookies, so
    CSRF protection does not apply.
    """

    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request_id = new_request_id()
        webhooks.begin_request()
        try:
            handler = handlers.get(request.method or "GET")
            if handler is None:
                raise ApiError(
                    405,
                    "methodNotAllowed",
                    f"{request.method} is not allowed here (use {', '.join(sorted(handlers))})",
                    headers={"Allow": ", ".join(sorted(handlers))},
                )
            # Path ids arrive as digit strings from the URL patterns.
            kwargs = {k: int(v) if k.endswith("_id") else v for k, v in kwargs.items()}
            spoiled = faults.maybe_fault() if inject_faults else None
            response = spoiled or handler(request, *args, **kwargs)
        except ApiError as error:
            response = error_response(error, request_id)
        response["X-Request-Id"] = request_id
        return response

    first = next(iter(handlers.values()))
    functools.update_wrapper(view, first, assigned=("__module__", "__doc__"))
    return view


# -- authentication -----------------------------------------------------------------


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(description: str) -> ApiError:
    return ApiError(401, "forbidden", description, headers={"WWW-Authenticate": "Bearer"})


def authenticate_user(request: HttpRequest) -> tuple[User, AccessToken]:
    """The user whose token the request carries: 401 without a valid user token,
    403 for a configuration token (it opens connector updates, not user data)."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("This call needs a user token: Authorization: Bearer <token>")
    row = AccessToken.objects.select_related("user").filter(token=token).first()
    if row is None:
        if token in config.config_tokens():
            raise ApiError(403, "forbidden", "A configuration token cannot reach user data")
        raise _unauthorized("Unknown token")
    if row.revoked is not None:
        raise _unauthorized("This token was revoked")
    if row.expires is not None and row.expires <= now():
        raise _unauthorized("This token has expired")
    return row.user, row


def user_for_path(request: HttpRequest, user_ref: str) -> tuple[User, AccessToken]:
    """Authenticate, then check that ``users/{user_ref}`` is ``me`` or the token's own
    user. Another user's id is a 403 ``forbidden``: the token is valid but not for
    that user (the documented ``forbidden`` code), and user ids are not secrets."""
    user, token = authenticate_user(request)
    if user_ref != "me" and user_ref != str(user.pk):
        raise ApiError(403, "forbidden", f"This token cannot act on user {user_ref}")
    return user, token


def require_config_token(request: HttpRequest) -> None:
    """Connector updates need a configuration token: 401 without one, 403 for a user
    token."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("This call needs the configuration token: Authorization: Bearer")
    if token in config.config_tokens():
        return
    if AccessToken.objects.filter(token=token).exists():
        raise ApiError(403, "forbidden", "A user token cannot update connectors")
    raise _unauthorized("Unknown configuration token")


def check_client(client_id: Any, client_secret: Any) -> str:
    """Check client application credentials; 401 ``forbidden`` when refused."""
    if client_id in (None, "") or client_secret in (None, ""):
        raise ApiError(400, "missingParameter", "client_id and client_secret are required")
    expected = config.clients().get(str(client_id))
    if expected is None or not hmac.compare_digest(expected.encode(), str(client_secret).encode()):
        raise _unauthorized("Unknown client_id or wrong client_secret")
    return str(client_id)
