"""Models mirroring Powens objects, plus the local records around them.

Conventions (see docs/models.md):
- Mirrored properties keep Powens' names (``name``, ``state``, ``last_update``...);
  Powens' identifiers are ``powens_id`` (integers) and ``uuid`` (connectors).
- Every mirrored row keeps the payload it came from in ``raw`` so properties Powens
  adds later are not lost, ``raw_hash`` to skip rewriting unchanged payloads, and
  ``synced_at``. Only :mod:`powens_django.sync` writes these rows.
- States, auth mechanisms and field types are open strings: a value Powens invents
  tomorrow is stored as is (:mod:`powens_django.states` describes the known ones).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .fields import EncryptedTextField
from .states import (
    Action,
    StateInfo,
    actions_for,
    describe_auth_mechanism,
    describe_source,
    describe_state,
)


class MirroredModel(models.Model):
    raw = models.JSONField(_("Powens payload"), default=dict, editable=False)
    raw_hash = models.CharField(max_length=64, default="", editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, editable=False)

    class Meta:
        abstract = True


class Connector(MirroredModel):
    """A bank or provider of the Powens catalogue."""

    uuid = models.CharField(_("UUID"), max_length=64, unique=True)
    # Powens' integer id is not stable across domains: uuid is the natural key.
    powens_id = models.PositiveIntegerField(_("Powens id"), null=True, db_index=True)
    name = models.CharField(_("name"), max_length=255)
    # Casefolded, accent-free name for searches ("credit" finds "Crédit").
    search_name = models.CharField(max_length=255, default="", db_index=True, editable=False)
    slug = models.CharField(_("slug"), max_length=64, blank=True, default="")
    code = models.CharField(_("bank code"), max_length=64, blank=True, default="")
    color = models.CharField(_("colour"), max_length=16, blank=True, default="")
    hidden = models.BooleanField(_("hidden"), default=False)
    beta = models.BooleanField(_("beta"), default=False)
    charged = models.BooleanField(_("charged"), default=False)
    restricted = models.BooleanField(_("restricted"), default=False)
    auth_mechanism = models.CharField(_("auth mechanism"), max_length=32, blank=True, default="")
    available_auth_mechanisms = models.JSONField(default=list, blank=True)
    transfer_mechanism = models.CharField(max_length=32, blank=True, default="")
    siret = models.CharField(max_length=32, blank=True, default="")
    months_to_fetch = models.PositiveSmallIntegerField(null=True, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    products = models.JSONField(default=list, blank=True)
    account_usages = models.JSONField(default=list, blank=True)
    urls = models.JSONField(default=list, blank=True)
    #: ConnectorField definitions (expand=fields), rendered as the connection form.
    fields = models.JSONField(default=list, blank=True)
    payment_settings = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["search_name", "uuid"]
        indexes = [models.Index(fields=["hidden", "restricted", "search_name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def auth_mechanism_label(self) -> Any:
        return describe_auth_mechanism(self.auth_mechanism)

    @property
    def can_connect(self) -> bool:
        """Whether people can add a new connection with it."""
        return not self.hidden and not self.restricted


class ConnectorCountry(models.Model):
    """A country where the connector's customers hold accounts (expand=countries)."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="countries")
    code = models.CharField(_("country"), max_length=2, db_index=True)
    name = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("connector country")
        verbose_name_plural = _("connector countries")
        constraints = [
            models.UniqueConstraint(fields=["connector", "code"], name="powens_connector_country")
        ]

    def __str__(self) -> str:
        return self.code


class ConnectorSource(MirroredModel):
    """One way a connector reaches the bank (e.g. ``openapi``, ``directaccess``)."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="sources")
    powens_id = models.PositiveIntegerField(_("Powens id"), unique=True)
    name = models.CharField(_("name"), max_length=64)
    auth_mechanism = models.CharField(_("auth mechanism"), max_length=32, blank=True, default="")
    available_auth_mechanisms = models.JSONField(default=list, blank=True)
    disabled = models.DateTimeField(_("disabled"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), null=True, blank=True)
    account_usages = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("connector source")
        verbose_name_plural = _("connector sources")
        ordering = ["connector", "priority", "powens_id"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> Any:
        """The source in the person's words ("With your login details")."""
        return describe_source(self.name, self.auth_mechanism)


