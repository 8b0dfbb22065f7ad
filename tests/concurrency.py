"""Markers for tests that need a database which several threads can use at once.

The test settings run SQLite in memory: every thread of ``live_server`` and of the
test itself shares one connection, so overlapping requests corrupt each other's reads
and a second writer gets 'database table is locked' instead of waiting. Those tests run
on PostgreSQL (CI runs the whole suite on both databases).
"""

from __future__ import annotations

import pytest
from django.db import connection

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs two database connections writing at once: SQLite's shared-cache "
    "in-memory test database answers 'database table is locked' instead of waiting",
)

overlapping_requests = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="requests overlap at the live server: SQLite's in-memory test database is "
    "one connection shared by the test and the server threads, which such overlaps "
    "corrupt (an artefact of the test database; CI runs this on PostgreSQL)",
)
