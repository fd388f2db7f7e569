"""Per-object checks every ``VectorStore.upsert`` applies before it writes.

One definition for every store, so a vector the DuckDB store refuses is the
vector Weaviate refuses too (the contract suite runs both):

- the table has ``id`` and ``case_id`` and no column the store does not keep
  (a malformed table: ``ValueError`` for the whole call);
- a case id that repeats keeps its last row; a null case id fails its row;
- every present vector has its store's length, only finite values and some
  direction (cosine similarity of a zero vector is undefined);
- ``id`` is uuid5 of the case id (``schemas.ids.object_uuids``).

An object that fails a check fails alone, with reasons that name the case
and the vector, never its content; the rest of the batch is written.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blocks.vector_store import UpsertResult, vector_column
from schemas.ids import object_uuids

__all__ = ["CheckedObjects", "check_objects", "is_list_type", "is_text_type"]

_VECTOR_PREFIX = vector_column("")


def is_list_type(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def is_text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


@dataclass
class CheckedObjects:
    """What may be written: ``rows`` (case id -> row, in case order of last appearance)."""

    rows: dict[str, int] = field(default_factory=dict)
    result: UpsertResult = field(default_factory=UpsertResult)
    #: vector name -> one row per object of the table, NaN where absent or of the wrong length
    #: (a read-only view of the table's own buffer when every row has the vector)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)


def _vector_problems(column: pa.Array, name: str, size: int | None) -> tuple[dict[int, str], np.ndarray | None]:
    """Row -> reason for every present vector that cannot be stored, and the vectors as a matrix (absent: None).

    A column of ``fixed_size_list<float32>[size]`` without nulls (what the
    embed stage writes) is viewed in place, without a copy: at 3072
    dimensions a copy per batch cost the load stage seconds per 100k cases.
    """
    if pa.types.is_null(column.type) or column.null_count == len(column):
        return {}, None
    if not is_list_type(column.type) or not pa.types.is_floating(column.type.value_type):
        raise TypeError(f"object table column {vector_column(name)!r}: expected list<float32>, got {column.type}")
    present = column.is_valid().to_numpy(zero_copy_only=False)
    if size is None:
        return {int(i): f"vector {name!r} is not configured in this store" for i in np.flatnonzero(present)}, None
    t = column.type
    if (pa.types.is_fixed_size_list(t) and t.list_size == size and pa.types.is_float32(t.value_type)
            and column.null_count == 0 and column.values.null_count == 0):
        values = column.values.slice(column.offset * size, len(column) * size)
        matrix = values.to_numpy(zero_copy_only=True).reshape(-1, size)  # read-only view
        problems: dict[int, str] = {}
        ok_rows = np.arange(len(column))
    else:
        lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy()
        problems = {int(i): f"vector {name!r} has length {int(lengths[i])}, expected {size}"
                    for i in np.flatnonzero(present & (lengths != size))}
        matrix = np.full((len(column), size), np.nan, dtype=np.float32)  # NaN rows: absent or wrong length
        ok_rows = np.flatnonzero(present & (lengths == size))
        if len(ok_rows):
            matrix[ok_rows] = pc.list_flatten(column.take(pa.array(ok_rows))).to_numpy(
                zero_copy_only=False).reshape(-1, size)
    if len(ok_rows):
        finite, nonzero = np.isfinite(matrix).all(axis=1), matrix.any(axis=1)
        for i in ok_rows[~finite[ok_rows]]:
            problems[int(i)] = f"vector {name!r} contains NaN, infinite or null values"
        for i in ok_rows[finite[ok_rows] & ~nonzero[ok_rows]]:
            problems[int(i)] = f"vector {name!r} is all zeros (no direction for cosine similarity)"
    return problems, matrix


def check_objects(objects: pa.Table, sizes: Mapping[str, int], properties: Container[str], where: str,
                  check_property: Callable[[str, pa.DataType], None]) -> CheckedObjects:
    """Check a non-empty object table (see the module docstring) against ``properties`` and vector ``sizes``.

    ``where`` names the store in the error for unknown columns.
    ``check_property(name, type)`` raises ``TypeError`` for a property
    column the store would misread: types are each store's own mapping.
    """
    for required in ("id", "case_id"):
        if required not in objects.column_names:
            raise ValueError(f"object table has no {required!r} column (columns: {objects.column_names})")
    unknown = [c for c in objects.column_names
               if c != "id" and c not in properties and not c.startswith(_VECTOR_PREFIX)]
    if unknown:
        raise ValueError(f"object table has columns {where} does not store: {unknown}")
    for name in objects.column_names:
        if name in properties:
            check_property(name, objects.schema.field(name).type)
    checked = CheckedObjects()
    last_row: dict[str, int] = {}
    for row, case_id in enumerate(objects.column("case_id").to_pylist()):
        if case_id is None:
            checked.result.failed.append(("", f"row {row}: case_id is null"))
        else:
            last_row.pop(case_id, None)
            last_row[case_id] = row
    problems: dict[int, list[str]] = {}
    for column in objects.column_names:
        if column.startswith(_VECTOR_PREFIX):
            name = column[len(_VECTOR_PREFIX):]
            found, matrix = _vector_problems(objects.column(column).combine_chunks(), name, sizes.get(name))
            for row, reason in found.items():
                problems.setdefault(row, []).append(reason)
            if matrix is not None:
                checked.matrices[name] = matrix
    ids = objects.column("id").cast(pa.string()).to_pylist()
    for (case_id, row), expected_id in zip(last_row.items(), object_uuids(last_row)):
        if ids[row] != expected_id:
            problems.setdefault(row, []).append(f"id {ids[row]} is not uuid5 of the case id ({expected_id})")
        if row in problems:
            checked.result.failed.append((case_id, f"case {case_id}: " + "; ".join(problems[row])))
        else:
            checked.rows[case_id] = row
    return checked