class PowensUser(models.Model):
    """A Django user's identity at Powens and their permanent token (encrypted)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="powens_user"
    )
    powens_id = models.PositiveBigIntegerField(_("Powens user id"), unique=True, null=True)
    token = EncryptedTextField(_("Powens token"), null=True)
    # Set by the request creating the Powens user, so a concurrent one waits for it
    # instead of creating a second Powens user (see services.ensure_powens_user).
    init_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set while a request creates a connection for this user, so a double submit (or a
    # second tab) is refused instead of creating a second connection at Powens.
    link_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Powens user")
        verbose_name_plural = _("Powens users")
        permissions = [("delete_powens_user_at_powens", _("Can delete Powens users at Powens"))]

    def __str__(self) -> str:
        return f"{self.user} (Powens #{self.powens_id})" if self.powens_id else str(self.user)

    def __repr__(self) -> str:
        # The token never appears in a repr, a log line or a traceback.
        return f"<PowensUser pk={self.pk} powens_id={self.powens_id}>"

    @property
    def is_linked(self) -> bool:
        # Without decrypting the token: pages ask this of rows whose token they never use.
        return bool(self.powens_id) and _token_field().has_value(self)


@dataclass
class AccountTotal:
    """The sum of a connection's balances in one currency."""

    currency: str
    amount: Decimal
    accounts: int
    precision: int | None = None


def _token_field() -> EncryptedTextField:
    field = PowensUser._meta.get_field("token")
    assert isinstance(field, EncryptedTextField)
    return field


