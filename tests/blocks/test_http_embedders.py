"""OpenAI, Azure OpenAI and Ollama embedders against the stand-in server, and the embed stage on top.

The shared contract (shapes, determinism, similarity) runs for these embedders
in test_embedder_contract.py; this file pins the HTTP behaviour: batching,
truncation, concurrency, retries, validation, isolation of refused texts.
stamina runs in its public test mode (3 attempts, no backoff) unless a test
measures a real wait.
"""

from __future__ import annotations

import copy
import pickle
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import numpy as np
import pytest
import stamina

from blocks.circuit_breaker import CircuitBreaker
from blocks.embedding_http import EmbedderBadResponse, EmbedderInputRejected
from blocks.embedding_requests import plan_requests, retry_after_seconds
from blocks.errors import EmbedderRejected, EmbedderUnavailable
from blocks.hashing_embedder import HashingEmbedder
from blocks.ollama_embedder import OllamaEmbedder
from blocks.openai_embedder import AzureOpenAIEmbedder, OpenAIEmbedder
from flows.config import load_blocks
from schemas.checkpoints import CHECKPOINTS
from stages.checkpoint import read_checkpoint_table
from stages.embed import embed_cases
from tests.embedding_standin import EmbeddingStandIn
from tests.redact_checkpoints import write_redact

KEY = "sk-do-not-leak-4711"


