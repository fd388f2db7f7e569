"""Load: write one object per case into the vector store, delete deleted cases.

Walks ``redact.parquet`` and ``embed.parquet`` side by side (same row order
by construction, checked per batch), builds object tables (uuid5 id, the 44
properties, lineage properties, named vectors) and upserts them in batches
sized for the store. Only what the store confirmed is reported ``loaded``;
everything else is ``failed`` with a reason that names the case, never its
content. Rows the embed stage could not embed were reported there and are
not loaded. Deletes come from the changes checkpoint.

An outage of the store (``StoreUnavailable`` when checking the schema, for an
upsert batch or for the deletes) does not fail the stage when a
``LoadQueue`` is given: that batch and every later one (the store is not
asked again in this run) go into one queue segment, outcome ``pending``,
vectors included, so nothing is embedded twice. Objects the store rejected
one by one stay ``failed``: only outages queue. ``load_queued`` writes a
batch of queued entries later (``flows.drain``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from blocks.errors import StoreUnavailable
from blocks.load_queue import DELETE_COLUMNS, OP_DELETE, OP_UPSERT, LoadQueue, SegmentWriter
from blocks.vector_store import VectorStore, vector_column
from schemas.checkpoints import CHECKPOINTS, LOAD_ARROW
from schemas.fields import FIELDS, NAMED_VECTORS
from schemas.ids import object_uuids
from stages.checkpoint import CheckpointWriter, checkpoint_rows, read_checkpoint
from stages.progress import Progress, SilentProgress

__all__ = ["LoadResult", "load_cases", "object_table", "load_queued", "QUEUED_REASON"]

#: ``reason`` of a ``pending`` outcome (names no case content).
QUEUED_REASON = "vector store unavailable; queued in the load queue"


@dataclass(frozen=True)
class LoadResult:
    path: Path
    loaded: int
    failed: int
    deleted: int
    queued: int = 0  # upserts and deletes waiting in the load queue
    segment: Path | None = None  # the queue segment this run wrote, if any


def object_table(redacted: pa.Table, embedded: pa.Table, run_id: str) -> pa.Table:
    """Store objects from aligned redact and embed rows (rows with an embed error excluded)."""
    if embedded.column("embed_error").null_count < embedded.num_rows:  # filtering copies every vector: only if needed
        ok = pc.is_null(embedded.column("embed_error"))
        redacted, embedded = redacted.filter(ok), embedded.filter(ok)
    ids = object_uuids(redacted.column("case_id").to_pylist())
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
    queue: LoadQueue | None = None,
    vector_sizes: Mapping[str, int] | None = None,
    read_batch_size: int | None = None,
) -> LoadResult:
    """Upsert embedded cases and delete deleted ones; outcomes go to ``out_path``.

    ``batch_size`` objects go to the store per upsert; the checkpoints are
    read (and validated) ``read_batch_size`` rows at a time (default: the
    same). Validation has a fixed cost per batch, so reading in the
    pipeline's larger batches and upserting in the store's smaller ones saves
    about 4 s per 100k cases.

    ``vector_sizes``: check (or create) the store's schema first. ``queue``:
    queue instead of failing when the store is unavailable; without one, an
    outage raises ``StoreUnavailable`` as before. The queue segment is made
    durable before the outcomes checkpoint is written, so a ``pending``
    outcome always has its entry on disk.
    """
    progress = progress or SilentProgress()
    progress.start("load", checkpoint_rows(redact_path))
    writer = CheckpointWriter(Path(out_path), CHECKPOINTS["load"], LOAD_ARROW)
    outbox = _Outbox(queue, run_id)
    loaded = failed = deleted = queued = 0
    with writer, outbox:
        if vector_sizes is not None:
            outbox.attempt(lambda: store.ensure_schema(vector_sizes))
        read_size = max(read_batch_size or batch_size, batch_size)
        pairs = _aligned(
            read_checkpoint(redact_path, CHECKPOINTS["redact"], batch_size=read_size),
            read_checkpoint(embed_path, CHECKPOINTS["embed"], batch_size=read_size),
        )
        for red_t, emb_t in _sliced(pairs, batch_size):
            if red_t.column("case_id") != emb_t.column("case_id"):
                raise RuntimeError(f"{redact_path.name} and {embed_path.name} are out of step; rerun the embed stage")
            outcome: dict[str, tuple[str, str | None]] = {}
            objects = object_table(red_t, emb_t, run_id)
            if objects.num_rows:
                res = outbox.attempt(lambda: store.upsert(objects))
                if res is None:
                    outbox.segment.add_upserts(objects)
                    outcome.update({cid: ("pending", QUEUED_REASON) for cid in objects.column("case_id").to_pylist()})
                else:  # rows the embed stage failed are not among the objects: embed reported them
                    outcome.update(_upsert_outcomes(res, objects.column("case_id").to_pylist()))
            writer.write(_outcomes(outcome))
            loaded += sum(1 for o, _ in outcome.values() if o == "loaded")
            failed += sum(1 for o, _ in outcome.values() if o == "failed")
            queued += sum(1 for o, _ in outcome.values() if o == "pending")
            progress.advance(red_t.num_rows)
        # every delete in one call: a store's delete may scan the whole collection once per call
        deletes = [
            batch.filter(pc.equal(batch.column("action"), "delete"))
            for batch in read_checkpoint(changes_path, CHECKPOINTS["changes"], batch_size=read_size,
                                         columns=["case_id", "action", *DELETE_COLUMNS[1:]])
        ]
        gone = pa.Table.from_batches(deletes) if deletes else None
        ids = gone.column("case_id").to_pylist() if gone is not None else []
        if ids:
            if outbox.attempt(lambda: store.delete(ids)) is None:
                outbox.segment.add_deletes(_with_ids(gone.select(list(DELETE_COLUMNS)), run_id))
                writer.write(_outcomes({cid: ("pending", QUEUED_REASON) for cid in ids}))
                queued += len(ids)
            else:
                writer.write(_outcomes({cid: ("deleted", None) for cid in ids}))
                deleted += len(ids)
        segment = outbox.commit()
        writer.close()
    progress.finish()
    return LoadResult(Path(out_path), loaded, failed, deleted, queued, segment)


class _Outbox:
    """Calls the store until it is unavailable once; from then on everything goes to one queue segment."""

    def __init__(self, queue: LoadQueue | None, run_id: str) -> None:
        self._queue = queue
        self._run_id = run_id
        self.down = False
        self.segment: SegmentWriter | None = None

    def attempt(self, call):
        """``call()``'s result, or None when the store is (or was found) unavailable and a queue exists."""
        if not self.down:
            try:
                result = call()
                return True if result is None else result
            except StoreUnavailable:
                if self._queue is None:
                    raise
                self.down = True
                self.segment = self._queue.open_segment(self._run_id)
        return None

    def commit(self) -> Path | None:
        return self.segment.commit() if self.segment is not None else None

    def __enter__(self) -> "_Outbox":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.segment is not None:
            self.segment.abort()


