"""Arrow object tables to Weaviate objects and back, for ``WeaviateStore``.

``prepare_objects`` checks an object table with the checks every store
shares (``blocks.object_checks``; wrong column types for Weaviate's property
types fail the call) and turns each valid row into the properties
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

from blocks.object_checks import check_objects, is_list_type, is_text_type
from blocks.vector_store import UpsertResult, vector_column
from blocks.weaviate_schema import COLLECTION_PROPERTIES, PROPERTY_BY_NAME

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


def _check_column(name: str, t: pa.DataType) -> None:
    data_type = PROPERTY_BY_NAME[name].data_type
    if pa.types.is_null(t):
        return
    element = t.value_type if is_list_type(t) else t
    ok = is_text_type(element) or (data_type.startswith("date") and pa.types.is_timestamp(element))
    if is_list_type(t) != data_type.endswith("[]") or not (ok or pa.types.is_null(element)):
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


def prepare_objects(objects: pa.Table, sizes: Mapping[str, int]) -> Prepared:
    """Valid rows of a non-empty table as batch objects, plus the per-object failures of validation."""
    checked = check_objects(objects, sizes, PROPERTY_BY_NAME, "the Weaviate collection", _check_column)
    prepared = Prepared(result=checked.result)
    ids = objects.column("id").cast(pa.string()).to_pylist()
    values = {name: _column_values(objects.column(name).combine_chunks(), PROPERTY_BY_NAME[name].data_type)
              for name in objects.column_names
              if name in PROPERTY_BY_NAME and objects.column(name).null_count < objects.num_rows}
    for case_id, row in checked.rows.items():
        properties = {name: v[row] for name, v in values.items() if v[row] is not None}
        vectors = {name: matrix[row].tolist() for name, matrix in checked.matrices.items()
                   if not np.isnan(matrix[row, 0])}
        prepared.rows.append(PreparedRow(ids[row], case_id, properties, vectors))
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
