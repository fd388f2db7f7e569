"""Embed: composite texts to vectors, primary first, fallback on outage.

Reads ``redact.parquet`` batch by batch and writes ``embed.parquet`` with one
row per input row, in the same order, so the load stage can walk both files
side by side without a join. Each batch is cut into chunks of
``request_size`` texts; up to ``concurrency`` chunks are embedded at once,
and the next batch's chunks are already in flight while a batch is written
(so at most two batches are in memory).

- A chunk the primary cannot serve (an ``EmbedderUnavailable``, or an answer
  of the wrong shape or with non-finite values) goes to the fallback, into
  its own named vector; when neither can serve it, its rows carry
  ``embed_error`` and are reported as failed.
- A circuit breaker watches the primary: after ``failure_threshold`` chunks
  failed in a row it opens and chunks go straight to the fallback, without
  spending the primary's retry budget again; after a cool-down one chunk
  probes the primary and, if it answers, closes the breaker.
- A text the service refuses on its own (``EmbedderInputRejected``, a 400 for
  that text alone) fails alone: its row carries ``embed_error``
  (``InputRejected: ...``, never the text), the rest of the chunk goes on.
- A terminal refusal (``EmbedderRejected``: bad credentials, unknown model)
  stops the run: falling back would hide a configuration error.
- With an ``EmbeddingCache``, texts embedded before (same model, same text)
  are taken from it and never sent; fresh vectors are added to it. A rerun
  after a failed load pays nothing.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from blocks.circuit_breaker import CircuitBreaker
from blocks.embedder import Embedder
from blocks.embedding_cache import EmbeddingCache
from blocks.embedding_http import EmbedderInputRejected
from blocks.errors import TransientServiceError
from schemas.checkpoints import CHECKPOINTS, embed_arrow
from stages.checkpoint import CheckpointWriter, checkpoint_rows, read_checkpoint
from stages.progress import Progress, SilentProgress

__all__ = ["EmbedResult", "embed_cases", "checked_vectors"]

log = logging.getLogger(__name__)


class _BadVectors(TransientServiceError):
    """A provider answered, but not with usable vectors."""


@dataclass
class EmbedResult:
    path: Path
    rows: int
    primary: int = 0
    fallback: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    primary_calls: int = 0
    """Chunks sent to the primary (one embed() call each, with its own retries)."""
    short_circuited: int = 0
    """Chunks sent straight to the fallback because the breaker was open."""
    breaker_opened: int = 0
    """Times the breaker opened during this stage."""
    cache_hits: int = 0
    """Rows whose vector came from the embedding cache (no provider call)."""


def checked_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed and verify shape and finiteness: a bad vector is never stored."""
    return _checked(embedder, np.asarray(embedder.embed(texts, "document"), dtype=np.float32), len(texts))


def _checked(embedder: Embedder, matrix: np.ndarray, rows: int) -> np.ndarray:
    expected = (rows, embedder.vector_size)
    if matrix.shape != expected:
        raise _BadVectors(f"{embedder.model_name} returned shape {matrix.shape}, expected {expected}")
    if not np.isfinite(matrix).all():
        raise _BadVectors(f"{embedder.model_name} returned non-finite values")
    return matrix


