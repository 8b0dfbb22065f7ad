"""The sandbox's state: what a Powens domain would hold, in tables of its own.

Everything lives in the database (tables ``powens_sandbox_*``) so that the sandbox
survives restarts and can run in several processes. Connector fields, countries and
similar lists are JSON columns: they are only ever read whole, and listing thousands
of connectors then costs a fixed number of queries. Text columns are nullable where
Powens' JSON is: there null and "" differ (a null state is a successful sync).
"""

from __future__ import annotations

from django.db import models


class Connector(models.Model):
    """A bank or provider of the catalogue (Powens' Connector object)."""

    uuid = models.UUIDField(unique=True)
    name = models.CharField(max_length=200)
    slug = models.CharField(max_length=50, null=True, blank=True)
    code = models.CharField(max_length=50, null=True, blank=True)
    color = models.CharField(max_length=6, null=True, blank=True)
    hidden = models.BooleanField(null=True, default=False)
    charged = models.BooleanField(default=False)
    beta = models.BooleanField(default=False)
    restricted = models.BooleanField(default=False)
    sync_frequency = models.FloatField(null=True, blank=True)
    months_to_fetch = models.IntegerField(null=True, blank=True)
    auth_mechanism = models.CharField(max_length=30, null=True, blank=True)
    available_auth_mechanisms = models.JSONField(default=list)
    transfer_mechanism = models.CharField(max_length=30, null=True, blank=True)
    siret = models.CharField(max_length=20, null=True, blank=True)
    capabilities = models.JSONField(default=list)
    account_usages = models.JSONField(default=list)
    products = models.JSONField(default=list)
    payment_settings = models.JSONField(null=True, blank=True)
    countries = models.JSONField(default=list)
    urls = models.JSONField(default=list)
    fields = models.JSONField(default=list)
    payment_fields = models.JSONField(default=list)
    #: Made by ``sandbox_generate_connectors`` rather than shipped in the catalogue.
    synthetic = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ConnectorSource(models.Model):
    """One way of reaching a connector's data (``openapi``, ``directaccess``...)."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=50)
    auth_mechanism = models.CharField(max_length=30, null=True, blank=True)
    available_auth_mechanisms = models.JSONField(default=list)
    disabled = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=1)
    account_usages = models.JSONField(default=list)

    class Meta:
        ordering = ["connector_id", "priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "name"], name="powens_sandbox_source_name")
        ]

    def __str__(self) -> str:
        return f"{self.connector_id}/{self.name}"


class User(models.Model):
    """A Powens user (the root of a person's data at Powens)."""

    client_id = models.CharField(max_length=100, null=True, blank=True)
    signin = models.DateTimeField()

    def __str__(self) -> str:
        return f"user {self.pk}"


class AccessToken(models.Model):
    """A user's bearer token. Kept in clear: webhooks in "bearer" mode send it back."""

    token = models.CharField(max_length=128, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    type = models.CharField(max_length=20, default="permanent")
    created = models.DateTimeField()
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token of user {self.user_id}"


class TemporaryCode(models.Model):
    """A code from ``/auth/token/code`` (for ``/webauth`` or ``/auth/token/access``)."""

    code = models.CharField(max_length=128, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="codes")
    access = models.CharField(max_length=20)  # "single" or "standard"
    expires = models.DateTimeField()
    used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.access} code of user {self.user_id}"


class Connection(models.Model):
    """A user's link to a connector (Powens' Connection object)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="connections")
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    #: The scenario picked by the login typed ("normal", "otp", "sca"...).
    scenario = models.CharField(max_length=30, default="normal")
    state = models.CharField(max_length=50, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    fields = models.JSONField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField()
    last_update = models.DateTimeField(null=True, blank=True)
    last_push = models.DateTimeField(null=True, blank=True)
    expire = models.DateTimeField(null=True, blank=True)
    next_try = models.DateTimeField(null=True, blank=True)
    #: When the last sync ran, successful or not (for the forced-sync cool-down).
    last_sync_attempt = models.DateTimeField(null=True, blank=True)
    #: An operation started with ?background=true that settles at ``pending_until``.
    pending_action = models.CharField(max_length=30, null=True, blank=True)
    pending_until = models.DateTimeField(null=True, blank=True)
    pending_psu_requested = models.BooleanField(default=True)
    sync_count = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"connection {self.pk}"


class ConnectionSource(models.Model):
    """A source of a connection (Powens' ConnectionSource object)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sources")
    connector_source = models.ForeignKey(
        ConnectorSource, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=50)
    state = models.CharField(max_length=50, null=True, blank=True)
    created = models.DateTimeField()
    last_update = models.DateTimeField(null=True, blank=True)
    disabled = models.DateTimeField(null=True, blank=True)
    access_expire = models.DateTimeField(null=True, blank=True)
    expire = models.DateTimeField(null=True, blank=True)
    next_try = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} of connection {self.connection_id}"


class ConnectionLog(models.Model):
    """One synchronization attempt of a connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="logs")
    source = models.ForeignKey(
        ConnectionSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    timestamp = models.DateTimeField()
    state = models.CharField(max_length=50, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    fields = models.JSONField(null=True, blank=True)
    nb_accounts = models.IntegerField(default=0)
    psu_requested = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"sync of connection {self.connection_id}: {self.state or 'OK'}"


class BankAccount(models.Model):
    """A bank account found on a connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    source = models.ForeignKey(
        ConnectionSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=30)
    usage = models.CharField(max_length=10, default="PRIV")
    number = models.CharField(max_length=50, null=True, blank=True)
    iban = models.CharField(max_length=50, null=True, blank=True)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR")
    created = models.DateTimeField()
    last_update = models.DateTimeField(null=True, blank=True)
    disabled = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Transaction(models.Model):
    """A transaction of a bank account."""

    account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="transactions")
    date = models.DateField()
    value = models.DecimalField(max_digits=14, decimal_places=2)
    wording = models.CharField(max_length=200)
    type = models.CharField(max_length=30)
    coming = models.BooleanField(default=False)
    date_scraped = models.DateTimeField()
    #: The sync that found it: a webhook carries only the new transactions.
    sync_number = models.IntegerField(default=1)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.wording} {self.value}"


