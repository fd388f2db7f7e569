"""Rewriting the DuckDB store's vector segments: compaction, and conversion of the earlier layout.

Both do the same thing to a set of objects: write their vectors into new
segments, then, in one transaction, point the objects at them and record the
new segments (``_rewrite``). The segments are durable before the transaction
starts; if anything fails before it commits they are removed again and the
table is untouched. Files the transaction retired are removed after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import duckdb
import numpy as np
import pyarrow as pa

from blocks.duckdb_layout import PROPERTY_SQL_TYPES
from blocks.duckdb_store_tables import quote
from blocks.vector_segments import by_segment, vector_type
from blocks.vector_store import vector_column

__all__ = ["SegmentRewrites", "pointers_into"]

#: a segment below this many rows is small; this many small ones are merged; rewrites write segments this big
SMALL_SEGMENT_ROWS = 10_000
MAX_SMALL_SEGMENTS = 256

#: one rewritten chunk: object ids, their case ids, their vector columns (``vector_<name>`` -> array)
_Piece = tuple[pa.Array, pa.Array, dict[str, pa.Array]]


def pointers_into(ids: pa.Array, segment: str) -> pa.Table:
    """``id``, ``segment``, ``segment_row`` for rows written in order into ``segment``."""
    n = len(ids)
    return pa.table({
        "id": ids,
        "segment": pa.repeat(pa.scalar(segment, pa.string()), n),
        "segment_row": pa.array(np.arange(n, dtype=np.int32)),
    })


class SegmentRewrites:
    """Compaction and layout conversion of ``DuckDBVectorStore`` (a mixin: it uses the store's tables)."""

    def compact(self, force: bool = False) -> int:
        """Rewrite sparse or small segments now (``force``: every segment); returns how many were retired."""
        with self._write_lock, self._cursor() as cur:
            sizes = self._stored_sizes(cur)
            if sizes is None:
                return 0
            return self._compact_if_due(cur, sizes, force=force)

    def _compact_if_due(self, cur: duckdb.DuckDBPyConnection, sizes: Mapping[str, int], force: bool = False) -> int:
        """Retire segments less than half live, and the small ones once there are many.

        Live rows of the retired segments are copied into new segments of up
        to ``SMALL_SEGMENT_ROWS`` rows and their pointers moved; files left by
        a crash are swept afterwards.
        """
        stats = cur.execute(f"SELECT segment, rows, live FROM {self._segments_table}").fetchall()
        sparse = [seg for seg, rows, live in stats if force or live * 2 < rows]
        small = [seg for seg, rows, live in stats if rows < SMALL_SEGMENT_ROWS and live * 2 >= rows]
        retire = sparse + (small if len(small) >= MAX_SMALL_SEGMENTS else [])
        if not retire:
            return 0
        pointers = cur.sql(
            f"SELECT CAST(id AS VARCHAR) AS id, segment, segment_row FROM {self._qualified} "
            "WHERE list_contains($retire, segment) ORDER BY segment, segment_row",
            params={"retire": retire},
        ).to_arrow_table()
        columns = {vector_column(n): s for n, s in sizes.items()}

        def pieces() -> Iterator[_Piece]:
            for start in range(0, pointers.num_rows, SMALL_SEGMENT_ROWS):
                chunk = pointers.slice(start, SMALL_SEGMENT_ROWS)
                order, parts = [], []
                for segment, idx, rows in by_segment(chunk):
                    order.append(idx)
                    parts.append(self._segments.take(segment, rows, columns))
                vectors = {c: pa.concat_arrays([p[c] for p in parts]) for c in ["case_id", *columns]}
                case_ids = vectors.pop("case_id")
                ids = chunk.column("id").take(pa.array(np.concatenate(order)))
                yield ids, case_ids, {c: v for c, v in vectors.items() if v.null_count < len(v)}  # all-null: left out

        def repoint(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute(
                f"UPDATE {self._qualified} t SET segment = m.segment, segment_row = m.segment_row "
                "FROM _moves m WHERE t.id = CAST(m.id AS UUID)"
            )
            cur.execute(f"DELETE FROM {self._segments_table} WHERE list_contains($retire, segment)",
                        {"retire": retire})

        self._rewrite(cur, pieces(), repoint)
        self._segments.remove(retire)
        referenced = {r[0] for r in cur.execute(f"SELECT segment FROM {self._segments_table}").fetchall()}
        self._segments.sweep(referenced)
        return len(retire)

    def _convert_inline_vectors(self, cur: duckdb.DuckDBPyConnection, inline: Mapping[str, int]) -> None:
        """Move the ``FLOAT[n]`` vector columns ``inline`` (column -> size) of an earlier-layout table into segments.

        The table is rebuilt in the new layout under its own name, in the
        transaction that records the segments.
        """
        old = quote(f"{self.table}_inline")
        vector_columns = ", ".join(quote(c) for c in inline)
        reader = cur.sql(
            f"SELECT CAST(id AS VARCHAR) AS id, case_id, {vector_columns} FROM {self._qualified} ORDER BY id"
        ).to_arrow_reader(SMALL_SEGMENT_ROWS)

        def pieces() -> Iterator[_Piece]:
            for batch in reader:
                if batch.num_rows:
                    yield (batch.column("id"), batch.column("case_id"),
                           {c: batch.column(c).cast(vector_type(size)) for c, size in inline.items()})

        def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
            copied = ", ".join(f"o.{quote(p)}" for p in PROPERTY_SQL_TYPES)
            cur.execute(f"ALTER TABLE {self._qualified} RENAME TO {old}")
            self._create_tables(cur, {c[len(vector_column("")):]: size for c, size in inline.items()})
            cur.execute(
                f"INSERT INTO {self._qualified} SELECT o.id, {copied}, m.segment, m.segment_row "
                f"FROM {old} o LEFT JOIN _moves m ON o.id = CAST(m.id AS UUID)"
            )
            cur.execute(f"DROP TABLE {old}")

        self._rewrite(cur, pieces(), rebuild)
        self._sizes = None

    def _rewrite(self, cur: duckdb.DuckDBPyConnection, pieces: Iterator[_Piece],
                 repoint: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        """Write one segment per piece, then ``repoint`` (reading ``_moves``) and record them, in one transaction."""
        moves, written = [], []
        try:
            for ids, case_ids, vectors in pieces:
                segment = self._segments.write(case_ids, vectors)
                written.append((segment, len(ids), len(ids)))
                moves.append(pointers_into(ids, segment))
            cur.register("_moves", pa.concat_tables(moves) if moves else pointers_into(pa.array([], pa.string()), ""))
            try:
                with self._transaction(cur):
                    repoint(cur)
                    if written:
                        cur.executemany(f"INSERT INTO {self._segments_table} VALUES (?, ?, ?)", written)
            finally:
                cur.unregister("_moves")
        except BaseException:
            self._segments.remove(seg for seg, _, _ in written)
            raise
