"""Redact checkpoints with given texts, for what runs the embed stage without the stages before it.

The embed tests, the embedding-cache tests and ``benchmarks/bench_embed_http.py``
all feed ``embed_cases`` a checkpoint of known texts; one writer keeps them
on the real checkpoint schema (validated as it is written).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from schemas.checkpoints import CHECKPOINTS, REDACT_ARROW
from stages.checkpoint import CheckpointWriter

__all__ = ["write_redact"]


def write_redact(path: Path, bodies: list[str], id_format: str = "500C{:04d}") -> Path:
    """A redact checkpoint with one case per text (``id_format`` numbers the case ids; properties null)."""
    n = len(bodies)
    columns = {f.name: pa.nulls(n, f.type) for f in REDACT_ARROW}
    columns.update(
        case_id=pa.array([id_format.format(i) for i in range(n)]),
        checksum=pa.array(["0" * 64] * n),
        source_last_modified=pa.array([datetime(2026, 1, 1)] * n, pa.timestamp("us")),
        composite_text=pa.array(bodies),
        was_truncated=pa.array([False] * n),
        pii_entities_removed=pa.array([0] * n, pa.int32()),
    )
    with CheckpointWriter(path, CHECKPOINTS["redact"], REDACT_ARROW) as writer:
        writer.write(pa.table(columns, schema=REDACT_ARROW))
        writer.close()
    return path
