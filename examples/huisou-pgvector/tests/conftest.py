"""A real PostgreSQL + pgvector server for the tests, started once per session.

``HUISOU_PG_DSN`` points the tests at a server of your own. Otherwise the ``pgserver`` wheel
(PostgreSQL and pgvector bundled) starts one in a temporary directory, listening only on a Unix
socket there (no TCP port), and stops it at the end. Nothing here is mocked.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    dsn = os.environ.get("HUISOU_PG_DSN")
    if dsn:
        yield dsn
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
        import pgserver

    # A short path: Unix socket paths are limited to ~100 bytes.
    base = tempfile.mkdtemp(prefix="huisou-pg-")
    server = pgserver.get_server(os.path.join(base, "data"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
