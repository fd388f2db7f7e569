"""Chunked Parquet output: one writer per table, one row group per chunk.

Memory stays bounded by one chunk: rows are turned into an Arrow table,
written as a single row group and dropped. A table's writer rolls over to a
new part file every ``chunks_per_file`` chunks (``part-00000.parquet``,
``part-00001.parquet``, ...). Every table gets at least one part file, with
its full schema, even when no chunk had rows for it.

Types follow ``schemas.staging``: VARCHAR -> string, TIMESTAMP ->
``timestamp[us]`` (naive, UTC), BOOLEAN -> bool.
"""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from generator.marks import KEEP_COLUMNS, PII_COLUMNS, RECORD_COLUMNS
from generator.rows import COLUMNS, EXTRA_COLUMNS
from schemas.staging import TABLES

__all__ = ["SCHEMAS", "PartWriter", "key_table", "to_table"]

_ARROW = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}
_EXTRA_TYPES = {"SystemModstamp": pa.timestamp("us")}


def _staging_schema(table: str) -> pa.Schema:
    spec = TABLES[table]
    fields = [pa.field(c.name, _ARROW[c.sql_type]) for c in spec.columns]
    fields += [pa.field(c, _EXTRA_TYPES.get(c, pa.string())) for c in EXTRA_COLUMNS[table]]
    schema = pa.schema(fields)
    assert tuple(schema.names) == COLUMNS[table], table
    return schema


SCHEMAS: dict[str, pa.Schema] = {t: _staging_schema(t) for t in TABLES}
SCHEMAS["answer_key"] = pa.schema(
    [pa.field(c, pa.bool_() if c in ("in_context", "record_live") else pa.string())
     for c in PII_COLUMNS]
)
SCHEMAS["keep_tokens"] = pa.schema(
    [pa.field(c, pa.bool_() if c == "record_live" else pa.string()) for c in KEEP_COLUMNS]
)


def to_table(name: str, rows: list[tuple]) -> pa.Table:
    """Row tuples (in schema order) to an Arrow table of ``SCHEMAS[name]``."""
    schema = SCHEMAS[name]
    if not rows:
        return schema.empty_table()
    return pa.Table.from_arrays(
        [pa.array(list(map(itemgetter(i), rows)), type=f.type) for i, f in enumerate(schema)],
        schema=schema,
    )


def key_table(name: str, records: list[tuple], rows: list[tuple]) -> pa.Table:
    """``answer_key`` / ``keep_tokens`` rows joined to their records (``Marks``).

    ``rows`` are ``(record index, column, ...)``; the per-record columns are
    converted once per record and gathered with Arrow ``take``.
    """
    schema = SCHEMAS[name]
    if not rows:
        return schema.empty_table()
    per_record = {c: pa.array(list(map(itemgetter(i), records)), type=schema.field(c).type)
                  for i, c in enumerate(RECORD_COLUMNS)}
    index = pa.array(list(map(itemgetter(0), rows)), type=pa.int32())
    own = [c for c in schema.names if c not in per_record]
    columns = {c: per_record[c].take(index) for c in RECORD_COLUMNS}
    for i, c in enumerate(own, start=1):
        columns[c] = pa.array(list(map(itemgetter(i), rows)), type=schema.field(c).type)
    return pa.Table.from_arrays([columns[c] for c in schema.names], schema=schema)


class PartWriter:
    """Writes one table's chunks into ``<folder>/part-NNNNN.parquet`` files."""

    def __init__(self, folder: Path, schema: pa.Schema, chunks_per_file: int) -> None:
        self.folder = folder
        self.schema = schema
        self.chunks_per_file = max(1, chunks_per_file)
        self.paths: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._chunks_in_file = 0
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("part-*.parquet"):
            stale.unlink()

    def _open(self) -> pq.ParquetWriter:
        path = self.folder / f"part-{len(self.paths):05d}.parquet"
        self.paths.append(path)
        self._chunks_in_file = 0
        return pq.ParquetWriter(path, self.schema, compression="snappy")

    def write(self, table: pa.Table) -> None:
        """Append one chunk as one row group (empty chunks write nothing)."""
        if self._writer is not None and self._chunks_in_file >= self.chunks_per_file:
            self._writer.close()
            self._writer = None
        if self._writer is None:
            self._writer = self._open()
        self._chunks_in_file += 1
        if table.num_rows:
            self._writer.write_table(table, row_group_size=table.num_rows)
            self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is None and not self.paths:
            self._writer = self._open()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
