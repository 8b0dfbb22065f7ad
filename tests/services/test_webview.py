"""``start_webview``: the Webview URL (every parameter, a fresh code and state each
time), the flows, and what refuses to start."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import translation

from powens_django import services
from powens_django.models import LinkState

from ..factories import connection_payload
from .helpers import BUG, REDIRECT_URI, connection, mirror

pytestmark = pytest.mark.django_db

WEBVIEW = "https://webview.powens.com"


@pytest.fixture
def codes(powens_api):
    """Powens hands out a new temporary code on each call."""
    issued = []

    def answer(request):
        issued.append(f"code-{len(issued) + 1}")
        return 200, {}, f'{{"code": "{issued[-1]}", "type": "singleAccess"}}'

    powens_api.add_callback("GET", "auth/token/code", answer)
    return issued


def parts(url):
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}{split.path}", {
        k: v[0] for k, v in parse_qs(split.query).items()
    }


def test_a_connect_link_carries_every_parameter(powens_api, alice, bank, codes):
    start = services.start_webview(
        alice, "connect", connector=bank, redirect_uri=REDIRECT_URI, language="fr"
    )

    base, query = parts(start.url)
    assert base == f"{WEBVIEW}/fr/connect/"
    assert query == {
        "domain": "test.biapi.pro",
        "client_id": "10000001",
        "redirect_uri": REDIRECT_URI,
        "code": "code-1",
        "state": start.state,
        "connector_uuids": bank.uuid,
    }
    assert powens_api.sent() == ["GET auth/token/code?type=singleAccess"]


def test_each_visit_gets_a_fresh_code_and_state(powens_api, alice, bank, codes):
    first = parts(services.start_webview(alice, "connect", redirect_uri=REDIRECT_URI).url)[1]
    second = parts(services.start_webview(alice, "connect", redirect_uri=REDIRECT_URI).url)[1]

    assert (first["code"], second["code"]) == ("code-1", "code-2")
    assert first["state"] != second["state"]
    assert "connector_uuids" not in first  # Powens' own picker
    assert LinkState.objects.filter(user=alice, used_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("state", "reset"), [("wrongpass", "true"), ("passwordExpired", "true"), ("SCARequired", None)]
)
def test_a_reconnect_resets_credentials_when_the_state_calls_for_new_ones(
    powens_api, alice, codes, state, reset
):
    mirror(alice, connection_payload(7, state=state))

    url = services.start_webview(
        alice, "reconnect", connection=connection(7), redirect_uri=REDIRECT_URI
    ).url

    base, query = parts(url)
    assert base.endswith("/en/reconnect/")
    assert query["connection_id"] == "7"
    assert query.get("reset_credentials") == reset
    assert LinkState.objects.get().connection_powens_id == 7


def test_reset_credentials_can_be_asked_for_explicitly(powens_api, alice, codes):
    mirror(alice, connection_payload(7, state="SCARequired"))

    url = services.start_webview(
        alice,
        "reconnect",
        connection=connection(7),
        reset_credentials=True,
        redirect_uri=REDIRECT_URI,
    ).url

    assert parts(url)[1]["reset_credentials"] == "true"


def test_the_manage_flow_names_no_bank(powens_api, alice, codes):
    base, query = parts(services.start_webview(alice, "manage", redirect_uri=REDIRECT_URI).url)

    assert base == f"{WEBVIEW}/en/manage/"
    assert set(query) == {"domain", "client_id", "redirect_uri", "code", "state"}


def test_the_language_follows_the_person_and_falls_back_to_english(powens_api, alice, codes):
    with translation.override("fr"):
        french = services.start_webview(alice, "manage", redirect_uri=REDIRECT_URI).url
    with translation.override("ja"):
        other = services.start_webview(alice, "manage", redirect_uri=REDIRECT_URI).url

    assert "/fr/manage/" in french and "/en/manage/" in other


def test_the_sandbox_or_a_proxy_is_named_by_its_host(settings):
    settings.POWENS = {**settings.POWENS, "API_URL": "http://127.0.0.1:8000/sandbox/2.0/"}

    assert services.webview_domain() == "127.0.0.1:8000"


def test_a_domain_is_named_as_powens_knows_it(settings):
    settings.POWENS = {**settings.POWENS, "API_URL": None, "DOMAIN": "acme-sandbox"}

    assert services.webview_domain() == "acme-sandbox.biapi.pro"


def test_another_users_connection_cannot_be_reconnected(powens_api, alice, bob):
    mirror(bob, connection_payload(8))

    with pytest.raises(services.NotFound):
        services.start_webview(
            alice, "reconnect", connection=connection(8), redirect_uri=REDIRECT_URI
        )

    assert not LinkState.objects.exists()


def test_a_hidden_bank_cannot_be_linked(powens_api, alice, bank):
    bank.hidden = True
    bank.save()

    with pytest.raises(services.ConnectorUnavailable):
        services.start_webview(alice, "connect", connector=bank, redirect_uri=REDIRECT_URI)

    assert not LinkState.objects.exists()


def test_when_powens_refuses_the_code_nothing_is_recorded(powens_api, alice, bank):
    powens_api.add("GET", "auth/token/code", status=500, json=BUG)

    with pytest.raises(services.PowensUnavailable):
        services.start_webview(alice, "connect", connector=bank, redirect_uri=REDIRECT_URI)

    assert not LinkState.objects.exists()


def test_the_adapter_can_refuse(powens_api, alice, settings):
    settings.POWENS = {**settings.POWENS, "ADAPTER": "tests.services.test_webview.NobodyLinks"}

    with pytest.raises(services.NotAllowed):
        services.start_webview(alice, "connect", redirect_uri=REDIRECT_URI)


def test_an_unknown_flow_is_a_programming_error(alice):
    with pytest.raises(ValueError, match="Unknown Webview flow"):
        services.start_webview(alice, "disconnect", redirect_uri=REDIRECT_URI)


# -- the link mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "mechanism", "expected"),
    [
        ("custom", "credentials", "custom"),
        ("webview", "credentials", "webview"),
        ("webview", None, "webview"),
        ({"credentials": "webview", "webauth": "custom"}, "credentials", "webview"),
        ({"credentials": "webview", "webauth": "custom"}, "webauth", "custom"),
        ({"credentials": "webview"}, None, "custom"),
        ({"credentials": "webview", "default": "webview"}, None, "webview"),
    ],
)
def test_the_link_mode_follows_the_setting_per_mechanism(
    settings, bank, setting, mechanism, expected
):
    settings.POWENS = {**settings.POWENS, "LINK_MODE": setting}
    if mechanism:
        bank.auth_mechanism = mechanism

    assert services.link_mode(connector=bank if mechanism else None) == expected


def test_the_adapter_can_choose_the_mode_per_request(settings, bank):
    settings.POWENS = {**settings.POWENS, "ADAPTER": "tests.services.test_webview.WebviewForAll"}

    assert services.link_mode(connector=bank) == "webview"


from powens_django.adapter import DefaultPowensAdapter  # noqa: E402


class NobodyLinks(DefaultPowensAdapter):
    def can_link(self, user):
        return False


class WebviewForAll(DefaultPowensAdapter):
    def get_link_mode(self, auth_mechanism=None):
        return "webview"
