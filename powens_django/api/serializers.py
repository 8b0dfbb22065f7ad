"""What the API reads and writes: input checks and the JSON shapes of the answers.

Answers are rendered from the models, the service layer's results
(:class:`~powens_django.services.Outcome`, :class:`~powens_django.services.ConnectOptions`,
:class:`~powens_django.services.FieldsRequest`, :class:`~powens_django.services.LogRow`)
and the state table (:mod:`powens_django.states`); none of them decides anything.
Credential values are only ever read here, never written back.
"""

from __future__ import annotations

from typing import Any

from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import services
from ..forms import build_field
from ..models import BankAccount, Connection, ConnectionSource, Connector

#: The largest id a path may name (PostgreSQL's bigint); larger ones are not found.
MAX_ID = 2**63 - 1


def no_control_characters(value: str) -> None:
    """Refuse text carrying control characters (a NUL cannot even be stored)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise serializers.ValidationError(_("This value contains characters that are not allowed."))


def parse_id(value: Any) -> int | None:
    """A positive id from a path, or None when it is not one."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


# -- errors -----------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a stable machine code and a message for the person."""

    code = serializers.CharField(
        help_text="A stable machine code: the service layer's (`not_found`, `sync_in_progress`, "
        "`powens_unavailable`...) or the API's (`invalid`, `not_authenticated`, "
        "`permission_denied`, `throttled`...)."
    )
    message = serializers.CharField(help_text="A translated text to show the person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: the problems of each input, by name "
        "(`values.<field>` for a bank's form field).",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait before trying again (also `Retry-After`)."
    )


# -- the state table --------------------------------------------------------------------


class StateSerializer(serializers.Serializer):
    """A connection state as the state table presents it."""

    code = serializers.CharField(
        source="state", allow_null=True, help_text="Powens' state; null when all is well."
    )
    label = serializers.CharField()
    explanation = serializers.CharField()
    tone = serializers.ChoiceField(choices=["ok", "attention", "waiting", "error"])
    kind = serializers.CharField(help_text="The outcome kind of this state (`connected`...).")
    known = serializers.BooleanField(help_text="False for a state this version does not know.")


class ActionSerializer(serializers.Serializer):
    """Something the person can do about a connection."""

    code = serializers.ChoiceField(
        source="value",
        choices=[action.value for action in services.Action],
        help_text="`sync` (POST .../sync/), `reauthenticate` (POST .../sync/), `reconnect` "
        "(POST .../reconnect/), `reenter_credentials` and `answer_fields` "
        "(GET then POST .../fields/; in webview mode POST .../reconnect/), `resume` (POST "
        ".../resume/), `wait` (POST "
        ".../refresh/ now and then), `delete` (DELETE the connection).",
    )
    label = serializers.CharField(help_text="What to call it on a button.")


# -- the catalogue ----------------------------------------------------------------------


class FieldValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class FieldDefinitionSerializer(serializers.Serializer):
    """One input of a bank's form (a Powens ConnectorField), ready to render."""

    name = serializers.CharField(help_text="The key to send in `values`.")
    label = serializers.CharField()
    type = serializers.CharField(
        help_text="`text`, `password` (never shown again), `date` (send `yyyy-mm-dd`), "
        "`list` (one of `values`), `number`; render any other type as text."
    )
    required = serializers.BooleanField()
    regex = serializers.CharField(
        allow_null=True, help_text="A PCRE pattern the whole value must match, if any."
    )
    values = FieldValueSerializer(many=True, help_text="The choices of a `list` field.")
    description = serializers.CharField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The form field the pages build from this definition says how to render it.
        field = build_field(instance)
        values = [
            {"value": str(v["value"]), "label": str(v.get("label") or v["value"])}
            for v in instance.get("values") or []
            if v.get("value") is not None
        ]
        description = instance.get("description")
        return {
            "name": instance["name"],
            "label": str(field.label),
            "type": field.powens_type,  # type: ignore[attr-defined]
            "required": field.required,
            "regex": instance.get("regex") or None,
            "values": values if field.powens_type == "list" else [],  # type: ignore[attr-defined]
            "description": str(description) if description else None,
        }


class ConnectorSerializer(serializers.ModelSerializer):
    """A bank of the catalogue."""

    id = serializers.IntegerField(source="powens_id", allow_null=True)
    auth_mechanism_label = serializers.CharField()
    countries = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Connector
        fields = [
            "uuid",
            "id",
            "name",
            "color",
            "beta",
            "auth_mechanism",
            "auth_mechanism_label",
            "countries",
        ]
        read_only_fields = fields


class ConnectorSourceSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Powens' name (`openapi`, `directaccess`...).")
    label = serializers.CharField(help_text="How one reaches the bank, in the person's words.")
    auth_mechanism = serializers.CharField()
    priority = serializers.IntegerField(allow_null=True)


class ConnectOptionsSerializer(serializers.Serializer):
    """How a bank is connected: its usable sources, the login method of the chosen one
    and, for credentials, the form to render."""

    connector = ConnectorSerializer()
    sources = ConnectorSourceSerializer(many=True, help_text="Usable sources, best first.")
    source = serializers.CharField(
        source="source_name", allow_null=True, help_text="The source these options are for."
    )
    auth_mechanism = serializers.CharField(source="mechanism")
    login = serializers.SerializerMethodField(
        help_text="`credentials`: render `fields` and POST /connections/; `webauth` (the "
        "bank's website) and `webview` (Powens' Webview, the site's link mode): POST "
        "/webauth/ and open the URL; `unsupported`: this bank cannot be linked here."
    )
    fields = FieldDefinitionSerializer(many=True)

    @extend_schema_field(
        serializers.ChoiceField(choices=["credentials", "webauth", "webview", "unsupported"])
    )
    def get_login(self, options: services.ConnectOptions) -> str:
        if self.context.get("mode") == "webview":
            return "webview"
        return options.mechanism if options.supported else "unsupported"


class ConnectorQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        validators=[no_control_characters],
        help_text="Part of the bank's name; case and accents are ignored.",
    )
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, allow_blank=True, help_text="An ISO 3166 code."
    )


class ConnectorDetailQuerySerializer(serializers.Serializer):
    source = serializers.CharField(
        required=False, max_length=64, help_text="A source name, to get its form."
    )


# -- connections ------------------------------------------------------------------------


class SourceSerializer(serializers.ModelSerializer):
    """One source of a connection."""

    id = serializers.IntegerField(source="powens_id")
    label = serializers.CharField(help_text="How one reaches the bank, in the person's words.")
    state = StateSerializer(source="state_info")
    enabled = serializers.BooleanField()

    class Meta:
        model = ConnectionSource
        fields = ["id", "name", "label", "state", "enabled", "disabled", "last_update"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    """A bank account, its number and IBAN masked."""

    id = serializers.IntegerField(source="powens_id")
    number = serializers.CharField(source="masked_number", help_text="Masked: `••••1234`.")
    iban = serializers.CharField(source="masked_iban", help_text="Masked: `FR••••0143`.")
    balance = serializers.DecimalField(max_digits=28, decimal_places=8, allow_null=True)
    coming = serializers.DecimalField(max_digits=28, decimal_places=8, allow_null=True)
    enabled = serializers.BooleanField()

    class Meta:
        model = BankAccount
        fields = [
            "id",
            "name",
            "original_name",
            "number",
            "iban",
            "balance",
            "coming",
            "currency",
            "type",
            "usage",
            "enabled",
            "disabled",
            "last_update",
        ]
        read_only_fields = fields


class AccountTotalSerializer(serializers.Serializer):
    """The balance of a connection's enabled accounts in one currency."""

    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=30, decimal_places=8)
    accounts = serializers.IntegerField(help_text="How many accounts it adds up.")


class ConnectionConnectorSerializer(serializers.Serializer):
    uuid = serializers.CharField()
    name = serializers.CharField()
    color = serializers.CharField()
    auth_mechanism = serializers.CharField()


class ConnectionSerializer(serializers.ModelSerializer):
    """A linked bank: its state in plain words, what it calls for, sources, accounts."""

    id = serializers.IntegerField(source="powens_id")
    connector = ConnectionConnectorSerializer(source="connector_or_none", allow_null=True)
    bank_name = serializers.CharField(source="connector_name")
    state = StateSerializer(source="state_info")
    bank_message = serializers.CharField(
        source="error_message", allow_null=True, help_text="The bank's own words, if any."
    )
    actions = ActionSerializer(many=True)
    sources = SourceSerializer(many=True)
    accounts = AccountSerializer(many=True)
    totals = AccountTotalSerializer(
        source="account_totals", many=True, help_text="The balances, per currency."
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "connector",
            "bank_name",
            "state",
            "bank_message",
            "actions",
            "active",
            "created",
            "last_update",
            "next_try",
            "sources",
            "accounts",
            "totals",
        ]
        read_only_fields = fields


