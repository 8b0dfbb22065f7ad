"""The sandbox's hosted Webview (/sandbox/webview/{lang}/{flow}/), driven over
live_server with ``requests`` as a browser would: cookies kept, forms posted with
their CSRF token, redirects followed inside the Webview and stopped at the site's
``redirect_uri``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from powens_django.sandbox.models import Connection, TemporaryCode, WebhookDelivery, WebviewVisit
from powens_django.sandbox.webview_text import EN, FR
from powens_django.sandbox.wire import now

from .conftest import CLIENT_ID, REDIRECT_URI, SANDBOX_DB, PowensUser

pytestmark = SANDBOX_DB

TEST_BANK = "4d63270d-d47d-5b8b-a50f-f2a864b7f08c"  # Connecteur de test (credentials)
PSD2_BANK = "83d32532-baf3-505e-8d37-12248cba9534"  # Banque Sandbox PSD2 (webauth)
HIDDEN_BANK = "b977267d-8752-55a2-bd10-a255370393d0"  # Banque Discrète


# -- a small browser ----------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[dict[str, str]] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(action=values.get("action", ""))
            self.forms.append(self._current)
        elif tag == "a":
            self.links.append(values)
        elif self._current is not None and tag in ("input", "select"):
            self._current.inputs.append(values)
            if values.get("type") == "hidden":
                self._current.fields[values["name"]] = values.get("value", "")
        elif self._current is not None and tag == "button":
            self._current.buttons.append((values.get("name", ""), values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


class Browser:
    """A person's browser: one cookie jar, redirects followed up to the site."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def _follow(self, response: requests.Response) -> requests.Response:
        while response.status_code in (302, 303) and not response.headers["Location"].startswith(
            REDIRECT_URI
        ):
            url = urljoin(response.url, response.headers["Location"])
            response = self.session.get(url, allow_redirects=False, timeout=30)
        return response

    def get(self, url: str, **params: Any) -> requests.Response:
        return self._follow(self.session.get(url, params=params, allow_redirects=False, timeout=30))

    def press(self, page: requests.Response, value: str, **data: str) -> requests.Response:
        """Post the form holding the button ``value`` with ``data`` filled in."""
        parser = _Forms()
        parser.feed(page.text)
        for form in parser.forms:
            for name, button_value in form.buttons:
                if button_value == value:
                    body = {**form.fields, **data}
                    if name:
                        body[name] = button_value
                    url = urljoin(page.url, form.action or page.url)
                    response = self.session.post(url, data=body, allow_redirects=False, timeout=30)
                    return self._follow(response)
        raise AssertionError(f"No button {value!r} on the page:\n{page.text}")

    def click(self, page: requests.Response, link_id: str) -> requests.Response:
        parser = _Forms()
        parser.feed(page.text)
        for link in parser.links:
            if link.get("id") == link_id or link.get("data-uuid") == link_id:
                return self.get(urljoin(page.url, link["href"]))
        raise AssertionError(f"No link {link_id!r} on the page")


def inputs(page: requests.Response) -> list[dict[str, str]]:
    parser = _Forms()
    parser.feed(page.text)
    return [i for form in parser.forms for i in form.inputs]


def shows(page: requests.Response, text: str) -> bool:
    """Whether ``text`` is on the page (HTML-escaped as Django escapes it)."""
    return escape(text) in page.text


def returned(response: requests.Response) -> dict[str, str]:
    """The query of the redirect to ``redirect_uri``."""
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def browser() -> Any:
    item = Browser()
    yield item
    item.close()