class Connection(MirroredModel):
    """A person's link to a connector at Powens."""

    powens_user = models.ForeignKey(
        PowensUser, on_delete=models.CASCADE, related_name="connections"
    )
    powens_id = models.PositiveBigIntegerField(_("Powens id"), unique=True)
    # Joined on the connector's uuid without a database constraint: a connection may
    # arrive before its connector (catalogue not refreshed yet) and links up by itself
    # when the connector does; removing a connector never touches connections.
    connector = models.ForeignKey(
        Connector,
        to_field="uuid",
        db_column="connector_uuid",
        db_constraint=False,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="connections",
    )
    powens_connector_id = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(_("state"), max_length=64, null=True, blank=True)
    error_message = models.TextField(_("bank message"), null=True, blank=True)
    #: Fields the connection asks for in its current state (OTP, new credentials).
    fields = models.JSONField(null=True, blank=True)
    active = models.BooleanField(pgettext_lazy("connection", "active"), default=True)
    last_update = models.DateTimeField(_("last successful update"), null=True, blank=True)
    created = models.DateTimeField(_("created at Powens"), null=True, blank=True)
    last_push = models.DateTimeField(null=True, blank=True)
    expire = models.DateTimeField(null=True, blank=True)
    next_try = models.DateTimeField(_("next synchronization"), null=True, blank=True)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["-created", "-powens_id"]
        permissions = [
            ("sync_connection", _("Can sync connections at Powens")),
            ("delete_connection_at_powens", _("Can delete connections at Powens")),
        ]
        indexes = [
            models.Index(fields=["powens_user", "state"]),
            models.Index(fields=["state"]),
            models.Index(fields=["synced_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.connector_name} #{self.powens_id}"

    #: Set by :func:`account_totals_of`, read by :attr:`account_totals`.
    _account_totals: list[AccountTotal]

    @property
    def connector_or_none(self) -> Connector | None:
        """The connector, or None while it is not in the local catalogue."""
        try:
            return self.connector
        except Connector.DoesNotExist:
            return None

    @property
    def connector_uuid(self) -> str | None:
        return self.connector_id

    @property
    def connector_name(self) -> str:
        connector = self.connector_or_none
        if connector is not None:
            return connector.name
        if "embedded_connector_name" in self.__dict__:
            # Lists read only that name from the payload (see views._banks).
            named = self.__dict__["embedded_connector_name"]
        else:
            embedded = self.raw.get("connector") if isinstance(self.raw, dict) else None
            named = embedded.get("name") if isinstance(embedded, dict) else None
        return str(named) if named else str(_("Bank"))

    @property
    def state_info(self) -> StateInfo:
        return describe_state(self.state)

    @property
    def account_totals(self) -> list[AccountTotal]:
        """The balance of this connection's enabled accounts, one total per currency
        (sorted by currency). Uses prefetched ``accounts`` when there are; a set
        (:func:`account_totals_of`) sums them in the database instead, or uses the
        totals it put in ``_account_totals``."""
        if hasattr(self, "_account_totals"):
            return self._account_totals
        totals: dict[str, AccountTotal] = {}
        for account in self.accounts.all():
            if account.enabled and account.balance is not None:
                _add(totals, account.currency, account.balance, account.currency_precision)
        return [totals[code] for code in sorted(totals)]

    @property
    def actions(self) -> list[Action]:
        """What the person can do about this connection now (the state table's
        actions, kept to those its connector's login method allows)."""
        connector = self.connector_or_none
        return actions_for(
            self.state, auth_mechanism=connector.auth_mechanism if connector else None
        )


class ConnectionSource(MirroredModel):
    """One source of a connection, mirroring a ConnectorSource for this person."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sources")
    powens_id = models.PositiveBigIntegerField(_("Powens id"), unique=True)
    connector_source_id = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(_("name"), max_length=64)
    state = models.CharField(_("state"), max_length=64, null=True, blank=True)
    last_update = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    disabled = models.DateTimeField(_("disabled"), null=True, blank=True)
    access_expire = models.DateTimeField(null=True, blank=True)
    expire = models.DateTimeField(null=True, blank=True)
    next_try = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("connection source")
        verbose_name_plural = _("connection sources")
        ordering = ["connection", "powens_id"]

    def __str__(self) -> str:
        return self.name

    @property
    def state_info(self) -> StateInfo:
        return describe_state(self.state)

    @property
    def label(self) -> Any:
        """The source in the person's words ("On your bank's website")."""
        return describe_source(self.name)

    @property
    def enabled(self) -> bool:
        return self.disabled is None


class LinkState(models.Model):
    """The ``state`` of a browser flow (webauth): random, single-use, short-lived,
    bound to a user and, for pages, to their session.

    Only a SHA-256 of the state is stored: a leaked table cannot forge callbacks.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="powens_link_states"
    )
    session_hash = models.CharField(max_length=64, blank=True, default="")
    connector_uuid = models.CharField(max_length=64, blank=True, default="")
    connection_powens_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True, default="")
    next_url = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link state")
        verbose_name_plural = _("link states")

    def __str__(self) -> str:
        return f"link state #{self.pk}"


class PendingPowensUserDeletion(models.Model):
    """A Powens user still to delete at Powens after its Django user was deleted.

    Made inside the Django user's deletion (a ``pre_delete`` receiver), so it commits
    or rolls back with it, and deleted once Powens confirms the user is gone. It has
    no foreign key to the user model on purpose: it must outlive the cascade. The
    token is encrypted like :attr:`PowensUser.token` and re-encrypted by
    ``powens_rotate_keys``. ``last_error`` holds a machine code, never Powens' text.
    """

    powens_id = models.PositiveBigIntegerField(_("Powens user id"), unique=True)
    token = EncryptedTextField(_("Powens token"))
    # The deleted Django user's primary key, as text (any pk type), for the signal.
    user_pk = models.CharField(_("Django user"), max_length=255, blank=True, default="")
    # The connections mirrored when the Django user was deleted, for the signal.
    connection_ids = models.JSONField(default=list, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=64, blank=True, default="")
    last_powens_code = models.CharField(
        _("last Powens error code"), max_length=64, blank=True, default=""
    )
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Powens user deletion")
        verbose_name_plural = _("Powens user deletions")
        ordering = ["next_attempt_at", "pk"]

    def __str__(self) -> str:
        return f"Powens #{self.powens_id}"

    def __repr__(self) -> str:
        # The token never appears in a repr, a log line or a traceback.
        return f"<PendingPowensUserDeletion pk={self.pk} powens_id={self.powens_id}>"


class BankAccount(MirroredModel):
    """A bank account of a connection (Powens' BankAccount).

    Filled from ``CONNECTION_SYNCED`` webhooks and from connection reads that expand
    ``accounts`` or ``all_accounts``; only :mod:`powens_django.sync` writes it. The
    transactions of a webhook are never stored here: the ``webhook_received`` signal
    hands them to the host. ``number`` and ``iban`` are shown masked (``masked_*``).
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    powens_id = models.PositiveBigIntegerField(_("Powens id"), unique=True)
    powens_source_id = models.PositiveBigIntegerField(null=True, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True, default="")
    original_name = models.CharField(_("name at the bank"), max_length=255, blank=True, default="")
    number = models.CharField(_("number"), max_length=64, blank=True, default="")
    iban = models.CharField(_("IBAN"), max_length=64, blank=True, default="")
    balance = models.DecimalField(
        _("balance"), max_digits=28, decimal_places=8, null=True, blank=True
    )
    coming = models.DecimalField(
        _("coming"), max_digits=28, decimal_places=8, null=True, blank=True
    )
    #: ISO 4217 code ("EUR"); the currency object Powens sends stays in ``raw``.
    currency = models.CharField(_("currency"), max_length=8, blank=True, default="")
    #: Digits after the decimal point for this currency (Powens' ``precision``).
    currency_precision = models.PositiveSmallIntegerField(null=True, blank=True)
    type = models.CharField(_("type"), max_length=64, blank=True, default="")
    usage = models.CharField(_("usage"), max_length=32, blank=True, default="")
    display = models.BooleanField(default=True)
    disabled = models.DateTimeField(_("disabled"), null=True, blank=True)
    deleted = models.DateTimeField(_("deleted at the bank"), null=True, blank=True)
    last_update = models.DateTimeField(_("last update"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["connection", "powens_id"]

    def __str__(self) -> str:
        return self.name or self.original_name or f"#{self.powens_id}"

    @property
    def enabled(self) -> bool:
        return self.disabled is None and self.deleted is None

    @property
    def masked_number(self) -> str:
        """The account number with all but its last four characters hidden."""
        return mask(self.number)

    @property
    def masked_iban(self) -> str:
        """The IBAN with all but its country code and last four characters hidden."""
        return mask(self.iban, keep_start=2)


def mask(value: str, *, keep_start: int = 0, keep_end: int = 4) -> str:
    """``FR7630004000031234567890143`` -> ``FR••••••••••••••••••••••0143``."""
    text = "".join(str(value or "").split())
    if len(text) <= keep_start + keep_end:
        return "•" * len(text)
    hidden = len(text) - keep_start - keep_end
    return text[:keep_start] + "•" * hidden + text[len(text) - keep_end :]


class WebhookEvent(models.Model):
    """One webhook delivery from Powens, valid or not (:mod:`powens_django.webhooks`).

    A delivery that passed authentication and carries an ``id_webhook_data`` is stored
    once per id (Powens' retries add to ``deliveries``); invalid ones are each kept, with
    their secret headers redacted and their body cut, for diagnosis. ``processed`` is
    set in the same transaction as the changes the event made, so an event is processed
    exactly once; ``error`` keeps why the last attempt failed.
    """

    event_type = models.CharField(_("type"), max_length=64, db_index=True)
    id_webhook_data = models.PositiveBigIntegerField(_("Powens delivery id"), null=True, blank=True)
    received = models.DateTimeField(_("received"), db_index=True)
    last_received = models.DateTimeField(_("last delivery"), null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    #: The body as received (un-gzipped), stored zlib-compressed (``body_text`` reads
    #: it): a CONNECTION_SYNCED with thousands of transactions is megabytes of JSON.
    body = models.BinaryField(_("body (compressed)"), default=b"", editable=False)
    body_size = models.PositiveIntegerField(_("body size"), default=0)
    remote_addr = models.GenericIPAddressField(_("sender address"), null=True, blank=True)
    valid = models.BooleanField(_("valid"), default=False)
    #: Why an invalid delivery was refused: a machine code (``bad_signature``...).
    refusal = models.CharField(_("refusal"), max_length=64, blank=True, default="")
    powens_user_id = models.PositiveBigIntegerField(_("Powens user id"), null=True, blank=True)
    powens_connection_id = models.PositiveBigIntegerField(
        _("Powens connection id"), null=True, blank=True
    )
    processed = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    #: What processing did, in a few words ("mirrored", "unknown Powens user"...).
    result = models.CharField(_("result"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received", "-pk"]
        constraints = [
            # Only authenticated deliveries claim an id: a forged one cannot take the
            # id of a real delivery still to come.
            models.UniqueConstraint(
                fields=["id_webhook_data"],
                condition=models.Q(valid=True),
                name="powens_webhook_event_unique_delivery",
            )
        ]
        indexes = [models.Index(fields=["valid", "processed"])]
        permissions = [("process_webhookevent", _("Can reprocess webhook events"))]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.id_webhook_data or self.pk}"

    @property
    def failed(self) -> bool:
        return self.valid and self.processed is None and bool(self.error)

    @property
    def body_bytes(self) -> bytes:
        """The body as it was received (after gzip, if any)."""
        return zlib.decompress(bytes(self.body)) if self.body else b""

    @property
    def body_text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        return self.body_bytes.decode("utf-8", errors="replace")

    @staticmethod
    def pack(body: bytes) -> bytes:
        """``body`` as stored in :attr:`body` (zlib, fast level: 1.7 MB -> 0.1 MB)."""
        return zlib.compress(body, 1)


class CatalogueVersion(models.Model):
    """One row, bumped by the catalogue sync in the transaction that changes the
    catalogue: pages key what they derive from the whole catalogue (the picker's
    countries and counts) on it, so they never scan the catalogue per request and
    see a change as soon as it commits, in every process."""

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("catalogue version")
        verbose_name_plural = _("catalogue versions")

    def __str__(self) -> str:
        return str(self.version)


def account_totals_of(connections: Sequence[Connection]) -> None:
    """Put each connection's :attr:`~Connection.account_totals` in place with one query
    for all of them, reading only the four columns the totals need (no account object
    is built): what a list of connections showing their balance needs. The sums are
    made here, with :class:`~decimal.Decimal`, exactly as the property makes them."""
    by_pk: dict[Any, dict[str, AccountTotal]] = {c.pk: {} for c in connections}
    rows = (
        BankAccount.objects.filter(
            connection__in=list(by_pk),
            disabled__isnull=True,
            deleted__isnull=True,
            balance__isnull=False,
        )
        .order_by("connection", "powens_id")
        .values_list("connection_id", "currency", "balance", "currency_precision")
    )
    for pk, currency, balance, precision in rows:
        if balance is not None:  # filtered above; for the type checker
            _add(by_pk[pk], currency, balance, precision)
    for connection in connections:
        totals = by_pk[connection.pk]
        connection._account_totals = [totals[code] for code in sorted(totals)]


def _add(
    totals: dict[str, AccountTotal], currency: str, balance: Decimal, precision: int | None
) -> None:
    # The first account in a currency gives the total its precision.
    total = totals.get(currency)
    if total is None:
        total = totals[currency] = AccountTotal(currency, Decimal(0), 0, precision)
    total.amount += balance
    total.accounts += 1
