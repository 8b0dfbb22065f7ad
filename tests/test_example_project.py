"""The example site behind `make demo`: it sets itself up and answers over HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent

# The demo site is served by `manage.py runserver`: a live server, like live_server.
pytestmark = [pytest.mark.slow, pytest.mark.live]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWENS_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        PORT=str(free_port()),
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DEBUG="True",
    )
    manage(env, "demo_setup")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def demo_server(demo_env):
    port = demo_env["PORT"]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/", timeout=2)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode() if server.stdout else ""
                    pytest.fail(f"the demo server did not start:\n{output[-3000:]}")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_setup_creates_the_demo_and_admin_accounts(demo_env):
    code = (
        "from django.contrib.auth import authenticate as a; "
        "d = a(username='demo', password='demo'); s = a(username='admin', password='admin'); "
        "assert d and not d.is_staff, d; assert s and s.is_superuser, s; print('accounts ok')"
    )
    assert "accounts ok" in manage(demo_env, "shell", "-c", code)


def test_demo_setup_loads_the_sandbox_catalogue_once_however_often_it_runs(demo_env):
    count = (
        "from powens_django.sandbox.models import Connector as C; "
        "print('n', C.objects.filter(synthetic=False).count())"
    )

    again = manage(demo_env, "demo_setup")

    assert "24 connectors (0 created, 0 updated, 24 unchanged); 1 hidden" in again
    assert manage(demo_env, "shell", "-c", count).split()[-1] == "24"


def test_demo_home_page_answers_and_points_at_the_sandbox(demo_server, demo_env):
    response = requests.get(demo_server + "/", timeout=10)
    assert response.status_code == 200
    assert "powens-django example site" in response.text
    assert f"http://127.0.0.1:{demo_env['PORT']}/sandbox/2.0/" in response.text


def signed_in(demo_server: str) -> requests.Session:
    session = requests.Session()
    login = demo_server + "/accounts/login/"
    session.get(login, timeout=10)
    response = session.post(
        login,
        data={
            "username": "demo",
            "password": "demo",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": login},
        timeout=10,
    )
    assert response.status_code == 200 and "sessionid" in session.cookies
    return session


def test_the_demo_pages_can_sign_out_and_ask_for_no_favicon(demo_server):
    session = signed_in(demo_server)

    page = session.get(demo_server + "/banks/", timeout=10).text
    session.post(
        demo_server + "/accounts/logout/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": demo_server + "/banks/"},
        timeout=10,
    )

    assert 'data-action="logout"' in page and 'rel="icon" href="data:,"' in page
    assert (
        session.get(demo_server + "/banks/", allow_redirects=False, timeout=10).status_code == 302
    )


def test_the_sandbox_webhooks_reach_the_demo_receiver(demo_server, demo_env):
    """A bank linked in the demo is mirrored with its accounts by the sandbox's signed
    CONNECTION_SYNCED, sent to the example site's receiver."""
    manage(demo_env, "demo_mirror_catalogue", "--wait", "30")
    session = signed_in(demo_server)
    uuid = manage(
        demo_env,
        "shell",
        "-c",
        "from powens_django.models import Connector; "
        "print(Connector.objects.get(name='Connecteur de test').uuid)",
    ).split()[-1]
    url = f"{demo_server}/banks/connect/{uuid}/"
    session.get(url, timeout=10)
    session.post(
        url,
        data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "website": "par",
            "login": "demo-webhook",
            "password": "demo-pass-123",
        },
        headers={"Referer": url},
        timeout=60,
    )
    probe = (
        "import time\n"
        "from powens_django.models import BankAccount, WebhookEvent\n"
        "done = WebhookEvent.objects.filter(valid=True, processed__isnull=False)\n"
        "for _ in range(50):\n"
        "    if done.exists(): break\n"
        "    time.sleep(0.2)\n"
        "print('events', WebhookEvent.objects.filter(valid=True, processed__isnull=False).count(), "
        "'accounts', BankAccount.objects.count())"
    )
    words = manage(demo_env, "shell", "-c", probe).split()

    assert int(words[words.index("events") + 1]) >= 1
    assert int(words[words.index("accounts") + 1]) >= 1