@pytest.fixture
def webview(live_server: Any, api: Any, catalogue: Any) -> Any:
    """``webview(user, "connect", **params)``: a fresh code, and the Webview URL with
    everything the app sends filled in (``params`` add to or override it)."""
    host = urlsplit(live_server.url).netloc

    def url(user: PowensUser, flow: str = "connect", lang: str = "en", **params: Any) -> tuple:
        code = api.get("auth/token/code", token=user.token, params={"type": "singleAccess"})
        query = {
            "domain": host,
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "code": code.json()["code"],
            "state": "st4te",
            **params,
        }
        query = {k: v for k, v in query.items() if v is not None}
        return f"{live_server.url}/sandbox/webview/{lang}/{flow}/", query

    return url


def open_webview(
    browser: Browser, webview: Any, user: PowensUser, flow: str = "connect", **kw: Any
):
    url, query = webview(user, flow, **kw)
    return browser.get(url, **query)


def sign_in(browser: Browser, page: requests.Response, login: str = "alice") -> requests.Response:
    return browser.press(page, "connect", website="par", login=login, password="secret")


def user_connections(user: PowensUser) -> list[Connection]:
    return list(Connection.objects.filter(user_id=user.id).order_by("id"))


# -- refused visits -----------------------------------------------------------------


def _refused(browser: Browser, url: str, query: dict[str, Any]) -> requests.Response:
    response = browser.session.get(url, params=query, allow_redirects=False, timeout=30)
    assert response.status_code == 400, response.text
    assert "Location" not in response.headers
    assert shows(response, EN["error_title"])
    return response


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"client_id": "999"}, "Unknown client_id"),
        ({"client_id": None}, "client_id is required"),
        ({"redirect_uri": "https://evil.example/cb"}, "not registered"),
        ({"redirect_uri": REDIRECT_URI + "?next=/x"}, "query string"),
        ({"domain": "evil.example"}, "Unknown domain"),
        ({"domain": None}, "domain is required"),
        ({"code": None}, "code is required"),
        ({"code": "not-a-code"}, "Unknown, expired or already used code"),
        ({"connector_uuids": "not-a-uuid"}, "connector_uuids"),
        ({"connector_uuids": f"{TEST_BANK},"}, "connector_uuids"),
        ({"connector_uuids": "00000000-0000-0000-0000-000000000000"}, "no connector"),
        ({"state": "x" * 201}, "longer than 200"),
    ],
)
def test_a_bad_parameter_gets_a_plain_error_page(browser, webview, user, change, problem):
    url, query = webview(user)
    query = {k: v for k, v in {**query, **change}.items() if v is not None}

    response = _refused(browser, url, query)

    assert problem in response.text
    assert WebviewVisit.objects.count() == 0


def test_an_unknown_flow_is_refused(browser, webview, user):
    url, query = webview(user, "pay")

    assert "Unknown flow" in _refused(browser, url, query).text


def test_a_refused_visit_leaves_the_code_usable(browser, webview, user):
    url, query = webview(user)
    _refused(browser, url, {**query, "client_id": "999"})

    assert TemporaryCode.objects.get(code=query["code"]).used is None
    assert browser.get(url, **query).status_code == 200


def test_a_code_opens_one_visit_only(browser, webview, user):
    url, query = webview(user)
    assert browser.get(url, **query).status_code == 200

    response = _refused(Browser(), url, query)

    assert "already used" in response.text


def test_an_expired_code_is_refused(browser, webview, user):
    url, query = webview(user)
    TemporaryCode.objects.filter(code=query["code"]).update(expires=now() - dt.timedelta(seconds=1))

    assert "expired" in _refused(browser, url, query).text


def test_a_domain_listed_in_webview_domains_is_accepted(browser, webview, user, sandbox_settings):
    sandbox_settings(WEBVIEW_DOMAINS=["acme-sandbox.biapi.pro"])

    page = open_webview(browser, webview, user, domain="acme-sandbox.biapi.pro")

    assert page.status_code == 200


def test_reconnect_needs_a_connection_id(browser, webview, user):
    url, query = webview(user, "reconnect")

    assert "connection_id is required" in _refused(browser, url, query).text


