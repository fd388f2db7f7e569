"""``generate_staging``: write a synthetic staging folder plus its answer keys.

Output (the staging contract's Parquet layout)::

    out_dir/case/part-00000.parquet       ... one folder per staging table
    out_dir/task/ workorder/ casecomment/ emailmessage/ workorderfeed/
    out_dir/answer_key/part-*.parquet     one row per planted PII value
    out_dir/keep_tokens/part-*.parquet    one row per must-keep token
    out_dir/_generator.json               seed, cases, reference time, counts

Cases are built ``chunk_cases`` at a time and each chunk is written as one
row group per table, so a million cases run in the memory of one chunk.
Large runs build chunks in worker processes (each case is a pure function
of seed and index) and this process writes them in order, so the files are
identical whatever the worker count.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from generator.chunks import OUTPUTS, iter_chunks
from generator.clock import DEFAULT_REFERENCE_TIME, naive_utc, to_us
from generator.rows import Counts
from generator.writer import SCHEMAS, PartWriter
from schemas.staging import CHILD_TABLES

__all__ = ["GenerationReport", "generate_staging", "PARALLEL_MIN_CASES"]


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate_staging`` wrote, with the numbers tests and demos check."""

    out_dir: Path
    seed: int
    cases: int
    reference_time: datetime
    chunk_cases: int
    #: rows written per table, including ``answer_key`` and ``keep_tokens``.
    rows: dict[str, int]
    #: rows with ``IsDeleted = true`` per staging table.
    deleted: dict[str, int]
    #: child rows whose parent id exists nowhere, per child table.
    orphans: dict[str, int]
    #: per child table: share of live cases with at least one live row.
    coverage: dict[str, float]
    #: part files per table.
    paths: dict[str, list[Path]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def cases_per_s(self) -> float:
        return self.cases / self.elapsed_s if self.elapsed_s else float("inf")

    def manifest(self) -> dict:
        """The JSON-able part of the report that depends only on seed, cases and time."""
        return {
            "generator": "generator.generate_staging",
            "seed": self.seed,
            "cases": self.cases,
            "reference_time": self.reference_time.isoformat(),
            "rows": self.rows,
            "deleted": self.deleted,
            "orphans": self.orphans,
            "coverage": {k: round(v, 6) for k, v in self.coverage.items()},
        }


_SCRATCH = ".chunks-in-progress"
#: Below this many cases, worker start-up (~1 s each) costs more than it saves.
PARALLEL_MIN_CASES = 40_000


def _auto_workers(cases: int) -> int:
    if cases < PARALLEL_MIN_CASES:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def generate_staging(
    out_dir: Path,
    cases: int,
    seed: int = 7,
    *,
    reference_time: datetime | None = None,
    chunk_cases: int = 20_000,
    chunks_per_file: int = 10,
    workers: int | None = None,
) -> GenerationReport:
    """Write ``cases`` synthetic cases and their child rows under ``out_dir``.

    Deterministic: the same ``seed`` and ``reference_time`` give the same
    bytes, whatever ``chunk_cases`` (which only changes row groups and file
    splits) and ``workers``. All timestamps fall in the 120 days before
    ``reference_time`` (default 2026-11-01T00:00:00, naive UTC).

    ``workers=None`` builds chunks in up to 4 spawned processes for runs of
    at least ``PARALLEL_MIN_CASES`` cases and in this process otherwise;
    ``workers=1`` never starts a process. A calling script needs the usual
    ``if __name__ == "__main__":`` guard when workers are used.
    """
    if cases < 0:
        raise ValueError(f"cases: expected a count >= 0, got {cases}")
    if chunk_cases < 1:
        raise ValueError(f"chunk_cases: expected >= 1, got {chunk_cases}")
    began = time.perf_counter()
    out_dir = Path(out_dir)
    ref = naive_utc(reference_time or DEFAULT_REFERENCE_TIME)
    ref_us = to_us(ref)
    out_dir.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = _auto_workers(cases)
    writers = {n: PartWriter(out_dir / n, SCHEMAS[n], chunks_per_file) for n in OUTPUTS}
    counts = Counts()
    chunks = iter_chunks(cases, chunk_cases, seed, ref_us, workers, out_dir / _SCRATCH)
    try:
        with closing(chunks):  # on error: stop workers, remove scratch files
            for tables, chunk_counts in chunks:
                for n in OUTPUTS:
                    writers[n].write(tables[n])
                counts.add(chunk_counts)
                del tables
    finally:
        for w in writers.values():
            w.close()
    live = counts.live_cases
    report = GenerationReport(
        out_dir=out_dir,
        seed=seed,
        cases=cases,
        reference_time=ref,
        chunk_cases=chunk_cases,
        rows={n: writers[n].rows for n in OUTPUTS},
        deleted=dict(counts.deleted),
        orphans=dict(counts.orphans),
        coverage={t: counts.covered[t] / live if live else 0.0 for t in CHILD_TABLES},
        paths={n: list(writers[n].paths) for n in OUTPUTS},
        elapsed_s=time.perf_counter() - began,
    )
    manifest = json.dumps(report.manifest(), indent=2, sort_keys=True)
    (out_dir / "_generator.json").write_text(manifest + "\n")
    return report