class WebauthFlow(models.Model):
    """A bank page handed out by /webauth-url: single use, unguessable, short-lived."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=100)
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=50, null=True, blank=True)
    redirect_uri = models.TextField()
    state = models.TextField(null=True, blank=True)
    created = models.DateTimeField()
    expires = models.DateTimeField()
    used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"bank page for user {self.user_id} at {self.connector_id}"


class WebhookDelivery(models.Model):
    """One webhook payload and its delivery attempts. The primary key is the
    payload's ``id_webhook_data``: unique, increasing, kept across retries."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    event = models.CharField(max_length=50)
    url = models.TextField()
    body = models.TextField()
    id_user = models.BigIntegerField(null=True, blank=True)
    #: The user's token at trigger time, for WEBHOOK_AUTH = "bearer" (the user may be
    #: gone by delivery time, e.g. USER_DELETED).
    bearer = models.CharField(max_length=128, null=True, blank=True)
    status = models.CharField(max_length=20, default=PENDING)
    attempts = models.IntegerField(default=0)
    response_status = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField()
    last_attempt = models.DateTimeField(null=True, blank=True)
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"


class KeyPair(models.Model):
    """The RSA key of ``GET /publickey``; its private half decrypts JWE field values."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    created = models.DateTimeField()

    def __str__(self) -> str:
        return self.kid


class WebviewVisit(models.Model):
    """A person's visit to the sandbox Webview (``/sandbox/webview/{lang}/{flow}/``):
    unguessable id in its URLs, single use (finished once it redirects back),
    expiring after ``CODE_TTL``."""

    CONNECT = "connect"
    RECONNECT = "reconnect"
    MANAGE = "manage"

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=100)
    redirect_uri = models.TextField()
    state = models.CharField(max_length=200, null=True, blank=True)
    lang = models.CharField(max_length=2, default="en")
    flow = models.CharField(max_length=20)
    #: The ``connector_uuids`` filter of a connect (strings), empty for the catalogue.
    connector_uuids = models.JSONField(default=list)
    #: The connection a reconnect works on.
    connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: A reconnect with ``reset_credentials=true`` that has not had new credentials yet.
    reset_credentials = models.BooleanField(default=False)
    #: Connections linked (connect) or reconnected (reconnect, manage) in this visit.
    connection_ids = models.JSONField(default=list)
    created = models.DateTimeField()
    expires = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webview {self.flow} of user {self.user_id}"
