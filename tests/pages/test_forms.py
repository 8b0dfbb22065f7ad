"""ConnectorFieldsForm: the form a person fills in, built from Powens' ConnectorFields;
and the template helpers giving each bank its badge."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from django.template import Context, Template

from powens_django.forms import REGEX_BUDGET, ConnectorFieldsForm
from powens_django.templatetags.powens import bank_color, bank_initials, bank_text_color


def field(name: str, type_: str = "text", **extra):
    return {"name": name, "label": name.title(), "type": type_, "required": True, **extra}


def render(form: ConnectorFieldsForm) -> str:
    return Template("{% for f in form %}{{ f }}{% endfor %}").render(Context({"form": form}))


# -- types --------------------------------------------------------------------------


def test_text_field_renders_a_text_input_with_its_label():
    form = ConnectorFieldsForm([field("login", label="Identifiant")])
    html = render(form)
    assert 'type="text"' in html and 'name="login"' in html
    assert form["login"].label == "Identifiant"


def test_a_field_without_label_is_labelled_by_its_name():
    form = ConnectorFieldsForm([{"name": "login", "type": "text"}])
    assert form["login"].label == "login"


def test_password_is_a_password_input():
    html = render(ConnectorFieldsForm([field("password", "password")]))
    assert 'type="password"' in html


def test_password_is_never_rerendered_with_its_value():
    form = ConnectorFieldsForm([field("password", "password")], {"password": "hunter2-value"})
    assert form.is_valid()
    assert "hunter2-value" not in render(form)


def test_password_is_not_rerendered_when_the_form_has_errors():
    definitions = [field("login"), field("password", "password")]
    form = ConnectorFieldsForm(definitions, {"password": "hunter2-value"})
    assert not form.is_valid()
    assert "hunter2-value" not in render(form)


def test_password_keeps_surrounding_spaces():
    form = ConnectorFieldsForm([field("password", "password")], {"password": " pa ss "})
    assert form.is_valid()
    assert form.powens_values() == {"password": " pa ss "}


def test_date_is_a_date_input():
    html = render(ConnectorFieldsForm([field("birthday", "date")]))
    assert 'type="date"' in html


@pytest.mark.parametrize("typed", ["1990-04-21", "21/04/1990"])
def test_date_is_submitted_as_yyyy_mm_dd(typed):
    form = ConnectorFieldsForm([field("birthday", "date")], {"birthday": typed})
    assert form.is_valid(), form.errors
    assert form.powens_values() == {"birthday": "1990-04-21"}


def test_date_initial_value_renders_as_yyyy_mm_dd():
    form = ConnectorFieldsForm(
        [field("birthday", "date")], initial={"birthday": dt.date(1990, 4, 21)}
    )
    assert 'value="1990-04-21"' in render(form)


def test_a_date_that_is_not_a_date_is_refused():
    form = ConnectorFieldsForm([field("birthday", "date")], {"birthday": "tomorrow"})
    assert not form.is_valid()
    assert "birthday" in form.errors


LIST = field(
    "website",
    "list",
    values=[{"value": "par", "label": "Particuliers"}, {"value": "pro", "label": "Professionnels"}],
)


def test_list_offers_the_values_as_choices():
    html = render(ConnectorFieldsForm([LIST]))
    assert "<select" in html
    assert '<option value="par">Particuliers</option>' in html
    assert '<option value="pro">Professionnels</option>' in html


def test_list_accepts_one_of_its_values():
    form = ConnectorFieldsForm([LIST], {"website": "pro"})
    assert form.is_valid()
    assert form.powens_values() == {"website": "pro"}


def test_list_refuses_a_value_it_does_not_offer():
    form = ConnectorFieldsForm([LIST], {"website": "evil"})
    assert not form.is_valid()
    assert "website" in form.errors


def test_number_accepts_digits_and_refuses_words():
    assert ConnectorFieldsForm([field("pin", "number")], {"pin": "0042"}).is_valid()
    form = ConnectorFieldsForm([field("pin", "number")], {"pin": "forty-two"})
    assert not form.is_valid()
    assert "pin" in form.errors


def test_number_keeps_leading_zeros_when_sent():
    form = ConnectorFieldsForm([field("pin", "number")], {"pin": "0042"})
    assert form.is_valid()
    assert form.powens_values() == {"pin": "0042"}


def test_unknown_type_falls_back_to_a_text_input():
    form = ConnectorFieldsForm([field("token", "hologram")], {"token": "abc"})
    assert 'type="text"' in render(form)
    assert form.is_valid()
    assert form.powens_values() == {"token": "abc"}


def test_missing_type_is_text():
    form = ConnectorFieldsForm([{"name": "login", "required": True}])
    assert 'type="text"' in render(form)


# -- required -----------------------------------------------------------------------


def test_a_required_field_left_empty_is_an_error():
    form = ConnectorFieldsForm([field("login")], {"login": ""})
    assert not form.is_valid()
    assert "login" in form.errors


def test_an_optional_field_may_be_left_empty_and_is_not_sent():
    form = ConnectorFieldsForm([field("login", required=False)], {"login": ""})
    assert form.is_valid()
    assert form.powens_values() == {}


# -- regex (PCRE) -------------------------------------------------------------------


def test_regex_with_unicode_property_accepts_letters_of_any_script():
    form = ConnectorFieldsForm([field("name", regex=r"^\p{L}+$")], {"name": "Élodie"})
    assert form.is_valid(), form.errors


def test_regex_with_unicode_property_refuses_digits():
    form = ConnectorFieldsForm([field("name", regex=r"^\p{L}+$")], {"name": "abc123"})
    assert not form.is_valid()
    assert form.errors["name"] == ["Enter a value in the format your bank expects."]


def test_regex_with_posix_class_checks_the_value():
    definition = field("otp", regex=r"^[[:digit:]]{6}$")
    assert ConnectorFieldsForm([definition], {"otp": "123456"}).is_valid()
    assert not ConnectorFieldsForm([definition], {"otp": "12345a"}).is_valid()


def test_regex_must_match_the_whole_value():
    form = ConnectorFieldsForm([field("otp", regex=r"[0-9]{6}")], {"otp": "123456789"})
    assert not form.is_valid()


def test_an_invalid_pattern_is_logged_and_the_value_accepted(caplog):
    caplog.set_level(logging.WARNING, logger="powens_django.forms")
    form = ConnectorFieldsForm([field("login", regex=r"^([a-z]+$")], {"login": "anything"})
    assert form.is_valid()
    assert any(
        "login" in r.getMessage() and "cannot compile" in r.getMessage() for r in caplog.records
    )


def test_a_pattern_that_times_out_is_logged_and_the_value_accepted(caplog):
    caplog.set_level(logging.WARNING, logger="powens_django.forms")
    evil = field("login", regex=r"(x+x+)+y")
    form = ConnectorFieldsForm([evil], {"login": "x" * 3000})
    assert form.is_valid()
    assert any("timed out" in r.getMessage() for r in caplog.records)


class FakeClock:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step, self.reads = 0.0, step, 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def many(count: int, pattern: str) -> list[dict]:
    return [field(f"f{i}", regex=pattern, required=False) for i in range(count)]


def test_the_regexes_of_a_form_share_one_time_budget_then_are_left_to_powens(caplog):
    caplog.set_level(logging.WARNING, logger="powens_django.forms")
    form = ConnectorFieldsForm(many(200, r"^[0-9]+$"), {f"f{i}": "abc" for i in range(200)})
    form.regex_budget.clock = clock = FakeClock(step=0.025)  # each check "takes" 0.025 s

    assert not form.is_valid()

    # 0.5 s of budget: 20 checks ran (two clock reads each) and refused their value;
    # the 180 others were left to Powens, logged once.
    assert clock.reads == 2 * 20
    assert sorted(form.errors, key=lambda n: int(n[1:])) == [f"f{i}" for i in range(20)]
    [line] = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
    assert "180 field check(s) left to Powens" in line


def test_each_validation_has_its_own_budget():
    data = {f"f{i}": "abc" for i in range(30)}
    first = ConnectorFieldsForm(many(30, r"^[0-9]+$"), data)
    first.regex_budget.clock = FakeClock(step=0.1)
    assert len(first.errors) == 5

    second = ConnectorFieldsForm(many(30, r"^[0-9]+$"), data)
    assert len(second.errors) == 30  # real checks take microseconds


def test_many_catastrophic_patterns_end_within_the_forms_budget(caplog):
    caplog.set_level(logging.WARNING, logger="powens_django.forms")
    form = ConnectorFieldsForm(many(200, r"(x+x+)+y"), {f"f{i}": "x" * 3000 for i in range(200)})

    started = time.monotonic()
    assert form.is_valid()
    elapsed = time.monotonic() - started

    # A bound, not a benchmark: the budget is 0.5 s; without it this took 10 s or more.
    assert elapsed < 10 * REGEX_BUDGET
    assert any("left to Powens" in r.getMessage() for r in caplog.records)


def test_a_very_long_pattern_is_not_compiled_and_the_value_accepted(caplog):
    caplog.set_level(logging.WARNING, logger="powens_django.forms")
    form = ConnectorFieldsForm([field("login", regex="a" * 5000)], {"login": "b"})
    assert form.is_valid()
    assert any("5000 characters" in r.getMessage() for r in caplog.records)


# -- odd definitions ----------------------------------------------------------------

ODD = [
    pytest.param({"name": "website", "type": "list", "values": 7}, id="values-number"),
    pytest.param({"name": "website", "type": "list", "values": "par"}, id="values-string"),
    pytest.param({"name": "website", "type": "list", "values": {"value": 1}}, id="values-object"),
    pytest.param({"name": "website", "type": "list", "values": [None, "x", 3]}, id="values-items"),
    pytest.param({"name": "website", "connector_sources": 5}, id="sources-number"),
    pytest.param({"name": "website", "connector_sources": None}, id="sources-null"),
    pytest.param({"name": "website", "auth_mechanisms": 1.5}, id="mechanisms-number"),
    pytest.param({"name": "website", "auth_mechanisms": {"a": 1}}, id="mechanisms-object"),
    pytest.param({"name": "website", "type": ["list"]}, id="type-list"),
    pytest.param({"name": "website", "label": {"fr": "Espace"}}, id="label-object"),
    pytest.param({"name": "website", "regex": 5}, id="regex-number"),
    pytest.param({"name": "website", "regex": ["^x$"]}, id="regex-list"),
    pytest.param({"name": "website", "required": "false"}, id="required-string"),
]


@pytest.mark.parametrize("definition", ODD)
def test_an_odd_definition_renders_and_validates(definition):
    form = ConnectorFieldsForm(
        [definition, field("login")],
        {"website": "par", "login": "alice"},
        source="directaccess",
        auth_mechanism="credentials",
    )

    assert 'name="login"' in render(form)
    assert form.is_valid(), form.errors
    assert form.powens_values()["login"] == "alice"


@pytest.mark.parametrize(
    "definitions", [None, 7, "login", {"name": "login"}, [None, 3, "x", ["login"]]]
)
def test_definitions_that_are_not_a_list_of_objects_give_an_empty_form(definitions):
    form = ConnectorFieldsForm(definitions, {})
    assert list(form.fields) == []
    assert form.is_valid()


@pytest.mark.parametrize("name", [5, None, "", "  ", ["login"], "n" * 256])
def test_a_definition_without_a_usable_name_is_left_out(name):
    form = ConnectorFieldsForm([{"name": name, "type": "text"}, field("login")])
    assert list(form.fields) == ["login"]


def test_a_list_without_usable_values_is_asked_as_text():
    form = ConnectorFieldsForm([field("website", "list", values=5)], {"website": "par"})
    assert 'type="text"' in render(form)
    assert form.is_valid()
    assert form.powens_values() == {"website": "par"}


def test_a_lone_source_name_is_a_one_item_list_not_a_substring():
    definitions = [field("pin", connector_sources="directaccess")]
    assert list(ConnectorFieldsForm(definitions, source="directaccess").fields) == ["pin"]
    assert list(ConnectorFieldsForm(definitions, source="direct").fields) == []


def test_a_name_listed_twice_keeps_its_first_definition():
    form = ConnectorFieldsForm([field("login"), field("login", "password")])
    assert form.fields["login"].powens_type == "text"


def test_the_same_name_for_two_sources_keeps_the_chosen_sources_definition():
    definitions = [
        field("login", label="Login A", connector_sources=["a"]),
        field("login", label="Login B", connector_sources=["b"]),
    ]
    assert ConnectorFieldsForm(definitions, source="b")["login"].label == "Login B"


def test_a_name_that_is_a_request_key_is_still_asked():
    # A connection's own fields are shown as Powens asks; sending them is refused by
    # the service with a clear error (the catalogue sync drops such fields).
    assert list(ConnectorFieldsForm([field("source")]).fields) == ["source"]


# -- relevant fields ----------------------------------------------------------------

SOURCED = [
    field("login"),
    field("pin", connector_sources=["directaccess"]),
    field("secret_answer", connector_sources=["fallback"]),
    field("app_code", auth_mechanisms=["webauth"]),
    field("password", "password", auth_mechanisms=["credentials"]),
]


def test_only_fields_of_the_chosen_source_and_mechanism_are_shown():
    form = ConnectorFieldsForm(SOURCED, source="directaccess", auth_mechanism="credentials")
    assert list(form.fields) == ["login", "pin", "password"]


def test_fields_of_another_source_are_left_out():
    form = ConnectorFieldsForm(SOURCED, source="fallback", auth_mechanism="credentials")
    assert list(form.fields) == ["login", "secret_answer", "password"]


def test_without_source_or_mechanism_every_field_is_shown():
    assert list(ConnectorFieldsForm(SOURCED).fields) == [
        "login",
        "pin",
        "secret_answer",
        "app_code",
        "password",
    ]


def test_definitions_without_name_are_ignored():
    form = ConnectorFieldsForm([{"label": "Nameless", "type": "text"}, field("login")])
    assert list(form.fields) == ["login"]


# -- bank badge helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("Crédit Agricole", "CA"),
        ("ING", "IN"),
        ("Banque Belgo-Néerlandaise", "BB"),
        ("", "?"),
        (None, "?"),
        ("« »", "?"),
    ],
)
def test_bank_initials(name, initials):
    assert bank_initials(name) == initials


@pytest.mark.parametrize(
    ("value", "css"),
    [("0b57d0", "#0b57d0"), ("#0B57D0", "#0b57d0"), ("abc", "#aabbcc"), (" 0b57d0 ", "#0b57d0")],
)
def test_bank_color_accepts_hex(value, css):
    assert bank_color(value) == css


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "red",
        "0b57d0;background:url(//evil)",
        "#12345",
        "1234567",
        "</style>",
        "0b57d0\n;x",
    ],
)
def test_bank_color_rejects_anything_but_hex_and_uses_the_default(value):
    assert bank_color(value) == "#55555f"


def test_bank_color_cannot_inject_css_into_the_badge():
    html = Template(
        '{% include "powens_django/_bank_badge.html" with connector_name="X" connector_color=c %}'
    ).render(Context({"c": "000;background:url(https://evil.example/x)"}))
    assert "evil.example" not in html
    assert "background:#55555f" in html


@pytest.mark.parametrize(
    ("value", "text"),
    [("ffffff", "#000000"), ("ffeb3b", "#000000"), ("000000", "#ffffff"), ("0b57d0", "#ffffff")],
)
def test_bank_text_color_picks_the_readable_one(value, text):
    assert bank_text_color(value) == text


def test_bank_text_color_of_a_rejected_colour_reads_on_the_default():
    assert bank_text_color("javascript:alert(1)") == bank_text_color("55555f") == "#ffffff"


# -- words and help ------------------------------------------------------------------


def page(form: ConnectorFieldsForm) -> str:
    from django.template.loader import render_to_string

    return render_to_string("powens_django/_form.html", {"form": form})


def test_a_fields_description_is_its_help_text_tied_to_the_input():
    form = ConnectorFieldsForm([field("login", description="The 10 digits on your bank card <b>")])

    html = page(form)

    assert 'id="id_login_help"' in html and 'aria-describedby="id_login_help"' in html
    assert "The 10 digits on your bank card &lt;b&gt;" in html


def test_a_drop_down_starts_with_a_real_prompt():
    definition = field("website", "list", required=False, values=[{"value": "par", "label": "P"}])

    html = render(ConnectorFieldsForm([definition]))

    assert "Choose…" in html and "---------" not in html


def test_a_format_failure_says_what_the_connector_expects():
    definition = field("login", regex=r"^\d{10}$", description="10 digits")

    form = ConnectorFieldsForm([definition], {"login": "abc"})

    assert not form.is_valid()
    assert form.errors["login"] == ["Enter a value in the format your bank expects: 10 digits"]


def test_one_problem_shows_one_error():
    definition = field("amount", "number", regex=r"^\d{1,3}$")

    form = ConnectorFieldsForm([definition], {"amount": "many"})

    assert not form.is_valid()
    assert form.errors["amount"] == ["Enter a number."]


@pytest.mark.parametrize(
    ("definition", "autocomplete", "inputmode"),
    [
        (field("otp", label="Code reçu par SMS", regex=r"^\d{6}$"), "one-time-code", "numeric"),
        (field("otp", label="Code"), "one-time-code", None),
        (field("login", regex=r"^[0-9]{4,8}$"), "off", "numeric"),
        (field("login", regex=r"^\w+$"), "off", None),
    ],
)
def test_one_time_codes_are_marked_and_digit_only_fields_get_a_numeric_keyboard(
    definition, autocomplete, inputmode
):
    html = render(ConnectorFieldsForm([definition]))

    assert f'autocomplete="{autocomplete}"' in html
    assert ('inputmode="numeric"' in html) is (inputmode == "numeric")
