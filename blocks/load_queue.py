"""``LoadQueue``: store writes that could not happen yet, kept on disk until they can.

When the vector store is down (unreachable, timing out, answering 5xx), the
load stage does not fail the run and does not throw the embeddings away: it
writes what it meant to send into a *segment*, one Parquet file per run under
``<home>/load_queue/``::

    load_queue/
      00000001764234000123456789-20261127T060000-1a2b3c4d.parquet   # oldest
      00000001764255600987654321-20261127T120000-5e6f7a8b.parquet
      .20261127T180000-9c0d1e2f-<uuid>.parquet.partial               # being written

A segment holds whole store objects (the rows of ``stages.load.object_table``:
``id``, every property, the lineage properties, one ``vector_<name>`` column
per named vector) with ``op = 'upsert'``, and deletes with ``op = 'delete'``
(the case's ``id``, ``case_id``, ``case_number``, ``checksum`` and
``source_last_modified``; everything else null). The content is already
redacted: the queue lives after the PII stage.

Durability: a segment is written to a hidden ``.partial`` file, fsynced and
renamed into place (``os.replace``), and the folder is fsynced, so after a
crash a segment is either complete or absent. Partials left by a dead writer
are discarded by the next holder of the pipeline lock.

Order: segment names start with a strictly increasing sequence number, so
newer segments sort after older ones. A case queued in several segments is
loaded once, from its newest segment (``DrainPlan``); draining goes oldest
first and removes a segment only after all of it was handled, so a crash at
any point leaves every newest entry on disk. Vector sizes may differ between
segments (each is read on its own); vectors are stored as ``list<float32>``.

Memory: draining reads one batch at a time; only the distinct queued case ids
(with the index of their newest segment) are held at once.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from blocks.durable_files import fsync_dir, publish
from blocks.vector_store import vector_column
from schemas.fields import FIELDS, LINEAGE_PROPERTIES, NAMED_VECTORS

__all__ = ["LoadQueue", "SegmentWriter", "DrainPlan", "QueueSize", "SEGMENT_SCHEMA", "OP_UPSERT", "OP_DELETE",
           "QUEUE_FOLDER", "DELETE_COLUMNS"]

QUEUE_FOLDER = "load_queue"
OP_UPSERT = "upsert"
OP_DELETE = "delete"
#: Columns a queued delete carries (the rest of its row is null).
DELETE_COLUMNS = ("case_id", "case_number", "checksum", "source_last_modified")

_SEGMENT = re.compile(r"^(\d{26})-([0-9A-Za-z_.-]+)\.parquet$")
_PARTIAL_SUFFIX = ".parquet.partial"
_SAFE = re.compile(r"[^0-9A-Za-z_.-]")


def _property_type(spec) -> pa.DataType:
    element = pa.timestamp("us") if spec.kind == "date" else pa.string()
    return pa.list_(element) if spec.is_list else element


def _segment_schema() -> pa.Schema:
    fields = [pa.field("op", pa.string(), nullable=False), pa.field("id", pa.string())]
    fields += [pa.field(f.property, _property_type(f)) for f in FIELDS]
    fields += [pa.field(p, pa.timestamp("us") if p == "source_last_modified" else pa.string())
               for p in LINEAGE_PROPERTIES]
    fields += [pa.field(vector_column(n), pa.list_(pa.float32())) for n in NAMED_VECTORS]
    return pa.schema(fields)


#: Arrow layout of every segment: ``op`` plus the object-table columns.
SEGMENT_SCHEMA: pa.Schema = _segment_schema()


@dataclass(frozen=True)
class QueueSize:
    """Committed segments and the rows they hold (a case queued twice counts twice)."""

    segments: int
    rows: int
    oldest_age_hours: float | None = None  # how long the oldest committed segment has waited

    def as_dict(self) -> dict:
        return {"segments": self.segments, "rows": self.rows, "oldest_age_hours": self.oldest_age_hours}


class SegmentWriter:
    """Streams queued upserts and deletes into one hidden partial file; ``commit`` publishes it.

    Nothing is visible to a drain until ``commit`` returns. ``abort`` (or
    leaving a ``with`` block on an exception) removes the partial file.
    """

    def __init__(self, queue: "LoadQueue", run_id: str) -> None:
        self._queue = queue
        self.run_id = _SAFE.sub("_", run_id)[:64] or "run"
        self._partial = queue.root / f".{self.run_id}-{uuid.uuid4().hex}{_PARTIAL_SUFFIX}"
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0
        self.path: Path | None = None

    def add_upserts(self, objects: pa.Table) -> int:
        """Queue whole store objects (an object table as ``stages.load.object_table`` builds it)."""
        if objects.num_rows == 0:
            return 0
        unknown = [c for c in objects.column_names if c not in SEGMENT_SCHEMA.names]
        if unknown:
            raise ValueError(f"load queue: object table has columns a segment does not hold: {unknown}")
        op = pa.repeat(pa.scalar(OP_UPSERT, pa.string()), objects.num_rows)
        return self._write(objects, op)

    def add_deletes(self, deletes: pa.Table) -> int:
        """Queue deletes; ``deletes`` holds ``DELETE_COLUMNS`` (``id`` is derived by the caller or absent)."""
        if deletes.num_rows == 0:
            return 0
        missing = [c for c in ("case_id", "checksum") if c not in deletes.column_names]
        if missing:
            raise ValueError(f"load queue: deletes lack columns {missing}")
        op = pa.repeat(pa.scalar(OP_DELETE, pa.string()), deletes.num_rows)
        return self._write(deletes, op)

    def _write(self, table: pa.Table, op: pa.Array) -> int:
        columns = []
        for f in SEGMENT_SCHEMA:
            if f.name == "op":
                columns.append(op)
            elif f.name in table.column_names:
                columns.append(table.column(f.name).cast(f.type))
            else:
                columns.append(pa.nulls(table.num_rows, f.type))
        batch = pa.Table.from_arrays(columns, schema=SEGMENT_SCHEMA)
        if self._writer is None:
            self._queue.root.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._partial, SEGMENT_SCHEMA, compression="zstd")
        self._writer.write_table(batch)
        self.rows += batch.num_rows
        return batch.num_rows

    def commit(self) -> Path | None:
        """Make the segment durable and visible; returns its path (None when nothing was queued)."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        final = self._queue.root / f"{self._queue._next_sequence():026d}-{self.run_id}.parquet"
        self.path = publish(self._partial, final)
        return final

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> "SegmentWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


