"""EmbeddingCache: vectors by (model, sha256(text)), batched, capped; and the embed stage using it."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import stamina

from blocks.embedding_cache import EmbeddingCache
from stages.embed import embed_cases
from tests.blocks.test_http_embedders import ollama, openai, texts
from tests.embedding_standin import EmbeddingStandIn
from tests.redact_checkpoints import write_redact


@pytest.fixture(autouse=True)
def stamina_test_mode():
    with stamina.set_testing(True, attempts=2):
        yield


def _vectors(n: int, dims: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)


def test_put_then_get_returns_the_same_vectors_by_position(tmp_path):
    """Stored vectors come back bit for bit, at every position a text occurs, absent texts left out."""
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        vectors = _vectors(3)
        cache.put("m-8", ["a", "b", "c"], vectors)
        found = cache.get("m-8", ["c", "zzz", "a", "c"], 8)
    assert sorted(found) == [0, 2, 3]
    assert np.array_equal(found[0], vectors[2]) and np.array_equal(found[3], vectors[2])
    assert np.array_equal(found[2], vectors[0])


def test_keys_are_per_model_and_wrong_sizes_or_nan_are_never_returned(tmp_path):
    """Another model misses; a vector of another size misses; a NaN vector is never stored."""
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        bad = _vectors(2)
        bad[1, 3] = np.nan
        assert cache.put("m-8", ["a", "b"], bad) == 1
        assert cache.get("other-8", ["a"], 8) == {}
        assert cache.get("m-8", ["a"], 16) == {}
        assert list(cache.get("m-8", ["a", "b"], 8)) == [0]


def test_many_texts_are_looked_up_in_batches(tmp_path):
    """1,200 texts (more than one IN chunk) are stored and found in one call each."""
    many = [f"text {i}" for i in range(1_200)]
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        cache.put("m-8", many, _vectors(1_200))
        assert len(cache.get("m-8", many, 8)) == 1_200 and cache.count() == 1_200


def test_prune_caps_entries_and_drops_old_ones(tmp_path):
    """Beyond max_entries the oldest go first; entries older than max_age_days go regardless."""
    with EmbeddingCache(tmp_path / "c.sqlite", max_entries=3, max_age_days=1) as cache:
        cache.put("m-8", ["old"], _vectors(1))
        conn = cache._connection()
        conn.execute("UPDATE embedding_cache SET written_at = ?", [time.time() - 2 * 86_400])
        for i in range(4):
            cache.put("m-8", [f"t{i}"], _vectors(1, seed=i))
            time.sleep(0.01)
        assert cache.prune() == 2
        assert set(cache.get("m-8", ["old", "t0", "t1", "t2", "t3"], 8)) == {2, 3, 4}
    assert os.path.exists(tmp_path / "c.sqlite")


def test_second_embed_stage_run_takes_every_vector_from_the_cache(tmp_path, embedding_standin):
    """The same texts embedded again: no request reaches the provider and the vectors are identical."""
    redact = write_redact(tmp_path / "redact.parquet", texts(12))
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        first = embed_cases(redact, tmp_path / "e1.parquet", openai(embedding_standin, api_key=None), None,
                            batch_size=5, request_size=3, cache=cache)
        sent = len(embedding_standin.requests)
        second = embed_cases(redact, tmp_path / "e2.parquet", openai(embedding_standin, api_key=None), None,
                             batch_size=5, request_size=3, cache=cache)
    assert (first.cache_hits, second.cache_hits, second.primary) == (0, 12, 12)
    assert sent == 5 and len(embedding_standin.requests) == sent  # batches 5, 5, 2 in chunks of 3 and second.primary_calls == 0
    assert pq.read_table(first.path).column("vector_primary") == pq.read_table(second.path).column("vector_primary")


def test_cached_primary_vectors_are_used_even_while_the_primary_is_down(tmp_path):
    """Texts the primary embedded before stay on the primary during an outage; only new texts fall back."""
    with EmbeddingStandIn() as primary_server, EmbeddingStandIn() as fallback_server, \
            EmbeddingCache(tmp_path / "c.sqlite") as cache:
        primary = openai(primary_server, api_key=None)
        embed_cases(write_redact(tmp_path / "r1.parquet", texts(4)), tmp_path / "e1.parquet", primary,
                    ollama(fallback_server), batch_size=10, request_size=10, cache=cache)
        primary_server.down(503)
        result = embed_cases(write_redact(tmp_path / "r2.parquet", texts(6)), tmp_path / "e2.parquet", primary,
                             ollama(fallback_server), batch_size=10, request_size=10, cache=cache)
        models = pq.read_table(result.path).column("primary_model").to_pylist()
    assert models[:4] == ["text-embedding-3-small-256"] * 4 and models[4:] == [None, None]
    assert (result.primary, result.fallback, result.cache_hits) == (4, 2, 4)
    assert fallback_server.inputs_seen()[-2:] == ["search_document: " + t for t in texts(6)[4:]]
