"""``DuckDBVectorStore``: the embedded default vector store, a DuckDB file and its vector segments.

One table, one row per case: ``id`` (uuid5 of the case id, primary key), one
column per property (``schemas.fields.FIELDS`` plus ``LINEAGE_PROPERTIES``)
and a pointer (``segment``, ``segment_row``) to the object's named vectors,
which live in append-only Arrow files beside the database
(``blocks.vector_segments``: DuckDB's own ``FLOAT[3072]`` appends held the
load stage at about 1,500 cases/s). Two small tables keep the vector sizes
(``<table>_vectors``) and each segment's row and live-row counts
(``<table>_segments``).

Writes are set-based: an Arrow object table is validated per object with
Arrow/numpy, its vectors written as one durable segment, and its properties
with one DELETE + INSERT in a transaction that also records the segment.
Replaced and deleted rows stay in their segment until it is compacted: a
segment less than half live, or one of many small ones, has its live rows
rewritten into new segments after a write (``compact``). Search is
brute-force cosine similarity over the segments, one file at a time, fine up
to about a million objects. A store written by the earlier layout (vectors
as ``FLOAT[n]`` columns of the table) is converted by ``ensure_schema``.

Timestamps are stored as naive UTC (``TIMESTAMP``); zone-aware input is
converted. The connection is private to the block, opened lazily, and every
operation runs on its own cursor, so one block may serve several threads.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, PrivateAttr

from blocks.duckdb_layout import PROPERTIES_SCHEMA, PROPERTY_SQL_TYPES, check_property_type, to_utc_naive
from blocks.duckdb_segment_rewrites import SegmentRewrites, pointers_into
from blocks.duckdb_store_tables import IDENTIFIER, StoreTables, quote
from blocks.errors import StoreUnavailable
from blocks.object_checks import check_objects
from blocks.vector_segments import VectorSegments, vector_type
from blocks.vector_store import SearchHit, UpsertResult, VectorStore, vector_column

__all__ = ["DuckDBVectorStore"]

_ID_CHUNK = 50_000


class DuckDBVectorStore(StoreTables, SegmentRewrites, VectorStore):
    """The embedded vector store: a table in a DuckDB file, vectors in segment files beside it.

    Example:
        ```python
        from blocks.duckdb_store import DuckDBVectorStore

        with DuckDBVectorStore.load("default") as store:
            store.ensure_schema({"primary": 3072, "fallback": 768})
            result = store.upsert(objects)
        ```
    """

    _block_type_name = "DuckDB Vector Store"
    _description = "Embedded vector store: a table in a local DuckDB file, vectors in Arrow files beside it."

    path: str = Field(
        description=(
            "DuckDB database file, e.g. <home>/vectors.duckdb (':memory:' for a throwaway store). "
            "The vectors are kept in the folder <path>.vectors/."
        ),
    )
    table: str = Field(
        default="case_vectorized",
        pattern=IDENTIFIER.pattern,
        description="Table holding one row per case.",
    )

    checkpoint_threshold: str = Field(
        default="256MB",
        pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$",
        description="Write-ahead-log size that triggers a DuckDB checkpoint (DuckDB's default is 16MB).",
    )

    memory_limit: str = Field(
        default="512MB",
        pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$",
        description=(
            "Memory cap for the store's DuckDB (it spills beyond). Without one DuckDB may take 80% of RAM."
        ),
    )

    _conn: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _write_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _sizes: dict[str, int] | None = PrivateAttr(default=None)
    _segments: VectorSegments | None = PrivateAttr(default=None)
    _scratch: Any = PrivateAttr(default=None)  # TemporaryDirectory of a ':memory:' store's segments

    # -- connection ------------------------------------------------------------

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._conn is None:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    conn = duckdb.connect(self.path)
                except duckdb.IOException as exc:
                    raise StoreUnavailable(f"cannot open DuckDB file {self.path}: {exc}") from exc
                conn.execute(f"SET checkpoint_threshold = '{self.checkpoint_threshold}'")
                conn.execute(f"SET memory_limit = '{self.memory_limit}'")  # validated by the field pattern
                if self.path == ":memory:":
                    self._scratch = tempfile.TemporaryDirectory(prefix="duckdb-store-vectors-")
                    root = Path(self._scratch.name)
                else:
                    root = Path(self.path + ".vectors")
                self._segments = VectorSegments(root / self.table)
                self._conn = conn
            return self._conn

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own per operation: thread-safe, private registrations."""
        cursor = self._connection().cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    @contextmanager
    def _transaction(self, cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
        cur.begin()
        try:
            yield
            cur.commit()
        except BaseException:
            try:
                cur.rollback()
            except duckdb.Error:  # a failed commit has already rolled back
                pass
            raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._sizes = None
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None

    def is_healthy(self) -> bool:
        try:
            with self._cursor() as cur:
                cur.execute("SELECT 1").fetchall()
            return True
        except (duckdb.Error, StoreUnavailable):
            return False

    # -- writes ----------------------------------------------------------------

    def upsert(self, objects: pa.Table) -> UpsertResult:
        """Validate per object, then replace every valid object (segment, then delete + insert in one transaction).

        Raises ``TypeError``/``ValueError`` for a malformed table (unknown column,
        wrong column type) and ``StoreSchemaMismatch`` if the table does not exist.
        """
        with self._write_lock, self._cursor() as cur:
            sizes = self._require_sizes(cur)
            if objects.num_rows == 0:
                return UpsertResult()
            objects = objects.combine_chunks()
            checked = check_objects(
                objects, sizes, PROPERTY_SQL_TYPES, f"table {self.table!r}", check_property_type)
            keep = np.zeros(objects.num_rows, dtype=bool)
            keep[list(checked.rows.values())] = True
            result = checked.result
            result.succeeded.extend(checked.rows)
            good = objects if keep.all() else objects.filter(pa.array(keep))
            if good.num_rows:
                self._write(cur, good, sizes)
                self._compact_if_due(cur, sizes)
            return result

    def _write(self, cur: duckdb.DuckDBPyConnection, good: pa.Table, sizes: Mapping[str, int]) -> None:
        vectors = {}
        for name, size in sizes.items():
            column_name = vector_column(name)
            if column_name in good.column_names and good.column(column_name).null_count < good.num_rows:
                column = good.column(column_name).combine_chunks()
                if not pa.types.is_float32(column.type.value_type):
                    column = column.cast(pa.list_(pa.float32()))
                vectors[column_name] = column.cast(vector_type(size))
        segment = self._segments.write(good.column("case_id"), vectors) if vectors else None
        rows = self._property_table(good)
        if segment is not None:
            pointers = pointers_into(good.column("id"), segment)
            for name in ("segment", "segment_row"):
                rows = rows.append_column(name, pointers.column(name))
        cur.register("_objects", rows)
        try:
            with self._transaction(cur):
                # Delete + insert, not INSERT OR REPLACE: that keeps the old value
                # of every column the batch leaves out, so it is no whole-object replacement.
                self._release_rows(cur, "id IN (SELECT CAST(id AS UUID) FROM _objects)")
                cur.execute(
                    f"INSERT INTO {self._qualified} BY NAME "
                    "SELECT * REPLACE (CAST(id AS UUID) AS id) FROM _objects"
                )
                if segment is not None:
                    cur.execute(f"INSERT INTO {self._segments_table} VALUES (?, ?, ?)",
                                [segment, good.num_rows, good.num_rows])
        except BaseException:
            if segment is not None:
                self._segments.remove([segment])
            raise
        finally:
            cur.unregister("_objects")

    def _release_rows(self, cur: duckdb.DuckDBPyConnection, where: str) -> int:
        """Delete the rows ``where`` selects; their segments count them no longer live. Returns how many."""
        cur.execute(
            f"UPDATE {self._segments_table} s SET live = s.live - d.n FROM ("
            f"SELECT segment, count(*) AS n FROM {self._qualified} WHERE {where} AND segment IS NOT NULL "
            "GROUP BY segment) d WHERE s.segment = d.segment"
        )
        return cur.execute(f"DELETE FROM {self._qualified} WHERE {where}").fetchall()[0][0]

    @staticmethod
    def _property_table(good: pa.Table) -> pa.Table:
        """The properties to write, in store types; columns absent or all null are left out (stored as NULL)."""
        columns, names = [good.column("id").combine_chunks().cast(pa.string())], ["id"]
        for prop in PROPERTY_SQL_TYPES:
            if prop in good.column_names and good.column(prop).null_count < good.num_rows:
                columns.append(to_utc_naive(good.column(prop).combine_chunks()))
                names.append(prop)
        return pa.table(columns, names=names)

    def delete(self, case_ids: Sequence[str]) -> int:
        """Delete in chunks of ids, all in one transaction; returns how many objects existed."""
        with self._write_lock, self._cursor() as cur:
            sizes = self._stored_sizes(cur)
            if sizes is None or not case_ids:
                return 0
            deleted = 0
            with self._transaction(cur):
                for chunk in _id_chunks(case_ids):
                    cur.register("_ids", chunk)
                    deleted += self._release_rows(cur, "case_id IN (SELECT case_id FROM _ids)")
                    cur.unregister("_ids")
            if deleted:
                self._compact_if_due(cur, sizes)
            return deleted

    # -- reads -----------------------------------------------------------------

    def count(self) -> int:
        with self._cursor() as cur:
            if self._stored_sizes(cur) is None:
                return 0
            return cur.execute(f"SELECT count(*) FROM {self._qualified}").fetchall()[0][0]

    def fetch(self, case_ids: Sequence[str]) -> pa.Table:
        """Properties of the stored objects among ``case_ids``, ordered by case id."""
        columns = ", ".join(quote(p) for p in PROPERTY_SQL_TYPES)
        return self._select_by_ids(f"SELECT {columns} FROM {{table}}", case_ids, PROPERTIES_SCHEMA)

    def vector_lengths(self, case_ids: Sequence[str]) -> pa.Table:
        """``case_id`` plus one int32 column ``vector_<name>`` per named vector (null when absent).

        Lengths are read from the segment files themselves, so an object
        whose segment is gone shows as missing its vectors.
        """
        with self._cursor() as cur:
            sizes = self._stored_sizes(cur) or {}
        schema = pa.schema([("case_id", pa.string())] + [(vector_column(n), pa.int32()) for n in sizes])
        pointers = self._select_by_ids(
            "SELECT case_id, segment, segment_row FROM {table}", case_ids,
            pa.schema([("case_id", pa.string()), ("segment", pa.string()), ("segment_row", pa.int32())]))
        lengths = self._segments.lengths(pointers, [vector_column(n) for n in sizes]) if sizes else {}
        columns = [pointers.column("case_id")]
        for n in sizes:
            values = lengths[vector_column(n)]
            columns.append(pa.array(values, pa.int32(), mask=values < 0))
        return pa.table(columns, schema=schema)

    def _select_by_ids(self, select: str, case_ids: Sequence[str], schema: pa.Schema) -> pa.Table:
        with self._cursor() as cur:
            if self._stored_sizes(cur) is None:
                return schema.empty_table()
            parts = []
            for chunk in _id_chunks(case_ids):
                cur.register("_ids", chunk)
                sql = select.format(table=self._qualified) + " WHERE case_id IN (SELECT case_id FROM _ids)"
                parts.append(cur.sql(sql).to_arrow_table())
                cur.unregister("_ids")
        if not parts:
            return schema.empty_table()
        return pa.concat_tables(parts).cast(schema).sort_by("case_id")

    def iter_checksums(self, batch_size: int = 10_000) -> Iterator[pa.RecordBatch]:
        """Stream ``case_id``, ``checksum`` in batches of at most ``batch_size`` rows (no order)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        with self._cursor() as cur:
            if self._stored_sizes(cur) is None:
                return
            reader = cur.sql(f"SELECT case_id, checksum FROM {self._qualified}").to_arrow_reader(batch_size)
            for batch in reader:
                if batch.num_rows:
                    yield batch

    def search(self, vector: np.ndarray, target_vector: str, k: int = 10) -> list[SearchHit]:
        """Top ``k`` by cosine similarity among the objects that have ``target_vector``; ties by case id."""
        with self._cursor() as cur:
            sizes = self._require_sizes(cur)
            if target_vector not in sizes:
                raise ValueError(
                    f"table {self.table!r} has no vector {target_vector!r} (vectors: {sorted(sizes)})"
                )
            size = sizes[target_vector]
            query = np.asarray(vector, dtype=np.float32).ravel()
            if query.shape != (size,):
                raise ValueError(f"query vector for {target_vector!r}: expected length {size}, got {query.shape[0]}")
            if not np.isfinite(query).all() or not query.any():
                raise ValueError(f"query vector for {target_vector!r} must be finite and not all zeros")
            if k < 1:
                return []
            # ordered by case id, so the earlier pointer of two equal scores is the smaller case id
            pointers = cur.sql(
                f"SELECT case_id, segment, segment_row FROM {self._qualified} "
                "WHERE segment IS NOT NULL ORDER BY case_id"
            ).to_arrow_table()
            best = self._segments.nearest(pointers, vector_column(target_vector), query, k)
            if not best:
                return []
            winners = pc.take(pointers.column("case_id"), pa.array([i for _, i in best])).to_pylist()
        properties = {r["case_id"]: r for r in self.fetch(winners).to_pylist()}
        return [SearchHit(case_id=c, score=score, properties=properties[c])
                for (score, _), c in zip(best, winners) if c in properties]


def _id_chunks(case_ids: Sequence[str]) -> Iterator[pa.Table]:
    ids = list(dict.fromkeys(case_ids))
    for start in range(0, len(ids), _ID_CHUNK):
        yield pa.table({"case_id": pa.array(ids[start : start + _ID_CHUNK], pa.string())})

