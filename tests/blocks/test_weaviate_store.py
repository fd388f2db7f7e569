"""WeaviateStore against the stand-in: schema, per-object rejections, outages, config, pipeline runs.

The shared contract (tests/blocks/test_vector_store_contract.py) covers the
VectorStore semantics; these tests pin what is Weaviate's own.
"""

from __future__ import annotations

import ast
import shutil
from datetime import datetime
from pathlib import Path

import httpx
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from blocks.errors import StoreSchemaMismatch, StoreUnavailable
from blocks.weaviate_schema import sizes_from_description
from blocks.weaviate_store import WeaviateStore
from flows.config import load_blocks
from flows.pipeline import run_pipeline
from schemas.ids import object_uuid
from tests.blocks.object_tables import case_id_of, fake_case, object_table, unit_vectors

SIZES = {"primary": 32, "fallback": 12}
COLLECTION = "CaseVectorized"


def _store(standin, **fields) -> WeaviateStore:
    return WeaviateStore(**{"http_port": standin.http_port, "grpc_port": standin.grpc_port, "init_timeout": 1.0,
                            **fields})


def _objects(numbers, seed=0):
    cases = [fake_case(n) for n in numbers]
    return object_table(cases, {"primary": unit_vectors(len(cases), SIZES["primary"], seed),
                                "fallback": unit_vectors(len(cases), SIZES["fallback"], seed + 1)})


@pytest.fixture
def store(weaviate_standin):
    with _store(weaviate_standin) as s:
        s.ensure_schema(SIZES)
        yield s


def _schema(standin) -> dict:
    return httpx.get(f"{standin.url}/v1/schema/{COLLECTION}").json()


# -- schema ----------------------------------------------------------------------


def test_collection_is_created_with_typed_properties_and_named_vectors(store, weaviate_standin):
    """Keys and checksum are field-tokenized and filterable, dates are dates, child lists text[], cosine HNSW."""
    schema = _schema(weaviate_standin)
    props = {p["name"]: p for p in schema["properties"]}
    assert len(props) == 49
    assert props["case_id"]["dataType"] == ["text"] and props["case_id"]["tokenization"] == "field"
    assert props["case_id"]["indexFilterable"] is True
    assert props["checksum"]["tokenization"] == "field" and props["checksum"]["indexSearchable"] is False
    assert props["created_date"]["dataType"] == ["date"] and props["created_date"]["indexRangeFilters"] is True
    assert props["source_last_modified"]["dataType"] == ["date"]
    assert props["task_subjects"]["dataType"] == ["text[]"] and props["task_subjects"]["tokenization"] == "word"
    assert props["description"]["indexFilterable"] is False and props["description"]["indexSearchable"] is True
    assert props["status"]["tokenization"] == "field"
    assert set(schema["vectorConfig"]) == {"primary", "fallback"}
    for vector in schema["vectorConfig"].values():
        assert vector["vectorizer"] == {"none": {}} and vector["vectorIndexType"] == "hnsw"
        assert vector["vectorIndexConfig"]["distance"] == "cosine"
    assert sizes_from_description(schema["description"]) == SIZES


def test_existing_collection_that_differs_is_reported_and_left_unchanged(store, weaviate_standin):
    """A missing property, another tokenization and another distance are all named; the schema stays as it was."""
    cls = weaviate_standin.state.classes[COLLECTION]
    cls["properties"] = [p for p in cls["properties"] if p["name"] != "subject"]
    next(p for p in cls["properties"] if p["name"] == "checksum")["tokenization"] = "word"
    cls["vectorConfig"]["fallback"]["vectorIndexConfig"]["distance"] = "dot"
    before = _schema(weaviate_standin)
    fresh = _store(weaviate_standin)
    with pytest.raises(StoreSchemaMismatch) as info:
        fresh.ensure_schema(SIZES)
    message = str(info.value)
    assert "'subject'" in message and "absent" in message
    assert "'checksum' tokenization expected field, actual word" in message
    assert "'fallback' distance expected cosine, actual dot" in message
    assert COLLECTION in message
    assert _schema(weaviate_standin) == before
    fresh.close()


def test_other_hnsw_settings_are_a_mismatch(store, weaviate_standin):
    """A block configured with another maxConnections does not silently use the existing index."""
    with _store(weaviate_standin, hnsw_max_connections=64) as other, pytest.raises(StoreSchemaMismatch,
                                                                                   match="max_connections"):
        other.ensure_schema(SIZES)


# -- writes ----------------------------------------------------------------------


