"""WeaviateStore against a real Weaviate: the shared VectorStore contract plus the schema as the server keeps it.

Skipped unless ``WEAVIATE_URL`` is set, e.g. with the repository's docker-compose.yml::

    docker compose up -d weaviate
    WEAVIATE_URL=http://127.0.0.1:8080 .venv/bin/pytest -m integration tests/integration

``WEAVIATE_GRPC_PORT`` (default 50051) and ``WEAVIATE_GRPC_HOST`` (default: the
URL's host) locate gRPC; ``WEAVIATE_API_KEY`` is sent when set. An
``https://...weaviate.cloud`` URL is used as a Weaviate Cloud ``cluster_url``.
Every test works in a collection of its own, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pytest

from blocks.errors import StoreSchemaMismatch
from blocks.weaviate_schema import sizes_from_description
from blocks.weaviate_store import WeaviateStore
from tests.blocks import test_vector_store_contract as contract

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("WEAVIATE_URL"), reason="WEAVIATE_URL is not set"),
]

# The shared contract, collected here against the real server (DuckDB-only tests left out).
globals().update({name: getattr(contract, name) for name in dir(contract)
                  if name.startswith("test_") and not name.startswith("test_duckdb")})


def _real_store(**fields) -> WeaviateStore:
    url = urlparse(os.environ["WEAVIATE_URL"])
    key = os.environ.get("WEAVIATE_API_KEY") or None
    collection = f"CaseVectorizedIt_{uuid.uuid4().hex[:10]}"
    if url.scheme == "https" and (url.hostname or "").endswith(".weaviate.cloud"):
        return WeaviateStore(cluster_url=os.environ["WEAVIATE_URL"], api_key=key, collection=collection, **fields)
    return WeaviateStore(
        http_host=url.hostname, http_port=url.port or (443 if url.scheme == "https" else 8080),
        http_secure=url.scheme == "https", grpc_host=os.environ.get("WEAVIATE_GRPC_HOST") or url.hostname,
        grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")), grpc_secure=url.scheme == "https",
        api_key=key, collection=collection, **fields,
    )


@pytest.fixture
def store():
    s = _real_store()
    try:
        with s:
            yield s
    finally:
        with s:
            s._connection().client().collections.delete(s.collection)


@pytest.fixture
def ready(store):
    store.ensure_schema(contract.SIZES)
    return store


def test_real_server_keeps_the_collection_as_defined(ready):
    """The server stores field tokenization, date types and cosine HNSW vectors; a second ensure_schema passes."""
    config = ready._connection().client().collections.use(ready.collection).config.get()
    props = {p.name: p for p in config.properties}
    assert props["case_id"].tokenization.value == "field" and props["case_id"].index_filterable
    assert props["created_date"].data_type.value == "date"
    assert props["task_subjects"].data_type.value == "text[]"
    assert set(config.vector_config) == {"primary", "fallback"}
    assert sizes_from_description(config.description) == contract.SIZES
    ready.ensure_schema(contract.SIZES)
    with pytest.raises(StoreSchemaMismatch, match="max_connections"), WeaviateStore(
        **{**ready.model_dump(exclude={"api_key"}), "api_key": ready.api_key, "hnsw_max_connections": 64}
    ) as other:
        other.ensure_schema(contract.SIZES)


def test_real_server_hybrid_search_finds_the_named_case(ready):
    """hybrid_search with alpha 0 ranks the case whose text matches first."""
    primary = contract.unit_vectors(6, contract.SIZES["primary"], 3)
    ready.upsert(contract._objects(range(6), primary=primary))
    hits = ready.hybrid_search("case_resolution_summary of case 4", primary[0], "primary", k=3, alpha=0.0)
    assert hits[0].case_id == contract.case_id_of(4)
