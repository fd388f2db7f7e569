"""One case's free text as one string: gathered from a batch, written back after.

The PII stage searches all free-text values of a case at once (case fields
and every element of the child-table lists), so a value is found the same
way wherever it is. ``CaseText`` joins them with a blank line between
values, remembers where each value sits (``bounds``), which field and list
element it came from (``slots``) and from which staging table
(``tables``, for the table rules), and writes the redacted pieces back into
the column lists.

Also the redactor's input as Python lists (``BatchColumns``) and the Arrow
type checks of its columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from blocks.errors import PiiRedactionError
from blocks.pii_spans import Span
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FIELD_BY_PROPERTY, FREE_TEXT_PROPERTIES

__all__ = ["BatchColumns", "CaseText", "FIELD_SEPARATOR", "check_batch", "check_context_type", "check_text_type"]

FIELD_SEPARATOR = "\n\n"
_FREE_TEXT = frozenset(FREE_TEXT_PROPERTIES)
_CONTEXT = frozenset(CONTEXT_COLUMNS)


@dataclass
class BatchColumns:
    """A checked batch's case ids, free-text and context columns as Python lists."""

    case_ids: list
    texts: dict[str, list]
    contexts: dict[str, list]

    @classmethod
    def of(cls, batch: pa.RecordBatch) -> BatchColumns:
        names = batch.schema.names
        return cls(
            case_ids=batch.column("case_id").to_pylist(),
            texts={name: batch.column(name).to_pylist() for name in names if name in _FREE_TEXT},
            contexts={name: batch.column(name).to_pylist() for name in names if name in _CONTEXT},
        )


@dataclass(frozen=True, slots=True)
class CaseText:
    """The joined free text of one case and where each value sits in it."""

    text: str
    bounds: tuple[Span, ...]
    slots: tuple[tuple[str, int | None], ...]  # (property, list index or None)
    tables: tuple[str, ...]  # staging table of each value

    @classmethod
    def gather(cls, texts: dict[str, list], row: int) -> CaseText | None:
        """The case at ``row`` of the column lists ``texts``; None when it has no text."""
        segments: list[str] = []
        slots: list[tuple[str, int | None]] = []
        for name, values in texts.items():
            value = values[row]
            if isinstance(value, str):
                if value:
                    segments.append(value)
                    slots.append((name, None))
            elif value is not None:
                for index, item in enumerate(value):
                    if item:
                        segments.append(item)
                        slots.append((name, index))
        if not segments:
            return None
        bounds, cursor = [], 0
        for segment in segments:
            bounds.append((cursor, cursor + len(segment)))
            cursor += len(segment) + len(FIELD_SEPARATOR)
        tables = tuple(FIELD_BY_PROPERTY[name].table if name in FIELD_BY_PROPERTY else "case" for name, _ in slots)
        return cls(FIELD_SEPARATOR.join(segments), tuple(bounds), tuple(slots), tables)

    def write_back(self, texts: dict[str, list], row: int, pieces: Sequence[str]) -> None:
        """Put ``pieces`` (one per value, in order) back into the column lists."""
        for (name, index), piece in zip(self.slots, pieces):
            if index is None:
                texts[name][row] = piece
            else:
                items = texts[name][row]
                if not isinstance(items, list):
                    items = texts[name][row] = list(items)
                items[index] = piece


def _is_string(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _is_string_list(data_type: pa.DataType) -> bool:
    return (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)) and _is_string(
        data_type.value_type
    )


def _is_all_null(data_type: pa.DataType) -> bool:
    """Null, or a list of null: what Arrow infers for columns without any value."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        data_type = data_type.value_type
    return pa.types.is_null(data_type)


def check_batch(schema: pa.Schema) -> None:
    """A redactor's input: ``case_id`` plus free-text and context columns of the right types."""
    if "case_id" not in schema.names:
        raise PiiRedactionError(f"batch has no column 'case_id' (expected string case ids; got {schema.names})")
    for field in schema:
        if field.name in _FREE_TEXT:
            check_text_type(field.name, field.type)
        elif field.name in _CONTEXT:
            check_context_type(field.name, field.type)


def check_text_type(name: str, data_type: pa.DataType) -> None:
    """A free-text column must be string or list<string> (or all null)."""
    if not (_is_string(data_type) or _is_string_list(data_type) or _is_all_null(data_type)):
        raise PiiRedactionError(
            f"free-text column {name!r} has type {data_type}; expected string or list<string>"
        )


def check_context_type(name: str, data_type: pa.DataType) -> None:
    """A context column must be list<string> (or all null)."""
    if not (_is_string_list(data_type) or _is_all_null(data_type)):
        raise PiiRedactionError(f"context column {name!r} has type {data_type}; expected list<string>")