class OutcomeSerializer(serializers.Serializer):
    """Where an operation left the connection, and the person."""

    kind = serializers.ChoiceField(
        choices=[kind.value for kind in services.OutcomeKind],
        help_text="Route on it: `connected`, `needs_fields` (GET .../fields/), "
        "`wrong_credentials`, `decoupled` (confirm in the bank's app, then POST .../resume/), "
        "`validating` (POST .../refresh/ in a moment), `reauthenticate`, `action_needed`, "
        "`temporary_error`, `not_supported`, `unknown_state`, `cancelled`, `failed`, "
        "`deleted`.",
    )
    text = serializers.CharField(help_text="The words to show the person.")
    bank_message = serializers.CharField(
        source="message", allow_null=True, help_text="The bank's own words, if any."
    )
    error = serializers.CharField(
        allow_null=True, help_text="The Powens error or callback error behind the outcome."
    )
    fields = serializers.SerializerMethodField(
        method_name="asked_fields", help_text="What the bank asks next, if anything."
    )
    connection = ConnectionSerializer(allow_null=True)
    connection_ids = serializers.ListField(child=serializers.IntegerField())

    @extend_schema_field(FieldDefinitionSerializer(many=True))
    def asked_fields(self, outcome: services.Outcome) -> list[dict[str, Any]]:
        return FieldDefinitionSerializer(services.relevant_fields(outcome.fields), many=True).data


class CallbackOutcomeSerializer(OutcomeSerializer):
    next = serializers.CharField(
        source="next_url", help_text="The `next` given when the link started (may be empty)."
    )


class FieldsRequestSerializer(serializers.Serializer):
    """What to ask the person for a connection."""

    title = serializers.CharField()
    explanation = serializers.CharField()
    asked_by_bank = serializers.BooleanField(
        help_text="True for what the bank asks now (a one-time code...); false for the "
        "connector's credentials typed again."
    )
    bank_message = serializers.SerializerMethodField()
    fields = FieldDefinitionSerializer(many=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_bank_message(self, asked: services.FieldsRequest) -> str | None:
        connection = self.context.get("connection")
        return getattr(connection, "error_message", None) or None


class LogSerializer(serializers.Serializer):
    """One synchronization of a connection."""

    when = serializers.DateTimeField(allow_null=True)
    state = StateSerializer(source="info")
    bank_message = serializers.CharField(source="message", allow_null=True)
    accounts = serializers.IntegerField(allow_null=True)


# -- input ------------------------------------------------------------------------------


def _safe_next(value: str, request: Any) -> str:
    if not value:
        return ""
    no_control_characters(value)
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        raise serializers.ValidationError(_("Give a path or an address on this site."))
    return value


class WebauthSerializer(serializers.Serializer):
    connector = serializers.CharField(max_length=64, help_text="The bank's `uuid`.")
    source = serializers.CharField(
        max_length=64, required=False, help_text="A source name; the best one when left out."
    )
    next = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="A path on this site, handed back by the callback.",
    )

    def validate_next(self, value: str) -> str:
        return _safe_next(value, self.context["request"])


class WebauthLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Open it in the browser (or an in-app browser tab).")
    expires_in = serializers.IntegerField(help_text="Seconds the link's state stays valid.")


class WebviewSerializer(serializers.Serializer):
    flow = serializers.ChoiceField(
        choices=["connect", "manage"],
        help_text="`connect`: link banks chosen in Powens' own picker; `manage`: see and "
        "manage the linked banks there.",
    )
    next = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="A path on this site, handed back by the callback.",
    )

    def validate_next(self, value: str) -> str:
        return _safe_next(value, self.context["request"])


class ReconnectSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64, required=False)
    reset_credentials = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Webview mode: ask the credentials again (by default when the state "
        "calls for new ones).",
    )
    next = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate_next(self, value: str) -> str:
        return _safe_next(value, self.context["request"])


class CallbackSerializer(serializers.Serializer):
    """The query Powens sent the browser back with, posted as it came."""

    state = serializers.CharField(max_length=200)
    id_connection = serializers.CharField(max_length=40, required=False, allow_blank=True)
    connection_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    connection_ids = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    error = serializers.CharField(max_length=200, required=False, allow_blank=True)
    error_description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ValuesField(serializers.DictField):
    """The values typed in a bank's form, by field name (never echoed back)."""

    child = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The values typed in the bank's form, by field name.")
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, str]:
        # Never echoed back, even by a careless caller.
        return {}


class CredentialsSerializer(serializers.Serializer):
    connector = serializers.CharField(max_length=64, help_text="The bank's `uuid`.")
    source = serializers.CharField(max_length=64, required=False)
    values = ValuesField()


class FieldValuesSerializer(serializers.Serializer):
    values = ValuesField()


class ResumeSerializer(serializers.Serializer):
    background = serializers.BooleanField(
        default=True,
        help_text="True (the default): answer at once with `validating` and poll with "
        ".../refresh/; false: wait for the bank (can take long).",
    )
