"""pytest plugin: the ``weaviate_standin`` fixture (registered in tests/conftest.py).

``weaviate_standin`` is a fresh server per test (it starts in milliseconds),
for tests that inject faults or stop it. ``standin_store(tmp_path)`` gives a
``WeaviateStore`` on one stand-in shared by the whole session, in a
collection of its own, for suites that take a store factory.
"""

from __future__ import annotations

import atexit
import re
import threading
from pathlib import Path

import pytest

from tests.weaviate_standin.server import WeaviateStandIn

__all__ = ["weaviate_standin", "shared_standin", "standin_store"]

_shared: WeaviateStandIn | None = None
_shared_lock = threading.Lock()


def shared_standin() -> WeaviateStandIn:
    """One stand-in per test process, started on first use, never given faults."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WeaviateStandIn().start()
            atexit.register(_shared.stop)
        return _shared


def standin_store(tmp_path: Path, **fields):
    """A ``WeaviateStore`` on the shared stand-in, its collection named after ``tmp_path`` (one per test)."""
    from blocks.weaviate_store import WeaviateStore

    standin = shared_standin()
    collection = "Case_" + re.sub(r"[^0-9A-Za-z]", "_", tmp_path.name)
    fields = {"http_port": standin.http_port, "grpc_port": standin.grpc_port, "collection": collection,
              "init_timeout": 2.0, **fields}
    return WeaviateStore(**fields)


@pytest.fixture
def weaviate_standin():
    """A running stand-in with no classes and no faults; ``http_port``, ``grpc_port``, ``faults``, ``stop()``."""
    standin = WeaviateStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()
