"""Parquet checkpoints: written atomically, validated on write and on read.

Float vector columns are stored as fixed-size binary cells and handed back
as ``fixed_size_list<float32>`` (``stages.checkpoint_vectors``).

Stages pass checkpoints (a path and a row count), not DataFrames. A writer
streams record batches into ``<file>.partial`` and renames it into place when
closed, so a crash never leaves a half-written checkpoint that a resumed run
would trust.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandera.errors
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.checkpoints import CheckpointSchema
from stages.checkpoint_vectors import decode_vectors, decoded_schema, disk_schema, encode_vectors
from stages.errors import CheckpointInvalid

__all__ = ["Checkpoint", "CheckpointWriter", "open_parquet", "read_checkpoint", "read_checkpoint_table",
           "validate_batch", "validate_checkpoint_file"]


def open_parquet(path: Path) -> pq.ParquetFile:
    """A Parquet file for streaming, batch by batch, in bounded memory.

    ``pre_buffer=False``: pyarrow's default pre-buffering keeps every row
    group it has read cached until the file is closed. Streaming the 1.2 GB
    embed checkpoint of 100k cases held 1.1 GB that way, and took 4.2 s
    instead of 0.4 s.
    """
    return pq.ParquetFile(path, pre_buffer=False)


@dataclass(frozen=True)
class Checkpoint:
    """A finished checkpoint file and how many rows it holds."""

    path: Path
    rows: int


def validate_batch(batch: pa.RecordBatch | pa.Table, schema: CheckpointSchema, where: str) -> None:
    """Check one batch against ``schema``; raise ``CheckpointInvalid`` naming the column.

    Failure messages carry column names and check names only, never cell
    values: a checkpoint before the PII stage holds personal data.
    """
    _check_layout(batch.schema, schema, where)
    if batch.num_rows:
        _check_values(batch, schema, where)


def validate_checkpoint_file(path: Path, schema: CheckpointSchema, batch_size: int = 100_000,
                             columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """Validate a whole checkpoint file while reading only the columns that have value checks (plus ``columns``).

    List and vector columns are checked by their Arrow type alone, which the
    file's schema states once. So are plain text columns, whose one other
    rule (no nulls, where they are required) the null counts in the file's
    row-group statistics answer; a column without them is read. Reading the
    free text back (most of a compose checkpoint's scalar bytes) only to
    re-decode it was half of compose's validation time; the columns pandera
    checks are small. Yields the batches read.
    """
    path = Path(path)
    where = str(path)
    pf = open_parquet(path)
    full = decoded_schema(pf.schema_arrow, schema.vector_columns)
    _check_layout(full, schema, where)
    scalars = schema.scalar_columns(full)
    plain = schema.plain_text_columns
    _check_plain_text(pf, full, [c for c in scalars if c in plain], schema, where)
    wanted = list(dict.fromkeys([*(c for c in scalars if c not in plain), *(columns or [])]))
    for batch in pf.iter_batches(batch_size=batch_size, columns=wanted):
        if batch.num_rows:
            _check_values(batch, schema, where)
        yield batch


def _check_plain_text(pf: pq.ParquetFile, arrow_schema: pa.Schema, names: list[str], schema: CheckpointSchema,
                      where: str) -> None:
    """Plain text columns of a file, by ``_check_text_column``; their null counts from the row-group statistics."""
    leaves = {pf.metadata.schema.column(i).path: i for i in range(pf.metadata.num_columns)}

    def null_count(col: str) -> int:
        stats = [pf.metadata.row_group(g).column(leaves[col]).statistics for g in range(pf.metadata.num_row_groups)]
        if all(st is not None and st.has_null_count for st in stats):
            return sum(st.null_count for st in stats)
        return sum(b.column(0).null_count for b in pf.iter_batches(batch_size=20_000, columns=[col]))

    for col in names:
        _check_text_column(col, arrow_schema.field(col).type, schema.plain_text_columns[col], null_count, where)


def _check_text_column(col: str, arrow_type: pa.DataType, nullable: bool, null_count, where: str) -> None:
    """A plain text column: text, and without nulls unless nullable (``null_count(col)`` asked only then)."""
    if not _is_text(arrow_type):
        raise CheckpointInvalid(where, f"column {col!r} must be text, found {arrow_type}")
    if not nullable:
        nulls = null_count(col)
        if nulls:
            raise CheckpointInvalid(where, f"column {col!r} has {nulls} null values")


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type)


def _check_layout(arrow_schema: pa.Schema, schema: CheckpointSchema, where: str) -> None:
    names = set(arrow_schema.names)
    leaked = sorted(names & set(schema.forbidden_columns))
    if leaked:
        raise CheckpointInvalid(where, f"columns {leaked} must not exist after the PII stage")
    missing = [c for c in schema.required_columns if c not in names]
    if missing:
        raise CheckpointInvalid(where, f"missing columns {missing}")
    for col in schema.list_columns:
        if col in names:
            t = arrow_schema.field(col).type
            encoded = col in schema.vector_columns and pa.types.is_fixed_size_binary(t)
            if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or encoded):
                raise CheckpointInvalid(where, f"column {col!r} must be a list, found {t}")


def _check_values(batch: pa.RecordBatch | pa.Table, schema: CheckpointSchema, where: str) -> None:
    names = set(batch.schema.names)
    plain = schema.plain_text_columns
    scalars = [c for c in schema.scalar_columns(batch.schema) if c in names]
    unknown = sorted(c for c in scalars if c not in schema.frame.columns)
    if unknown and schema.frame.strict:
        raise CheckpointInvalid(where, f"unexpected columns {unknown}")
    for col in (c for c in scalars if c in plain):
        _check_text_column(col, batch.schema.field(col).type, plain[col], lambda c: batch.column(c).null_count, where)
    checked = [c for c in scalars if c not in plain]
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    frame = table.select(checked).to_pandas()
    try:
        schema.checked_frame.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = (
            cases.groupby(["column", "check"], dropna=False).size().reset_index(name="rows").head(10).to_dict("records")
        )
        raise CheckpointInvalid(where, f"{len(cases)} failing cells: {summary}") from None
    except pandera.errors.SchemaError as exc:  # pragma: no cover - lazy=True raises SchemaErrors
        raise CheckpointInvalid(where, f"{type(exc).__name__} on column {getattr(exc, 'column_name', '?')}") from None


class CheckpointWriter:
    """Streams validated batches into one Parquet file, renamed into place on close."""

    def __init__(self, path: Path, schema: CheckpointSchema, arrow_schema: pa.Schema | None = None,
                 compression: str | dict[str, str] = "zstd"):
        """``compression``: one codec, or one per top-level column (vectors barely compress; text does)."""
        self.path = Path(path)
        self.schema = schema
        self._compression = compression
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._arrow_schema = arrow_schema
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        validate_batch(batch, self.schema, str(self.path))
        if self._writer is None:
            self._arrow_schema = self._arrow_schema or batch.schema
            self._open()
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        table = batch.cast(self._arrow_schema) if batch.schema != self._arrow_schema else batch
        self._writer.write_table(encode_vectors(table, self.schema.vector_columns))
        self.rows += batch.num_rows

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        on_disk = disk_schema(self._arrow_schema, self.schema.vector_columns)
        self._writer = pq.ParquetWriter(self._partial, on_disk, compression=self._compression)

    def close(self) -> Checkpoint:
        if self._writer is None:
            if self._arrow_schema is None:
                raise CheckpointInvalid(str(self.path), "no batch and no schema given for an empty checkpoint")
            self._open()
        self._writer.close()
        os.replace(self._partial, self.path)
        return Checkpoint(self.path, self.rows)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> "CheckpointWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def read_checkpoint(
    path: Path, schema: CheckpointSchema, batch_size: int = 5_000, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield validated batches of a checkpoint, in file order."""
    path = Path(path)
    if not path.exists():
        raise CheckpointInvalid(str(path), "file does not exist")
    try:
        pf = open_parquet(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CheckpointInvalid(str(path), f"unreadable Parquet ({type(exc).__name__})") from None
    validate_batch(decoded_schema(pf.schema_arrow, schema.vector_columns).empty_table(), schema, str(path))
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
        batch = decode_vectors(batch, schema.vector_columns)
        if columns is None:
            validate_batch(batch, schema, str(path))
        yield batch


def read_checkpoint_table(path: Path, schema: CheckpointSchema, columns: list[str] | None = None) -> pa.Table:
    """A whole (small) checkpoint as one validated table, vectors decoded: for tools and tests."""
    batches = list(read_checkpoint(path, schema, columns=columns))
    if batches:
        return pa.Table.from_batches(batches)
    return decoded_schema(pq.ParquetFile(path).schema_arrow, schema.vector_columns).empty_table()


def checkpoint_rows(path: Path) -> int:
    """Row count from the Parquet footer (no data read)."""
    return pq.ParquetFile(path).metadata.num_rows
