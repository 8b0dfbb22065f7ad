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

    assert "0 connectors created, 24 updated" in again
    assert manage(demo_env, "shell", "-c", count).split()[-1] == "24"


def test_demo_home_page_answers_and_points_at_the_sandbox(demo_server, demo_env):
    response = requests.get(demo_server + "/", timeout=10)
    assert response.status_code == 200
    assert "powens-django example site" in response.text
    assert f"http://127.0.0.1:{demo_env['PORT']}/sandbox/2.0/" in response.text


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
