"""How ``DuckDBVectorStore`` lays out a case: the SQL type of every property, and Arrow to it.

Every field of ``schemas.fields.FIELDS`` and every lineage property is a
column: text as ``VARCHAR``, dates as ``TIMESTAMP`` (naive UTC), child-table
lists as ``VARCHAR[]``/``TIMESTAMP[]``. An object table's columns are
checked against these types before a write, because DuckDB would otherwise
reinterpret some (a string parsed as a list) without a word.
"""

from __future__ import annotations

import pyarrow as pa

from blocks.object_checks import is_list_type, is_text_type
from schemas.fields import FIELDS, LINEAGE_PROPERTIES

__all__ = ["PROPERTY_SQL_TYPES", "ARROW_TYPES", "PROPERTIES_SCHEMA", "check_property_type", "to_utc_naive"]


def _property_sql_types() -> dict[str, str]:
    types = {}
    for spec in FIELDS:
        base = "TIMESTAMP" if spec.kind == "date" else "VARCHAR"
        types[spec.property] = f"{base}[]" if spec.is_list else base
    for prop in LINEAGE_PROPERTIES:
        types[prop] = "TIMESTAMP" if prop == "source_last_modified" else "VARCHAR"
    return types


#: SQL type of every stored property, in column order.
PROPERTY_SQL_TYPES: dict[str, str] = _property_sql_types()
ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "VARCHAR[]": pa.list_(pa.string()),
    "TIMESTAMP[]": pa.list_(pa.timestamp("us")),
}
PROPERTIES_SCHEMA = pa.schema([(p, ARROW_TYPES[t]) for p, t in PROPERTY_SQL_TYPES.items()])


def to_utc_naive(column: pa.Array) -> pa.Array:
    """Zone-aware timestamps as naive UTC (DuckDB would otherwise use the session zone)."""
    t = column.type
    if pa.types.is_timestamp(t) and t.tz is not None:
        return column.cast(pa.timestamp(t.unit))
    if is_list_type(t) and pa.types.is_timestamp(t.value_type) and t.value_type.tz is not None:
        return column.cast(pa.list_(pa.timestamp(t.value_type.unit)))
    return column


def check_property_type(name: str, t: pa.DataType) -> None:
    """Refuse a property column DuckDB would silently reinterpret (e.g. a str parsed as a list)."""
    sql_type = PROPERTY_SQL_TYPES[name]
    if pa.types.is_null(t):
        return
    element = t.value_type if is_list_type(t) else t
    shape_ok = is_list_type(t) == sql_type.endswith("[]")
    ok_element = is_text_type(element) or (sql_type.startswith("TIMESTAMP") and pa.types.is_timestamp(element))
    if not (shape_ok and (ok_element or pa.types.is_null(element))):
        raise TypeError(
            f"object table column {name!r}: expected {ARROW_TYPES[sql_type]} "
            f"(store type {sql_type}), got {t}"
        )
