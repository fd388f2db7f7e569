"""Embedding outages end to end: the pipeline, re-embed and search against stand-in OpenAI and Ollama servers.

Real runs (``run_pipeline`` on generated staging, presidio, the DuckDB store,
SQLite lineage) with the real httpx clients talking to ``tests.embedding_standin``
on loopback. stamina runs in its test mode (2 attempts, no waits) except where
a test measures the wait a 429 asks for.
"""

from __future__ import annotations

import time

import pytest
import stamina

from blocks.duckdb_store import DuckDBVectorStore
from blocks.errors import EmbedderRejected
from blocks.lineage import LineageStore
from blocks.lineage_service_status import embedder_service
from flows.config import load_blocks
from flows.pipeline import PIPELINE_LOCK, run_pipeline
from flows.queries import search_cases
from flows.reembed import reembed_fallback_cases
from generator import generate_staging
from tests.embedding_standin import EmbeddingStandIn

CASES = 40
PRIMARY_MODEL = "text-embedding-3-small-256"
FALLBACK_MODEL = "nomic-embed-text-768"
KEY = "sk-test-outages-0042"


@pytest.fixture(scope="module")
def staging(tmp_path_factory):
    out = tmp_path_factory.mktemp("outage-staging") / "staging"
    generate_staging(out, CASES, seed=5)
    return out


@pytest.fixture(autouse=True)
def stamina_test_mode():
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
def servers():
    with EmbeddingStandIn(api_key=KEY) as primary, EmbeddingStandIn() as fallback:
        yield primary, fallback


@pytest.fixture
def make_blocks(tmp_path, staging, servers, monkeypatch):
    """Blocks from a configuration file as an operator writes it, pointing at the two stand-ins."""
    primary, fallback = servers
    monkeypatch.setenv("EMBEDDINGS_API_KEY_TEST", KEY)

    def make(cooldown_s: float = 3600, concurrency: int = 1, key_env: str = "EMBEDDINGS_API_KEY_TEST"):
        cfg = tmp_path / "pipeline.toml"
        cfg.write_text(
            f'[staging]\ntype = "parquet"\npath = "{staging}"\n'
            f'[embedder.primary]\ntype = "openai"\nbase_url = "{primary.url}/v1"\n'
            f'model = "text-embedding-3-small"\ndimensions = 256\napi_key_env = "{key_env}"\n'
            f"max_concurrency = {concurrency}\nretry_wait_initial_s = 0\n"
            f'[embedder.fallback]\ntype = "ollama"\nbase_url = "{fallback.url}"\n'
            'model = "nomic-embed-text"\ndimensions = 768\n'
            f"[embedder.breaker]\nfailure_threshold = 2\ncooldown_s = {cooldown_s}\n"
            "[pipeline]\nembed_batch_size = 4\nload_batch_size = 10\n"
        )
        return load_blocks(cfg, home=tmp_path / "home")

    return make


def _models(blocks) -> dict[str, str]:
    """case id -> lineage embedding_model of every completed case."""
    lineage: LineageStore = blocks.lineage
    ids = [i for batch in lineage.iter_record_ids(["completed"]) for i in batch]
    state = lineage.lineage_state(ids)
    return dict(zip(state.column("record_id").to_pylist(), state.column("embedding_model").to_pylist()))


def _vectors(blocks, ids) -> dict[str, tuple]:
    """case id -> (primary length, fallback length) as stored."""
    with blocks.store as store:
        t = store.vector_lengths(ids)
    return {r["case_id"]: (r["vector_primary"], r["vector_fallback"]) for r in t.to_pylist()}


def _assert_one_vector_per_case_matching_lineage(blocks) -> dict[str, str]:
    models = _models(blocks)
    lengths = _vectors(blocks, list(models))
    expected = {PRIMARY_MODEL: (256, None), FALLBACK_MODEL: (None, 768)}
    assert {cid: expected[m] for cid, m in models.items()} == lengths
    return models


def _primary_down_run(blocks, primary_server):
    primary_server.down(503)
    summary = run_pipeline(blocks)
    primary_server.down(None)
    return summary


