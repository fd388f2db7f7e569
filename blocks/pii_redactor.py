"""The ``PiiRedactor`` interface: free text in, PII-free text out."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pyarrow as pa
from prefect.blocks.core import Block

__all__ = ["PII_COUNTS_SCHEMA", "PII_SPANS_SCHEMA", "PiiRedactor"]

#: ``find_spans``: one row per piece of text ``redact`` would replace (offsets, never values).
PII_SPANS_SCHEMA = pa.schema(
    [
        pa.field("case_id", pa.string()),
        pa.field("property", pa.string(), nullable=False),
        pa.field("list_index", pa.int32()),  # null for case fields
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("entity_type", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),  # context | rule | detector
        pa.field("rule", pa.string()),  # the table rule, when source is 'rule'
    ]
)

#: ``find_pii``: per case, entity type and source, how many values.
PII_COUNTS_SCHEMA = pa.schema(
    [
        pa.field("case_id", pa.string()),
        pa.field("entity_type", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
    ]
)


class PiiRedactor(Block, ABC):
    """Removes personal data from the free-text fields of a batch of cases.

    Input batch columns: ``case_id``; every property of
    ``schemas.fields.FREE_TEXT_PROPERTIES`` present in the batch (string, or
    list of strings for child-table fields); and the per-case context lists of
    ``schemas.context.CONTEXT_COLUMNS`` (values from the case's own PII
    context columns, which must disappear wherever they occur in its text).

    Output: the same rows in the same order, text columns redacted, the
    context columns dropped, plus ``pii_entities_removed`` (int32 per case).
    """

    @abstractmethod
    def redact(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Redact one batch; never raises with PII in the message."""

    def find_pii(self, batch: pa.RecordBatch) -> pa.Table:
        """Detection only: per case, entity type and source, how many values ``redact`` would remove.

        Takes the same columns as ``redact`` and returns ``PII_COUNTS_SCHEMA``
        rows (no values). The leak scanner runs it over stored objects.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement find_pii (detection only)")
