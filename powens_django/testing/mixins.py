"""The sandbox as Powens for Django's own test runner."""

from __future__ import annotations

from django.test.utils import override_settings


class SandboxLiveServerMixin:
    """Make the sandbox on the test's live server the app's Powens, for each test.

    Mix it into ``LiveServerTestCase`` or ``StaticLiveServerTestCase`` (before them)::

        from django.contrib.staticfiles.testing import StaticLiveServerTestCase
        from powens_django.testing import SandboxLiveServerMixin

        class LinkingTests(SandboxLiveServerMixin, StaticLiveServerTestCase):
            def test_catalogue(self):
                self.assertTrue(Connector.objects.exists())

    ``setUp`` overrides ``POWENS`` and ``POWENS_SANDBOX`` (undone after the test),
    then, with ``sandbox_catalogue`` true (the default), loads the sandbox's catalogue
    and mirrors it into the app over HTTP. After each test it waits for the live
    server's running requests, so none outlives the test's data.
    """

    #: Load and mirror the sandbox catalogue in ``setUp``.
    sandbox_catalogue = True
    live_server_url: str

    def setUp(self) -> None:
        """Point the app at the sandbox; load and mirror its catalogue."""
        from . import live_requests, load_sandbox_catalogue, sandbox_overrides

        super().setUp()  # type: ignore[misc]
        live_requests.start()
        override = override_settings(**sandbox_overrides(self.live_server_url))
        override.enable()
        self.addCleanup(override.disable)  # type: ignore[attr-defined]
        # Cleanups run last in, first out: the requests end before the settings go back.
        self.addCleanup(live_requests.wait)  # type: ignore[attr-defined]
        if self.sandbox_catalogue:
            load_sandbox_catalogue()

    @property
    def sandbox_url(self) -> str:
        """The sandbox's API root on the live server."""
        from . import SANDBOX_PATH

        return self.live_server_url + SANDBOX_PATH