@pytest.fixture(autouse=True)
def stamina_test_mode():
    """Three attempts, no backoff: retries are counted, never waited for."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def standin(embedding_standin):
    embedding_standin.api_key = KEY
    return embedding_standin


def openai(standin, **kw) -> OpenAIEmbedder:
    return OpenAIEmbedder(**{"base_url": standin.url + "/v1", "model": "text-embedding-3-small", "dimensions": 256,
                             "api_key": KEY, **kw})


def ollama(standin, **kw) -> OllamaEmbedder:
    return OllamaEmbedder(**{"base_url": standin.url, "model": "nomic-embed-text", "dimensions": 768, **kw})


def texts(n: int) -> list[str]:
    return [f"case {i}: DIMM {i} failed on DL380 Gen10, replaced module {i * 7}" for i in range(n)]


# -- configuration ------------------------------------------------------------------


def test_issue_configuration_builds_openai_primary_and_ollama_fallback(tmp_path, monkeypatch):
    """The TOML of issue 4 builds OpenAIEmbedder (key from the environment) and OllamaEmbedder."""
    monkeypatch.setenv("EMBEDDINGS_API_KEY", KEY)
    config = tmp_path / "pipeline.toml"
    config.write_text(
        '[embedder.primary]\ntype = "openai"\nbase_url = "https://gateway.example.com/v1"\n'
        'model = "text-embedding-3-large"\ndimensions = 3072\napi_key_env = "EMBEDDINGS_API_KEY"\n'
        '[embedder.fallback]\ntype = "ollama"\nbase_url = "http://127.0.0.1:11434"\n'
        'model = "nomic-embed-text"\ndimensions = 768\n'
    )
    blocks = load_blocks(config, home=tmp_path / "home")
    assert isinstance(blocks.primary, OpenAIEmbedder) and isinstance(blocks.fallback, OllamaEmbedder)
    assert (blocks.primary.vector_size, blocks.fallback.vector_size) == (3072, 768)
    assert blocks.primary.api_key.get_secret_value() == KEY and KEY not in repr(blocks.primary)
    config.write_text(config.read_text().replace('type = "openai"', 'type = "azure-openai"'))
    assert isinstance(load_blocks(config, home=tmp_path / "home").primary, AzureOpenAIEmbedder)


def test_dimensions_required_unless_the_model_is_known():
    """A model of unknown size needs dimensions; a known one defaults to its native size."""
    assert OpenAIEmbedder(base_url="http://x/v1", model="text-embedding-3-large").vector_size == 3072
    with pytest.raises(ValueError, match="dimensions"):
        OpenAIEmbedder(base_url="http://x/v1", model="in-house-embedder")


# -- requests -----------------------------------------------------------------------


def test_requests_carry_the_api_shape_and_headers_of_each_provider(standin):
    """OpenAI: bearer key, model, dimensions; Azure: deployment path, api-version, api-key; extra headers always."""
    openai(standin, extra_headers={"X-Team": "support"}).embed(["a"])
    AzureOpenAIEmbedder(base_url=standin.url, model="text-embedding-3-small", deployment="emb-small", dimensions=256,
                        api_version="2024-10-21", api_key=KEY).embed(["a"])
    first, second = standin.requests
    assert first.path == "/v1/embeddings" and first.headers["Authorization"] == f"Bearer {KEY}"
    assert first.body == {"model": "text-embedding-3-small", "input": ["a"], "encoding_format": "base64", "dimensions": 256}
    assert first.headers["X-Team"] == "support"
    assert second.path == "/openai/deployments/emb-small/embeddings" and second.headers["api-key"] == KEY
    assert "model" not in second.body and "Authorization" not in second.headers


def test_base64_and_float_answers_give_the_same_vectors(standin):
    """base64 (the default) and float lists decode to identical float32 vectors."""
    as_base64 = openai(standin).embed(texts(3))
    as_float = openai(standin, encoding_format="float").embed(texts(3))
    assert np.array_equal(as_base64, as_float)
    assert [r.body["encoding_format"] for r in standin.requests] == ["base64", "float"]


def test_ollama_adds_nomic_prefixes_by_purpose_unless_disabled(standin):
    """Nomic models get search_document:/search_query: prefixes; an empty prefix turns them off."""
    ollama(standin).embed(["disk"], "document")
    ollama(standin).embed(["disk"], "query")
    ollama(standin, document_prefix="").embed(["disk"])
    OllamaEmbedder(base_url=standin.url, model="mxbai-embed-large").embed(["disk"])
    assert standin.inputs_seen() == ["search_document: disk", "search_query: disk", "disk", "disk"]
    assert standin.requests[0].body == {"model": "nomic-embed-text", "input": ["search_document: disk"], "truncate": True}


def test_batches_respect_input_count_and_order(standin):
    """10 texts with max_batch_inputs=3 go as requests of 3, 3, 3, 1 and come back in input order."""
    vectors = openai(standin, max_batch_inputs=3, max_concurrency=2).embed(texts(10))
    batch = texts(10)
    assert sorted(r.inputs for r in standin.requests) == [batch[0:3], batch[3:6], batch[6:9], batch[9:10]]
    assert np.array_equal(vectors, openai(standin).embed(texts(10)))


def test_batches_respect_the_token_budget(standin):
    """Texts of ~100 estimated tokens with a 250-token budget go two per request."""
    openai(standin, max_batch_tokens=250, max_concurrency=1).embed(["x" * 300] * 5)
    assert [len(r.inputs) for r in standin.requests] == [2, 2, 1]
    assert plan_requests([5, 500, 5], max_inputs=10, max_tokens=100) == [(0, 1), (1, 2), (2, 3)]


def test_long_texts_are_truncated_to_the_input_limit_prefix_included(standin):
    """max_input_tokens=16 at 3 chars/token cuts a text to 48 characters, prefix included."""
    ollama(standin, max_input_tokens=16).embed(["y" * 1000, "short"])
    sent = standin.inputs_seen()
    assert sent[0] == "search_document: " + "y" * (48 - len("search_document: ")) and sent[1] == "search_document: short"


def test_empty_text_is_sent_as_one_space(standin):
    """OpenAI refuses empty strings, so an empty text goes as ' ' and still gets a vector."""
    assert openai(standin).embed(["", "a"]).shape == (2, 256)
    assert standin.inputs_seen() == [" ", "a"]


def test_concurrent_requests_overlap_up_to_max_concurrency_over_reused_connections(standin):
    """With 100 ms latency, 8 requests at max_concurrency=4 keep exactly 4 in flight on at most 4 connections."""
    standin.latency_s = 0.1
    with openai(standin, max_batch_inputs=2, max_concurrency=4) as embedder:
        embedder.embed(texts(16))
    assert len(standin.requests) == 8 and standin.max_in_flight == 4 and standin.connections <= 4


def test_one_in_flight_when_max_concurrency_is_one(standin):
    """max_concurrency=1 sends requests strictly one after another over one connection."""
    standin.latency_s = 0.02
    openai(standin, max_batch_inputs=2, max_concurrency=1).embed(texts(6))
    assert standin.max_in_flight == 1 and standin.connections == 1


def test_close_ends_the_client_and_a_copy_or_pickle_opens_its_own(standin):
    """close() drops the client; the next call reopens it; deep copies and pickles carry no client."""
    embedder = openai(standin)
    embedder.embed(["a"])
    clone, thawed = copy.deepcopy(embedder), pickle.loads(pickle.dumps(embedder))
    embedder.close()
    assert embedder.embed(["a"]).shape == clone.embed(["a"]).shape == thawed.embed(["a"]).shape == (1, 256)
    assert embedder.is_healthy()


# -- retries --------------------------------------------------------------------------


def test_5xx_burst_is_retried_then_succeeds(standin):
    """Two 503s then a 200: the call succeeds on the third attempt."""
    standin.fail_next(2, status=503)
    assert openai(standin).embed(["a"]).shape == (1, 256)
    assert standin.statuses() == [503, 503, 200]


def test_outage_exhausts_retries_into_embedder_unavailable(standin):
    """A 503 on every attempt ends, after exactly the attempts allowed, in EmbedderUnavailable."""
    standin.down(503)
    with pytest.raises(EmbedderUnavailable, match="503"):
        openai(standin).embed(["a"])
    assert standin.statuses() == [503, 503, 503]


def test_429_is_retried_and_the_retry_waits_what_retry_after_asks():
    """Outside test mode, a 429 with Retry-After: 1 is retried no sooner than one second later."""
    with stamina.set_testing(False), EmbeddingStandIn() as server:
        server.rate_limit_next(1, retry_after="1")
        OllamaEmbedder(base_url=server.url, dimensions=768, retry_wait_initial_s=0).embed(["a"])
        first, second = server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.started - first.finished >= 0.9


def test_rate_limit_without_retry_after_is_retried(standin):
    """429s without Retry-After back off and retry like a 5xx."""
    standin.rate_limit_next(2, retry_after=None)
    openai(standin).embed(["a"])
    assert standin.statuses() == [429, 429, 200]


def test_timeout_is_retried(standin):
    """A request slower than timeout_s is abandoned and retried."""
    standin.slow_next(1, seconds=1.0)
    assert openai(standin, timeout_s=0.25).embed(["a"]).shape == (1, 256)
    assert len(standin.requests) == 2


def test_refused_connection_is_unavailable():
    """Nothing listening on the port: EmbedderUnavailable after the retries."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EmbedderUnavailable, match="ConnectError"):
        OllamaEmbedder(base_url=f"http://127.0.0.1:{port}", dimensions=768).embed(["a"])


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_not_found_are_terminal_without_retry_and_never_show_the_key(standin, status):
    """401/403/404 raise EmbedderRejected at once, naming provider and model, never the key."""
    standin.fail_next(1, status=status)
    with pytest.raises(EmbedderRejected) as caught:
        openai(standin).embed(["a"])
    message = str(caught.value)
    assert "OpenAI-compatible" in message and "text-embedding-3-small" in message and KEY not in message
    assert not isinstance(caught.value, EmbedderInputRejected) and len(standin.requests) == 1


