"""The README, copied as written: a fresh ``django-admin startproject`` site gets the
README's "Adding it to an existing site" snippets and docs/sandbox.md's, extracted from
the documents themselves (so they cannot drift), then ``check``, ``migrate``, the
catalogue sync against the sandbox, and a bank linked, its webhook received.

The only edits are mechanical: ``# ...`` in a snippet stands for what the file already
holds, and the sandbox docs' port 8000 becomes the test server's.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.live]


def blocks(document: str, heading: str) -> list[str]:
    """The python code blocks of ``document`` under ``heading`` (up to the next one)."""
    text = (ROOT / document).read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    section = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(site: Path, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def merged(snippet: str, name: str) -> str:
    """A snippet's ``NAME = [\\n    # ...`` means "what NAME holds already"."""
    return re.sub(rf"{name} = \[\n\s*# \.\.\.\n", f"{name} = [\n    *{name},\n", snippet)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(folder)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    readme_settings, readme_sqlite, readme_urls = blocks(
        "README.md", "## Adding it to an existing site"
    )
    sandbox_setup, sandbox_app = blocks("docs/sandbox.md", "## Running it")[:2]
    sandbox_settings, sandbox_urls = sandbox_setup.split("# urls.py")
    here = f"127.0.0.1:{port}"

    settings = folder / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n"
        + merged(readme_settings, "INSTALLED_APPS")
        + "\n"
        + readme_sqlite
        + "\n"
        + sandbox_settings.replace("127.0.0.1:8000", here)
        + "\n"
        + sandbox_app.replace("127.0.0.1:8000", here)
    )
    urls = folder / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "from django.urls import path", "from django.urls import include, path"
        )
        + "\n"
        + merged(readme_urls, "urlpatterns")
        + "\n"
        + sandbox_urls
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWENS_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        PYTHONPATH=str(ROOT),
        POWENS_CLIENT_ID="10000001",
        POWENS_CLIENT_SECRET="sandbox-client-secret",
        POWENS_TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        POWENS_WEBHOOK_SECRETS="sandbox-webhook-secret",
    )
    return folder, env, port


@pytest.fixture(scope="module")
def server(site):
    folder, env, port = site
    run(folder, env, "migrate")
    run(folder, env, "sandbox_load_catalogue")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(root + "/sandbox/2.0/connectors", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield root
    process.terminate()
    process.wait(timeout=10)


def test_the_snippets_pass_the_system_checks(site):
    folder, env, _ = site

    assert "no issues" in run(folder, env, "check")


def test_the_catalogue_syncs_and_a_bank_links_with_its_webhook(site, server):
    folder, env, _ = site

    synced = run(folder, env, "powens_sync_connectors")
    linked = run(
        folder,
        env,
        "shell",
        "-c",
        "import time\n"
        "from django.contrib.auth import get_user_model\n"
        "from powens_django import services\n"
        "from powens_django.models import Connector, WebhookEvent\n"
        "user = get_user_model().objects.create_user('reader')\n"
        "bank = Connector.objects.get(name='Connecteur de test')\n"
        "values = {'website': 'par', 'login': 'reader', 'password': 'pw-from-readme'}\n"
        "outcome = services.add_credentials_connection(user, bank, values)\n"
        "done = WebhookEvent.objects.filter(valid=True, processed__isnull=False)\n"
        "for _ in range(50):\n"
        "    if done.exists(): break\n"
        "    time.sleep(0.2)\n"
        "print('outcome', outcome.kind, 'webhooks', done.count())\n",
    )

    assert "Catalogue:" in synced
    words = linked.split()
    assert words[words.index("outcome") + 1] == "connected"
    assert int(words[words.index("webhooks") + 1]) >= 1


def test_the_pages_send_an_anonymous_visitor_to_login_url(server):
    response = requests.get(server + "/banks/", allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
