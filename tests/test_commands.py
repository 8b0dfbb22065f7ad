"""``manage.py powens_sync_connectors`` and ``powens_sync_connections``, and their
progress reporting: what an operator reads, what Powens receives, the exit status."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connection as db_connection
from django.utils import timezone

from powens_django import sync
from powens_django.management.progress import Progress
from powens_django.models import Connection, Connector, PowensUser

from .factories import connection_payload, connector_payload

pytestmark = pytest.mark.django_db

EXPAND = "expand=connector,sources,all_accounts"
CATALOGUE = "GET connectors?expand=fields,sources,countries&all"


class Terminal(io.StringIO):
    """An output stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(*args: str, stdout=None) -> tuple[str, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def catalogue() -> dict[str, str]:
    return dict(Connector.objects.values_list("uuid", "name"))


def uuid(i: int) -> str:
    return connector_payload(i)["uuid"]


# -- powens_sync_connectors -----------------------------------------------------------


@pytest.fixture
def old_catalogue(db) -> None:
    sync.sync_connectors([connector_payload(i) for i in (1, 2, 3)])


def test_sync_connectors_prints_what_changed_and_how_long_it_took(powens_api, old_catalogue):
    answer = [connector_payload(1), connector_payload(2, name="Renamed"), connector_payload(4)]
    powens_api.add("GET", "connectors", json={"connectors": answer})

    out, err = run("powens_sync_connectors")

    assert powens_api.sent() == [CATALOGUE]
    assert re.search(
        r"^Catalogue: 1 created, 1 updated, 1 unchanged, 1 removed in \d+\.\d s\.$",
        out,
        re.MULTILINE,
    )
    assert err == ""
    assert sorted(catalogue()) == [uuid(1), uuid(2), uuid(4)]


def test_sync_connectors_for_some_countries_asks_for_them_and_removes_nothing(
    powens_api, old_catalogue
):
    powens_api.add("GET", "connectors", json={"connectors": [connector_payload(4)]})

    out, _ = run("powens_sync_connectors", "--country", "fr,es")

    assert powens_api.sent() == [
        "GET connectors?country_codes=FR,ES&expand=fields,sources,countries&all"
    ]
    assert "Fetching the Powens catalogue for FR,ES..." in out
    assert "1 created, 0 updated, 0 unchanged, 0 removed" in out
    assert sorted(catalogue()) == [uuid(1), uuid(2), uuid(3), uuid(4)]


def test_sync_connectors_writes_plain_progress_lines_when_not_on_a_terminal(powens_api):
    powens_api.add(
        "GET", "connectors", json={"connectors": [connector_payload(i) for i in range(1, 21)]}
    )

    out, _ = run("powens_sync_connectors")

    assert "\r" not in out
    progress = [line for line in out.splitlines() if line.startswith("Comparing: ")]
    assert 2 <= len(progress) <= 11
    assert progress[-1] == "Comparing: 20/20"


def test_sync_connectors_draws_a_bar_on_a_terminal(powens_api):
    powens_api.add(
        "GET", "connectors", json={"connectors": [connector_payload(i) for i in range(1, 21)]}
    )

    out, _ = run("powens_sync_connectors", stdout=Terminal())

    assert "\rComparing [" + "#" * 30 + "] 20/20\n" in out


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            {"status": 500, "json": {"code": "bug", "description": "Internal error"}},
            "bug: Internal error (HTTP 500)",
        ),
        ({"status": 401, "json": {"code": "forbidden"}}, "forbidden"),
        ({"json": {"no": "list"}}, "expected list"),
    ],
    ids=["500", "401", "malformed"],
)
def test_sync_connectors_reports_a_powens_failure_and_keeps_the_catalogue(
    powens_api, old_catalogue, answer, said
):
    before = catalogue()
    powens_api.add("GET", "connectors", **answer)

    with pytest.raises(CommandError) as raised:
        run("powens_sync_connectors")

    text = str(raised.value)
    assert said in text and "https://test.biapi.pro/2.0/" in text
    assert ("could not be reached" in text) or ("refused the catalogue request" in text)
    assert catalogue() == before


def test_sync_connectors_says_powens_could_not_be_reached_and_where(old_catalogue, settings):
    settings.POWENS = {
        **settings.POWENS,
        "API_URL": "http://127.0.0.1:9/sandbox/2.0/",
        "MAX_RETRIES": 0,
        "TIMEOUT": (0.5, 0.5),
    }

    with pytest.raises(CommandError, match=r"could not be reached at http://127\.0\.0\.1:9/"):
        run("powens_sync_connectors")


# -- powens_sync_connections ----------------------------------------------------------

ALICE_TOKEN, BOB_TOKEN, CAROL_TOKEN = "alice-tok", "bob-tok", "carol-tok"


@pytest.fixture
def people(user_factory):
    """Alice (two connections), Bob (one), Carol (linked, none yet), Dave (no
    Powens account)."""
    alice = user_factory("alice", powens_id=501, token=ALICE_TOKEN)
    bob = user_factory("bob", powens_id=502, token=BOB_TOKEN)
    carol = user_factory("carol", powens_id=503, token=CAROL_TOKEN)
    dave = user_factory("dave")
    PowensUser.objects.create(user=dave)  # started once, never got an account
    sync.sync_connections(
        PowensUser.objects.get(user=alice), [connection_payload(7), connection_payload(8)]
    )
    sync.sync_connections(PowensUser.objects.get(user=bob), [connection_payload(9)])
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave}


def answer_list(powens_api, token: str, *payloads: dict, **answer) -> None:
    """Powens' answer to the connection list of the user owning ``token``."""
    powens_api.add(
        "GET",
        "users/me/connections",
        token=token,
        **(answer or {"json": {"connections": list(payloads)}}),
    )


