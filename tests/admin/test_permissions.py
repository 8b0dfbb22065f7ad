"""Who may do what: actions reaching Powens need their permission, and staff without
it neither see nor run them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from powens_django.models import Connection, PowensUser

from .conftest import action, change, changelist, connection, messages_of

pytestmark = pytest.mark.django_db


def actions_offered(client, model: str) -> set[str]:
    response = client.get(changelist(model))
    assert response.status_code == 200
    form = response.context["action_form"]
    if form is None:  # no action at all: no action bar
        return set()
    return {name for name, _ in form.fields["action"].choices if name}


@pytest.mark.parametrize(
    ("perms", "expected"),
    [
        (["view_connection"], {"refresh_from_powens"}),
        (["view_connection", "sync_connection"], {"refresh_from_powens", "sync_now"}),
        (
            ["view_connection", "delete_connection_at_powens"],
            {"refresh_from_powens", "delete_at_powens"},
        ),
        (
            ["view_connection", "change_connection"],
            {"refresh_from_powens", "activate", "deactivate"},
        ),
    ],
)
def test_connection_actions_follow_permissions(staff, alice_connections, perms, expected):
    assert actions_offered(staff(*perms), "connection") == expected


def test_a_superuser_sees_every_connection_action(admin_client, alice_connections):
    assert actions_offered(admin_client, "connection") == {
        "refresh_from_powens",
        "sync_now",
        "activate",
        "deactivate",
        "delete_at_powens",
    }


@pytest.mark.parametrize("name", ["sync_now", "delete_at_powens", "deactivate"])
def test_an_action_without_its_permission_is_not_run(staff, alice_connections, powens_api, name):
    client = staff("view_connection")

    response = action(client, "connection", name, [connection(11)], post="yes")

    assert powens_api.requests == []
    assert Connection.objects.count() == 2
    assert messages_of(response) == ["No action selected."]


def test_source_buttons_need_the_change_permission(staff, alice_connections, powens_api):
    client = staff("view_connection")
    row = connection(11)

    html = client.get(change("connection", row.pk)).content.decode()
    refused = client.post(
        reverse("admin:powens_django_connection_source", args=[row.pk, 111]), {"enabled": "0"}
    )

    assert 'name="enabled"' not in html
    assert refused.status_code == 403
    assert powens_api.requests == []


def test_connector_changes_need_the_change_permission(staff, bank, powens_api):
    client = staff("view_connector")

    html = client.get(change("connector", bank.pk)).content.decode()
    refused = client.post(
        reverse("admin:powens_django_connector_source", args=[bank.pk, 10]), {"enabled": "0"}
    )

    assert actions_offered(client, "connector") == set()
    assert 'name="enabled"' not in html
    assert refused.status_code == 403
    assert powens_api.requests == []


def test_connector_changes_with_the_permission(staff, bank):
    client = staff("view_connector", "change_connector")

    html = client.get(change("connector", bank.pk)).content.decode()

    assert actions_offered(client, "connector") == {"hide_at_powens", "unhide_at_powens"}
    assert 'name="enabled"' in html


def test_deleting_a_powens_user_at_powens_needs_its_permission(staff, alice, powens_api):
    viewer = staff("view_powensuser")

    response = action(
        viewer, "powensuser", "delete_at_powens", list(PowensUser.objects.all()), post="yes"
    )

    assert actions_offered(viewer, "powensuser") == set()
    assert PowensUser.objects.filter(powens_id=501).exists()
    assert messages_of(response) == []  # without any action, the post is not one


def test_the_permission_offers_the_user_deletion(staff, alice):
    client = staff("view_powensuser", "delete_powens_user_at_powens")

    assert actions_offered(client, "powensuser") == {"delete_at_powens"}


def test_staff_without_the_view_permission_see_nothing(staff, alice_connections):
    client = staff()

    assert client.get(changelist("connection")).status_code == 403
    assert client.get(reverse("admin:powens_django_connection_logs", args=[1])).status_code in (
        302,
        403,
    )


def test_even_a_superuser_cannot_add_or_change_mirrored_rows(admin_client, alice_connections):
    for model in ("connection", "connector", "powensuser", "bankaccount"):
        assert admin_client.get(changelist(model) + "add/").status_code == 403
