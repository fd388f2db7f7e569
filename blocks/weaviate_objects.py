"""Arrow object tables to Weaviate objects and back, for ``WeaviateStore``.

``prepare_objects`` checks an object table the way ``DuckDBVectorStore``
does (unknown columns and wrong column types fail the call; a null case id,
an id that is not uuid5 of the case id or a bad vector fails its object; the
last row of a case id wins) and turns each valid row into the properties
(nulls left out, dates as RFC3339 UTC strings, lists as lists) and the dict
of named vectors (a null vector left out) the batch API takes.
``objects_to_table`` turns query results back into the Arrow layout of
``DuckDBVectorStore.fetch``: naive UTC timestamps, ``list<string>`` lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blocks.vector_store import UpsertResult, vector_column
from blocks.weaviate_schema import COLLECTION_PROPERTIES, PROPERTY_BY_NAME
from schemas.ids import object_uuid

__all__ = ["PROPERTIES_SCHEMA", "PreparedRow", "Prepared", "prepare_objects", "objects_to_table",
           "search_properties"]

_VECTOR_PREFIX = vector_column("")


def _arrow_type(data_type: str) -> pa.DataType:
    element = pa.timestamp("us") if data_type.startswith("date") else pa.string()
    return pa.list_(element) if data_type.endswith("[]") else element


#: Arrow layout of ``fetch``: every property, in object-table order (as ``DuckDBVectorStore.fetch``).
PROPERTIES_SCHEMA = pa.schema([(p.name, _arrow_type(p.data_type)) for p in COLLECTION_PROPERTIES])


@dataclass
class PreparedRow:
    uuid: str
    case_id: str
    properties: dict
    vectors: dict[str, list[float]]


@dataclass
class Prepared:
    rows: list[PreparedRow] = field(default_factory=list)
    result: UpsertResult = field(default_factory=UpsertResult)  # objects that failed validation


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _check_column(name: str, t: pa.DataType) -> None:
    data_type = PROPERTY_BY_NAME[name].data_type
    if pa.types.is_null(t):
        return
    element = t.value_type if _is_list(t) else t
    ok = _is_text(element) or (data_type.startswith("date") and pa.types.is_timestamp(element))
    if _is_list(t) != data_type.endswith("[]") or not (ok or pa.types.is_null(element)):
        raise TypeError(f"object table column {name!r}: expected {_arrow_type(data_type)} "
                        f"(Weaviate type {data_type}), got {t}")


def _rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _column_values(column: pa.Array, data_type: str) -> list:
    values = column.to_pylist()
    if not data_type.startswith("date"):
        return values
    if data_type.endswith("[]"):
        return [None if v is None else [_rfc3339(d) for d in v] for v in values]
    return [None if v is None else _rfc3339(v) for v in values]


def _vector_problems(column: pa.Array, name: str, size: int | None) -> tuple[dict[int, str], np.ndarray | None]:
    """Row -> reason for every present vector that cannot be stored, and the vectors as a matrix (absent: None)."""
    if pa.types.is_null(column.type) or column.null_count == len(column):
        return {}, None
    if not _is_list(column.type) or not pa.types.is_floating(column.type.value_type):
        raise TypeError(f"object table column {vector_column(name)!r}: expected list<float32>, got {column.type}")
    present = column.is_valid().to_numpy(zero_copy_only=False)
    if size is None:
        return {int(i): f"vector {name!r} is not configured in this store" for i in np.flatnonzero(present)}, None
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy()
    problems = {int(i): f"vector {name!r} has length {int(lengths[i])}, expected {size}"
                for i in np.flatnonzero(present & (lengths != size))}
    matrix = np.full((len(column), size), np.nan, dtype=np.float32)  # NaN rows: absent or wrong length
    ok_rows = np.flatnonzero(present & (lengths == size))
    if len(ok_rows):
        matrix[ok_rows] = pc.list_flatten(column.take(pa.array(ok_rows))).to_numpy(
            zero_copy_only=False).reshape(-1, size)
        checked = matrix[ok_rows]
        finite, nonzero = np.isfinite(checked).all(axis=1), (checked != 0).any(axis=1)
        for i in ok_rows[~finite]:
            problems[int(i)] = f"vector {name!r} contains NaN, infinite or null values"
        for i in ok_rows[finite & ~nonzero]:
            problems[int(i)] = f"vector {name!r} is all zeros (no direction for cosine similarity)"
    return problems, matrix


def prepare_objects(objects: pa.Table, sizes: Mapping[str, int]) -> Prepared:
    """Valid rows of a non-empty table as batch objects, plus the per-object failures of validation."""
    for required in ("id", "case_id"):
        if required not in objects.column_names:
            raise ValueError(f"object table has no {required!r} column (columns: {objects.column_names})")
    unknown = [c for c in objects.column_names
               if c != "id" and c not in PROPERTY_BY_NAME and not c.startswith(_VECTOR_PREFIX)]
    if unknown:
        raise ValueError(f"object table has columns the Weaviate collection does not store: {unknown}")
    for name in objects.column_names:
        if name in PROPERTY_BY_NAME:
            _check_column(name, objects.schema.field(name).type)
    prepared = Prepared()
    last_row: dict[str, int] = {}
    for row, case_id in enumerate(objects.column("case_id").to_pylist()):
        if case_id is None:
            prepared.result.failed.append(("", f"row {row}: case_id is null"))
        else:
            last_row.pop(case_id, None)
            last_row[case_id] = row
    problems: dict[int, list[str]] = {}
    matrices: dict[str, np.ndarray] = {}  # vector name -> one row per object, NaN where absent
    for column in objects.column_names:
        if column.startswith(_VECTOR_PREFIX):
            name = column[len(_VECTOR_PREFIX):]
            found, matrix = _vector_problems(objects.column(column).combine_chunks(), name, sizes.get(name))
            for row, reason in found.items():
                problems.setdefault(row, []).append(reason)
            if matrix is not None:
                matrices[name] = matrix
    ids = objects.column("id").cast(pa.string()).to_pylist()
    values = {name: _column_values(objects.column(name).combine_chunks(), PROPERTY_BY_NAME[name].data_type)
              for name in objects.column_names
              if name in PROPERTY_BY_NAME and objects.column(name).null_count < objects.num_rows}
    for case_id, row in last_row.items():
        expected_id = object_uuid(case_id)
        if ids[row] != expected_id:
            problems.setdefault(row, []).append(f"id {ids[row]} is not uuid5 of the case id ({expected_id})")
        if row in problems:
            prepared.result.failed.append((case_id, f"case {case_id}: " + "; ".join(problems[row])))
            continue
        properties = {name: v[row] for name, v in values.items() if v[row] is not None}
        vectors = {name: matrix[row].tolist() for name, matrix in matrices.items() if not np.isnan(matrix[row, 0])}
        prepared.rows.append(PreparedRow(expected_id, case_id, properties, vectors))
    return prepared


def _naive_utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, list):
        return [_naive_utc(v) for v in value]
    return value


def objects_to_table(objects: list, schema: pa.Schema) -> pa.Table:
    """Query results as a table of ``schema``: properties by name, ``vector_<name>`` as lengths."""
    columns = []
    for f in schema:
        if f.name.startswith(_VECTOR_PREFIX):
            name = f.name[len(_VECTOR_PREFIX):]
            values = [len(o.vector[name]) if name in (o.vector or {}) else None for o in objects]
        else:
            values = [_naive_utc(o.properties.get(f.name)) for o in objects]
        columns.append(pa.array(values, f.type))
    return pa.table(columns, schema=schema)


def search_properties(obj) -> dict:
    """Every property of a search hit, timestamps as naive UTC (as ``DuckDBVectorStore.search``)."""
    return {p.name: _naive_utc(obj.properties.get(p.name)) for p in COLLECTION_PROPERTIES}
