"""The ``PiiRedactor`` interface: free text in, PII-free text out."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pyarrow as pa
from prefect.blocks.core import Block

__all__ = ["PiiRedactor"]


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
