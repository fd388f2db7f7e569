"""Load: write one object per case into the vector store, delete deleted cases.

Walks ``redact.parquet`` and ``embed.parquet`` side by side (same row order
by construction, checked per batch), builds object tables (uuid5 id, the 44
properties, lineage properties, named vectors) and upserts them in batches
sized for the store. Only what the store confirmed is reported ``loaded``;
everything else is ``failed`` with a reason that names the case, never its
content. Rows the embed stage could not embed were reported there and are
not loaded. Deletes come from the changes checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from blocks.vector_store import VectorStore, vector_column
from schemas.checkpoints import CHECKPOINTS, LOAD_ARROW
from schemas.fields import FIELDS, NAMED_VECTORS
from schemas.ids import object_uuid
from stages.checkpoint import CheckpointWriter, checkpoint_rows, read_checkpoint
from stages.progress import Progress, SilentProgress

__all__ = ["LoadResult", "load_cases", "object_table"]


@dataclass(frozen=True)
class LoadResult:
    path: Path
    loaded: int
    failed: int
    deleted: int


def object_table(redacted: pa.Table, embedded: pa.Table, run_id: str) -> pa.Table:
    """Store objects from aligned redact and embed rows (rows with an embed error excluded)."""
    ok = pc.is_null(embedded.column("embed_error"))
    redacted, embedded = redacted.filter(ok), embedded.filter(ok)
    ids = [object_uuid(c) for c in redacted.column("case_id").to_pylist()]
    cols: dict[str, pa.Array | pa.ChunkedArray] = {"id": pa.array(ids, pa.string())}
    for f in FIELDS:
        cols[f.property] = redacted.column(f.property)
    cols["checksum"] = redacted.column("checksum")
    cols["source_last_modified"] = redacted.column("source_last_modified")
    cols["run_id"] = pa.array([run_id] * redacted.num_rows, pa.string())
    cols["primary_model"] = embedded.column("primary_model")
    cols["fallback_model"] = embedded.column("fallback_model")
    for name in NAMED_VECTORS:
        cols[vector_column(name)] = embedded.column(vector_column(name))
    return pa.table(cols)


def load_cases(
    store: VectorStore,
    changes_path: Path,
    redact_path: Path,
    embed_path: Path,
    out_path: Path,
    *,
    run_id: str,
    batch_size: int,
    progress: Progress | None = None,
) -> LoadResult:
    """Upsert embedded cases and delete deleted ones; outcomes go to ``out_path``."""
    progress = progress or SilentProgress()
    progress.start("load", checkpoint_rows(redact_path))
    writer = CheckpointWriter(Path(out_path), CHECKPOINTS["load"], LOAD_ARROW)
    loaded = failed = deleted = 0
    with writer:
        pairs = _aligned(
            read_checkpoint(redact_path, CHECKPOINTS["redact"], batch_size=batch_size),
            read_checkpoint(embed_path, CHECKPOINTS["embed"], batch_size=batch_size),
        )
        for red_t, emb_t in pairs:
            if red_t.column("case_id") != emb_t.column("case_id"):
                raise RuntimeError(f"{redact_path.name} and {embed_path.name} are out of step; rerun the embed stage")
            outcome: dict[str, tuple[str, str | None]] = {}
            objects = object_table(red_t, emb_t, run_id)
            if objects.num_rows:
                res = store.upsert(objects)
                outcome.update({cid: ("loaded", None) for cid in res.succeeded})
                outcome.update({cid: ("failed", reason) for cid, reason in res.failed})
            for cid in objects.column("case_id").to_pylist():  # embed failures were reported by embed
                outcome.setdefault(cid, ("failed", "the store reported neither success nor failure"))
            writer.write(_outcomes(outcome))
            loaded += sum(1 for o, _ in outcome.values() if o == "loaded")
            failed += sum(1 for o, _ in outcome.values() if o == "failed")
            progress.advance(red_t.num_rows)
        for batch in read_checkpoint(changes_path, CHECKPOINTS["changes"], batch_size=batch_size,
                                     columns=["case_id", "action"]):
            t = pa.Table.from_batches([batch])
            ids = t.filter(pc.equal(t.column("action"), "delete")).column("case_id").to_pylist()
            if ids:
                store.delete(ids)
                writer.write(_outcomes({cid: ("deleted", None) for cid in ids}))
                deleted += len(ids)
        writer.close()
    progress.finish()
    return LoadResult(Path(out_path), loaded, failed, deleted)


def _aligned(left, right):
    """Pairs of equal-length tables from two streams of the same rows.

    Parquet readers split batches at row-group boundaries, which differ
    between two files written by different stages; re-slice to line them up.
    """
    buf_l, buf_r = [], []
    len_l = len_r = 0
    left, right = iter(left), iter(right)
    while True:
        while len_l == 0:
            b = next(left, None)
            if b is None:
                break
            buf_l.append(b)
            len_l += b.num_rows
        while len_r < len_l:
            b = next(right, None)
            if b is None:
                break
            buf_r.append(b)
            len_r += b.num_rows
        if len_l == 0:
            if next(right, None) is not None or len_r:
                raise RuntimeError("embed checkpoint has more rows than the redact checkpoint")
            return
        n = min(len_l, len_r)
        if n == 0:
            raise RuntimeError("embed checkpoint has fewer rows than the redact checkpoint")
        tl, tr = pa.Table.from_batches(buf_l), pa.Table.from_batches(buf_r)
        yield tl.slice(0, n), tr.slice(0, n)
        rest_l, rest_r = tl.slice(n), tr.slice(n)
        buf_l, buf_r = rest_l.to_batches(), rest_r.to_batches()
        len_l, len_r = rest_l.num_rows, rest_r.num_rows


def _outcomes(outcome: dict[str, tuple[str, str | None]]) -> pa.Table:
    ids = list(outcome)
    return pa.table(
        {"case_id": ids, "outcome": [outcome[i][0] for i in ids], "reason": [outcome[i][1] for i in ids]},
        schema=LOAD_ARROW,
    )
