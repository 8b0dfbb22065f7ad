"""The fault run: many link attempts against a sandbox that fails, answers slowly or
garbles its answers, then a Refresh. Nothing may be lost at Powens, no page may be a
500, and no half-written row may remain.

Marked slow (``make test-fast`` leaves it out). It prints its figures: run it alone
with ``pytest -s tests/test_fault_run.py`` to read them.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from powens_django.models import Connection, Connector, PowensUser
from powens_django.sandbox import faults
from powens_django.sandbox import models as bank
from tests.concurrency import overlapping_requests

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    overlapping_requests,
]

ATTEMPTS = 200
PEOPLE = 10
FAULTS = "503:0.1,429:0.05,slow:0.1,malformed:0.05"
SLOW_SECONDS = 0.5


def test_two_hundred_links_under_faults_lose_nothing_and_serve_no_500(
    powens_sandbox, settings, django_user_model
):
    settings.POWENS = {
        **settings.POWENS,
        "TIMEOUT": (2.0, 0.3),  # shorter than a slow answer: its outcome is unknown
        "MAX_RETRIES": 1,
        "RETRY_BACKOFF": 0.01,
        "RETRY_MAX_WAIT": 0.05,
    }
    settings.POWENS_SANDBOX = {
        **settings.POWENS_SANDBOX,
        "FAULTS": FAULTS,
        "FAULTS_SEED": 20261201,
        "FAULT_SLOW_SECONDS": SLOW_SECONDS,
        "FAULT_RETRY_AFTER": 0,
    }
    faults.reset()
    url = reverse("powens:connect", args=[Connector.objects.get(name="Connecteur de test").uuid])
    browsers = []
    for i in range(PEOPLE):
        browser = Client(raise_request_exception=False)
        browser.force_login(django_user_model.objects.create_user(f"person{i}"))
        browsers.append(browser)

    statuses: dict[int, int] = {}
    for attempt in range(ATTEMPTS):
        response = browsers[attempt % PEOPLE].post(
            url, {"website": "par", "login": f"user{attempt}", "password": "secret"}
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    # Let the slow answers still running in the server finish (their client gave up
    # but the server goes on, as Powens would), then reconcile with Powens healthy
    # again, as a person pressing Refresh later would.
    time.sleep(SLOW_SECONDS * 2)
    settings.POWENS_SANDBOX = {**settings.POWENS_SANDBOX, "FAULTS": ""}
    faults.reset()
    for browser in browsers:
        assert browser.post(reverse("powens:refresh")).status_code == 302

    at_powens = bank.Connection.objects.count()
    on_my_banks = Connection.objects.count()
    half_written = (
        Connection.objects.filter(raw_hash="").count()
        + PowensUser.objects.filter(powens_id__isnull=False, token__isnull=True).count()
    )
    # Claims kept on purpose after a timed-out create (they expire on their own).
    held = PowensUser.objects.filter(link_claimed_at__isnull=False).count()
    print(
        f"\nfault run: {ATTEMPTS} attempts by {PEOPLE} people with {FAULTS}: "
        f"answers {dict(sorted(statuses.items()))}; "
        f"connections at Powens {at_powens}, on My banks {on_my_banks}; "
        f"500s served {statuses.get(500, 0)}; half-written rows {half_written}; "
        f"link claims held after a timeout {held}"
    )
    assert statuses.get(500, 0) == 0
    assert at_powens == on_my_banks
    assert half_written == 0
    assert at_powens >= PEOPLE  # everyone linked at least one bank despite the faults
