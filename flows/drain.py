"""The ``load_queue_drain`` flow: write queued loads once the vector store is back.

While the store is down, a run's load stage queues what it could not write
(``blocks.load_queue``: Parquet segments under ``<home>/load_queue/``, vectors
included) and lineage says ``load_pending``. ``drain_queue`` writes them:

1. Nothing queued: return at once (no lock, no store call), so a drain on a
   short schedule costs nothing while all is well.
2. Take the pipeline lock, discard partial segments a dead writer left, and
   check the store (schema created if missing). Still down: stop, the queue
   stays as it is, the summary says ``store_unavailable``.
3. Segments oldest first, in batches: of each case only the entry from its
   newest segment counts, and only while lineage still says ``load_pending``
   with that entry's checksum (``stages.load.load_queued``); anything else is
   ``superseded`` by a later run and not written. Written entries are
   recorded exactly as a load records them (``completed`` with the checksum,
   ``deleted``, or ``failed`` for an object the store rejected).
4. A segment is removed only after every batch of it was written and
   recorded. An outage or crash midway leaves it on disk; the next drain
   re-reads it, skips what lineage already shows as done and rewrites at
   most the batch that was in flight, by the same uuid5 ids (whole-object
   replacement): nothing is lost, nothing is stored twice.

Why the pipeline lock and not a lock of its own: the check "lineage still
says pending with this checksum" and the write that follows must not
interleave with a pipeline load of the same case. With separate locks a run
could load a newer version and mark it completed between the drain's check
and its write, and the drain would overwrite the newer object with the
queued older one. Sharing the lock makes a drain and a load mutually
exclusive; a drain that finds a run holding it is skipped (exit code 3 on the
command line) and the next scheduled drain tries again.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from prefect import flow

from blocks.errors import StoreUnavailable
from blocks.load_queue import LoadQueue
from flows.config import PipelineBlocks, load_blocks
from flows.lineage_recording import LOAD_PENDING, now_utc, record_drained
from flows.pipeline import PIPELINE_LOCK
from stages.errors import RunLocked
from stages.load import load_queued

__all__ = ["drain_queue", "load_queue_drain", "unqueued_pending"]

log = logging.getLogger(__name__)
#: Lease of a drain on the pipeline lock, renewed after every batch: a drain
#: that died frees the lock for the pipeline within minutes, not hours.
DRAIN_LEASE_SECONDS = 600.0


def _summary(queue: LoadQueue, **figures) -> dict:
    size = queue.size()
    out = {"drained": 0, "deleted": 0, "failed": 0, "superseded": 0, "segments_drained": 0,
           "store_unavailable": False, "skipped": None, **figures}
    out["remaining_segments"], out["remaining_rows"] = size.segments, size.rows
    return out


def _vector_sizes(blocks: PipelineBlocks) -> dict[str, int]:
    sizes = {"primary": blocks.primary.vector_size}
    if blocks.fallback is not None:
        sizes["fallback"] = blocks.fallback.vector_size
    return sizes


def drain_queue(blocks: PipelineBlocks, *, batch_size: int | None = None) -> dict:
    """Write the load queue into the store; returns what happened.

    ``drained`` objects written, ``deleted`` deletes applied, ``failed``
    objects the store rejected (failed records, as in a load), ``superseded``
    entries a later run made obsolete, ``segments_drained``, and what is left:
    ``remaining_segments``, ``remaining_rows``. ``store_unavailable`` is true
    when the store was (or went) down and the queue (or its rest) was kept.
    Raises ``RunLocked`` while a pipeline run or another drain holds the lock.
    """
    queue = LoadQueue.under(blocks.home)
    if queue.is_empty():
        return _summary(queue)
    lineage = blocks.lineage
    lineage.ensure_schema()
    settings = blocks.settings
    batch_size = batch_size or settings.load_batch_size
    owner = f"drain-{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    lease = min(settings.lock_ttl_seconds, DRAIN_LEASE_SECONDS)
    if not lineage.acquire_lock(PIPELINE_LOCK, owner, lease):
        raise RunLocked(PIPELINE_LOCK, lineage.lock_holder(PIPELINE_LOCK))
    figures = {"drained": 0, "deleted": 0, "failed": 0, "superseded": 0, "segments_drained": 0,
               "store_unavailable": False}
    try:
        queue.discard_partials()  # we hold the lock: no writer is alive
        with blocks.store as store:
            try:
                store.ensure_schema(_vector_sizes(blocks))
                plan = queue.plan()
                for segment in plan.segments:
                    for entries, superseded in plan.current_rows(segment, batch_size):
                        figures["superseded"] += superseded
                        if not entries.num_rows:
                            continue
                        state = lineage.lineage_state(entries.column("case_id").to_pylist())
                        outcomes = load_queued(store, entries, state)
                        record_drained(lineage, outcomes)
                        counted = outcomes.column("outcome").value_counts().to_pylist()
                        for item in counted:
                            key = {"loaded": "drained"}.get(item["values"], item["values"])
                            figures[key] += item["counts"]
                        if not lineage.refresh_lock(PIPELINE_LOCK, owner, lease):  # lease lost: stop writing
                            raise RunLocked(PIPELINE_LOCK, lineage.lock_holder(PIPELINE_LOCK))
                    queue.remove(segment)
                    figures["segments_drained"] += 1
            except StoreUnavailable as exc:
                figures["store_unavailable"] = True
                log.warning("vector store unavailable; the load queue is kept for the next drain: %s", exc)
    finally:
        lineage.release_lock(PIPELINE_LOCK, owner)
    return _summary(queue, **figures)


def unqueued_pending(blocks: PipelineBlocks) -> list[str]:
    """Ids lineage shows as ``load_pending`` that no queue segment holds (a lost or hand-removed segment).

    Such cases would wait forever: reconciliation reports them so a repair
    (or a forced run) can redo them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    queued = [ids for ids in LoadQueue.under(blocks.home).iter_case_ids()]
    value_set = pa.chunked_array(queued, pa.string()).combine_chunks() if queued else pa.array([], pa.string())
    missing: list[str] = []
    for ids in blocks.lineage.iter_record_ids([LOAD_PENDING]):
        found = pc.is_in(pa.array(ids, pa.string()), value_set=value_set)
        missing.extend(pa.array(ids, pa.string()).filter(pc.invert(found)).to_pylist())
    return missing


@flow(name="load_queue_drain")
def load_queue_drain(config_path: str | None = None, home: str | None = None,
                     block_names: dict[str, str] | None = None) -> dict:
    """Write loads queued during a vector-store outage (scheduled every few minutes).

    A pipeline run holding the lock makes this run a no-op (``skipped``
    names the holder); a store still down keeps the queue
    (``store_unavailable``). Neither fails the flow run: the next scheduled
    run tries again, and reconciliation reports what waits. ``block_names``
    loads sections from saved block documents, as for the pipeline flow.
    """
    blocks = load_blocks(Path(config_path) if config_path else None, Path(home) if home else None,
                         block_names=block_names)
    try:
        return drain_queue(blocks)
    except RunLocked as exc:
        log.info("load queue drain skipped: %s", exc)
        return _summary(LoadQueue.under(blocks.home), skipped=str(exc))
