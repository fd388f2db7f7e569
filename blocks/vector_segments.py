"""The DuckDB store's vectors: append-only Arrow files beside the database, one per write.

Why not in the DuckDB table: DuckDB appends a ``FLOAT[3072]`` row at 4-5k
rows/s on these 2-core machines whatever the transaction size (100k rows in
20-30 s, measured in isolation, its own conversion alone at 17k rows/s),
which held the whole load stage near 1,500 cases/s. An uncompressed Arrow IPC
file takes the same vectors at disk speed and is read back memory-mapped,
without a copy, for search and checks.

Layout: ``<root>/<segment>.arrow``, one file per upsert batch, holding
``case_id`` and one ``fixed_size_list<float32>[n]`` column per named vector
(null where the object has no such vector). The store's table points each
object at its ``(segment, row)``. A segment is written to a ``.partial`` file,
fsynced and renamed before the table row that points at it commits, so a
committed object always has its vectors on disk; a crash in between leaves
an unreferenced file, which ``sweep`` removes later. Rows replaced or
deleted stay in their file until compaction rewrites the live rows of sparse
or small segments into new ones (see ``DuckDBVectorStore``).
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa

from blocks.durable_files import fsync_dir, publish
from blocks.errors import StoreDamaged

__all__ = ["VectorSegments", "by_segment", "vector_type"]

_SUFFIX = ".arrow"
_PARTIAL = ".partial"


def vector_type(size: int) -> pa.DataType:
    """Arrow type of a named vector of ``size`` dimensions in a segment."""
    return pa.list_(pa.float32(), size)


class VectorSegments:
    """The segment files of one store table, in folder ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, segment: str) -> Path:
        return self.root / f"{segment}{_SUFFIX}"

    def write(self, case_ids: pa.Array, vectors: Mapping[str, pa.Array]) -> str:
        """Write one segment durably (rows in the given order); returns its name.

        ``vectors``: column name (``vector_<name>``) -> ``fixed_size_list<float32>``
        array aligned with ``case_ids``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        segment = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        table = pa.table({"case_id": case_ids, **vectors})
        partial = self.root / f".{segment}{_PARTIAL}"
        try:
            with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            publish(partial, self.path(segment))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return segment

    def open(self, segment: str) -> pa.Table:
        """A segment, memory-mapped (nothing is read until used)."""
        path = self.path(segment)
        try:
            return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        except (FileNotFoundError, pa.ArrowInvalid) as exc:
            raise StoreDamaged(
                f"vector segment {path} is missing or unreadable ({type(exc).__name__}); "
                "the objects that point at it have lost their vectors: run `reconcile --deep` to reload them"
            ) from exc

    def remove(self, segments: Iterable[str]) -> None:
        removed = False
        for segment in segments:
            self.path(segment).unlink(missing_ok=True)
            removed = True
        if removed:
            fsync_dir(self.root)

    def sweep(self, referenced: set[str], older_than_s: float = 3600.0) -> int:
        """Remove files no table row points at (left by a crash), once older than ``older_than_s``.

        The age guard leaves alone a segment another writer has published but
        not yet committed. Returns how many files were removed.
        """
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.root.iterdir():
            name = path.name
            orphan = (name.endswith(_PARTIAL) or (name.endswith(_SUFFIX) and name[: -len(_SUFFIX)] not in referenced))
            if orphan and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def nearest(self, pointers: pa.Table, column: str, query: np.ndarray, k: int) -> list[tuple[float, int]]:
        """The ``k`` best ``(cosine similarity, pointer row)`` among ``pointers``, best first.

        ``pointers`` has ``segment`` and ``segment_row`` (one row per
        candidate object); objects without the vector are skipped. Memory is
        bounded by the largest segment: one file is scored at a time.
        """
        q = np.asarray(query, dtype=np.float32).ravel()
        q = q / np.linalg.norm(q)
        best: list[tuple[float, int]] = []  # min-heap of the k best so far
        for segment, idx, rows in by_segment(pointers):
            matrix, valid = self._matrix(segment, column)
            if matrix is None:
                continue
            keep = valid[rows]
            idx, rows = idx[keep], rows[keep]
            if not len(rows):
                continue
            whole = len(rows) == len(matrix) and bool((rows == np.arange(len(rows))).all())
            sub = matrix if whole else matrix[rows]  # the usual case scores the mapped file without a copy
            scores = (sub @ q) / np.linalg.norm(sub, axis=1)
            top = np.argsort(-scores, kind="stable")[:k]
            for i in top:
                item = (float(scores[i]), -int(idx[i]))  # on equal scores the earlier pointer wins
                if len(best) < k:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
        return [(score, -neg) for score, neg in sorted(best, reverse=True)]

    def lengths(self, pointers: pa.Table, columns: Iterable[str]) -> dict[str, np.ndarray]:
        """Per vector column, the stored length for each pointer row (-1: absent or no segment)."""
        columns = list(columns)
        out = {c: np.full(pointers.num_rows, -1, dtype=np.int64) for c in columns}
        for segment, idx, rows in by_segment(pointers):
            table = self.open(segment)
            for c in columns:
                if c in table.column_names:
                    col = table.column(c)
                    valid = col.is_valid().to_numpy(zero_copy_only=False)[rows]
                    out[c][idx[valid]] = col.type.list_size
        return out

    def take(self, segment: str, rows: np.ndarray, sizes: Mapping[str, int]) -> dict[str, pa.Array]:
        """Rows of a segment: ``case_id`` and a column per sized vector (all null where the segment lacks it)."""
        table = self.open(segment)
        picked = pa.array(rows, pa.int64())
        out = {"case_id": table.column("case_id").take(picked).combine_chunks()}
        for column, size in sizes.items():
            if column in table.column_names:
                out[column] = table.column(column).take(picked).combine_chunks()
            else:
                out[column] = pa.nulls(len(rows), vector_type(size))
        return out

    def _matrix(self, segment: str, column: str) -> tuple[np.ndarray | None, np.ndarray]:
        table = self.open(segment)
        if column not in table.column_names:
            return None, np.zeros(0, dtype=bool)
        col = table.column(column).combine_chunks()
        size = col.type.list_size
        values = col.values.slice(col.offset * size, len(col) * size)
        matrix = values.to_numpy(zero_copy_only=False).reshape(-1, size)
        return matrix, col.is_valid().to_numpy(zero_copy_only=False)


def by_segment(pointers: pa.Table):
    """``(segment, pointer row indices, segment rows)`` for each segment among ``pointers``.

    ``pointers`` has ``segment`` (null: no vectors) and ``segment_row``;
    within a segment the pointer rows keep their order.
    """
    segments = pointers.column("segment").to_numpy(zero_copy_only=False)
    rows = pointers.column("segment_row").to_numpy(zero_copy_only=False)
    present = np.array([s is not None for s in segments], dtype=bool)
    if not present.any():
        return
    idx = np.flatnonzero(present)
    names = segments[idx].astype(str)
    order = np.argsort(names, kind="stable")
    idx, names = idx[order], names[order]
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    ends = np.r_[starts[1:], len(names)]
    for start, end in zip(starts, ends):
        chunk = idx[start:end]
        yield str(names[start]), chunk, rows[chunk].astype(np.int64)
