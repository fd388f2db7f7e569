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
    failed: list[tuple[str, str]]  # (case id, error type): never the text


def _redact_checked(redactor: PiiRedactor, table: pa.Table) -> pa.Table:
    out = pa.Table.from_batches([redactor.redact(table.to_batches(max_chunksize=table.num_rows)[0])])
    if out.num_rows != table.num_rows or out.column("case_id").to_pylist() != table.column("case_id").to_pylist():
        raise RuntimeError(
            f"redactor {type(redactor).__name__} changed the rows of a batch ({table.num_rows} in, {out.num_rows} out)"
        )
    return out


def _redact_isolating(redactor: PiiRedactor, table: pa.Table) -> tuple[pa.Table, list[tuple[str, str]]]:
    """Redact a batch; when it fails, split it to isolate the cases that fail.

    A case the redactor cannot handle is reported by id and error type (its
    text never travels in the report) and the rest of the batch goes on. If
    every case of a batch fails, the fault is not in the data: re-raise.
    """
    try:
        return _redact_checked(redactor, table), []
    except Exception as exc:  # noqa: BLE001 - isolate, then re-raise if systemic
        if table.num_rows == 1:
            return table.slice(0, 0), [(table.column("case_id")[0].as_py(), type(exc).__name__)]
        half = table.num_rows // 2
        left, bad_left = _redact_isolating(redactor, table.slice(0, half))
        right, bad_right = _redact_isolating(redactor, table.slice(half))
        if len(bad_left) + len(bad_right) == table.num_rows:
            raise
        parts = [t for t in (left, right) if t.num_rows]
        return pa.concat_tables(parts), bad_left + bad_right


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
    failed: list[tuple[str, str]] = []
    with writer:
        for batch in read_checkpoint(changes_path, CHECKPOINTS["changes"], batch_size=batch_size):
            table = pa.Table.from_batches([batch])
            upserts = table.filter(pc.equal(table.column("action"), "upsert"))
            if upserts.num_rows:
                text_cols = ["case_id", *FREE_TEXT_PROPERTIES, *CONTEXT_COLUMNS]
                redacted, bad = _redact_isolating(redactor, upserts.select(text_cols).combine_chunks())
                if bad:
                    failed.extend(bad)
                    keep = pc.invert(pc.is_in(upserts.column("case_id"), pa.array([c for c, _ in bad], pa.string())))
                    upserts = upserts.filter(keep)
                merged = upserts.select([c for c in _KEEP if c not in FREE_TEXT_PROPERTIES])
                for col in FREE_TEXT_PROPERTIES:
                    merged = merged.append_column(col, redacted.column(col))
                merged = merged.append_column("pii_entities_removed", redacted.column("pii_entities_removed"))
                if not merged.num_rows:
                    progress.advance(batch.num_rows)
                    continue
                rendered = _render(con, merged, max_text_chars)
                writer.write(rendered.select(REDACT_ARROW.names))
                removed += pc.sum(redacted.column("pii_entities_removed")).as_py() or 0
            progress.advance(batch.num_rows)
        result = writer.close()
    progress.finish()
    return RedactResult(result.path, result.rows, removed, failed)