def test_wrong_key_is_rejected_naming_the_provider(standin):
    """A wrong API key: the stand-in answers 401, the embedder says which provider refused it."""
    with pytest.raises(EmbedderRejected, match="Ollama|OpenAI-compatible") as caught:
        openai(standin, api_key="sk-wrong-key").embed(["a"])
    assert "credentials" in str(caught.value) and "sk-wrong-key" not in str(caught.value)


def test_retry_after_parses_seconds_milliseconds_and_http_dates():
    """Retry-After as seconds or HTTP date, and retry-after-ms, become seconds to wait."""
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "7"})) == 7
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250", "Retry-After": "7"})) == 0.25
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(httpx.Headers({"Retry-After": date}), now=now) == 30
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["wrong_dimensions_next", "nan_next", "missing_vector_next", "malformed_next"])
@pytest.mark.parametrize("make", [ollama, openai], ids=["ollama", "openai-base64"])
def test_bad_answers_are_provider_failures_not_vectors(standin, fault, make):
    """Wrong size, NaN, a missing vector or broken JSON raise EmbedderBadResponse (an EmbedderUnavailable)."""
    getattr(standin, fault)(1)
    with pytest.raises(EmbedderBadResponse) as caught:
        make(standin).embed(["a", "b"])
    assert isinstance(caught.value, EmbedderUnavailable) and len(standin.requests) == 1


