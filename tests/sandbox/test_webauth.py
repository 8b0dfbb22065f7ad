"""Web authorization: /webauth-url, /webauth and the sandbox bank page."""

from __future__ import annotations

import requests

from powens_django.sandbox.models import Connection

from .conftest import CLIENT_ID, REDIRECT_URI, SANDBOX_DB, callback_params, open_bank_page, press

pytestmark = SANDBOX_DB


def test_webauth_url_points_to_the_sandbox_bank_page(api, user, catalogue, live_server):
    connector = catalogue["Banque Sandbox PSD2"]

    response = open_bank_page(api, user, id_connector=connector.pk, state="s1")

    assert response.status_code == 200
    # The WebauthURL object of the reference page (the OpenAPI files lack it): {url}.
    assert set(response.json()) == {"url"}
    assert response.json()["url"].startswith(live_server.url + "/sandbox/2.0/bank/")


def test_the_bank_page_is_branded_with_the_connector(api, user, catalogue):
    connector = catalogue["Banque Sandbox PSD2"]
    url = open_bank_page(api, user, connector_uuid=str(connector.uuid)).json()["url"]

    page = requests.get(url, timeout=30)

    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "Banque Sandbox PSD2" in page.text
    assert "#1d4281" in page.text
    for action in ("approve", "cancel", "fail"):
        assert f'value="{action}"' in page.text


def test_the_bank_page_escapes_the_connector_name(api, user, catalogue):
    row = catalogue["Crédit Ünïcode & Épargne « Test »"]
    # Credentials connectors have no webauth: give this one a webauth source to show it.
    row.sources.update(auth_mechanism="webauth", available_auth_mechanisms=["webauth"])

    url = open_bank_page(api, user, id_connector=row.pk).json()["url"]
    page = requests.get(url, timeout=30)

    assert "Crédit Ünïcode &amp; Épargne « Test »" in page.text


def test_approve_creates_the_connection_and_redirects_with_its_id(api, user, catalogue, schema):
    connector = catalogue["Banque Sandbox PSD2"]
    url = open_bank_page(api, user, id_connector=connector.pk, state="xyz").json()["url"]

    callback = callback_params(press(url, "approve"))

    assert callback["state"] == "xyz"
    connection = api.get(
        f"users/me/connections/{callback['id_connection']}",
        token=user.token,
        params={"expand": "sources,accounts"},
    ).json()
    schema("connections.yml", "Connection", connection)
    assert connection["state"] is None
    assert connection["id_connector"] == connector.pk
    assert [s["name"] for s in connection["sources"]] == ["openapi"]
    assert connection["sources"][0]["access_expire"] is not None
    assert connection["accounts"]


def test_cancel_redirects_with_access_denied(api, user, catalogue):
    url = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk, state="s").json()[
        "url"
    ]

    callback = callback_params(press(url, "cancel"))

    assert callback == {"error": "access_denied", "state": "s"}
    assert not Connection.objects.exists()


def test_fail_redirects_with_server_error_and_a_description(api, user, catalogue):
    url = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk).json()["url"]

    callback = callback_params(press(url, "fail"))

    assert callback["error"] == "server_error"
    assert callback["error_description"]
    assert "state" not in callback
    assert not Connection.objects.exists()


def test_a_bank_page_is_single_use(api, user, catalogue):
    url = open_bank_page(api, user, id_connector=catalogue["Néobanque Bêta"].pk).json()["url"]
    press(url, "approve")

    again = press(url, "approve")
    shown = requests.get(url, timeout=30)

    assert again.status_code == shown.status_code == 410
    assert Connection.objects.count() == 1


def test_an_unknown_bank_page_is_gone(api, catalogue):
    response = requests.get(api.url("bank/made-up-flow-id"), timeout=30)

    assert response.status_code == 410


