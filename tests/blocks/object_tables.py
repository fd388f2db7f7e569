"""Valid object tables built from a few fake cases, for vector-store tests.

An object table (see ``blocks.vector_store``) has ``id``, the 44 properties of
``schemas.fields.FIELDS``, the ``LINEAGE_PROPERTIES`` and one ``vector_<name>``
column per named vector. Timestamps are naive UTC (``timestamp[us]``).

    cases = [fake_case(i) for i in range(3)]
    table = object_table(cases, {"primary": unit_vectors(3, 32, seed=1)})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from blocks.vector_store import vector_column
from schemas.fields import FIELDS, LINEAGE_PROPERTIES
from schemas.ids import object_uuid

__all__ = [
    "PROPERTY_TYPES",
    "PROPERTIES",
    "case_id_of",
    "fake_case",
    "object_table",
    "vector_array",
    "unit_vectors",
    "rows_by_case",
]


def _property_type(spec) -> pa.DataType:
    element = pa.timestamp("us") if spec.kind == "date" else pa.string()
    return pa.list_(element) if spec.is_list else element


#: Arrow type of every stored property, in store order.
PROPERTY_TYPES: dict[str, pa.DataType] = {f.property: _property_type(f) for f in FIELDS} | {
    p: (pa.timestamp("us") if p == "source_last_modified" else pa.string()) for p in LINEAGE_PROPERTIES
}
PROPERTIES: tuple[str, ...] = tuple(PROPERTY_TYPES)

_BASE_TIME = dt.datetime(2025, 3, 1, 8, 0, 0)


def case_id_of(n: int) -> str:
    """An 18-character Salesforce-style case id for fake case ``n``."""
    return f"500Kh{n:013d}"


def fake_case(n: int, **overrides) -> dict:
    """All properties of fake case ``n`` filled with distinct values; ``overrides`` win."""
    case: dict = {}
    for spec in FIELDS:
        if spec.is_list:
            case[spec.property] = [f"{spec.property} {n}.{k}" for k in range(1 + n % 3)]
        elif spec.kind == "date":
            case[spec.property] = _BASE_TIME + dt.timedelta(days=n, seconds=spec.number, microseconds=n)
        else:
            case[spec.property] = f"{spec.property} of case {n}"
    case["case_id"] = case_id_of(n)
    case["case_number"] = f"{5000000000 + n}"
    case["parent_id"] = None
    case["closed_date"] = None if n % 2 else case["created_date"] + dt.timedelta(days=3)
    case["checksum"] = f"{n:064x}"
    case["source_last_modified"] = _BASE_TIME + dt.timedelta(days=n, hours=5)
    case["run_id"] = "run-0001"
    case["primary_model"] = "test-primary"
    case["fallback_model"] = "test-fallback"
    case.update(overrides)
    return case


def vector_array(rows: Sequence[np.ndarray | None] | np.ndarray) -> pa.Array:
    """``list<float32>`` column from one vector (or ``None``) per object, built without Python loops over values."""
    if isinstance(rows, np.ndarray):
        matrix = np.ascontiguousarray(rows, dtype=np.float32)
        n, size = matrix.shape
        offsets = pa.array(np.arange(0, (n + 1) * size, size, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array(matrix.ravel()))
    present = [np.asarray(r, dtype=np.float32).ravel() if r is not None else None for r in rows]
    lengths = [0 if r is None else len(r) for r in present]
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    values = [r for r in present if r is not None]
    flat = np.concatenate(values) if values else np.empty(0, dtype=np.float32)
    mask = pa.array([r is None for r in present])
    return pa.ListArray.from_arrays(offsets, pa.array(flat), mask=mask)


def object_table(
    cases: Sequence[Mapping],
    vectors: Mapping[str, Sequence[np.ndarray | None] | np.ndarray] | None = None,
) -> pa.Table:
    """Object table of ``cases`` with ``id``, every property and the given named vectors."""
    columns = {"id": pa.array([object_uuid(c["case_id"]) for c in cases], pa.string())}
    for prop, arrow_type in PROPERTY_TYPES.items():
        columns[prop] = pa.array([c.get(prop) for c in cases], arrow_type)
    for name, rows in (vectors or {}).items():
        if len(rows) != len(cases):
            raise ValueError(f"vector {name!r}: {len(rows)} rows for {len(cases)} cases")
        columns[vector_column(name)] = vector_array(rows)
    return pa.table(columns)


def unit_vectors(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` random float32 unit vectors of ``size`` dimensions."""
    matrix = np.random.default_rng(seed).standard_normal((n, size)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _naive_utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, list):
        return [_naive_utc(v) for v in value]
    return value


def rows_by_case(table: pa.Table, columns: Sequence[str] = PROPERTIES) -> dict[str, dict]:
    """``case_id`` -> {property: value} for ``columns``, timestamps as naive UTC for comparison."""
    return {
        row["case_id"]: {c: _naive_utc(row[c]) for c in columns}
        for row in table.select(list(dict.fromkeys(["case_id", *columns]))).to_pylist()
    }