def _embed_isolating(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Vectors, a mask of the rows embedded, and the refused rows with a reason (never the text)."""
    try:
        return checked_vectors(embedder, texts), np.ones(len(texts), dtype=bool), {}
    except EmbedderInputRejected as exc:
        rejection = exc
    refused = {i: f"InputRejected: {embedder.model_name} refused this text ({rejection.reasons.get(i, 'HTTP 400')})"
               for i in rejection.indexes}
    ok = np.ones(len(texts), dtype=bool)
    ok[list(refused)] = False
    matrix = np.zeros((len(texts), embedder.vector_size), dtype=np.float32)
    given = None if rejection.vectors is None else np.asarray(rejection.vectors, dtype=np.float32)
    if given is not None and given.shape == matrix.shape:
        matrix[ok] = _checked(embedder, given[ok], int(ok.sum()))
    elif ok.any():  # the embedder did not hand back the others' vectors: ask for them alone
        matrix[ok] = checked_vectors(embedder, [t for t, keep in zip(texts, ok) if keep])
    return matrix, ok, refused


def _fixed_list(full: np.ndarray | None, rows: int, size: int | None, mask: np.ndarray) -> pa.Array:
    """Rows of ``full`` where ``mask`` is set, null elsewhere (no copy of the vectors)."""
    if size is None or full is None:
        return pa.nulls(rows, pa.list_(pa.float32(), size) if size else pa.list_(pa.float32()))
    values = pa.array(np.ascontiguousarray(full, dtype=np.float32).ravel(), type=pa.float32())
    if mask.all():
        return pa.FixedSizeListArray.from_arrays(values, size)
    return pa.FixedSizeListArray.from_arrays(values, size, mask=pa.array(~mask))


class _Done:
    """The result of a chunk embedded without a pool, shaped like a finished future."""

    def __init__(self, value: int):
        self.value = value

    def result(self) -> int:
        return self.value


class _Batch:
    """The vectors, models and errors of one batch, filled chunk by chunk (chunks never overlap)."""

    def __init__(self, texts: list[str], primary: Embedder, fallback: Embedder | None, breaker: CircuitBreaker,
                 cache: EmbeddingCache | None = None):
        n = len(texts)
        self.texts, self.primary, self.fallback, self.breaker, self.cache = texts, primary, fallback, breaker, cache
        self.prim = np.zeros((n, primary.vector_size), dtype=np.float32)
        self.fall = np.zeros((n, fallback.vector_size), dtype=np.float32) if fallback else None
        self.used_primary = np.zeros(n, dtype=bool)
        self.used_fallback = np.zeros(n, dtype=bool)
        self.errors: list[str | None] = [None] * n
        self.cache_hits = 0

    def embed_chunk(self, lo: int, hi: int) -> int:
        """Cache, then primary, fallback on outage; returns the number of rows handled."""
        rows = self._uncached(self.primary, np.arange(lo, hi), self.prim, self.used_primary)
        if not len(rows):
            return hi - lo
        if not self.breaker.allow():
            self._fall_back(rows, "CircuitOpen")
            return hi - lo
        try:
            vectors, ok, refused = _embed_isolating(self.primary, [self.texts[i] for i in rows])
        except TransientServiceError as exc:
            self.breaker.record_failure(type(exc).__name__)
            log.warning("primary embedder %s unavailable for %d texts: %s",
                        self.primary.model_name, len(rows), type(exc).__name__)
            self._fall_back(rows, type(exc).__name__)
            return hi - lo
        self.breaker.record_success()
        self._keep(self.primary, rows, vectors, ok, self.prim, self.used_primary)
        self._refuse(rows, refused)
        return hi - lo

    def _uncached(self, embedder: Embedder, rows: np.ndarray, matrix: np.ndarray, used: np.ndarray) -> np.ndarray:
        """Fill the rows the cache knows for ``embedder``; return the others."""
        if self.cache is None or not len(rows):
            return rows
        found = self.cache.get(embedder.model_name, [self.texts[i] for i in rows], embedder.vector_size)
        if not found:
            return rows
        hit = np.zeros(len(rows), dtype=bool)
        hit[list(found)] = True
        matrix[rows[hit]] = np.stack([found[i] for i in np.flatnonzero(hit)])
        used[rows[hit]] = True
        self.cache_hits += int(hit.sum())
        return rows[~hit]

    def _keep(self, embedder: Embedder, rows: np.ndarray, vectors: np.ndarray, ok: np.ndarray, matrix: np.ndarray,
              used: np.ndarray) -> None:
        matrix[rows[ok]] = vectors[ok]
        used[rows[ok]] = True
        if self.cache is not None and ok.any():
            self.cache.put(embedder.model_name, [self.texts[i] for i in rows[ok]], vectors[ok])

    def _fall_back(self, rows: np.ndarray, cause: str) -> None:
        if self.fallback is None:
            for i in rows:
                self.errors[i] = f"{cause}: primary {self.primary.model_name} unavailable, no fallback"
            return
        rows = self._uncached(self.fallback, rows, self.fall, self.used_fallback)
        if not len(rows):
            return
        try:
            vectors, ok, refused = _embed_isolating(self.fallback, [self.texts[i] for i in rows])
        except TransientServiceError as exc:
            for i in rows:
                self.errors[i] = f"{type(exc).__name__}: primary and fallback unavailable"
            return
        self._keep(self.fallback, rows, vectors, ok, self.fall, self.used_fallback)
        self._refuse(rows, refused)

    def _refuse(self, rows: np.ndarray, refused: dict[int, str]) -> None:
        for i, reason in refused.items():
            self.errors[rows[i]] = reason

    def table(self, ids: list[str], schema: pa.Schema) -> pa.Table:
        n, primary, fallback = len(ids), self.primary, self.fallback
        return pa.table(
            {
                "case_id": pa.array(ids, pa.string()),
                "vector_primary": _fixed_list(self.prim, n, primary.vector_size, self.used_primary),
                "vector_fallback": _fixed_list(self.fall, n, fallback.vector_size if fallback else None,
                                               self.used_fallback),
                "primary_model": pa.array([primary.model_name if u else None for u in self.used_primary], pa.string()),
                "fallback_model": pa.array(
                    [fallback.model_name if (fallback and u) else None for u in self.used_fallback], pa.string()),
                "embed_error": pa.array(self.errors, pa.string()),
            },
            schema=schema,
        )


def embed_cases(
    redact_path: Path,
    out_path: Path,
    primary: Embedder,
    fallback: Embedder | None,
    *,
    batch_size: int,
    request_size: int,
    progress: Progress | None = None,
    concurrency: int | None = None,
    breaker: CircuitBreaker | None = None,
    cache: EmbeddingCache | None = None,
) -> EmbedResult:
    """Embed every row of ``redact_path`` into ``out_path``; see module docstring.

    ``concurrency`` chunks are in flight at once; by default the primary's
    ``max_concurrency`` when it declares one (HTTP embedders), else 1.
    ``breaker`` guards the primary; by default a fresh one (3 failed chunks
    in a row open it for 30 s). Pass one to share its state across calls.
    ``cache`` is consulted before any provider is called (primary first,
    then the fallback's entries when the primary cannot serve) and filled
    after every successful call.
    """
    progress = progress or SilentProgress()
    breaker = breaker or CircuitBreaker(f"embedder {primary.model_name}")
    before = (breaker.stats.allowed, breaker.stats.short_circuited, breaker.stats.opened)
    concurrency = max(1, concurrency or int(getattr(primary, "max_concurrency", 1) or 1))
    progress.start("embed", checkpoint_rows(redact_path))
    schema = embed_arrow(primary.vector_size, fallback.vector_size if fallback else None)
    # float vectors are close to incompressible: zstd on them cost more CPU than the requests' own handling
    codecs = {name: ("none" if name.startswith("vector_") else "zstd") for name in schema.names}
    writer = CheckpointWriter(Path(out_path), CHECKPOINTS["embed"], schema, compression=codecs)
    result = EmbedResult(Path(out_path), 0)
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="embed-chunk") if concurrency > 1 else None

    def start(batch: pa.RecordBatch) -> tuple[list[str], _Batch, list]:
        """Submit every chunk of ``batch`` (or, without a pool, embed them now)."""
        ids = batch.column("case_id").to_pylist()
        work = _Batch(batch.column("composite_text").to_pylist(), primary, fallback, breaker, cache)
        chunks = [(lo, min(lo + request_size, len(ids))) for lo in range(0, len(ids), request_size)]
        if pool is None:
            return ids, work, [_Done(work.embed_chunk(lo, hi)) for lo, hi in chunks]
        return ids, work, [pool.submit(work.embed_chunk, lo, hi) for lo, hi in chunks]

    def finish(ids: list[str], work: _Batch, futures: list) -> None:
        """Wait for the chunks of one batch, then write it."""
        for future in futures:
            progress.advance(future.result())
        writer.write(work.table(ids, schema))
        result.primary += int(work.used_primary.sum())
        result.fallback += int(work.used_fallback.sum())
        result.failed += [(i, e) for i, e in zip(ids, work.errors) if e]
        result.cache_hits += work.cache_hits

    try:
        with writer:
            # one batch ahead: the next batch's requests are in flight while this one is written
            pending = None
            for batch in read_checkpoint(redact_path, CHECKPOINTS["redact"], batch_size=batch_size,
                                         columns=["case_id", "composite_text"]):
                started = start(batch)
                if pending is not None:
                    finish(*pending)
                pending = started
            if pending is not None:
                finish(*pending)
            done = writer.close()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    progress.finish()
    result.rows = done.rows
    result.primary_calls = breaker.stats.allowed - before[0]
    result.short_circuited = breaker.stats.short_circuited - before[1]
    result.breaker_opened = breaker.stats.opened - before[2]
    if result.breaker_opened or result.short_circuited:
        log.warning("%s opened %d time(s); %d chunks went straight to the fallback, %d were sent to the primary",
                    breaker.name, result.breaker_opened, result.short_circuited, result.primary_calls)
    return result