def test_reconnect_of_another_users_connection_is_refused(
    browser, webview, user, other_user, api, test_connector
):
    body = {"connector_uuid": TEST_BANK, "website": "par", "login": "bob", "password": "x"}
    theirs = api.post("users/me/connections", token=other_user.token, json=body).json()
    url, query = webview(user, "reconnect", connection_id=theirs["id"])

    assert f"No connection {theirs['id']}" in _refused(browser, url, query).text
    assert TemporaryCode.objects.get(code=query["code"]).used is None


def test_the_error_page_is_in_french(browser, webview, user):
    url, query = webview(user, lang="fr")

    response = browser.session.get(url, params={**query, "client_id": "999"}, timeout=30)

    assert response.status_code == 400
    assert shows(response, FR["error_title"])
    assert '<html lang="fr">' in response.text


# -- connect ------------------------------------------------------------------------


def test_connect_through_the_picker(browser, webview, user, receiver):
    picker = open_webview(browser, webview, user)
    assert shows(picker, EN["picker_title"])
    assert "Banque Discrète" not in picker.text  # hidden connectors are not offered

    found = browser.get(picker.url, q="connecteur")
    assert "Connecteur de test" in found.text
    assert "Banque Sandbox PSD2" not in found.text
    form = browser.click(found, TEST_BANK)
    assert {"type": "password", "id": "field-password", "name": "password"}.items() <= next(
        i for i in inputs(form) if i.get("name") == "password"
    ).items()
    linked = sign_in(browser, form)

    assert shows(linked, EN["linked_title"])
    callback = returned(browser.press(linked, "finish"))
    (connection,) = user_connections(user)
    assert callback == {
        "connection_id": str(connection.pk),
        "connection_ids": str(connection.pk),
        "state": "st4te",
    }
    assert connection.state is None
    assert connection.accounts.exists()
    hooks = receiver.wait_for(1)
    assert hooks[0].path == "/hooks/connection-synced"
    assert hooks[0].json()["connection"]["id"] == connection.pk


def test_connect_with_connector_uuids_goes_straight_to_the_bank(browser, webview, user):
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)

    assert "Connecteur de test" in form.text
    assert shows(form, EN["credentials_title"])


def test_an_empty_connector_uuids_is_no_filter(browser, webview, user):
    picker = open_webview(browser, webview, user, connector_uuids="")

    assert shows(picker, EN["picker_title"])
    assert "Banque Sandbox PSD2" in picker.text


def test_a_bank_page_wears_the_connectors_colour(browser, webview, user):
    page = open_webview(browser, webview, user, connector_uuids=PSD2_BANK)

    assert "--accent: #1d4281;" in page.text


def test_connect_with_several_connector_uuids_lists_only_those(browser, webview, user):
    picker = open_webview(browser, webview, user, connector_uuids=f"{TEST_BANK}, {HIDDEN_BANK}")

    assert "Connecteur de test" in picker.text
    assert "Banque Discrète" in picker.text  # named explicitly: offered although hidden
    assert "Banque Sandbox PSD2" not in picker.text


def test_two_banks_in_one_visit_one_with_an_otp(browser, webview, user):
    picker = open_webview(browser, webview, user)
    first = sign_in(browser, browser.click(picker, TEST_BANK))
    again = browser.click(first, "link-another")
    otp = sign_in(browser, browser.click(again, TEST_BANK), login="otp")
    assert shows(otp, EN["fields_title"])
    assert [i["name"] for i in inputs(otp) if i.get("type") == "text"] == ["otp"]

    wrong = browser.press(otp, "send", otp="000000")
    assert "Code incorrect" in wrong.text
    linked = browser.press(wrong, "send", otp="123456")

    callback = returned(browser.press(linked, "finish"))
    one, two = user_connections(user)
    assert callback["connection_id"] == str(two.pk)
    assert callback["connection_ids"] == f"{one.pk},{two.pk}"
    assert two.state is None


