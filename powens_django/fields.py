"""``EncryptedTextField``: a text column stored as Fernet ciphertext.

Keys come from ``POWENS["TOKEN_ENCRYPTION_KEYS"]`` (newest first) through
``cryptography``'s ``MultiFernet``: values are encrypted with the first key and
decrypted with any of them, so keys rotate without downtime
(``manage.py powens_rotate_keys`` re-encrypts with the newest).

The field is deliberately awkward to misuse: it is not editable in forms, not
serialized by ``dumpdata``, refuses lookups other than ``isnull`` (ciphertext is
randomised, so equality could only ever fail silently), and a value that no configured
key can decrypt raises instead of handing ciphertext to the caller.

Values are decrypted when the attribute is first read, not when the row is loaded: a
page that lists connections (and their Powens user) never decrypts a token it does not
use, and a wrong key fails only the calls that need the token, with
:class:`DecryptionError`, instead of every page that loads the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.functions import Cast
from django.db.models.query_utils import DeferredAttribute
from django.views.decorators.debug import sensitive_variables

from .conf import powens_settings


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key."""


def get_fernet() -> MultiFernet:
    """The ``MultiFernet`` built from ``POWENS["TOKEN_ENCRYPTION_KEYS"]``."""
    keys = powens_settings.TOKEN_ENCRYPTION_KEYS
    if isinstance(keys, str | bytes) or not keys:
        raise ImproperlyConfigured(
            'POWENS["TOKEN_ENCRYPTION_KEYS"] must be a non-empty list of Fernet keys '
            "(see `manage.py check`)."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            'POWENS["TOKEN_ENCRYPTION_KEYS"] holds a malformed key (see `manage.py check`).'
        ) from None


@sensitive_variables("value")
def encrypt(value: str) -> str:
    """Encrypt ``value`` with the newest key."""
    return get_fernet().encrypt(value.encode("utf-8")).decode("ascii")


@sensitive_variables("token")
def decrypt(token: str) -> str:
    """Decrypt with any configured key; raise :class:`DecryptionError` otherwise."""
    try:
        return get_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        # Never put the stored value in the message: it is the ciphertext of a secret.
        raise DecryptionError(
            "A stored Powens token cannot be decrypted with any key in "
            'POWENS["TOKEN_ENCRYPTION_KEYS"]; was a key removed before rotation?'
        ) from None


class _Ciphertext(str):
    """A stored value as loaded, not decrypted yet (never shown: see ``__repr__``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<encrypted>"

    __str__ = __repr__


class DecryptingAttribute(DeferredAttribute):
    """Decrypts the loaded ciphertext on first read and keeps the plain value."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, _Ciphertext):
            value = decrypt(str.__str__(value))
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A ``TextField`` whose database value is Fernet ciphertext."""

    description = "Text encrypted at rest (Fernet)"
    descriptor_class = DecryptingAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("serialize", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key, default in (("editable", False), ("serialize", False)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return _Ciphertext(value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        # The stored value as it is: an untouched ciphertext is written back as is,
        # without being decrypted.
        return model_instance.__dict__.get(self.attname)

    @sensitive_variables("value")
    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, _Ciphertext):
            return str.__str__(value)
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value if value is None else None
        return encrypt(str(value))

    def has_value(self, instance: Any) -> bool:
        """Whether ``instance`` stores a value, without decrypting it (a deferred value
        is looked up with one ``IS NOT NULL`` query)."""
        if self.attname in instance.__dict__:
            return instance.__dict__[self.attname] not in (None, "")
        if instance.pk is None:
            return False
        return (
            type(instance)
            ._default_manager.filter(pk=instance.pk, **{f"{self.attname}__isnull": False})
            .exists()
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise NotImplementedError(
                f"{type(self).__name__} cannot be searched with '{lookup_name}': "
                "its ciphertext differs every time a value is stored."
            )
        return super().get_lookup(lookup_name)

    def value_to_string(self, obj: Any) -> str:
        # Shown nowhere: admin, serializers and dumpdata get a mask, never the value.
        return "********" if self.has_value(obj) else ""


@dataclass(frozen=True)
class KeyCheck:
    """What :func:`check_stored_values` found: how many stored values it tried and how
    many no configured key opened (counts only: never a value or a ciphertext)."""

    checked: int
    unreadable: int
    total: int


@sensitive_variables()
def check_stored_values(
    queryset: models.QuerySet[Any], field_name: str, *, sample: int | None = None
) -> KeyCheck:
    """Try the configured keys on the stored values of ``field_name`` (an
    :class:`EncryptedTextField`) in ``queryset``; ``sample`` tries at most that many,
    half the oldest and half the newest rows (the oldest are the likeliest to predate a
    key's removal). Reads the ciphertext as plain text, so one unreadable row does not
    stop the count; raises ``ImproperlyConfigured`` without keys and the database's
    errors as they come.
    """
    fernet = get_fernet()
    stored = queryset.filter(**{f"{field_name}__isnull": False})
    raw = Cast(field_name, output_field=models.TextField())
    total = stored.count()
    if sample is None or sample >= total:
        pks = list(stored.order_by("pk").values_list("pk", flat=True))
    else:
        oldest = list(stored.order_by("pk").values_list("pk", flat=True)[: (sample + 1) // 2])
        newest = list(stored.order_by("-pk").values_list("pk", flat=True)[: sample // 2])
        pks = sorted(set(oldest) | set(newest))
    unreadable = 0
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        for ciphertext in (
            stored.filter(pk__in=chunk).annotate(_raw=raw).values_list("_raw", flat=True)
        ):
            try:
                fernet.decrypt(str(ciphertext).encode("ascii"))
            except (InvalidToken, UnicodeError):
                unreadable += 1
    return KeyCheck(checked=len(pks), unreadable=unreadable, total=total)
