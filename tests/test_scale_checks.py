"""The sweep's setting is checked like the others."""

from __future__ import annotations

import pytest

from tests.test_checks import VALID, ids


@pytest.mark.parametrize("value", [0, 65, 2.5, "8", True, None])
def test_a_sync_concurrency_that_is_not_a_whole_number_from_1_to_64_is_e009(value):
    assert ids(**VALID, SYNC_CONCURRENCY=value) == ["powens_django.E009"]


@pytest.mark.parametrize("value", [1, 16, 64])
def test_a_sync_concurrency_from_1_to_64_passes(value):
    assert ids(**VALID, SYNC_CONCURRENCY=value) == []
