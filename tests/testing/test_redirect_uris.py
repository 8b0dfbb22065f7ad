"""The test helpers register the app's callback with the sandbox
(``POWENS_SANDBOX["REDIRECT_URIS"]``), which refuses any other ``redirect_uri``."""

from __future__ import annotations

from powens_django.testing import sandbox_overrides, sandbox_redirect_uris, use_sandbox

LIVE = "http://localhost:40123"


def test_the_live_servers_and_the_test_clients_callbacks_are_registered(settings):
    settings.POWENS = {k: v for k, v in settings.POWENS.items() if k != "REDIRECT_URI"}

    assert sandbox_redirect_uris(LIVE + "/") == [
        "http://localhost:40123/banks/callback/",
        "http://testserver/banks/callback/",
    ]


def test_a_configured_redirect_uri_is_registered_too(settings):
    settings.POWENS = {**settings.POWENS, "REDIRECT_URI": "https://shop.example/cb/"}

    assert sandbox_redirect_uris(LIVE)[0] == "https://shop.example/cb/"


def test_without_the_callback_route_only_the_configured_one(settings):
    settings.ROOT_URLCONF = "tests.testing.urls_without_pages"

    assert sandbox_redirect_uris(LIVE) == []


def test_the_overrides_keep_what_the_settings_register(settings):
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "REDIRECT_URIS": ["https://a.example/"]}

    registered = sandbox_overrides(LIVE)["POWENS_SANDBOX"]["REDIRECT_URIS"]

    assert registered == [
        "https://a.example/",
        "http://localhost:40123/banks/callback/",
        "http://testserver/banks/callback/",
    ]


def test_use_sandbox_registers_them(settings):
    use_sandbox(settings, LIVE, catalogue=False)

    assert LIVE + "/banks/callback/" in settings.POWENS_SANDBOX["REDIRECT_URIS"]