def test_primary_down_for_the_whole_run_goes_to_the_fallback_and_records_the_outage(make_blocks, servers):
    """Everything lands on the fallback, the breaker opens once after 2 chunks, service_status keeps the outage."""
    primary_server, fallback_server = servers
    blocks = make_blocks()
    summary = _primary_down_run(blocks, primary_server)
    embed = summary["stages"]["embed"]
    chunks = -(-embed["processed"] // 4)
    assert summary["failed"] == 0 and summary["loaded"] == summary["embedded_fallback"] > 0
    assert summary["embedded_primary"] == 0
    assert (embed["breaker_opened"], embed["primary_calls"], embed["short_circuited"]) == (1, 2, chunks - 2)
    assert len(primary_server.requests) == 2 * 2  # two chunks, two attempts each, then never again
    assert set(_assert_one_vector_per_case_matching_lineage(blocks).values()) == {FALLBACK_MODEL}
    (status,) = blocks.lineage.service_statuses()
    assert (status["service"], status["state"]) == (embedder_service(PRIMARY_MODEL), "open")
    assert status["last_failure"] == "EmbedderUnavailable"
    (outage,) = blocks.lineage.service_outages()
    assert outage["closed_at"] is None and (outage["failures"], outage["short_circuited"]) == (2, chunks - 2)
    assert outage["opened_by_run"] == summary["run_id"]

    # the next run, inside the cool-down, does not call the primary at all
    recovery = run_pipeline(blocks, case_ids=sorted(_models(blocks))[:6], force=True)
    assert recovery["stages"]["embed"]["primary_calls"] == 0 and len(primary_server.requests) == 4
    assert recovery["embedded_fallback"] == 6 and recovery["failed"] == 0


def test_primary_back_reembed_converts_every_fallback_case_and_is_idempotent(make_blocks, servers):
    """After the outage re-embed moves every case onto the primary vector, lineage agrees; a second run does nothing."""
    primary_server, fallback_server = servers
    summary = _primary_down_run(make_blocks(cooldown_s=3600), primary_server)
    blocks = make_blocks(cooldown_s=0)  # the cool-down is over
    before = len(primary_server.inputs_seen())
    result = reembed_fallback_cases(blocks, page_size=7)
    assert result["status"] == "completed" and result["remaining"] == 0
    assert result["reembedded"] == summary["loaded"] and result["failed"] == result["refused"] == 0
    assert set(_assert_one_vector_per_case_matching_lineage(blocks).values()) == {PRIMARY_MODEL}
    with blocks.store as store:
        props = store.fetch(list(_models(blocks)))
    assert set(props.column("primary_model").to_pylist()) == {PRIMARY_MODEL}
    assert props.column("fallback_model").null_count == props.num_rows
    sent = primary_server.inputs_seen()[before:]
    assert len(sent) == summary["loaded"] + 1  # every case once, plus the one-text health probe
    (outage,) = blocks.lineage.service_outages()
    assert outage["closed_at"] is not None and outage["closed_by_run"] == result["run_id"]
    assert blocks.lineage.service_statuses()[0]["state"] == "closed"
    assert blocks.lineage.lock_holder(PIPELINE_LOCK) is None
    assert blocks.lineage.get_run(result["run_id"])["status"] == "completed"

    requests = len(primary_server.requests)
    again = reembed_fallback_cases(blocks)
    assert (again["status"], again["run_id"], again["reembedded"]) == ("nothing_to_do", None, 0)
    assert len(primary_server.requests) == requests


def test_reembed_texts_are_the_texts_the_pipeline_embedded(make_blocks, servers):
    """The composite text rebuilt from the stored properties is byte for byte what the fallback was sent."""
    primary_server, fallback_server = servers
    _primary_down_run(make_blocks(), primary_server)
    indexed = {t.removeprefix("search_document: ") for t in fallback_server.inputs_seen()}
    before = len(primary_server.inputs_seen())
    reembed_fallback_cases(make_blocks(cooldown_s=0))
    assert set(primary_server.inputs_seen()[before + 1:]) == indexed  # after the health probe


def test_reembed_resumes_after_a_crash_without_redoing_anything(make_blocks, servers, monkeypatch):
    """Killed between the store write and the lineage mark of page 2: the next run fixes lineage, re-sends nothing."""
    primary_server, _ = servers
    summary = _primary_down_run(make_blocks(), primary_server)
    blocks = make_blocks(cooldown_s=0)
    marks = {"n": 0}
    real_mark = LineageStore.mark

    def dying_mark(self, ids, **kw):
        if kw.get("embedding_model") == PRIMARY_MODEL:
            marks["n"] += 1
            if marks["n"] == 2:
                raise KeyboardInterrupt("killed")
        return real_mark(self, ids, **kw)

    monkeypatch.setattr(LineageStore, "mark", dying_mark)
    with pytest.raises(KeyboardInterrupt):
        reembed_fallback_cases(blocks, page_size=5)
    monkeypatch.setattr(LineageStore, "mark", real_mark)
    assert blocks.lineage.reembed_backlog(PRIMARY_MODEL) == summary["loaded"] - 5
    assert blocks.lineage.lock_holder(PIPELINE_LOCK) is None  # released on the way down
    sent_before = len(primary_server.inputs_seen())
    result = reembed_fallback_cases(blocks, page_size=5)
    assert result["already_on_primary"] == 5 and result["reembedded"] == summary["loaded"] - 10
    assert len(primary_server.inputs_seen()) - sent_before == 1 + summary["loaded"] - 10  # probe + the rest
    assert set(_assert_one_vector_per_case_matching_lineage(blocks).values()) == {PRIMARY_MODEL}


def test_reembed_waits_while_the_breaker_is_open_and_respects_the_limit(make_blocks, servers):
    """Inside the cool-down nothing is sent; afterwards --limit moves only that many cases."""
    primary_server, _ = servers
    summary = _primary_down_run(make_blocks(cooldown_s=3600), primary_server)
    before = len(primary_server.requests)
    waiting = reembed_fallback_cases(make_blocks(cooldown_s=3600))
    assert waiting["status"] == "primary_unavailable" and len(primary_server.requests) == before
    assert waiting["remaining"] == summary["loaded"]
    partial = reembed_fallback_cases(make_blocks(cooldown_s=0), limit=6, page_size=4)
    assert (partial["status"], partial["reembedded"]) == ("limit_reached", 6)
    assert partial["remaining"] == summary["loaded"] - 6


def test_flapping_primary_splits_cases_between_models_and_reembed_repairs_them(make_blocks, servers):
    """Up, down for two chunks, up, down, up: two outage windows, no failure, one vector per case; re-embed repairs."""
    primary_server, _ = servers
    blocks = make_blocks(cooldown_s=0)
    for _ in range(2):
        primary_server.slow_next(1, 0)  # one chunk answered
        primary_server.fail_next(4, 503)  # two chunks x two attempts
    summary = run_pipeline(blocks)
    embed = summary["stages"]["embed"]
    assert summary["failed"] == 0 and embed["breaker_opened"] == 2
    assert (summary["embedded_primary"], summary["embedded_fallback"]) == (summary["loaded"] - 16, 16)
    models = _assert_one_vector_per_case_matching_lineage(blocks)
    assert sorted(models.values()).count(FALLBACK_MODEL) == 16
    windows = blocks.lineage.service_outages()
    assert len(windows) == 2 and all(w["closed_at"] is not None for w in windows)
    assert blocks.lineage.service_statuses()[0]["state"] == "closed"
    assert reembed_fallback_cases(blocks)["reembedded"] == 16
    assert set(_assert_one_vector_per_case_matching_lineage(blocks).values()) == {PRIMARY_MODEL}


def test_rate_limited_primary_slows_the_run_but_nothing_fails(make_blocks, servers):
    """Two 429s with Retry-After: 1 cost about two seconds; every case still lands on the primary."""
    primary_server, fallback_server = servers
    blocks = make_blocks()
    primary_server.rate_limit_next(2, retry_after="1")
    with stamina.set_testing(False):
        started = time.monotonic()
        summary = run_pipeline(blocks)
        elapsed = time.monotonic() - started
    embed = summary["stages"]["embed"]
    assert summary["failed"] == 0 and summary["embedded_primary"] == summary["loaded"] > 0
    assert embed["breaker_opened"] == 0 and embed["seconds"] >= 1.8 and elapsed >= 1.8
    assert primary_server.statuses().count(429) == 2 and fallback_server.requests == []
    assert blocks.lineage.service_outages() == []


def test_bad_credentials_stop_the_run_naming_the_provider_with_nothing_completed(make_blocks, servers, monkeypatch):
    """A 401 fails the run with EmbedderRejected naming the provider; no case is completed, the fallback is untouched."""
    primary_server, fallback_server = servers
    monkeypatch.setenv("WRONG_KEY_TEST", "sk-wrong-key-0001")
    blocks = make_blocks(key_env="WRONG_KEY_TEST")
    with pytest.raises(EmbedderRejected) as caught:
        run_pipeline(blocks)
    message = str(caught.value)
    assert "OpenAI-compatible" in message and "credentials" in message and "sk-wrong" not in message
    counts = {(r["stage"], r["status"]): r["count"] for r in blocks.lineage.stage_status_counts()}
    assert not any(status == "completed" for _, status in counts)
    assert fallback_server.requests == [] and len(primary_server.requests) == 1
    runs = blocks.lineage.last_successful_run(PIPELINE_LOCK)
    assert runs is None and blocks.lineage.lock_holder(PIPELINE_LOCK) is None


def test_rerun_after_a_load_failure_pays_nothing(make_blocks, servers, monkeypatch):
    """The store fails the load; the next run re-embeds every case from the cache: zero embedding requests."""
    primary_server, _ = servers
    blocks = make_blocks()
    real_upsert = DuckDBVectorStore.upsert

    def failing_upsert(self, objects):
        raise ConnectionError("store down")

    monkeypatch.setattr(DuckDBVectorStore, "upsert", failing_upsert)
    with pytest.raises(ConnectionError):
        run_pipeline(blocks)
    monkeypatch.setattr(DuckDBVectorStore, "upsert", real_upsert)
    sent = len(primary_server.requests)
    assert sent > 0
    summary = run_pipeline(blocks)
    assert summary["loaded"] > 0 and summary["embedded_primary"] == summary["loaded"]
    assert summary["stages"]["embed"]["cache_hits"] == summary["loaded"]
    assert len(primary_server.requests) == sent


def test_search_embeds_the_query_once_per_model_and_finds_cases_of_both(make_blocks, servers):
    """Mixed store: the primary gets the bare query, Ollama 'search_query: ...'; hits come from both vectors."""
    primary_server, fallback_server = servers
    blocks = make_blocks(cooldown_s=0)
    primary_server.slow_next(1, 0)
    primary_server.fail_next(4, 503)
    run_pipeline(blocks)
    models = _models(blocks)
    primary_server.reset(), fallback_server.reset()
    hits = search_cases(blocks, "memory DIMM replaced", k=len(models))
    assert primary_server.inputs_seen() == ["memory DIMM replaced"]
    assert fallback_server.inputs_seen() == ["search_query: memory DIMM replaced"]
    by_vector = {name for _, name in hits}
    assert by_vector == {"primary", "fallback"}
    assert all(models[hit.case_id] == (PRIMARY_MODEL if name == "primary" else FALLBACK_MODEL) for hit, name in hits)
    assert len({hit.case_id for hit, _ in hits}) == len(hits) == len(models)
    primary_server.down(503)
    fallback_only = search_cases(blocks, "memory DIMM replaced", k=5)
    assert fallback_only and {name for _, name in fallback_only} == {"fallback"}


def test_reconciliation_reports_the_outage_and_the_cases_awaiting_reembed(make_blocks, servers):
    """After a run on the fallback, reconcile's `services` figure shows the open outage and the re-embed backlog."""
    from flows.reconcile import reconcile

    primary_server, _ = servers
    summary = _primary_down_run(make_blocks(), primary_server)
    services = reconcile(make_blocks())["counts"]["services"]
    assert services["open_outages"] == 1 and services["awaiting_reembed"] == summary["loaded"]
    assert services["states"][embedder_service(PRIMARY_MODEL)]["state"] == "open"
    assert services["outages"][0]["failures"] == 2


def test_search_during_a_recorded_outage_does_not_call_the_primary(make_blocks, servers):
    """The persisted breaker is open (cool-down not over): search answers from the fallback without a primary call."""
    primary_server, fallback_server = servers
    blocks = make_blocks()  # one-hour cool-down
    _primary_down_run(blocks, primary_server)
    primary_server.reset(), fallback_server.reset()
    hits = search_cases(make_blocks(), "memory DIMM replaced", k=5)
    assert hits and {name for _, name in hits} == {"fallback"}
    assert primary_server.inputs_seen() == []
    assert fallback_server.inputs_seen() == ["search_query: memory DIMM replaced"]


def test_a_text_the_primary_refuses_is_not_sent_again_on_the_next_reembed(make_blocks, servers):
    """A refused text stays on the fallback, marked in lineage; the next re-embed neither counts nor resends it."""
    primary_server, _ = servers
    summary = _primary_down_run(make_blocks(cooldown_s=3600), primary_server)
    blocks = make_blocks(cooldown_s=0)
    with blocks.store as store:
        props = store.fetch(sorted(_models(blocks))[:1])
    marker = props.column("subject").to_pylist()[0]
    primary_server.reject_inputs_containing(marker)
    result = reembed_fallback_cases(blocks)
    assert result["refused"] >= 1 and result["reembedded"] + result["refused"] == summary["loaded"]
    assert result["remaining"] == 0  # refused cases are not awaiting the primary any more
    models = _models(blocks)
    assert sum(1 for m in models.values() if m == FALLBACK_MODEL) == result["refused"]
    requests = len(primary_server.requests)
    again = reembed_fallback_cases(blocks)
    assert (again["status"], again["refused"]) == ("nothing_to_do", 0)
    assert len(primary_server.requests) == requests
