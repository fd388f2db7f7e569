"""Shared fixtures. The PostgreSQL server fixture lives in tests/postgres_server.py."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("DO_NOT_TRACK", "1")

pytest_plugins = ["tests.postgres_server", "tests.embedding_standin", "tests.weaviate_standin.fixture"]


import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    """One throwaway Prefect API for the whole session (~10 s once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
