import pytest


@pytest.fixture
def api_root() -> str:
    """The API root of tests/settings.py (``DOMAIN = "test"``), mocked by ``responses``."""
    return "https://test.biapi.pro/2.0/"