def test_demo_admin_login_page_answers(demo_server):
    assert requests.get(demo_server + "/admin/login/", timeout=10).status_code == 200


def test_example_settings_pass_the_system_checks(demo_env):
    assert "no issues" in manage(demo_env, "check")


def test_the_app_catalogue_is_mirrored_from_the_demo_sandbox(demo_server, demo_env):
    output = manage(demo_env, "demo_mirror_catalogue", "--wait", "30")
    assert "Catalogue mirrored" in output
    check = (
        "from powens_django.models import Connector; print('connectors', Connector.objects.count())"
    )
    count = int(manage(demo_env, "shell", "-c", check).split()[-1])
    assert count >= 20


# -- secrets and the sandbox outside development ---------------------------------------

PRODUCTION_SECRETS = {
    "SECRET_KEY": "a-production-secret-key-that-is-long-enough-for-check-deploy-0123456789",
    "POWENS_DOMAIN": "acme",
    "POWENS_CLIENT_ID": "42",
    "POWENS_CLIENT_SECRET": "the-real-client-secret",
    "POWENS_TOKEN_ENCRYPTION_KEYS": "hVxg3Wh6uSGJNjEYyD-Ei0n3vTSOZVKgs1bk-9rxbXU=",
    "POWENS_WEBHOOK_SECRETS": "the-real-webhook-secret",
}