# -- refused inputs -----------------------------------------------------------------


def test_a_refused_text_is_isolated_by_splitting_and_the_others_are_embedded(standin):
    """A 400 for one text among 16 bisects to it; the error names its position and carries the others' vectors."""
    standin.reject_inputs_containing("POISON")
    batch = texts(16)
    batch[11] = "POISON pill"
    with pytest.raises(EmbedderInputRejected) as caught:
        openai(standin).embed(batch)
    exc = caught.value
    assert exc.indexes == (11,) and "POISON" not in str(exc) and "POISON" not in exc.reasons[11]
    keep = [i for i in range(16) if i != 11]
    assert np.array_equal(exc.vectors[keep], openai(standin).embed([batch[i] for i in keep]))
    assert not exc.vectors[11].any()
    assert len(standin.requests) <= 1 + 2 * 4 + 1  # the whole, two halves per level, the clean re-check


def test_every_text_refused_means_the_request_itself_is_wrong(standin):
    """More texts refused alone than max_rejected_inputs is a terminal EmbedderRejected, not per-row failures."""
    standin.reject_inputs_containing("case")
    with pytest.raises(EmbedderRejected) as caught:
        openai(standin, max_rejected_inputs=3).embed(texts(32))
    assert not isinstance(caught.value, EmbedderInputRejected) and len(standin.requests) < 20


# -- the embed stage on HTTP embedders ----------------------------------------------


def test_stage_fails_only_the_refused_row_and_embeds_the_rest(tmp_path, standin):
    """Embed stage: the one text the primary refuses gets embed_error InputRejected (no text), the rest go on."""
    bodies = texts(9)
    bodies[4] = "case 4 with a POISON token"
    standin.reject_inputs_containing("POISON")
    result = embed_cases(write_redact(tmp_path / "redact.parquet", bodies), tmp_path / "embed.parquet",
                         openai(standin), ollama(standin), batch_size=5, request_size=3)
    table = read_checkpoint_table(result.path, CHECKPOINTS["embed"]).to_pylist()
    assert (result.primary, result.fallback, [cid for cid, _ in result.failed]) == (8, 0, ["500C0004"])
    error = table[4]["embed_error"]
    assert error.startswith("InputRejected: text-embedding-3-small-256") and "POISON" not in error
    assert table[4]["vector_primary"] is None and table[4]["vector_fallback"] is None
    assert all(row["vector_primary"] is not None for i, row in enumerate(table) if i != 4)


