"""Redact: the PII stage. Nothing after it carries personal data.

Streams the cases that need work through a ``PiiRedactor`` in batches, then
renders the composite text from the redacted fields (the same SQL that
compose measured with) and truncates it. The output checkpoint keeps the 44
properties, checksum and text, and no PII context column: its pandera schema
refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from blocks.pii_redactor import PiiRedactor
from schemas.checkpoints import CHECKPOINTS, REDACT_ARROW
from schemas.context import CONTEXT_COLUMNS
from schemas.fields import FIELDS, FREE_TEXT_PROPERTIES
from stages.checkpoint import CheckpointWriter, checkpoint_rows, read_checkpoint
from stages.composite_text import composite_text_sql
from stages.progress import Progress, SilentProgress

__all__ = ["RedactResult", "redact_cases"]

_KEEP = ("case_id", "checksum", "source_last_modified") + tuple(
    f.property for f in FIELDS if f.property != "case_id"
)


@dataclass(frozen=True)
class RedactResult:
    path: Path
    rows: int
    entities_removed: int


def _render(con: duckdb.DuckDBPyConnection, merged: pa.Table, max_chars: int) -> pa.Table:
    con.register("redacted_batch", merged)
    try:
        return con.sql(
            f"""SELECT *, left(full_text, $max) AS composite_text, length(full_text) > $max AS was_truncated
                FROM (SELECT *, {composite_text_sql()} AS full_text FROM redacted_batch)""",
            params={"max": max_chars},
        ).to_arrow_table().drop_columns(["full_text"])
    finally:
        con.unregister("redacted_batch")


def redact_cases(
    con: duckdb.DuckDBPyConnection,
    changes_path: Path,
    out_path: Path,
    redactor: PiiRedactor,
    *,
    batch_size: int,
    max_text_chars: int,
    progress: Progress | None = None,
) -> RedactResult:
    """Redact every upsert row of ``changes_path`` into ``out_path``."""
    progress = progress or SilentProgress()
    progress.start("redact", checkpoint_rows(changes_path))
    writer = CheckpointWriter(Path(out_path), CHECKPOINTS["redact"], REDACT_ARROW)
    removed = 0
    with writer:
        for batch in read_checkpoint(changes_path, CHECKPOINTS["changes"], batch_size=batch_size):
            table = pa.Table.from_batches([batch])
            upserts = table.filter(pc.equal(table.column("action"), "upsert"))
            if upserts.num_rows:
                text_cols = ["case_id", *FREE_TEXT_PROPERTIES, *CONTEXT_COLUMNS]
                redacted = redactor.redact(upserts.select(text_cols).combine_chunks().to_batches()[0])
                if redacted.num_rows != upserts.num_rows or redacted.column("case_id") != upserts.column("case_id").combine_chunks():
                    raise RuntimeError(
                        f"redactor {type(redactor).__name__} changed the rows of a batch "
                        f"({upserts.num_rows} in, {redacted.num_rows} out)"
                    )
                merged = upserts.select([c for c in _KEEP if c not in FREE_TEXT_PROPERTIES])
                for col in FREE_TEXT_PROPERTIES:
                    merged = merged.append_column(col, redacted.column(col))
                merged = merged.append_column("pii_entities_removed", redacted.column("pii_entities_removed"))
                rendered = _render(con, merged, max_text_chars)
                writer.write(rendered.select(REDACT_ARROW.names))
                removed += pc.sum(redacted.column("pii_entities_removed")).as_py() or 0
            progress.advance(batch.num_rows)
        result = writer.close()
    progress.finish()
    return RedactResult(result.path, result.rows, removed)

