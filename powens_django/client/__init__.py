"""The Powens API client: HTTP and Powens' JSON, no Django models.

See :class:`PowensClient`; errors are in :mod:`.errors`, date helpers in :mod:`.dates`.
"""

from .api import UNSET, FieldNameClashError, PowensClient
from .budget import time_budget
from .dates import POWENS_TZ, format_date, format_datetime, parse_date, parse_datetime
from .errors import (
    ActionNeededError,
    AuthenticationError,
    BudgetExhaustedError,
    ConflictError,
    InvalidValueError,
    MalformedResponseError,
    NotFoundError,
    PowensConnectionError,
    PowensError,
    PowensTimeoutError,
    PowensTransportError,
    RateLimitedError,
    ServerError,
    WebsiteUnavailableError,
    WrongPassError,
)
from .jwe import encrypt_value, load_public_key

__all__ = [
    "POWENS_TZ",
    "UNSET",
    "ActionNeededError",
    "AuthenticationError",
    "BudgetExhaustedError",
    "ConflictError",
    "FieldNameClashError",
    "InvalidValueError",
    "MalformedResponseError",
    "NotFoundError",
    "PowensClient",
    "PowensConnectionError",
    "PowensError",
    "PowensTimeoutError",
    "PowensTransportError",
    "RateLimitedError",
    "ServerError",
    "WebsiteUnavailableError",
    "WrongPassError",
    "encrypt_value",
    "format_date",
    "format_datetime",
    "load_public_key",
    "parse_date",
    "parse_datetime",
    "time_budget",
]