def test_wrongpass_shows_the_banks_error_and_lets_the_person_retry(browser, webview, user):
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)

    refused = sign_in(browser, form, login="wrongpass")

    assert refused.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in refused.text
    assert user_connections(user) == []
    # Typed values are not rendered back; the list's choice is.
    assert [i for i in inputs(refused) if i.get("value") in ("wrongpass", "secret")] == []
    assert 'value="par" selected' in refused.text
    callback = returned(browser.press(sign_in(browser, refused), "finish"))
    assert callback["connection_id"] == str(user_connections(user)[0].pk)


def test_decoupled_asks_to_validate_in_the_app(browser, webview, user):
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)

    waiting = sign_in(browser, form, login="decoupled")
    assert shows(waiting, EN["decoupled_title"])
    assert user_connections(user)[0].state == "decoupled"
    linked = browser.press(waiting, "continue")

    assert shows(linked, EN["linked_title"])
    assert user_connections(user)[0].state is None


def test_a_webauth_connector_shows_the_bank_authorization(browser, webview, user):
    page = open_webview(browser, webview, user, connector_uuids=PSD2_BANK)
    assert shows(page, EN["webauth_title"])

    callback = returned(browser.press(browser.press(page, "approve"), "finish"))

    (connection,) = user_connections(user)
    assert callback["connection_id"] == str(connection.pk)
    assert connection.sources.get().name == "openapi"


def test_refusing_at_a_webauth_bank_is_access_denied(browser, webview, user):
    page = open_webview(browser, webview, user, connector_uuids=PSD2_BANK)

    callback = returned(browser.press(page, "refuse"))

    assert callback["error"] == "access_denied"
    assert user_connections(user) == []


def test_the_credentials_are_not_kept(browser, webview, user):
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)
    sign_in(browser, form, login="alice-unique-login")

    for row in WebviewVisit.objects.values():
        assert "alice-unique-login" not in str(row)
    for row in WebhookDelivery.objects.values("body"):
        assert "secret" not in row["body"]


# -- cancel, errors, expiry ---------------------------------------------------------


def test_cancel_returns_access_denied_and_closes_the_visit(browser, webview, user):
    picker = open_webview(browser, webview, user)

    callback = returned(browser.press(picker, "cancel"))

    assert callback["error"] == "access_denied"
    assert callback["error_description"]
    assert callback["state"] == "st4te"
    again = browser.session.get(picker.url, timeout=30)
    assert again.status_code == 410


@pytest.mark.parametrize("code", ["tos_declined", "server_error", "session_expired"])
def test_the_sandbox_tools_end_with_each_webview_error(browser, webview, user, code):
    picker = open_webview(browser, webview, user)

    callback = returned(browser.press(picker, code))

    assert callback["error"] == code
    assert callback["state"] == "st4te"


@pytest.mark.parametrize("code", ["tos_declined", "server_error", "session_expired"])
def test_a_scenario_login_ends_with_each_webview_error(browser, webview, user, code):
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)

    callback = returned(sign_in(browser, form, login=code))

    assert callback["error"] == code
    assert user_connections(user) == []


def test_an_expired_visit_returns_session_expired(browser, webview, user):
    picker = open_webview(browser, webview, user)
    WebviewVisit.objects.update(expires=now() - dt.timedelta(seconds=1))

    callback = returned(browser.get(picker.url))

    assert callback["error"] == "session_expired"
    assert WebviewVisit.objects.get().finished is not None


def test_the_visit_lasts_code_ttl(browser, webview, user, sandbox_settings):
    sandbox_settings(CODE_TTL=60)
    open_webview(browser, webview, user)

    visit = WebviewVisit.objects.get()

    assert (visit.expires - visit.created).total_seconds() == 60


def test_the_state_comes_back_untouched(browser, webview, user):
    state = "a b&c=d/é?" + "x" * 189
    picker = open_webview(browser, webview, user, state=state)

    assert returned(browser.press(picker, "cancel"))["state"] == state


