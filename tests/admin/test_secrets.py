"""The Powens token appears on no admin page, not even masked, and deleting a Django
user from the admin still reaches its Powens user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.urls import reverse

from powens_django.models import BankAccount, Connector, PendingPowensUserDeletion, PowensUser

from ..powens_api import ALICE_TOKEN
from .conftest import action, change, changelist, connection

pytestmark = pytest.mark.django_db


def stored_ciphertext() -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {PowensUser._meta.db_table} WHERE powens_id = %s", [501])
        return str(cursor.fetchone()[0])


def admin_pages(alice) -> list[str]:
    powens_user = PowensUser.objects.get(powens_id=501)
    objects = {
        "connection": connection(11).pk,
        "connector": Connector.objects.get(powens_id=1).pk,
        "powensuser": powens_user.pk,
        "bankaccount": BankAccount.objects.get().pk,
    }
    pages = [reverse("admin:index"), reverse("admin:app_list", args=["powens_django"])]
    for model, pk in objects.items():
        history = reverse(f"admin:powens_django_{model}_history", args=[pk])
        pages += [changelist(model), change(model, pk), history]
    pages += [
        reverse("admin:auth_user_change", args=[alice.pk]),
        reverse("admin:auth_user_delete", args=[alice.pk]),
        reverse("admin:powens_django_connection_logs", args=[connection(11).pk]),
        changelist("connection") + "?q=alice",
    ]
    return pages


def test_the_token_is_on_no_admin_page(admin_client, alice, alice_connections, powens_api):
    powens_api.add("GET", "users/me/connections/11/logs", json={"connectionlogs": []})
    ciphertext = stored_ciphertext()
    pages = {}
    for url in admin_pages(alice):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    for name, objects in [
        ("sync_now", alice_connections),
        ("delete_at_powens", alice_connections),
    ]:
        pages[name] = action(admin_client, "connection", name, objects).content.decode()
    pages["user deletion"] = action(
        admin_client, "powensuser", "delete_at_powens", list(PowensUser.objects.all())
    ).content.decode()

    assert len(pages) >= 20
    for url, html in pages.items():
        assert ALICE_TOKEN not in html, url
        assert ciphertext not in html, url
        assert "Powens token" not in html, url


def test_deleting_a_django_user_in_the_admin_cascades_and_queues_the_powens_deletion(
    admin_client, alice, alice_connections, powens_api
):
    url = reverse("admin:auth_user_delete", args=[alice.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"}, follow=True)

    assert "alice (Powens #501)" in page.content.decode()
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not PowensUser.objects.exists()
    assert list(PendingPowensUserDeletion.objects.values_list("powens_id", flat=True)) == [501]
