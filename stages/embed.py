"""Embed: composite texts to vectors, primary first, fallback on outage.

Reads ``redact.parquet`` batch by batch and writes ``embed.parquet`` with one
row per input row, in the same order, so the load stage can walk both files
side by side without a join. A batch the primary cannot serve (an
``EmbedderUnavailable``, or an answer of the wrong shape or with non-finite
values) goes to the fallback, into its own named vector; when neither can
serve it, its rows carry ``embed_error`` and are reported as failed. A
terminal refusal (``EmbedderRejected``: bad credentials, bad request) stops
the run: falling back would hide a configuration error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from blocks.embedder import Embedder
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


def checked_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed and verify shape and finiteness: a bad vector is never stored."""
    matrix = np.asarray(embedder.embed(texts, "document"), dtype=np.float32)
    expected = (len(texts), embedder.vector_size)
    if matrix.shape != expected:
        raise _BadVectors(f"{embedder.model_name} returned shape {matrix.shape}, expected {expected}")
    if not np.isfinite(matrix).all():
        raise _BadVectors(f"{embedder.model_name} returned non-finite values")
    return matrix


def _fixed_list(matrix: np.ndarray | None, rows: int, size: int | None, mask: np.ndarray) -> pa.Array:
    """Vectors for rows where ``mask`` is set, null elsewhere."""
    if size is None:
        return pa.nulls(rows, pa.list_(pa.float32()))
    full = np.zeros((rows, size), dtype=np.float32)
    if matrix is not None:
        full[mask] = matrix
    values = pa.array(full.ravel(), type=pa.float32())
    arr = pa.FixedSizeListArray.from_arrays(values, size)
    return pa.FixedSizeListArray.from_arrays(values, size, mask=pa.array(~mask)) if not mask.all() else arr


def embed_cases(
    redact_path: Path,
    out_path: Path,
    primary: Embedder,
    fallback: Embedder | None,
    *,
    batch_size: int,
    request_size: int,
    progress: Progress | None = None,
) -> EmbedResult:
    """Embed every row of ``redact_path`` into ``out_path``; see module docstring."""
    progress = progress or SilentProgress()
    progress.start("embed", checkpoint_rows(redact_path))
    schema = embed_arrow(primary.vector_size, fallback.vector_size if fallback else None)
    writer = CheckpointWriter(Path(out_path), CHECKPOINTS["embed"], schema)
    result = EmbedResult(Path(out_path), 0)
    with writer:
        for batch in read_checkpoint(redact_path, CHECKPOINTS["redact"], batch_size=batch_size,
                                     columns=["case_id", "composite_text"]):
            ids = batch.column("case_id").to_pylist()
            texts = batch.column("composite_text").to_pylist()
            n = len(ids)
            prim = np.zeros((n, primary.vector_size), dtype=np.float32)
            fall = np.zeros((n, fallback.vector_size), dtype=np.float32) if fallback else None
            used_primary = np.zeros(n, dtype=bool)
            used_fallback = np.zeros(n, dtype=bool)
            errors: list[str | None] = [None] * n
            for lo in range(0, n, request_size):
                hi = min(lo + request_size, n)
                chunk = texts[lo:hi]
                try:
                    prim[lo:hi] = checked_vectors(primary, chunk)
                    used_primary[lo:hi] = True
                except TransientServiceError as exc:
                    log.warning("primary embedder %s unavailable for %d texts: %s", primary.model_name, hi - lo, type(exc).__name__)
                    if fallback is None:
                        errors[lo:hi] = [f"{type(exc).__name__}: primary {primary.model_name} unavailable, no fallback"] * (hi - lo)
                        continue
                    try:
                        fall[lo:hi] = checked_vectors(fallback, chunk)
                        used_fallback[lo:hi] = True
                    except TransientServiceError as exc2:
                        errors[lo:hi] = [f"{type(exc2).__name__}: primary and fallback unavailable"] * (hi - lo)
                progress.advance(hi - lo)
            table = pa.table(
                {
                    "case_id": pa.array(ids, pa.string()),
                    "vector_primary": _fixed_list(prim[used_primary], n, primary.vector_size, used_primary),
                    "vector_fallback": _fixed_list(fall[used_fallback] if fall is not None else None, n,
                                                   fallback.vector_size if fallback else None, used_fallback),
                    "primary_model": pa.array([primary.model_name if u else None for u in used_primary], pa.string()),
                    "fallback_model": pa.array(
                        [fallback.model_name if (fallback and u) else None for u in used_fallback], pa.string()),
                    "embed_error": pa.array(errors, pa.string()),
                },
                schema=schema,
            )
            writer.write(table)
            result.primary += int(used_primary.sum())
            result.fallback += int(used_fallback.sum())
            result.failed += [(i, e) for i, e in zip(ids, errors) if e]
        done = writer.close()
    progress.finish()
    result.rows = done.rows
    return result