def test_without_state_none_is_returned(browser, webview, user):
    picker = open_webview(browser, webview, user, state=None)

    assert "state" not in returned(browser.press(picker, "cancel"))


def test_posting_without_the_csrf_token_is_refused(browser, webview, user):
    picker = open_webview(browser, webview, user)
    end = urljoin(picker.url, "end/")

    response = requests.post(end, data={"action": "cancel"}, allow_redirects=False, timeout=30)

    assert response.status_code == 403
    assert WebviewVisit.objects.get().finished is None


# -- reconnect ----------------------------------------------------------------------


def test_reconnect_with_reset_credentials_asks_new_ones(browser, webview, user, connect):
    connection = connect("alice")
    page = open_webview(
        browser,
        webview,
        user,
        "reconnect",
        connection_id=connection["id"],
        reset_credentials="true",
    )
    assert shows(page, EN["update_credentials_title"])

    callback = returned(sign_in(browser, page, login="bob"))

    assert callback["connection_id"] == str(connection["id"])
    assert callback["connection_ids"] == str(connection["id"])
    assert Connection.objects.get(pk=connection["id"]).state is None


def test_reconnect_with_reset_credentials_then_an_otp(browser, webview, user, connect):
    connection = connect("alice")
    page = open_webview(
        browser, webview, user, "reconnect", connection_id=connection["id"], reset_credentials="1"
    )

    otp = sign_in(browser, page, login="otp")
    callback = returned(browser.press(otp, "send", otp="123456"))

    assert callback["connection_id"] == str(connection["id"])


def test_reconnect_without_reset_asks_what_the_state_needs(browser, webview, user, connect):
    connection = connect("otp")
    page = open_webview(browser, webview, user, "reconnect", connection_id=connection["id"])
    assert shows(page, EN["fields_title"])

    callback = returned(browser.press(page, "send", otp="123456"))

    assert callback["connection_id"] == str(connection["id"])
    assert Connection.objects.get(pk=connection["id"]).state is None


def test_reconnect_of_a_connection_needing_sca(browser, webview, user, connect, api):
    connection = connect("sca")
    api.put(f"users/me/connections/{connection['id']}", token=user.token)
    assert Connection.objects.get(pk=connection["id"]).state == "SCARequired"
    page = open_webview(browser, webview, user, "reconnect", connection_id=connection["id"])
    assert shows(page, EN["sca_title"])

    callback = returned(browser.press(page, "continue"))

    assert callback["connection_id"] == str(connection["id"])
    assert Connection.objects.get(pk=connection["id"]).state is None


def test_reconnect_after_wrongpass_asks_the_credentials_again(browser, webview, user, connect, api):
    connection = connect("alice")
    body = {"website": "par", "login": "wrongpass", "password": "x"}
    api.post(f"users/me/connections/{connection['id']}", token=user.token, json=body)
    page = open_webview(browser, webview, user, "reconnect", connection_id=connection["id"])
    assert "Identifiant ou mot de passe incorrect." in page.text

    callback = returned(sign_in(browser, page))

    assert callback["connection_id"] == str(connection["id"])
    assert Connection.objects.get(pk=connection["id"]).state is None


def test_reconnect_of_a_webauth_connection(browser, webview, user, webauth_connection, catalogue):
    connection = webauth_connection(catalogue["Banque Sandbox PSD2"])
    page = open_webview(browser, webview, user, "reconnect", connection_id=connection["id"])
    assert shows(page, EN["webauth_title"])

    assert returned(browser.press(page, "approve"))["connection_id"] == str(connection["id"])


