"""How checkpoints store float vectors: one ``fixed_size_binary`` cell per vector.

Parquet has no fixed-size list: a ``fixed_size_list<float32>[3072]`` column
is written as a nested list with repetition levels, and reading 100k such
rows back took 4-5 s here (the load stage's largest cost after the store).
The same floats as one ``FIXED_LEN_BYTE_ARRAY`` of 4 x n bytes per row are
read back in under a second and viewed as floats without a copy. Stages
never see the encoding: ``CheckpointWriter`` encodes the columns a schema
names in ``vector_columns`` and ``read_checkpoint`` decodes them again.
Columns already encoded (a checkpoint copied batch by batch) pass through.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

__all__ = ["disk_schema", "encode_vectors", "decode_vectors", "decoded_schema"]

_FLOAT_BYTES = 4


def _is_vector_list(t: pa.DataType) -> bool:
    return pa.types.is_fixed_size_list(t) and pa.types.is_float32(t.value_type)


def disk_schema(schema: pa.Schema, vector_columns: Iterable[str]) -> pa.Schema:
    """``schema`` with each fixed-size float32 vector column as its binary encoding."""
    names = set(vector_columns)
    fields = []
    for f in schema:
        if f.name in names and _is_vector_list(f.type):
            f = f.with_type(pa.binary(_FLOAT_BYTES * f.type.list_size))
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def decoded_schema(schema: pa.Schema, vector_columns: Iterable[str]) -> pa.Schema:
    """The stage-facing schema of an encoded one."""
    names = set(vector_columns)
    fields = []
    for f in schema:
        if f.name in names and pa.types.is_fixed_size_binary(f.type):
            f = f.with_type(pa.list_(pa.float32(), f.type.byte_width // _FLOAT_BYTES))
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def encode_vectors(table: pa.Table, vector_columns: Iterable[str]) -> pa.Table:
    """Replace each fixed-size float32 vector column by its binary encoding (others unchanged)."""
    for name in vector_columns:
        if name in table.column_names and _is_vector_list(table.schema.field(name).type):
            column = table.column(name)
            encoded = pa.chunked_array([_encode(chunk) for chunk in column.chunks],
                                       pa.binary(_FLOAT_BYTES * column.type.list_size))
            table = table.set_column(table.schema.get_field_index(name), name, encoded)
    return table


def decode_vectors(batch: pa.RecordBatch, vector_columns: Iterable[str]) -> pa.RecordBatch:
    """Replace each encoded vector column of ``batch`` by ``fixed_size_list<float32>`` (a view, no copy)."""
    for name in vector_columns:
        if name in batch.schema.names and pa.types.is_fixed_size_binary(batch.schema.field(name).type):
            index = batch.schema.get_field_index(name)
            decoded = _decode(batch.column(index))
            batch = batch.set_column(index, pa.field(name, decoded.type), decoded)
    return batch


def _encode(chunk: pa.FixedSizeListArray) -> pa.Array:
    size = chunk.type.list_size
    values = chunk.values.slice(chunk.offset * size, len(chunk) * size)
    floats = np.ascontiguousarray(values.to_numpy(zero_copy_only=False), dtype=np.float32)
    validity = pa.array(chunk.is_valid()).buffers()[1] if chunk.null_count else None
    return pa.Array.from_buffers(pa.binary(_FLOAT_BYTES * size), len(chunk),
                                 [validity, pa.py_buffer(floats)], null_count=chunk.null_count)


def _decode(column: pa.Array) -> pa.Array:
    size = column.type.byte_width // _FLOAT_BYTES
    validity, data = column.buffers()
    floats = pa.Array.from_buffers(pa.float32(), (column.offset + len(column)) * size, [None, data])
    return pa.Array.from_buffers(pa.list_(pa.float32(), size), len(column), [validity],
                                 null_count=column.null_count, offset=column.offset, children=[floats])
