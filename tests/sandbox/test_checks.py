"""System checks of ``POWENS_SANDBOX``."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.checks import Error

from powens_django.sandbox.checks import check_sandbox_settings


def ids(settings, **values):
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, **values}
    return [message.id for message in check_sandbox_settings()]


def test_the_test_settings_pass(settings):
    settings.DEBUG = True

    assert ids(settings) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"CLIENTS": ["10000001"]}, "powens_sandbox.E002"),
        ({"WEBHOOK_URLS": "http://x"}, "powens_sandbox.E002"),
        ({"FAULTS": "504:0.1"}, "powens_sandbox.E003"),
        ({"WEBHOOK_AUTH": "oauth"}, "powens_sandbox.E004"),
        ({"WEBHOOK_DELIVERY": "later"}, "powens_sandbox.E005"),
        ({"WEBHOOK_SECRETS": ["x"]}, "powens_sandbox.W001"),
        ({"WEBVIEW_DOMAINS": "acme.biapi.pro"}, "powens_sandbox.E008"),
        ({"WEBVIEW_DOMAINS": ["acme.biapi.pro", ""]}, "powens_sandbox.E008"),
    ],
)
def test_unusable_values_are_reported(settings, values, expected):
    settings.DEBUG = True

    assert ids(settings, **values) == [expected]


def test_a_setting_that_is_not_a_dict_is_reported(settings):
    settings.DEBUG = True
    settings.POWENS_SANDBOX = ["nope"]

    assert [m.id for m in check_sandbox_settings()] == ["powens_sandbox.E001"]


def test_no_setting_at_all_is_fine(settings):
    settings.DEBUG = True
    del settings.POWENS_SANDBOX

    assert check_sandbox_settings() == []


# -- the sandbox outside development --------------------------------------------------


def test_the_sandbox_without_debug_is_an_error(settings):
    settings.DEBUG = False

    [message] = check_sandbox_settings()

    assert message.id == "powens_sandbox.E006"
    assert isinstance(message, Error)
    assert "ALLOW_WITHOUT_DEBUG" in message.hint


def test_the_sandbox_with_debug_is_fine(settings):
    settings.DEBUG = True

    assert check_sandbox_settings() == []


def test_the_sandbox_without_debug_is_fine_when_allowed_loudly(settings):
    settings.DEBUG = False

    assert ids(settings, ALLOW_WITHOUT_DEBUG=True) == []


@pytest.mark.parametrize("value", ["yes", 1, "True"])
def test_only_true_itself_allows_it(settings, value):
    settings.DEBUG = False

    assert "powens_sandbox.E006" in ids(settings, ALLOW_WITHOUT_DEBUG=value)


def test_the_sandbox_without_debug_is_reported_even_without_settings(settings):
    settings.DEBUG = False
    del settings.POWENS_SANDBOX

    assert [m.id for m in check_sandbox_settings()] == ["powens_sandbox.E006"]


def test_the_debug_check_is_registered_with_django(settings):
    settings.DEBUG = False

    found = {m.id for m in checks.run_checks()}

    assert "powens_sandbox.E006" in found


@pytest.mark.parametrize(
    "value",
    [
        "https://site.example/cb",  # a string, not a list
        ["site.example/cb"],  # not absolute
        ["ftp://site.example/cb"],
        ["https://site.example/cb?next=/"],  # a query string
        ["https://site.example/cb#top"],
        [""],
        [42],
    ],
)
def test_unusable_redirect_uris_are_reported(settings, value):
    settings.DEBUG = True

    assert ids(settings, REDIRECT_URIS=value) == ["powens_sandbox.E007"]


def test_registered_redirect_uris_pass(settings):
    settings.DEBUG = True

    assert ids(settings, REDIRECT_URIS=["https://site.example/banks/callback/"]) == []
