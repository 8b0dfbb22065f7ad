"""Every connection page looks the connection up through the person asking: another
person's connection is a 404, and nothing is changed or sent to Powens."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import Connection, ConnectionSource, LinkState, PowensUser

URLS = [
    ("connection", "get", {}),
    ("connection_sync", "post", {}),
    ("connection_reconnect", "post", {}),
    ("connection_fields", "get", {}),
    ("connection_fields", "post", {"otp": "123456"}),
    ("connection_wait", "get", {}),
    ("connection_wait", "post", {}),
    ("connection_syncing", "get", {}),
    ("source_toggle", "post", {"enable": "0"}),
    ("connection_delete", "get", {}),
    ("connection_delete", "post", {}),
    ("connection_logs", "get", {}),
]


@pytest.fixture
def bobs_connection(user_factory, person):
    PowensUser.objects.create(user=person, powens_id=1, token="alice-token")
    bob = PowensUser.objects.get(user=user_factory("bob", powens_id=2, token="bob-token"))
    connection = Connection.objects.create(
        powens_user=bob,
        powens_id=7,
        state="additionalInformationNeeded",
        fields=[{"name": "otp", "type": "text", "required": True}],
    )
    ConnectionSource.objects.create(connection=connection, powens_id=70, name="directaccess")
    return connection


def args_for(name: str) -> list[int]:
    return [7, 70] if name == "source_toggle" else [7]


@pytest.mark.parametrize(("name", "method", "data"), URLS)
def test_another_persons_connection_is_not_found(
    browser, bobs_connection, powens_api, name, method, data
):
    response = getattr(browser, method)(reverse(f"powens:{name}", args=args_for(name)), data)
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "data"), URLS)
def test_another_persons_connection_is_left_untouched(
    browser, bobs_connection, powens_api, name, method, data
):
    getattr(browser, method)(reverse(f"powens:{name}", args=args_for(name)), data)
    assert powens_api.requests == []
    connection = Connection.objects.get(powens_id=7)
    assert connection.powens_user == bobs_connection.powens_user
    assert connection.state == "additionalInformationNeeded"
    assert ConnectionSource.objects.get(powens_id=70).disabled is None
    assert not LinkState.objects.exists()


def test_a_source_of_another_connection_is_not_found(browser, bobs_connection, powens_api):
    mine = Connection.objects.create(powens_user=PowensUser.objects.get(powens_id=1), powens_id=8)
    response = browser.post(reverse("powens:source_toggle", args=[mine.powens_id, 70]))
    assert response.status_code == 404
    assert powens_api.requests == []
    assert ConnectionSource.objects.get(powens_id=70).disabled is None
