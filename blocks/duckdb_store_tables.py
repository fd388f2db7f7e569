"""The DuckDB store's tables: their names, layout, creation and the check of an existing store.

Three tables per store table name ``t``: ``t`` (one row per case: ``id``,
the properties, the pointer ``segment``/``segment_row`` into the vector
segments), ``t_vectors`` (vector name -> dimensions) and ``t_segments``
(segment -> rows, live rows). ``ensure_schema`` creates them, converts a
store of the earlier layout (vectors as ``FLOAT[n]`` columns of ``t``) and
otherwise only checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import duckdb

from blocks.duckdb_layout import PROPERTY_SQL_TYPES
from blocks.errors import StoreSchemaMismatch
from blocks.vector_store import vector_column

__all__ = ["StoreTables", "IDENTIFIER", "quote"]

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VECTOR_PREFIX = vector_column("")
_ARRAY_TYPE = re.compile(r"^FLOAT\[(\d+)\]$")
#: the object's pointer into its vector segment
_POINTER_TYPES = {"segment": "VARCHAR", "segment_row": "INTEGER"}


def quote(identifier: str) -> str:
    """A plain identifier in double quotes; anything else is refused (names are never data)."""
    if not IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return f'"{identifier}"'


class StoreTables:
    """Schema side of ``DuckDBVectorStore`` (a mixin: it uses the store's connection and lock)."""

    @property
    def _qualified(self) -> str:
        return quote(self.table)

    @property
    def _vectors_table(self) -> str:
        return quote(f"{self.table}_vectors")

    @property
    def _segments_table(self) -> str:
        return quote(f"{self.table}_segments")

    def _existing_columns(self, cur: duckdb.DuckDBPyConnection, table: str | None = None) -> dict[str, str] | None:
        rows = cur.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE table_name = ? AND schema_name = current_schema() AND database_name = current_database() "
            "ORDER BY column_index",
            [table or self.table],
        ).fetchall()
        return dict(rows) if rows else None

    def _stored_sizes(self, cur: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
        """Sizes of the store's named vectors; None if its table does not exist (or has the earlier layout)."""
        if self._sizes is None:
            if self._existing_columns(cur, f"{self.table}_vectors") is None:
                return None
            rows = cur.execute(f"SELECT name, dimensions FROM {self._vectors_table} ORDER BY name").fetchall()
            self._sizes = {name: int(size) for name, size in rows}
        return self._sizes

    def ensure_schema(self, vector_sizes: Mapping[str, int | None]) -> None:
        """Create the tables if missing; otherwise check them and change nothing.

        Every property must exist with the expected type and every sized
        vector with its size. Vectors of the store that ``vector_sizes`` does
        not size are left alone (a run without a fallback embedder still loads
        its primary vectors). A table of the earlier layout, with its vectors
        in ``FLOAT[n]`` columns, is converted first (``_convert_inline_vectors``).
        """
        sizes = {}
        for name, size in vector_sizes.items():
            quote(vector_column(name))
            if size is not None and size < 0:
                raise ValueError(f"vector {name!r}: size must be positive, got {size}")
            if size:
                sizes[name] = int(size)
        expected = {"id": "UUID", **PROPERTY_SQL_TYPES, **_POINTER_TYPES}
        with self._write_lock, self._cursor() as cur:
            actual = self._existing_columns(cur)
            if actual is None:
                self._create(cur, sizes)
                return
            inline = {c: int(m.group(1)) for c, t in actual.items()
                      if c.startswith(_VECTOR_PREFIX) and (m := _ARRAY_TYPE.match(t))}
            if inline:
                self._convert_inline_vectors(cur, inline)
                actual = self._existing_columns(cur)
            stored = self._stored_sizes(cur) or {}
        differences = []
        for column in [*expected, *(c for c in actual if c not in expected)]:
            want, have = expected.get(column, "absent"), actual.get(column, "absent")
            if want != have:
                differences.append(f"column {column!r} expected {want}, actual {have}")
        for name, size in sizes.items():
            have = f"FLOAT[{stored[name]}]" if name in stored else "absent"
            if have != f"FLOAT[{size}]":
                differences.append(f"vector {name!r} expected FLOAT[{size}], actual {have}")
        if differences:
            raise StoreSchemaMismatch(
                f"table {self.table!r} in {self.path} differs from the requested schema: "
                + "; ".join(differences)
            )

    def _create(self, cur: duckdb.DuckDBPyConnection, sizes: Mapping[str, int]) -> None:
        with self._transaction(cur):
            self._create_tables(cur, sizes)
        self._sizes = None

    def _create_tables(self, cur: duckdb.DuckDBPyConnection, sizes: Mapping[str, int]) -> None:
        types = {"id": "UUID", **PROPERTY_SQL_TYPES, **_POINTER_TYPES}
        columns = ",\n  ".join(f"{quote(c)} {t}{' PRIMARY KEY' if c == 'id' else ''}" for c, t in types.items())
        cur.execute(f"CREATE TABLE {self._qualified} (\n  {columns}\n)")
        cur.execute(f"CREATE TABLE {self._vectors_table} (name VARCHAR PRIMARY KEY, dimensions INTEGER NOT NULL)")
        cur.execute(
            f"CREATE TABLE {self._segments_table} "
            "(segment VARCHAR PRIMARY KEY, rows INTEGER NOT NULL, live INTEGER NOT NULL)"
        )
        if sizes:
            cur.executemany(f"INSERT INTO {self._vectors_table} VALUES (?, ?)", list(sizes.items()))

    def _require_sizes(self, cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
        sizes = self._stored_sizes(cur)
        if sizes is None:
            raise StoreSchemaMismatch(
                f"table {self.table!r} does not exist in {self.path} (or has the earlier layout); "
                "call ensure_schema() first"
            )
        return sizes