def test_a_redirect_uri_with_a_query_string_is_refused(api, user, catalogue, schema):
    response = open_bank_page(
        api, user, id_connector=catalogue["Néobanque Bêta"].pk, redirect_uri=REDIRECT_URI + "?a=1"
    )

    assert response.status_code == 400
    schema("core.yml", "ServiceError", response.json())
    assert response.json()["code"] == "invalidValue"


def test_a_redirect_uri_is_required(api, user, catalogue):
    response = api.get(
        "webauth-url",
        token=user.token,
        params={"client_id": CLIENT_ID, "id_connector": catalogue["Néobanque Bêta"].pk},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "missingParameter"


def test_an_unknown_client_id_is_refused(api, user, catalogue):
    response = open_bank_page(
        api, user, id_connector=catalogue["Néobanque Bêta"].pk, client_id="99999"
    )

    assert response.status_code == 403


def test_webauth_url_needs_a_user_token(api, catalogue):
    response = api.get(
        "webauth-url",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "id_connector": catalogue["Néobanque Bêta"].pk,
        },
    )

    assert response.status_code == 401


def test_a_credentials_only_connector_has_no_bank_page(api, user, test_connector):
    response = open_bank_page(api, user, id_connector=test_connector.pk)

    assert response.status_code == 400


def test_a_connection_that_needs_nothing_is_a_409(api, user, webauth_connection, catalogue):
    created = webauth_connection(catalogue["Banque Sandbox PSD2"])

    response = open_bank_page(api, user, id_connection=created["id"])

    assert response.status_code == 409
    assert response.json()["code"] == "invalidValue"


def test_another_users_connection_has_no_bank_page(
    api, user, other_user, webauth_connection, catalogue
):
    created = webauth_connection(catalogue["Banque Sandbox PSD2"])

    response = open_bank_page(api, other_user, id_connection=created["id"])

    assert response.status_code == 404


def test_approve_repairs_a_connection_that_needs_sca(api, user, webauth_connection, catalogue):
    created = webauth_connection(catalogue["Banque Sandbox PSD2"])
    path = f"users/me/connections/{created['id']}"
    api.post(path, token=user.token, json={"refresh_auth": True})

    url = open_bank_page(api, user, id_connection=created["id"], state="r").json()["url"]
    page = requests.get(url, timeout=30)
    callback = callback_params(press(url, "approve"))

    assert "Renew your authorization" in page.text
    assert callback == {"id_connection": str(created["id"]), "state": "r"}
    assert api.get(path, token=user.token).json()["state"] is None
    assert Connection.objects.count() == 1


def test_a_source_is_added_through_webauth(api, user, catalogue):
    connector = catalogue["Crédit Régional Multisource"]
    created = api.post(
        "users/me/connections",
        token=user.token,
        json={"connector_uuid": str(connector.uuid), "login": "alice", "password": "x"},
        params={"expand": "sources"},
    ).json()

    url = open_bank_page(api, user, id_connection=created["id"], source="openapi").json()["url"]
    press(url, "approve")
    sources = api.get(f"users/me/connections/{created['id']}/sources", token=user.token).json()

    assert [s["name"] for s in created["sources"]] == ["directaccess"]
    assert [s["name"] for s in sources["sources"]] == ["directaccess", "openapi"]


def test_webauth_redirects_the_browser_with_a_temporary_code(api, user, catalogue):
    code = api.get("auth/token/code", token=user.token, params={"type": "singleAccess"}).json()
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "id_connector": catalogue["Néobanque Bêta"].pk,
        "state": "w",
        "token": code["code"],
    }

    response = api.get("webauth", params=params)
    reused = api.get("webauth", params=params)

    assert response.status_code == 307
    callback = callback_params(press(response.headers["Location"], "approve"))
    assert callback["state"] == "w"
    assert Connection.objects.get().pk == int(callback["id_connection"])
    assert reused.status_code == 401


def test_webauth_without_a_code_is_refused(api, catalogue):
    response = api.get(
        "webauth",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "id_connector": catalogue["Néobanque Bêta"].pk,
        },
    )

    assert response.status_code == 400