class DrainPlan:
    """Which queued row of each case is current: the one in the newest segment holding that case.

    Built once per drain from the ``case_id`` columns of every segment; the
    segments themselves are then read batch by batch.
    """

    def __init__(self, segments: list[Path]) -> None:
        self.segments = list(segments)
        ids, positions = [], []
        for i, segment in enumerate(self.segments):
            column = pq.read_table(segment, columns=["case_id"]).column("case_id")
            ids.append(column)
            positions.append(pa.repeat(pa.scalar(i, pa.int32()), len(column)))
        if ids:
            every = pa.table({"case_id": pa.chunked_array([c for col in ids for c in col.chunks], pa.string()),
                              "segment": pa.chunked_array(positions, pa.int32())})
            newest = every.group_by("case_id").aggregate([("segment", "max")])
        else:
            newest = pa.table({"case_id": pa.array([], pa.string()), "segment_max": pa.array([], pa.int32())})
        self._ids = newest.column("case_id").combine_chunks()
        self._newest = newest.column("segment_max").combine_chunks()

    @property
    def cases(self) -> int:
        """Distinct cases in the queue."""
        return len(self._ids)

    def current_rows(self, segment: Path, batch_size: int) -> Iterator[tuple[pa.Table, int]]:
        """Batches of ``segment``'s rows that no newer segment supersedes, with how many rows were dropped."""
        position = self.segments.index(segment)
        ids = pq.read_table(segment, columns=["case_id"]).column("case_id")
        newest = pc.take(self._newest, pc.index_in(ids, value_set=self._ids))
        stale = pc.filter(ids, pc.not_equal(newest, position)).combine_chunks()  # in a newer segment too
        for batch in pq.ParquetFile(segment, pre_buffer=False).iter_batches(batch_size=batch_size):  # bounded
            table = pa.Table.from_batches([batch])
            current = table.filter(pc.invert(pc.is_in(table.column("case_id"), value_set=stale))) if len(stale) else table
            yield current, table.num_rows - current.num_rows


class LoadQueue:
    """The durable queue of loads waiting for the vector store, under ``<home>/load_queue``.

    Example:
        ```python
        queue = LoadQueue.under(home)
        with queue.open_segment(run_id) as segment:
            segment.add_upserts(objects)
            segment.commit()
        plan = queue.plan()
        for path in plan.segments:
            for rows, superseded in plan.current_rows(path, 1_000):
                ...  # write rows to the store, record lineage
            queue.remove(path)
        ```

    Writers and drains must not overlap: the pipeline lock serialises them
    (see ``flows.drain``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._last_sequence = 0

    @classmethod
    def under(cls, home: Path) -> "LoadQueue":
        return cls(Path(home) / QUEUE_FOLDER)

    def segments(self) -> list[Path]:
        """Committed segments, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if _SEGMENT.match(p.name))

    def is_empty(self) -> bool:
        return not self.segments()

    def size(self) -> QueueSize:
        """Segments and rows, from the Parquet footers (no data read)."""
        segments = self.segments()
        # a segment's sequence number is the wall clock (ns) when it was committed, or just above the last one
        age = (time.time_ns() - int(segments[0].name[:26])) / 3.6e12 if segments else None
        return QueueSize(len(segments), sum(pq.ParquetFile(p).metadata.num_rows for p in segments),
                         round(max(age, 0.0), 3) if age is not None else None)

    def iter_case_ids(self) -> Iterator[pa.Array]:
        """The ``case_id`` column of every segment, one array per segment (a case may repeat)."""
        for segment in self.segments():
            yield pq.read_table(segment, columns=["case_id"]).column("case_id").combine_chunks()

    def open_segment(self, run_id: str) -> SegmentWriter:
        return SegmentWriter(self, run_id)

    def plan(self) -> DrainPlan:
        return DrainPlan(self.segments())

    def remove(self, segment: Path) -> None:
        """Delete a drained segment, durably."""
        Path(segment).unlink(missing_ok=True)
        fsync_dir(self.root)

    def discard_partials(self) -> int:
        """Remove partial files a dead writer left; call only while holding the pipeline lock."""
        if not self.root.is_dir():
            return 0
        partials = [p for p in self.root.iterdir() if p.name.endswith(_PARTIAL_SUFFIX)]
        for p in partials:
            p.unlink(missing_ok=True)
        return len(partials)

    def _next_sequence(self) -> int:
        """Strictly greater than every committed segment's sequence (and than this process's last one)."""
        existing = [int(_SEGMENT.match(p.name).group(1)) for p in self.segments()]
        floor = max([self._last_sequence, *existing])
        self._last_sequence = max(time.time_ns(), floor + 1)
        return self._last_sequence