def _with_ids(deletes: pa.Table, run_id: str) -> pa.Table:
    ids = pa.array(object_uuids(deletes.column("case_id").to_pylist()), pa.string())
    runs = pa.repeat(pa.scalar(run_id, pa.string()), deletes.num_rows)
    return deletes.append_column("id", ids).append_column("run_id", runs)


def load_queued(store: VectorStore, entries: pa.Table, lineage_state: pa.Table) -> pa.Table:
    """Write queued entries that are still current; return their outcomes.

    ``entries`` are segment rows (``blocks.load_queue``), at most one per
    case. An entry is written only while lineage still says ``load_pending``
    with the entry's checksum; otherwise a later run has loaded, changed or
    deleted the case since, and the entry is ``superseded`` (not written: it
    would overwrite newer content). Raises ``StoreUnavailable`` if the store
    is down, before or during the write; writes are idempotent (uuid5 ids,
    whole-object replacement), so a repeat after a crash changes nothing.

    Returns ``case_id``, ``outcome`` (loaded | failed | deleted |
    superseded), ``reason`` and the entry's ``checksum``, ``case_number``,
    ``source_last_modified`` and ``run_id``.
    """
    state = lineage_state.select(["record_id", "checksum", "status"])
    pending = state.filter(pc.equal(state.column("status"), "load_pending"))
    sep = "\x1f"  # joins id and checksum into one key; neither contains it
    key = pc.binary_join_element_wise(pending.column("record_id"), pending.column("checksum"), sep)
    entry_key = pc.binary_join_element_wise(entries.column("case_id"), entries.column("checksum"), sep)
    current = pc.fill_null(pc.is_in(entry_key, value_set=key.combine_chunks()), False)
    live = entries.filter(current)
    outcome: dict[str, tuple[str, str | None]] = {
        cid: ("superseded", None) for cid in entries.filter(pc.invert(current)).column("case_id").to_pylist()}
    upserts = live.filter(pc.equal(live.column("op"), OP_UPSERT))
    deletes = live.filter(pc.equal(live.column("op"), OP_DELETE))
    if upserts.num_rows:
        objects = upserts.drop_columns(["op"])
        outcome.update(_upsert_outcomes(store.upsert(objects), upserts.column("case_id").to_pylist()))
    if deletes.num_rows:
        ids = deletes.column("case_id").to_pylist()
        store.delete(ids)
        outcome.update({cid: ("deleted", None) for cid in ids})
    ids = entries.column("case_id")
    return pa.table({
        "case_id": ids,
        "outcome": pa.array([outcome[c][0] for c in ids.to_pylist()], pa.string()),
        "reason": pa.array([outcome[c][1] for c in ids.to_pylist()], pa.string()),
        "checksum": entries.column("checksum"),
        "case_number": entries.column("case_number"),
        "source_last_modified": entries.column("source_last_modified"),
        "run_id": entries.column("run_id"),
    })


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


def _sliced(pairs, size: int):
    """Each pair of aligned tables in consecutive slices of at most ``size`` rows."""
    for left, right in pairs:
        for start in range(0, left.num_rows, size):
            yield left.slice(start, size), right.slice(start, size)


def _upsert_outcomes(res, case_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Outcome per case of one upsert: what the store confirmed, what it refused, and (failed) what it left out."""
    outcome: dict[str, tuple[str, str | None]] = {cid: ("loaded", None) for cid in res.succeeded}
    outcome.update({cid: ("failed", reason) for cid, reason in res.failed})
    for cid in case_ids:
        outcome.setdefault(cid, ("failed", "the store reported neither success nor failure"))
    return outcome


def _outcomes(outcome: dict[str, tuple[str, str | None]]) -> pa.Table:
    ids = list(outcome)
    return pa.table(
        {"case_id": ids, "outcome": [outcome[i][0] for i in ids], "reason": [outcome[i][1] for i in ids]},
        schema=LOAD_ARROW,
    )
