"""``DuckDBVectorStore``: the embedded default vector store, one DuckDB file.

One table, one row per case: ``id`` (uuid5 of the case id, primary key), one
column per property (``schemas.fields.FIELDS`` plus ``LINEAGE_PROPERTIES``)
and one ``FLOAT[n]`` column per named vector. Writes are set-based: an Arrow
object table is validated per object with Arrow/numpy, registered, and written
with one DELETE + INSERT in a transaction. Search is brute-force cosine
similarity (``array_cosine_similarity``), fine up to about a million objects.

Timestamps are stored as naive UTC (``TIMESTAMP``); zone-aware input is
converted. The connection is private to the block, opened lazily, and every
operation runs on its own cursor, so one block may serve several threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from pydantic import Field, PrivateAttr

from blocks.errors import StoreSchemaMismatch, StoreUnavailable
from blocks.duckdb_layout import PROPERTIES_SCHEMA, PROPERTY_SQL_TYPES, check_property_type, to_utc_naive
from blocks.object_checks import check_objects
from blocks.vector_store import SearchHit, UpsertResult, VectorStore, vector_column

__all__ = ["DuckDBVectorStore"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VECTOR_PREFIX = vector_column("")
_ARRAY_TYPE = re.compile(r"^FLOAT\[(\d+)\]$")
_ID_CHUNK = 50_000


def _quote(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return f'"{identifier}"'


class DuckDBVectorStore(VectorStore):
    """The embedded vector store: one table in a DuckDB file, brute-force cosine search.

    Example:
        ```python
        from blocks.duckdb_store import DuckDBVectorStore

        with DuckDBVectorStore.load("default") as store:
            store.ensure_schema({"primary": 3072, "fallback": 768})
            result = store.upsert(objects)
        ```
    """

    _block_type_name = "DuckDB Vector Store"
    _description = "Embedded vector store: one table in a local DuckDB file."

    path: str = Field(
        description="DuckDB database file, e.g. <home>/vectors.duckdb (':memory:' for a throwaway store).",
    )
    table: str = Field(
        default="case_vectorized",
        pattern=_IDENTIFIER.pattern,
        description="Table holding one row per case.",
    )

    compress_vectors: bool = Field(
        default=False,
        description=(
            "Let DuckDB try its float compressions on vector columns: about 12% smaller file, "
            "about 25% more CPU per load (embeddings barely compress)."
        ),
    )

    checkpoint_threshold: str = Field(
        default="256MB",
        pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$",
        description=(
            "Write-ahead-log size that triggers a checkpoint. DuckDB's 16MB default checkpoints "
            "after almost every batch of 3072-dim vectors and costs about 30% more CPU per load."
        ),
    )

    memory_limit: str = Field(
        default="512MB",
        pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B$",
        description=(
            "Memory cap for the store's DuckDB (it spills beyond). Without one DuckDB may take 80% of RAM: "
            "loading 100k cases alone peaked at 3.6 GB unbounded, 1.7 GB at 1GB and 1.2 GB at 512MB "
            "(about 11% slower than at 1GB)."
        ),
    )

    _conn: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _sizes: dict[str, int] | None = PrivateAttr(default=None)

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
                if not self.compress_vectors:
                    # Only the vector columns are floats; this setting lasts for the session.
                    conn.execute("SET disabled_compression_methods = 'alprd,alp,chimp,patas'")
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

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._sizes = None

    def is_healthy(self) -> bool:
        try:
            with self._cursor() as cur:
                cur.execute("SELECT 1").fetchall()
            return True
        except (duckdb.Error, StoreUnavailable):
            return False

    # -- schema ----------------------------------------------------------------

    @property
    def _qualified(self) -> str:
        return _quote(self.table)

    def _existing_columns(self, cur: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
        rows = cur.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE table_name = ? AND schema_name = current_schema() AND database_name = current_database() "
            "ORDER BY column_index",
            [self.table],
        ).fetchall()
        return dict(rows) if rows else None

    def _stored_sizes(self, cur: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
        """Sizes of the vector columns of the existing table; None if it does not exist."""
        if self._sizes is None:
            columns = self._existing_columns(cur)
            if columns is None:
                return None
            self._sizes = {
                name[len(_VECTOR_PREFIX) :]: int(m.group(1))
                for name, sql_type in columns.items()
                if name.startswith(_VECTOR_PREFIX) and (m := _ARRAY_TYPE.match(sql_type))
            }
        return self._sizes

    def ensure_schema(self, vector_sizes: Mapping[str, int | None]) -> None:
        """Create the table if missing; otherwise check it and change nothing.

        Every property and every sized vector must exist with the expected type.
        Vector columns of the table that ``vector_sizes`` does not size are left
        alone (a run without a fallback embedder still loads its primary vectors).
        """
        sizes = {}
        for name, size in vector_sizes.items():
            _quote(vector_column(name))
            if size is not None and size < 0:
                raise ValueError(f"vector {name!r}: size must be positive, got {size}")
            if size:
                sizes[name] = int(size)
        expected = {"id": "UUID", **PROPERTY_SQL_TYPES}
        expected |= {vector_column(n): f"FLOAT[{s}]" for n, s in sizes.items()}
        with self._cursor() as cur:
            actual = self._existing_columns(cur)
            if actual is None:
                columns = ",\n  ".join(
                    f"{_quote(c)} {t}{' PRIMARY KEY' if c == 'id' else ''}" for c, t in expected.items()
                )
                cur.execute(f"CREATE TABLE IF NOT EXISTS {self._qualified} (\n  {columns}\n)")
            self._sizes = None
        if actual is None:
            return
        differences = []
        extra = [c for c in actual if c not in expected and not c.startswith(_VECTOR_PREFIX)]
        for column in [*expected, *extra]:
            want, have = expected.get(column, "absent"), actual.get(column, "absent")
            if want != have:
                what = (
                    f"vector {column[len(_VECTOR_PREFIX):]!r}"
                    if column.startswith(_VECTOR_PREFIX)
                    else f"column {column!r}"
                )
                differences.append(f"{what} expected {want}, actual {have}")
        if differences:
            raise StoreSchemaMismatch(
                f"table {self.table!r} in {self.path} differs from the requested schema: "
                + "; ".join(differences)
            )

    def _require_sizes(self, cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        sizes = self._stored_sizes(cur)
        if sizes is None:
            raise StoreSchemaMismatch(
                f"table {self.table!r} does not exist in {self.path}; call ensure_schema() first"
            )
        return sizes

    # -- writes ----------------------------------------------------------------

    def upsert(self, objects: pa.Table) -> UpsertResult:
        """Validate per object, then replace every valid object (delete + insert, one transaction).

        Raises ``TypeError``/``ValueError`` for a malformed table (unknown column,
        wrong column type) and ``StoreSchemaMismatch`` if the table does not exist.
        """
        with self._cursor() as cur:
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
                cur.register("_objects", self._insert_table(good, sizes))
                cur.begin()
                try:
                    # Delete + insert, not INSERT OR REPLACE: that keeps the old value
                    # of every column the batch leaves out, so it is no whole-object replacement.
                    cur.execute(
                        f"DELETE FROM {self._qualified} "
                        "WHERE id IN (SELECT CAST(id AS UUID) FROM _objects)"
                    )
                    cur.execute(
                        f"INSERT INTO {self._qualified} BY NAME "
                        "SELECT * REPLACE (CAST(id AS UUID) AS id) FROM _objects"
                    )
                    cur.commit()
                except BaseException:
                    cur.rollback()
                    raise
                finally:
                    cur.unregister("_objects")
            return result

    def _insert_table(self, good: pa.Table, sizes: Mapping[str, int]) -> pa.Table:
        """The rows to write, in store types; columns absent or all null are left out (stored as NULL)."""
        columns, names = [good.column("id").combine_chunks().cast(pa.string())], ["id"]
        for prop in PROPERTY_SQL_TYPES:
            if prop in good.column_names and good.column(prop).null_count < good.num_rows:
                columns.append(to_utc_naive(good.column(prop).combine_chunks()))
                names.append(prop)
        for name, size in sizes.items():
            column_name = vector_column(name)
            if column_name in good.column_names and good.column(column_name).null_count < good.num_rows:
                column = good.column(column_name).combine_chunks()
                if not pa.types.is_float32(column.type.value_type):
                    column = column.cast(pa.list_(pa.float32()))
                columns.append(column.cast(pa.list_(pa.float32(), size)))
                names.append(column_name)
        return pa.table(columns, names=names)

    def delete(self, case_ids: Sequence[str]) -> int:
        """Delete in chunks of ids, all in one transaction; returns how many objects existed."""
        with self._cursor() as cur:
            if self._stored_sizes(cur) is None or not case_ids:
                return 0
            deleted = 0
            cur.begin()
            try:
                for chunk in _id_chunks(case_ids):
                    cur.register("_ids", chunk)
                    deleted += cur.execute(
                        f"DELETE FROM {self._qualified} WHERE case_id IN (SELECT case_id FROM _ids)"
                    ).fetchall()[0][0]
                    cur.unregister("_ids")
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            return deleted

    # -- reads -----------------------------------------------------------------

    def count(self) -> int:
        with self._cursor() as cur:
            if self._stored_sizes(cur) is None:
                return 0
            return cur.execute(f"SELECT count(*) FROM {self._qualified}").fetchall()[0][0]

    def fetch(self, case_ids: Sequence[str]) -> pa.Table:
        """Properties of the stored objects among ``case_ids``, ordered by case id."""
        columns = ", ".join(_quote(p) for p in PROPERTY_SQL_TYPES)
        return self._select_by_ids(f"SELECT {columns} FROM {{table}}", case_ids, PROPERTIES_SCHEMA)

    def vector_lengths(self, case_ids: Sequence[str]) -> pa.Table:
        """``case_id`` plus one int32 column ``vector_<name>`` per named vector (null when absent)."""
        with self._cursor() as cur:
            sizes = self._stored_sizes(cur) or {}
        lengths = "".join(
            f", CAST(len({_quote(vector_column(n))}) AS INTEGER) AS {_quote(vector_column(n))}" for n in sizes
        )
        schema = pa.schema([("case_id", pa.string())] + [(vector_column(n), pa.int32()) for n in sizes])
        return self._select_by_ids(f"SELECT case_id{lengths} FROM {{table}}", case_ids, schema)

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
        """Top ``k`` by cosine similarity among the objects that have ``target_vector``."""
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
            column = _quote(vector_column(target_vector))
            properties = ", ".join(_quote(p) for p in PROPERTY_SQL_TYPES)
            # One top-N query: DuckDB fetches the properties of the k winners only.
            rows = cur.sql(
                f"SELECT array_cosine_similarity({column}, CAST($q AS FLOAT[{size}])) AS score, {properties} "
                f"FROM {self._qualified} WHERE {column} IS NOT NULL ORDER BY score DESC, case_id LIMIT $k",
                params={"q": query.tolist(), "k": int(k)},
            ).to_arrow_table().to_pylist()
        return [SearchHit(case_id=r["case_id"], score=float(r.pop("score")), properties=r) for r in rows]


def _id_chunks(case_ids: Sequence[str]) -> Iterator[pa.Table]:
    ids = list(dict.fromkeys(case_ids))
    for start in range(0, len(ids), _ID_CHUNK):
        yield pa.table({"case_id": pa.array(ids[start : start + _ID_CHUNK], pa.string())})