def test_rejected_objects_fail_per_object_and_the_rest_are_stored(store, weaviate_standin):
    """Objects the server rejects in an otherwise fine batch are failed with case and reason; the others stored."""
    rejected = [case_id_of(2), case_id_of(7)]
    for case_id in rejected:
        weaviate_standin.faults.reject[object_uuid(case_id)] = "shard is read-only"
    result = store.upsert(_objects(range(10)))
    assert sorted(result.succeeded) == sorted(case_id_of(n) for n in range(10) if case_id_of(n) not in rejected)
    reasons = dict(result.failed)
    assert set(reasons) == set(rejected)
    assert all(c in reasons[c] and "shard is read-only" in reasons[c] for c in rejected)
    assert store.count() == 8
    assert store.fetch(rejected).num_rows == 0


def test_upsert_sends_batches_of_batch_size(weaviate_standin):
    """25 objects with batch_size 10 go as three BatchObjects requests (10, 10, 5), all stored."""
    with _store(weaviate_standin, batch_size=10, concurrent_requests=2) as s:
        s.ensure_schema(SIZES)
        assert len(s.upsert(_objects(range(25))).succeeded) == 25
        assert weaviate_standin.state.calls.count("grpc BatchObjects") == 3
        assert s.count() == 25


def test_fetch_returns_more_than_the_server_default_limit(store):
    """fetch() asks for as many objects as ids (a query without a limit returns 10)."""
    store.upsert(_objects(range(25)))
    assert store.fetch([case_id_of(n) for n in range(25)]).num_rows == 25
    assert store.vector_lengths([case_id_of(n) for n in range(25)]).num_rows == 25


def test_hybrid_search_ranks_keyword_and_vector_matches(store):
    """hybrid_search finds the case named in the text (alpha 0) and the nearest vector (alpha 1)."""
    primary = unit_vectors(12, SIZES["primary"], 4)
    store.upsert(object_table([fake_case(n) for n in range(12)], {"primary": primary}))
    by_text = store.hybrid_search("case 7", primary[4], "primary", k=3, alpha=0.0)
    assert by_text[0].case_id == case_id_of(7)
    by_vector = store.hybrid_search("nothing matches", primary[4], "primary", k=3, alpha=1.0)
    assert by_vector[0].case_id == case_id_of(4) and by_vector[0].properties["case_number"] == "5000000004"


# -- outages ---------------------------------------------------------------------


def test_unreachable_weaviate_raises_store_unavailable(store, weaviate_standin):
    """With the server stopped every operation raises StoreUnavailable (no client retries) and is_healthy is False."""
    store.upsert(_objects([0]))
    weaviate_standin.stop()
    assert store.is_healthy() is False
    for call in (lambda: store.upsert(_objects([1])), store.count, lambda: store.fetch([case_id_of(0)]),
                 lambda: list(store.iter_checksums()), lambda: store.delete([case_id_of(0)]),
                 lambda: store.ensure_schema(SIZES)):
        with pytest.raises(StoreUnavailable):
            call()
    with pytest.raises(StoreUnavailable), _store(weaviate_standin) as fresh:
        fresh.count()


@pytest.mark.parametrize("fault", ["rest_status", "grpc_unavailable", "delay"])
def test_failing_or_slow_weaviate_raises_store_unavailable(store, weaviate_standin, fault):
    """REST answering 503, gRPC answering UNAVAILABLE, or answers slower than init_timeout: StoreUnavailable."""
    setattr(weaviate_standin.faults, fault, {"rest_status": 503, "grpc_unavailable": True, "delay": 1.5}[fault])
    with pytest.raises(StoreUnavailable):
        store.upsert(_objects([0]))
    weaviate_standin.faults.clear()
    assert store.count() == 0


def test_store_recovers_when_weaviate_comes_back(store, weaviate_standin):
    """After an outage the same block writes again without being reopened."""
    weaviate_standin.stop()
    with pytest.raises(StoreUnavailable):
        store.upsert(_objects([0]))
    weaviate_standin.start()
    assert store.upsert(_objects([0, 1])).succeeded == [case_id_of(0), case_id_of(1)]
    assert store.count() == 2


def test_slow_but_timely_weaviate_still_writes(store, weaviate_standin):
    """Answers slower than usual but within the timeouts are not an outage."""
    weaviate_standin.faults.delay = 0.1
    assert len(store.upsert(_objects(range(3))).succeeded) == 3


# -- configuration ---------------------------------------------------------------


