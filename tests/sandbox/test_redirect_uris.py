"""Only the ``redirect_uri``s registered in ``POWENS_SANDBOX["REDIRECT_URIS"]`` get a
bank page, as Powens checks them against the console: the bank page is no open
redirect. The ``api`` fixture registers ``REDIRECT_URI``."""

from __future__ import annotations

import pytest
import requests

from powens_django.sandbox.models import WebauthFlow

from .conftest import CLIENT_ID, REDIRECT_URI, SANDBOX_DB, callback_params, open_bank_page, press

pytestmark = SANDBOX_DB


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/steal",  # another site
        "https://site.example/powens/callback/",  # a trailing slash more
        "https://site.example/powens/callback/../../elsewhere",  # another path
        "https://site.example/powens",  # a prefix of the registered path
        "https://site.example/powens/callbackx",
        "http://site.example/powens/callback",  # another scheme
        "https://site.example:8443/powens/callback",  # another port
        "https://site.example.evil.example/powens/callback",  # another host
        "https://site.example@evil.example/powens/callback",  # userinfo, host evil.example
        "https://user@site.example/powens/callback",
    ],
)
def test_an_unregistered_redirect_uri_is_refused_and_opens_no_flow(
    api, user, catalogue, schema, redirect_uri
):
    response = open_bank_page(
        api, user, id_connector=catalogue["Néobanque Bêta"].pk, redirect_uri=redirect_uri
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalidValue"
    assert "redirect_uri" in response.json()["description"]
    schema("core.yml", "ServiceError", response.json())
    assert not WebauthFlow.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI,
        "HTTPS://Site.Example/powens/callback",  # scheme and host are case-insensitive
        "https://site.example:443/powens/callback",  # the default port, explicit
    ],
)
def test_a_registered_redirect_uri_is_accepted(api, user, catalogue, redirect_uri):
    response = open_bank_page(
        api, user, id_connector=catalogue["Néobanque Bêta"].pk, redirect_uri=redirect_uri
    )

    assert response.status_code == 200, response.text
    # The person is sent back to the URI as given.
    pressed = press(response.json()["url"], "cancel")
    assert pressed.headers["Location"].startswith(redirect_uri + "?")


def test_nothing_is_registered_by_default(api, user, catalogue, sandbox_settings):
    sandbox_settings(REDIRECT_URIS=[])

    response = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk)

    assert response.status_code == 400
    assert "REDIRECT_URIS" in response.json()["description"]
    assert not WebauthFlow.objects.exists()


def test_webauth_refuses_an_unregistered_redirect_uri_and_keeps_the_code(api, user, catalogue):
    code = api.get("auth/token/code", token=user.token, params={"type": "singleAccess"}).json()
    params = {
        "client_id": CLIENT_ID,
        "id_connector": catalogue["Néobanque Bêta"].pk,
        "token": code["code"],
    }

    refused = api.get("webauth", params={**params, "redirect_uri": "https://evil.example/"})
    accepted = api.get("webauth", params={**params, "redirect_uri": REDIRECT_URI})

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalidValue"
    assert "Location" not in refused.headers
    # Bad input changes nothing: the single-use code still works.
    assert accepted.status_code == 307


def test_a_bank_page_whose_redirect_uri_was_unregistered_redirects_nowhere(
    api, user, catalogue, sandbox_settings
):
    url = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk).json()["url"]
    sandbox_settings(REDIRECT_URIS=["https://site.example/other/callback"])

    refused = press(url, "approve")
    page = requests.get(url, timeout=30)
    sandbox_settings(REDIRECT_URIS=[REDIRECT_URI])
    accepted = press(url, "approve")

    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert refused.json()["code"] == "invalidValue"
    assert page.status_code == 400
    # Refusing left the flow unused: once registered again, it completes.
    assert "id_connection" in callback_params(accepted)