def test_another_users_connection_page_is_not_found(browser, webview, user, other_user, api):
    body = {"connector_uuid": TEST_BANK, "website": "par", "login": "bob", "password": "x"}
    theirs = api.post("users/me/connections", token=other_user.token, json=body).json()
    picker = open_webview(browser, webview, user, "manage")

    page = browser.get(urljoin(picker.url, f"connections/{theirs['id']}/"))

    assert page.status_code == 404


# -- manage -------------------------------------------------------------------------


def test_manage_deletes_a_connection(browser, webview, user, connect, receiver):
    keep, gone = connect("alice"), connect("bob")
    page = open_webview(browser, webview, user, "manage")
    assert f'id="connection-{gone["id"]}"' in page.text

    parser = _Forms()
    parser.feed(page.text)
    (form,) = [f for f in parser.forms if f.fields.get("connection") == str(gone["id"])]
    response = browser.session.post(
        urljoin(page.url, form.action),
        data={**form.fields, "action": "delete"},
        allow_redirects=False,
        timeout=30,
    )
    after = browser._follow(response)

    assert shows(after, EN["deleted_notice"])
    assert [c.pk for c in user_connections(user)] == [keep["id"]]
    deleted = [h for h in receiver.received if h.path == "/hooks/connection-deleted"]
    assert [h.json()["id"] for h in deleted] == [gone["id"]]
    callback = returned(browser.press(after, "finish"))
    assert callback == {"state": "st4te"}


def test_manage_reconnect_comes_back_to_the_list(browser, webview, user, connect):
    connection = connect("otp")
    page = open_webview(browser, webview, user, "manage")
    assert "Information needed" in page.text

    step = browser.get(urljoin(page.url, f"connections/{connection['id']}/"))
    back = browser.press(step, "send", otp="123456")

    assert shows(back, EN["updated_notice"])
    callback = returned(browser.press(back, "finish"))
    assert callback["connection_ids"] == str(connection["id"])


# -- French -------------------------------------------------------------------------


def test_the_pages_are_in_french(browser, webview, user):
    picker = open_webview(browser, webview, user, lang="fr")

    assert '<html lang="fr">' in picker.text
    assert shows(picker, FR["picker_title"])
    form = browser.click(picker, TEST_BANK)
    assert shows(form, FR["connect"])
    assert FR["linked_title"] in sign_in(browser, form).text


def test_an_unknown_language_falls_back_to_english(browser, webview, user):
    picker = open_webview(browser, webview, user, lang="de")

    assert '<html lang="en">' in picker.text
    assert shows(picker, EN["picker_title"])


def test_every_french_text_is_there():
    assert set(FR) == set(EN)


# -- odds and ends ------------------------------------------------------------------


def test_a_head_request_does_not_spend_the_code(browser, webview, user):
    url, query = webview(user)

    assert browser.session.head(url, params=query, timeout=30).status_code == 405
    assert TemporaryCode.objects.get(code=query["code"]).used is None


def test_a_restricted_bank_offers_no_form(browser, webview, user):
    page = open_webview(
        browser, webview, user, connector_uuids="f0502091-5f47-5b16-9039-24ba987ab703"
    )

    assert shows(page, EN["restricted"])
    assert 'name="password"' not in page.text


def test_a_hybrid_bank_uses_its_webauth_source(browser, webview, user):
    page = open_webview(
        browser, webview, user, connector_uuids="6e2f557f-6e83-5c5a-95ff-d63d2b4d66f9"
    )

    assert shows(page, EN["webauth_title"])


def test_webhooks_follow_the_delivery_mode(browser, webview, user, receiver, sandbox_settings):
    sandbox_settings(WEBHOOK_DELIVERY="after_response")
    form = open_webview(browser, webview, user, connector_uuids=TEST_BANK)

    sign_in(browser, form)

    (hook,) = receiver.wait_for(1)
    assert hook.json()["connection"]["id"] == user_connections(user)[0].pk


def test_the_pages_keep_the_visit_id_out_of_referers(browser, webview, user):
    page = open_webview(browser, webview, user)

    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