def test_config_file_builds_self_hosted_and_cloud_stores(tmp_path, monkeypatch):
    """[store] type = "weaviate" with the issue's field names, or cluster_url + api_key_env (a SecretStr)."""
    config = tmp_path / "pipeline.toml"
    config.write_text('[store]\ntype = "weaviate"\nhttp_host = "10.0.0.5"\nhttp_port = 8081\n'
                      'grpc_host = "10.0.0.6"\ngrpc_port = 50052\ncollection = "CaseVectorizedTest"\n')
    store = load_blocks(config, home=tmp_path / "home").store
    assert isinstance(store, WeaviateStore)
    assert (store.http_host, store.http_port, store.grpc_host, store.grpc_port) == ("10.0.0.5", 8081, "10.0.0.6", 50052)
    assert store.collection == "CaseVectorizedTest"
    monkeypatch.setenv("WEAVIATE_API_KEY", "secret-key")
    config.write_text('[store]\ntype = "weaviate"\ncluster_url = "https://demo.weaviate.cloud"\n'
                      'api_key_env = "WEAVIATE_API_KEY"\n')
    cloud = load_blocks(config, home=tmp_path / "home").store
    assert cloud.api_key.get_secret_value() == "secret-key" and "secret-key" not in repr(cloud)
    with pytest.raises(ValueError, match="api_key"):
        WeaviateStore(cluster_url="https://demo.weaviate.cloud")


def test_api_key_is_sent_to_rest_and_grpc(weaviate_standin):
    """A server that requires an API key accepts the store's key on REST and gRPC."""
    weaviate_standin.state.api_key = "k-123"
    with _store(weaviate_standin, api_key="k-123") as s:
        s.ensure_schema(SIZES)
        assert s.upsert(_objects([0])).succeeded == [case_id_of(0)] and s.count() == 1


def test_weaviate_block_modules_import_the_sdk_lazily():
    """No module of the Weaviate block family imports weaviate at module level (registering a block stays cheap)."""
    root = Path(__file__).parents[2] / "blocks"
    for module in ("weaviate_store.py", "weaviate_objects.py", "weaviate_schema.py", "__init__.py"):
        tree = ast.parse((root / module).read_text())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top_level if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] in ("weaviate", "grpc")], (module, names)


# -- the pipeline into Weaviate --------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from generator import generate_staging

    out = tmp_path_factory.mktemp("weaviate_generated") / "staging"
    generate_staging(out, 60, seed=5)
    return out


def _pipeline_blocks(generated, tmp_path, standin):
    staging = tmp_path / "staging"
    shutil.copytree(generated, staging)
    blocks = load_blocks(home=tmp_path / "home", staging_path=staging)
    blocks.store = _store(standin, init_timeout=2.0)
    case = ds.dataset(staging / "case", format="parquet").to_table()
    live = case.filter(pc.invert(case.column("IsDeleted"))).column("Id").to_pylist()
    return blocks, sorted(live)


def test_pipeline_into_weaviate_fails_rejected_cases_then_recovers_then_changes_nothing(
    generated, tmp_path, weaviate_standin
):
    """Rejected objects fail only their cases (counts match); a full rerun loads them; the next run processes 0."""
    blocks, live = _pipeline_blocks(generated, tmp_path, weaviate_standin)
    rejected = live[:2]
    weaviate_standin.faults.reject.update({object_uuid(c): "stand-in: object rejected" for c in rejected})
    first = run_pipeline(blocks)
    assert first["failed"] == 2 and first["loaded"] == len(live) - 2
    state = blocks.lineage.lineage_state(live).to_pydict()
    status = dict(zip(state["record_id"], state["status"]))
    assert {c: status[c] for c in rejected} == {c: "failed" for c in rejected}
    assert {status[c] for c in live[2:]} == {"completed"}
    counts = first["reconciliation"]["counts"]
    assert counts["store_count"] == counts["lineage_completed"] == len(live) - 2

    weaviate_standin.faults.reject.clear()
    second = run_pipeline(blocks, window_start=datetime(2000, 1, 1))  # the whole history: failed cases come again
    assert second["loaded"] == 2 and second["failed"] == 0
    assert second["reconciliation"]["counts"]["store_count"] == len(live)
    assert second["reconciliation"]["discrepancies"] == []

    third = run_pipeline(blocks)
    assert third["processed"] == 0 and third["loaded"] == 0
    with blocks.store as store:
        assert store.count() == len(live)
        assert {c for b in store.iter_checksums(25) for c in b.column("case_id").to_pylist()} == set(live)
        assert store.fetch(rejected).column("case_id").to_pylist() == rejected