def example_env(tmp_path, **values: str) -> dict[str, str]:
    """The environment of the example site with ``values``: nothing of this process's
    POWENS_* or DJANGO_* variables, nor the repository's ``.env`` (``ENV_FILE`` empty)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWENS_", "DJANGO_"))}
    for name in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "PORT"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'example.sqlite3'}",
        DJANGO_SETTINGS_MODULE="example_project.settings",
        PYTHONPATH=str(ROOT),
        ENV_FILE="",
        **values,
    )
    return env


def run_example(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


SETTINGS_PROBE = (
    "from django.conf import settings; from django.urls import resolve, Resolver404\n"
    "try:\n    resolve('/sandbox/2.0/connectors'); mounted = True\n"
    "except Resolver404:\n    mounted = False\n"
    "print('sandbox', 'powens_django.sandbox' in settings.INSTALLED_APPS, mounted)\n"
    "print('secret', settings.POWENS['CLIENT_SECRET'])\n"
    "print('redirect_uris', *getattr(settings, 'POWENS_SANDBOX', {}).get('REDIRECT_URIS', []))\n"
)


def test_without_debug_and_without_secrets_the_example_site_refuses_to_start(tmp_path):
    result = run_example(example_env(tmp_path, DEBUG="False"), "check", "--deploy")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in (
        "SECRET_KEY",
        "POWENS_CLIENT_ID",
        "POWENS_CLIENT_SECRET",
        "POWENS_TOKEN_ENCRYPTION_KEYS",
        "POWENS_DOMAIN",
    ):
        assert name in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("missing", ["POWENS_CLIENT_SECRET", "POWENS_CLIENT_ID", "POWENS_DOMAIN"])
def test_without_debug_one_missing_secret_is_named_never_defaulted(tmp_path, missing):
    values = {k: v for k, v in PRODUCTION_SECRETS.items() if k != missing}
    result = run_example(example_env(tmp_path, DEBUG="False", **values), "check", "--deploy")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr.splitlines()[-1]
    assert "sandbox-client-secret" not in result.stdout + result.stderr


def test_without_debug_the_sandbox_is_neither_installed_nor_mounted(tmp_path):
    env = example_env(tmp_path, DEBUG="False", **PRODUCTION_SECRETS)

    checked = run_example(env, "check")
    probe = run_example(env, "shell", "-c", SETTINGS_PROBE)

    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "powens_sandbox" not in checked.stdout + checked.stderr
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert "sandbox False False" in probe.stdout
    assert "secret the-real-client-secret" in probe.stdout


def test_a_staging_demo_with_the_sandbox_without_debug_must_say_so_and_give_secrets(tmp_path):
    values = {k: v for k, v in PRODUCTION_SECRETS.items() if k != "POWENS_DOMAIN"}
    env = example_env(
        tmp_path,
        DEBUG="False",
        POWENS_SANDBOX_ALLOW_WITHOUT_DEBUG="True",
        ALLOWED_HOSTS="staging.example",
        POWENS_SANDBOX_REDIRECT_URIS="https://staging.example/banks/callback/",
        POWENS_API_URL="https://staging.example/sandbox/2.0/",
        **values,
    )

    checked = run_example(env, "check")
    probe = run_example(env, "shell", "-c", SETTINGS_PROBE)

    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "sandbox True True" in probe.stdout
    assert "secret the-real-client-secret" in probe.stdout
    assert "redirect_uris https://staging.example/banks/callback/" in probe.stdout


def test_in_development_the_sandbox_registers_the_sites_own_callback(tmp_path):
    env = example_env(tmp_path, DEBUG="True", PORT="9123")

    probe = run_example(env, "shell", "-c", SETTINGS_PROBE)

    assert probe.returncode == 0, probe.stderr[-2000:]
    assert "sandbox True True" in probe.stdout
    [line] = [line for line in probe.stdout.splitlines() if line.startswith("redirect_uris")]
    assert "http://127.0.0.1:9123/banks/callback/" in line.split()
    assert all(uri.endswith(":9123/banks/callback/") for uri in line.split()[1:])


def test_the_demo_sandbox_opens_a_bank_page_for_its_own_callback_only(demo_server, demo_env):
    api = demo_server + "/sandbox/2.0/"
    user = requests.post(
        api + "auth/init",
        json={"client_id": "10000001", "client_secret": "sandbox-client-secret"},
        timeout=10,
    ).json()
    connectors = requests.get(api + "connectors", timeout=10).json()["connectors"]
    webauth = next(c for c in connectors if c["name"] == "Néobanque Bêta")

    def bank_page(redirect_uri: str) -> requests.Response:
        return requests.get(
            api + "webauth-url",
            params={
                "client_id": "10000001",
                "redirect_uri": redirect_uri,
                "id_connector": webauth["id"],
            },
            headers={"Authorization": f"Bearer {user['auth_token']}"},
            timeout=10,
        )

    own = bank_page(f"{demo_server}/banks/callback/")
    other = bank_page("https://evil.example/banks/callback/")

    assert own.status_code == 200, own.text
    assert other.status_code == 400
    assert other.json()["code"] == "invalidValue"


def test_the_example_access_log_keeps_no_callback_state_nor_bank_page_id(tmp_path):
    code = (
        "import logging\n"
        "logging.getLogger('django.server').info('\"%s\" %s %s', "
        "'GET /banks/callback/?state=S3CR3T-STATE&id_connection=1 HTTP/1.1', '302', '0')\n"
        "logging.getLogger('django.request').warning('%s: %s', 'Gone', "
        "'/sandbox/2.0/bank/B4NK-PAGE-ID-0123456789abcdef')\n"
    )
    result = run_example(example_env(tmp_path, DEBUG="True"), "shell", "-c", code)

    assert result.returncode == 0, result.stderr[-2000:]
    assert '"GET /banks/callback/?[redacted] HTTP/1.1" 302 0' in result.stderr
    assert "Gone: /sandbox/2.0/bank/[redacted]" in result.stderr
    assert "S3CR3T" not in result.stderr and "B4NK" not in result.stderr


def test_the_example_sqlite_database_uses_immediate_transactions(demo_env):
    printed = manage(
        demo_env,
        "shell",
        "-c",
        "from django.db import connection; "
        "print(connection.settings_dict['OPTIONS'].get('transaction_mode'))",
    )

    assert printed.strip().splitlines()[-1] == "IMMEDIATE"


def test_the_demo_pages_are_french_in_french(demo_server):
    home = requests.get(demo_server + "/", headers={"Accept-Language": "fr"}, timeout=10).text
    login = requests.get(
        demo_server + "/accounts/login/", headers={"Accept-Language": "fr"}, timeout=10
    ).text

    assert "Site d'exemple powens-django" in home.replace("&#x27;", "'")
    assert "Comptes de démonstration" in login and "Demo accounts" not in login
