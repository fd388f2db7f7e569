"""Pandera schemas for every Parquet checkpoint a run writes.

A checkpoint is validated when written and when read, so a resumed run never
builds on a file a crash or a hand edit left broken. Scalar columns are
checked with pandera (types, nulls, uniqueness, value sets); list and vector
columns are checked on the Arrow schema (pandas holds them as opaque
objects). The schema after the PII stage also asserts that no PII context
column survived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandera.pandas as pa
from pandera.engines import pandas_engine
import pyarrow

from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FIELDS
from schemas.staging import TABLES

__all__ = ["CheckpointSchema", "CHECKPOINTS", "extract_schema", "STAGES"]

#: Stage names, in run order. Each writes ``<run>/<stage>.parquet``
#: (extract writes ``<run>/extract/<table>.parquet``).
STAGES: tuple[str, ...] = ("extract", "compose", "changes", "redact", "embed", "load")


_TEXT_DTYPE = pandas_engine.Engine.dtype(str)


@dataclass(frozen=True)
class CheckpointSchema:
    """Pandera frame schema for scalar columns plus Arrow checks for the rest."""

    name: str
    frame: pa.DataFrameSchema
    list_columns: tuple[str, ...] = ()
    forbidden_columns: tuple[str, ...] = ()
    required_columns: tuple[str, ...] = field(default=())
    #: float32 vector columns (a subset of ``list_columns``), stored on disk as
    #: ``fixed_size_binary`` rows; ``stages.checkpoint`` encodes and decodes them
    vector_columns: tuple[str, ...] = ()

    @cached_property
    def plain_text_columns(self) -> dict[str, bool]:
        """Text columns without checks (name -> nullable), typed on the Arrow schema.

        Their only rule is "a string", which the Arrow type already states;
        handing them to pandas just to re-check each cell's type was most of
        a checkpoint's validation cost (free text is the bulk of a case).
        """
        return {
            name: col.nullable
            for name, col in self.frame.columns.items()
            if col.dtype == _TEXT_DTYPE and not col.checks and not col.unique and not col.coerce
        }

    @cached_property
    def checked_frame(self) -> pa.DataFrameSchema:
        """The frame schema without ``plain_text_columns`` (what pandera still checks)."""
        return self.frame.remove_columns(list(self.plain_text_columns))

    def scalar_columns(self, schema: pyarrow.Schema) -> list[str]:
        return [
            f.name
            for f in schema
            if f.name not in self.vector_columns
            and not (pyarrow.types.is_list(f.type) or pyarrow.types.is_fixed_size_list(f.type)
                     or pyarrow.types.is_large_list(f.type))
        ]


def _text(nullable: bool = True) -> pa.Column:
    return pa.Column(str, nullable=nullable, required=False)


def _ts(required: bool = False) -> pa.Column:
    return pa.Column("datetime64[us]", nullable=True, required=required)


def _count() -> pa.Column:
    return pa.Column(int, pa.Check.ge(0), nullable=False, coerce=True)


_SHA256 = pa.Check.str_matches(r"^[0-9a-f]{64}$")


def extract_schema(table: str) -> CheckpointSchema:
    """Schema of ``extract/<table>.parquet``: contract columns, typed, valid ids."""
    spec = TABLES[table]
    columns: dict[str, pa.Column] = {}
    for col in spec.columns:
        if col.sql_type == "TIMESTAMP":
            columns[col.name] = _ts(required=True)
        elif col.sql_type == "BOOLEAN":
            columns[col.name] = pa.Column(nullable=True)
        else:
            columns[col.name] = pa.Column(str, nullable=True)
    columns["Id"] = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False, unique=True)
    return CheckpointSchema(
        name=f"extract/{table}",
        frame=pa.DataFrameSchema(columns, strict=True, name=f"extract/{table}"),
        required_columns=spec.column_names,
    )


_PROPERTY_SCALARS = {
    f.property: (_ts() if f.kind == "date" else _text()) for f in FIELDS if not f.is_list
}
_LIST_PROPERTIES = tuple(f.property for f in FIELDS if f.is_list)

_JOIN_COUNTS = ("task_count", "workorder_count", "comment_count", "email_count", "feed_count")
_FIELD_COUNTS = ("total_fields_populated", "issue_fields_populated", "resolution_fields_populated")

_compose_columns = {
    **_PROPERTY_SCALARS,
    "case_id": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False, unique=True),
    "action": pa.Column(str, pa.Check.isin(["upsert", "delete"]), nullable=False),
    "checksum": pa.Column(str, _SHA256, nullable=False),
    "source_last_modified": _ts(required=True),
    "composite_text_length": _count(),
    "was_truncated": pa.Column(bool, nullable=False),
    **{c: _count() for c in _JOIN_COUNTS + _FIELD_COUNTS},
}

COMPOSE = CheckpointSchema(
    name="compose",
    frame=pa.DataFrameSchema(_compose_columns, strict=True, name="compose"),
    list_columns=_LIST_PROPERTIES + CONTEXT_COLUMNS,
    required_columns=tuple(_compose_columns) + _LIST_PROPERTIES + CONTEXT_COLUMNS,
)

_redact_columns = {
    **_PROPERTY_SCALARS,
    "case_id": pa.Column(str, nullable=False, unique=True),
    "checksum": pa.Column(str, _SHA256, nullable=False),
    "source_last_modified": _ts(required=True),
    "composite_text": pa.Column(str, nullable=False),
    "was_truncated": pa.Column(bool, nullable=False),
    "pii_entities_removed": _count(),
}

#: Every column name that could carry raw PII context into a later stage.
_PII_COLUMN_NAMES = CONTEXT_COLUMNS + tuple(
    sorted({c.name for spec in TABLES.values() for c in spec.columns if c.pii_context})
)

REDACT = CheckpointSchema(
    name="redact",
    frame=pa.DataFrameSchema(_redact_columns, strict=True, name="redact"),
    list_columns=_LIST_PROPERTIES,
    forbidden_columns=_PII_COLUMN_NAMES,
    required_columns=tuple(_redact_columns) + _LIST_PROPERTIES,
)

EMBED = CheckpointSchema(
    name="embed",
    frame=pa.DataFrameSchema(
        {
            "case_id": pa.Column(str, nullable=False, unique=True),
            "primary_model": pa.Column(str, nullable=True),
            "fallback_model": pa.Column(str, nullable=True),
            "embed_error": pa.Column(str, nullable=True),
        },
        strict=True,
        name="embed",
    ),
    list_columns=("vector_primary", "vector_fallback"),
    vector_columns=("vector_primary", "vector_fallback"),
    forbidden_columns=_PII_COLUMN_NAMES,
    required_columns=("case_id", "primary_model", "fallback_model", "embed_error", "vector_primary", "vector_fallback"),
)

LOAD = CheckpointSchema(
    name="load",
    frame=pa.DataFrameSchema(
        {
            "case_id": pa.Column(str, nullable=False, unique=True),
            "outcome": pa.Column(str, pa.Check.isin(["loaded", "failed", "deleted", "pending"]), nullable=False),
            "reason": pa.Column(str, nullable=True),
        },
        strict=True,
        name="load",
    ),
    forbidden_columns=_PII_COLUMN_NAMES,
    required_columns=("case_id", "outcome", "reason"),
)

CHECKPOINTS: dict[str, CheckpointSchema] = {
    "compose": COMPOSE,
    "changes": CheckpointSchema(
        name="changes",
        frame=COMPOSE.frame,
        list_columns=COMPOSE.list_columns,
        required_columns=COMPOSE.required_columns,
    ),
    "redact": REDACT,
    "embed": EMBED,
    "load": LOAD,
}


def _property_arrow_fields() -> list[pyarrow.Field]:
    out = []
    for f in FIELDS:
        if f.property == "case_id":
            continue
        if f.is_list:
            t = pyarrow.list_(pyarrow.string())
        elif f.kind == "date":
            t = pyarrow.timestamp("us")
        else:
            t = pyarrow.string()
        out.append(pyarrow.field(f.property, t))
    return out


#: Arrow layout of ``redact.parquet`` (fixed, so an empty checkpoint has it too).
REDACT_ARROW = pyarrow.schema(
    [pyarrow.field("case_id", pyarrow.string()), pyarrow.field("checksum", pyarrow.string()),
     pyarrow.field("source_last_modified", pyarrow.timestamp("us"))]
    + _property_arrow_fields()
    + [pyarrow.field("composite_text", pyarrow.string()), pyarrow.field("was_truncated", pyarrow.bool_()),
       pyarrow.field("pii_entities_removed", pyarrow.int32())]
)


def embed_arrow(primary_size: int, fallback_size: int | None) -> pyarrow.Schema:
    """Arrow layout of ``embed.parquet`` for the configured vector sizes."""
    return pyarrow.schema([
        ("case_id", pyarrow.string()),
        ("vector_primary", pyarrow.list_(pyarrow.float32(), primary_size)),
        ("vector_fallback", pyarrow.list_(pyarrow.float32(), fallback_size) if fallback_size else pyarrow.list_(pyarrow.float32())),
        ("primary_model", pyarrow.string()),
        ("fallback_model", pyarrow.string()),
        ("embed_error", pyarrow.string()),
    ])


LOAD_ARROW = pyarrow.schema([("case_id", pyarrow.string()), ("outcome", pyarrow.string()), ("reason", pyarrow.string())])