def test_stage_with_primary_down_puts_every_row_on_the_fallback_and_stops_calling_it(tmp_path, standin):
    """Primary 503 on everything: every row on Ollama; the breaker opens once, the primary gets a bounded number of calls."""
    primary_server = standin
    primary_server.down(503)
    with EmbeddingStandIn() as fallback_server:
        fallback = ollama(fallback_server)
        result = embed_cases(write_redact(tmp_path / "redact.parquet", texts(40)), tmp_path / "embed.parquet",
                             openai(primary_server, max_concurrency=4), fallback, batch_size=20, request_size=4)
        table = read_checkpoint_table(result.path, CHECKPOINTS["embed"])
        assert (result.primary, result.fallback, result.failed) == (0, 40, [])
        assert table.column("fallback_model").to_pylist() == ["nomic-embed-text-768"] * 40
        assert table.column("vector_primary").null_count == 40
        stored = np.array(table.column("vector_fallback").to_pylist(), dtype=np.float32)
        assert np.array_equal(stored, fallback.embed(texts(40)))
        assert all(r.api == "ollama" for r in fallback_server.requests)
    # 10 chunks; the breaker (3 failures) opens with at most 4 in flight, the rest never reach the primary
    assert result.breaker_opened == 1 and result.primary_calls <= 3 + 4 - 1
    assert result.primary_calls + result.short_circuited == 10
    assert len(primary_server.requests) == 3 * result.primary_calls  # 3 attempts each (stamina test mode)


def test_stage_returns_to_the_primary_when_its_probe_succeeds(tmp_path, standin):
    """Primary down for two chunks: the breaker opens, the next chunk probes, succeeds, and the rest is primary."""
    standin.fail_next(6, status=502)  # two chunks x three attempts
    breaker = CircuitBreaker("primary", failure_threshold=2, cooldown_s=0)
    result = embed_cases(write_redact(tmp_path / "redact.parquet", texts(10)), tmp_path / "embed.parquet",
                         openai(standin), HashingEmbedder(dimensions=768), batch_size=10, request_size=2,
                         concurrency=1, breaker=breaker)
    models = read_checkpoint_table(result.path, CHECKPOINTS["embed"]).column("primary_model").to_pylist()
    assert models == [None] * 4 + ["text-embedding-3-small-256"] * 6
    assert (result.fallback, result.breaker_opened, breaker.state) == (4, 1, "closed")


def test_stage_under_rate_limiting_slows_down_but_loses_nothing(tmp_path, standin):
    """429s with Retry-After: 0 on the first requests: every row still lands on the primary."""
    standin.rate_limit_next(2, retry_after="0")
    result = embed_cases(write_redact(tmp_path / "redact.parquet", texts(6)), tmp_path / "embed.parquet",
                         openai(standin, max_concurrency=1), ollama(standin), batch_size=6, request_size=2)
    assert (result.primary, result.fallback, result.failed) == (6, 0, [])
    assert standin.statuses().count(429) == 2


def test_stage_keeps_several_chunks_in_flight(tmp_path, standin):
    """The stage embeds up to the primary's max_concurrency chunks at once, across batches, and keeps row order."""
    standin.latency_s = 0.05
    primary = openai(standin, max_concurrency=3)
    result = embed_cases(write_redact(tmp_path / "redact.parquet", texts(12)), tmp_path / "embed.parquet",
                         primary, None, batch_size=4, request_size=2)
    assert result.primary == 12 and standin.max_in_flight == 3
    stored = np.array(read_checkpoint_table(result.path, CHECKPOINTS["embed"]).column("vector_primary").to_pylist(), dtype=np.float32)
    assert np.array_equal(stored, primary.embed(texts(12)))


def test_stage_stops_on_bad_credentials_instead_of_falling_back(tmp_path, standin):
    """A 401 from the primary stops the stage with EmbedderRejected; the fallback is never asked."""
    with pytest.raises(EmbedderRejected, match="credentials"):
        embed_cases(write_redact(tmp_path / "redact.parquet", texts(4)), tmp_path / "embed.parquet",
                    openai(standin, api_key="sk-wrong"), ollama(standin), batch_size=4, request_size=2)
    assert all(r.api == "openai" for r in standin.requests)
    assert not (tmp_path / "embed.parquet").exists()
