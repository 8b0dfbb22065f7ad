"""System checks of ``POWENS_SANDBOX``."""

from __future__ import annotations

import pytest

from powens_django.sandbox.checks import check_sandbox_settings


def ids(settings, **values):
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, **values}
    return [message.id for message in check_sandbox_settings()]


def test_the_test_settings_pass(settings):
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
    ],
)
def test_unusable_values_are_reported(settings, values, expected):
    assert ids(settings, **values) == [expected]


def test_a_setting_that_is_not_a_dict_is_reported(settings):
    settings.POWENS_SANDBOX = ["nope"]

    assert [m.id for m in check_sandbox_settings()] == ["powens_sandbox.E001"]


def test_no_setting_at_all_is_fine(settings):
    del settings.POWENS_SANDBOX

    assert check_sandbox_settings() == []
