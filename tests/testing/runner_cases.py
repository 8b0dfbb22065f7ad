"""Tests written for Django's own test runner, using powens_django.testing's mixin.

pytest runs them (test_mixin.py imports them) and test_mixin.py also runs this module
through ``python -m django test``, to prove the mixin needs nothing from pytest.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import LiveServerTestCase
from django.urls import reverse

from powens_django import services
from powens_django.models import Connector, PowensUser
from powens_django.sandbox import models as sandbox
from powens_django.testing import SANDBOX_PATH, SandboxLiveServerMixin


class SandboxMixinTests(SandboxLiveServerMixin, LiveServerTestCase):
    def setUp(self) -> None:
        # Registered before the mixin's own cleanups, so it runs after them.
        self.addCleanup(self.assert_settings_restored)
        self.powens_before = settings.POWENS
        super().setUp()

    def assert_settings_restored(self) -> None:
        assert self.powens_before == settings.POWENS
        assert SANDBOX_PATH not in str(settings.POWENS.get("API_URL"))

    def test_the_app_points_at_the_sandbox_of_the_live_server(self) -> None:
        assert settings.POWENS["API_URL"] == self.live_server_url + SANDBOX_PATH
        assert self.sandbox_url == self.live_server_url + SANDBOX_PATH
        assert settings.POWENS_SANDBOX["WEBHOOK_DELIVERY"] == "immediate"

    def test_the_sandbox_sends_people_back_to_the_live_servers_callback(self) -> None:
        person = get_user_model().objects.create_user("bob", password="unused-password")
        callback = self.live_server_url + reverse("powens:callback")
        bank = Connector.objects.get(name="Néobanque Bêta")

        start = services.start_webauth(person, redirect_uri=callback, connector=bank)

        assert start.url.startswith(self.sandbox_url + "bank/")
        assert callback in settings.POWENS_SANDBOX["REDIRECT_URIS"]

    def test_the_sandbox_catalogue_is_mirrored_into_the_app(self) -> None:
        # The app asks with ``?all``: hidden connectors are mirrored, marked hidden.
        shipped = {str(uuid) for uuid in sandbox.Connector.objects.values_list("uuid", flat=True)}
        hidden = {
            str(uuid)
            for uuid in sandbox.Connector.objects.filter(hidden=True).values_list("uuid", flat=True)
        }
        assert len(shipped) > 1 and hidden
        assert set(Connector.objects.values_list("uuid", flat=True)) == shipped
        assert set(Connector.objects.filter(hidden=True).values_list("uuid", flat=True)) == hidden
        assert Connector.objects.filter(name="Connecteur de test").exists()

    def test_a_service_call_reaches_the_sandbox_over_http(self) -> None:
        person = get_user_model().objects.create_user("alice", password="unused-password")
        powens_user = services.ensure_powens_user(person)
        assert PowensUser.objects.get(user=person).powens_id == powens_user.powens_id
        assert sandbox.User.objects.filter(pk=powens_user.powens_id).exists()


class WithoutCatalogueTests(SandboxLiveServerMixin, LiveServerTestCase):
    sandbox_catalogue = False

    def test_nothing_is_loaded(self) -> None:
        assert not sandbox.Connector.objects.exists()
        assert not Connector.objects.exists()
