"""Forms built from Powens' ConnectorField definitions.

A connector describes the fields a person fills in to connect (``fields``), and a
connection in some states describes the fields it now needs (an OTP, new
credentials). :class:`ConnectorFieldsForm` renders either list: ``text``,
``password`` (never re-rendered with its value), ``date`` (submitted as
``yyyy-mm-dd``), ``list`` (choices from ``values``), ``number``, and any other type as
text, as Powens asks. Definitions come from Powens and are repaired first (an entry
without a usable name is dropped, odd ``values`` or source lists are fixed): see
:func:`~powens_django.services.catalogue.relevant_fields`.

``regex`` is PCRE, checked with the ``regex`` package under a timeout per field and a
total budget per form validation; a pattern that cannot be compiled, that times out,
or that the spent budget leaves unchecked is logged and left for Powens to judge.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import regex
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .logsafe import printable
from .services.catalogue import clean_field_definition, relevant_fields

__all__ = [
    "ConnectorFieldsForm",
    "PowensRegexValidator",
    "RegexBudget",
    "build_field",
    "relevant_fields",
]

logger = logging.getLogger("powens_django.forms")

#: Seconds a field's regex may run on one value before we stop and let Powens judge.
REGEX_TIMEOUT = 0.05
#: Seconds all the regexes of one form validation may run together; the checks left
#: when it is spent are left to Powens (a catalogue could list hundreds of fields).
REGEX_BUDGET = 0.5
#: Patterns longer than this are not compiled (compiling has no timeout).
REGEX_MAX_LENGTH = 2000


class RegexBudget:
    """The time the regexes of one form validation may take together.

    ``clock`` (seconds, monotonic) is what is measured; tests give a fake one.
    """

    def __init__(
        self, total: float | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.total = REGEX_BUDGET if total is None else total
        self.clock = clock or time.monotonic
        self.reset()

    def reset(self) -> None:
        self.spent = 0.0
        self.skipped: list[str] = []

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)

    def report(self) -> None:
        """Log, once, the checks the spent budget left to Powens."""
        if self.skipped:
            logger.warning(
                "Regex budget of %ss spent: %d field check(s) left to Powens (%s)",
                self.total,
                len(self.skipped),
                ", ".join(repr(name) for name in self.skipped[:5])
                + (", ..." if len(self.skipped) > 5 else ""),
            )
        self.skipped = []


class PowensRegexValidator:
    """Validates a value against a PCRE pattern, with a timeout.

    An invalid pattern or a timeout is logged and the value accepted: Powens checks
    it again, and a broken pattern must not lock people out. With a ``budget``
    (shared by a form's fields) a check never runs longer than what is left of it,
    and none runs once it is spent.
    """

    def __init__(
        self,
        pattern: str,
        field_name: str,
        budget: RegexBudget | None = None,
        *,
        description: str = "",
    ) -> None:
        self.pattern = pattern
        self.field_name = field_name
        self.budget = budget
        #: The connector's words for what the field holds, said when a value fails.
        self.description = description
        self.compiled: Any = None
        if len(pattern) > REGEX_MAX_LENGTH:
            logger.warning(
                "Connector field %r has a pattern of %d characters; not checking it",
                field_name,
                len(pattern),
            )
            return
        try:
            self.compiled = regex.compile(pattern, flags=regex.VERSION0)
        except (regex.error, TypeError, ValueError, OverflowError, RecursionError) as exc:
            logger.warning(
                "Connector field %r has a pattern we cannot compile (%s); not checking it",
                field_name,
                printable(exc),
            )

    def __call__(self, value: Any) -> None:
        if self.compiled is None or value in (None, ""):
            return
        timeout = REGEX_TIMEOUT
        budget = self.budget
        if budget is not None:
            if budget.remaining <= 0:
                budget.skipped.append(self.field_name)
                return
            timeout = min(timeout, budget.remaining)
            started = budget.clock()
        try:
            matched = self.compiled.fullmatch(str(value), timeout=timeout)
        except TimeoutError:
            logger.warning(
                "Connector field %r: pattern timed out; leaving the check to Powens",
                self.field_name,
            )
            return
        finally:
            if budget is not None:
                budget.spent += max(0.0, budget.clock() - started)
        if matched is None:
            if self.description:
                raise ValidationError(
                    _("Enter a value in the format your bank expects: %(expected)s"),
                    code="regex",
                    params={"expected": self.description},
                )
            raise ValidationError(_("Enter a value in the format your bank expects."), code="regex")


class PowensDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def build_field(definition: Mapping[str, Any], *, budget: RegexBudget | None = None) -> forms.Field:
    """The Django form field for one ConnectorField definition (repaired first; a
    definition without a usable name raises ``ValueError``). ``budget`` bounds the
    time its regex may take, shared with the other fields of a form."""
    cleaned = clean_field_definition(definition)
    if cleaned is None:
        raise ValueError("A ConnectorField definition without a usable name")
    name: str = cleaned["name"]
    kind = cleaned.get("type") or "text"
    label = cleaned.get("label") or name
    required = bool(cleaned.get("required"))
    description = cleaned.get("description")
    help_text = printable(description, limit=300) if isinstance(description, str) else ""
    pattern = cleaned.get("regex")
    attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false"}
    if kind in ("text", "number") and _is_one_time_code(name, label):
        attrs["autocomplete"] = "one-time-code"
    if kind == "number" or (isinstance(pattern, str) and _DIGITS_ONLY.fullmatch(pattern)):
        attrs["inputmode"] = "numeric"
    if help_text:
        attrs["aria-describedby"] = f"id_{name}_help"
    choices = list(
        {
            str(v["value"]): str(v.get("label") or v["value"])
            for v in cleaned.get("values") or []
            if v.get("value") is not None
        }.items()
    )
    if kind == "list" and not choices:
        # A closed list without a usable value cannot be answered: ask for text and
        # let Powens judge, as for a type this version does not know.
        kind = "text"
    field: forms.Field
    if kind == "password":
        attrs["autocomplete"] = "current-password"
        field = forms.CharField(
            label=label,
            required=required,
            strip=False,
            widget=forms.PasswordInput(attrs=attrs, render_value=False),
        )
    elif kind == "date":
        field = forms.DateField(
            label=label,
            required=required,
            widget=PowensDateInput(attrs=attrs),
            input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        )
    elif kind == "list":
        prompt: list[tuple[str, Any]] = (
            [("", _("Choose…"))] if not required or len(choices) != 1 else []
        )
        field = forms.ChoiceField(
            label=label,
            required=required,
            choices=prompt + choices,
            widget=forms.Select(attrs={k: v for k, v in attrs.items() if k == "aria-describedby"}),
        )
    elif kind == "number":
        field = forms.CharField(label=label, required=required, widget=forms.TextInput(attrs=attrs))
        field.validators.append(_number_validator)
    else:
        # text, and any type this version does not know (Powens asks for a text field).
        field = forms.CharField(label=label, required=required, widget=forms.TextInput(attrs=attrs))
    if pattern and kind not in ("list", "date"):
        field.validators.append(PowensRegexValidator(pattern, name, budget, description=help_text))
    if len(field.validators) > 1:
        # One problem, one error: the format check waits until the value is a number.
        field.validators = [_first_failure(list(field.validators))]
    field.help_text = help_text
    field.powens_type = kind  # type: ignore[union-attr]
    return field


#: Patterns that accept digits only (``\d{6}``, ``^[0-9]{4,8}$``): a numeric keyboard.
_DIGITS_ONLY = regex.compile(r"\^?(?:\\d|\[0-9\])(?:\{\d+(?:,\d*)?\}|[+*])?\$?")
_CODE_WORDS = ("otp", "code", "sms", "token", "pin")


def _is_one_time_code(name: str, label: str) -> bool:
    text = f"{name} {label}".lower()
    return any(word in text for word in _CODE_WORDS)


def _first_failure(validators: list[Callable[[Any], None]]) -> Callable[[Any], None]:
    def validate(value: Any) -> None:
        for validator in validators:
            validator(value)  # the first failure stops the others

    return validate


def _number_validator(value: str) -> None:
    text = value.strip().replace(",", ".")
    try:
        float(text)
    except ValueError:
        raise ValidationError(_("Enter a number."), code="invalid") from None


class ConnectorFieldsForm(forms.Form):
    """A form whose fields come from ConnectorField definitions.

    ``definitions`` is a connector's ``fields`` or a connection's requested ``fields``;
    ``source``/``auth_mechanism`` keep only the relevant ones. :meth:`powens_values`
    gives the cleaned values as Powens wants them (strings, dates ``yyyy-mm-dd``).
    """

    def __init__(
        self,
        definitions: Iterable[Mapping[str, Any]],
        *args: Any,
        source: str | None = None,
        auth_mechanism: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", None)
        super().__init__(*args, **kwargs)
        self.definitions = relevant_fields(
            definitions, source=source, auth_mechanism=auth_mechanism
        )
        self.regex_budget = RegexBudget()
        for definition in self.definitions:
            self.fields[definition["name"]] = build_field(definition, budget=self.regex_budget)

    def full_clean(self) -> None:
        # One regex budget per validation: the checks it leaves are logged once.
        self.regex_budget.reset()
        try:
            super().full_clean()
        finally:
            self.regex_budget.report()

    def powens_values(self) -> dict[str, str]:
        """The cleaned values to send to Powens (call after ``is_valid()``)."""
        values: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            values[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return values

    def public_values(self) -> dict[str, Any]:
        """The cleaned values that may be shown again (every field but passwords),
        to re-render the form after a refusal (call after ``is_valid()``)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if getattr(self.fields[name], "powens_type", "") != "password"
        }

    @property
    def has_secret_fields(self) -> bool:
        return any(getattr(f, "powens_type", "") == "password" for f in self.fields.values())