def refreshed_tokens(powens_api) -> list[str]:
    # Several users are refreshed at once: their requests come in no particular order.
    return sorted(r.headers["Authorization"].removeprefix("Bearer ") for r in powens_api.requests)


def test_sync_connections_refreshes_every_linked_user_with_gets_only(powens_api, people):
    answer_list(powens_api, ALICE_TOKEN, connection_payload(7, state="SCARequired"))
    answer_list(powens_api, BOB_TOKEN, connection_payload(9), connection_payload(10))
    answer_list(powens_api, CAROL_TOKEN)

    out, err = run("powens_sync_connections")

    assert {r.method for r in powens_api.requests} == {"GET"}
    assert powens_api.sent() == [f"GET users/me/connections?{EXPAND}"] * 3
    assert refreshed_tokens(powens_api) == [ALICE_TOKEN, BOB_TOKEN, CAROL_TOKEN]
    assert re.search(
        r"^3 users, connections: 1 created, 1 updated, 1 unchanged, 1 removed, in \d+\.\d s\.$",
        out,
        re.MULTILINE,
    )
    assert err == ""
    assert dict(Connection.objects.values_list("powens_id", "state")) == {
        7: "SCARequired",
        9: None,
        10: None,
    }


def test_sync_connections_for_one_user(powens_api, people):
    answer_list(powens_api, BOB_TOKEN, connection_payload(9))

    out, _ = run("powens_sync_connections", "--user", str(people["bob"].pk))

    assert refreshed_tokens(powens_api) == [BOB_TOKEN]
    assert out.splitlines()[-1].startswith("1 users, connections: ")


def test_sync_connections_with_stale_hours_refreshes_only_stale_users(powens_api, people):
    now = timezone.now()
    Connection.objects.filter(powens_id__in=[7, 8]).update(synced_at=now - dt.timedelta(hours=2))
    Connection.objects.filter(powens_id=7).update(synced_at=now - dt.timedelta(hours=30))
    Connection.objects.filter(powens_id=9).update(synced_at=now - dt.timedelta(hours=1))
    answer_list(powens_api, ALICE_TOKEN, connection_payload(7), connection_payload(8))
    answer_list(powens_api, CAROL_TOKEN)  # never refreshed: stale by definition

    run("powens_sync_connections", "--stale-hours", "6")

    assert refreshed_tokens(powens_api) == [ALICE_TOKEN, CAROL_TOKEN]


def test_a_failing_user_is_reported_while_the_others_are_refreshed(powens_api, people):
    answer_list(
        powens_api,
        ALICE_TOKEN,
        status=500,
        json={"code": "bug", "description": "Internal error"},
    )
    answer_list(powens_api, BOB_TOKEN, connection_payload(9, state="wrongpass"))
    answer_list(powens_api, CAROL_TOKEN, connection_payload(11))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 3 users could not be refreshed"):
        call_command("powens_sync_connections", stdout=out, stderr=err)

    assert f"User pk={people['alice'].pk}: bug: Internal error (HTTP 500)" in err.getvalue()
    assert "bob" not in err.getvalue() and f"pk={people['bob'].pk}:" not in err.getvalue()
    assert "3 users, connections:" in out.getvalue()
    assert dict(Connection.objects.values_list("powens_id", "state")) == {
        7: None,
        8: None,
        9: "wrongpass",
        11: None,
    }


def test_a_user_whose_token_cannot_be_decrypted_is_reported_and_the_others_refreshed(
    powens_api, people
):
    # Their token was encrypted with a key since removed from TOKEN_ENCRYPTION_KEYS.
    lost_key = Fernet(Fernet.generate_key())
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PowensUser._meta.db_table} SET token = %s WHERE user_id = %s",
            [lost_key.encrypt(b"alice-tok").decode(), people["alice"].pk],
        )
    answer_list(powens_api, BOB_TOKEN, connection_payload(9))
    answer_list(powens_api, CAROL_TOKEN)
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 3 users could not be refreshed"):
        call_command("powens_sync_connections", stdout=out, stderr=err)

    assert f"User pk={people['alice'].pk}: A stored Powens token cannot be decrypted" in (
        err.getvalue()
    )
    assert refreshed_tokens(powens_api) == [BOB_TOKEN, CAROL_TOKEN]


@pytest.mark.django_db(transaction=True)  # manage.py closes the database connections
def test_the_exit_status_says_whether_any_user_failed(powens_api, people):
    answer_list(powens_api, ALICE_TOKEN, status=503, json={"code": "maintenance"})
    answer_list(powens_api, BOB_TOKEN, connection_payload(9))
    answer_list(powens_api, CAROL_TOKEN)
    command = ["manage.py", "powens_sync_connections", "--skip-checks"]

    with pytest.raises(SystemExit) as failed:
        ManagementUtility(command).execute()
    assert failed.value.code == 1

    ManagementUtility([*command, "--user", str(people["bob"].pk)]).execute()  # no exit: 0


# -- Progress -------------------------------------------------------------------------


def test_progress_on_a_terminal_redraws_one_bar():
    stream = Terminal()
    progress = Progress(stream, "Users")

    for done in range(1, 5):
        progress(done, 4)

    assert stream.getvalue() == (
        "\rUsers [#######.......................] 1/4"
        "\rUsers [###############...............] 2/4"
        "\rUsers [######################........] 3/4"
        "\rUsers [##############################] 4/4\n"
    )


def test_progress_elsewhere_prints_a_line_every_tenth_at_most():
    stream = io.StringIO()
    progress = Progress(stream, "Users")

    for done in range(1, 1001):
        progress(done, 1000)

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) <= 11
    assert lines[0] == "Users: 1/1000"
    assert lines[-1] == "Users: 1000/1000"
