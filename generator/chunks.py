"""Chunks of cases as Arrow tables, built in this process or in workers.

A chunk is what one Parquet row group holds (``chunk_cases`` cases). It is
built in sub-batches of ``SUB_BATCH`` cases, each turned into Arrow at once,
so Python objects for at most one sub-batch are alive: Arrow holds a case in
~8 KB, Python rows in ~10x that. Every case is a pure function of (seed,
index), so neither batch sizes nor worker count change a single byte.

Workers build sub-batches (so they stay balanced whatever the chunk size)
and hand them over as Arrow IPC files; this process concatenates a chunk's
sub-batches and writes it. Workers are spawned processes, not forked: the
caller may be a Prefect flow with threads. As with any ``multiprocessing``
use, a calling *script* needs the ``if __name__ == "__main__":`` guard;
``python -m`` modules, pytest and notebooks are fine.
"""

from __future__ import annotations

import gc
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc  # noqa: F401  (pa.ipc)

from generator.ids import SalesforceIds
from generator.rows import Counts, build_chunk
from generator.writer import key_table, to_table
from schemas.staging import TABLE_NAMES

__all__ = ["SUB_BATCH", "OUTPUTS", "chunk_tables", "iter_chunks"]

SUB_BATCH = 2_500
#: Output tables of a chunk: the six staging tables, then the two keys.
OUTPUTS: tuple[str, ...] = (*TABLE_NAMES, "answer_key", "keep_tokens")

_IDS: SalesforceIds | None = None


def _ids() -> SalesforceIds:
    """One id builder per process (its lookup tables take ~0.1 s to fill)."""
    global _IDS
    if _IDS is None:
        _IDS = SalesforceIds()
    return _IDS


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a sub-batch is built and converted.

    A sub-batch allocates hundreds of thousands of small acyclic objects (row
    tuples, drafts); the collector would rescan them repeatedly and find
    nothing (~10% of build time). They are freed by reference counting
    before the collector is switched back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _batch_tables(lo: int, hi: int, seed: int, ref_us: int) -> tuple[dict[str, pa.Table], Counts]:
    """Cases ``lo .. hi-1`` (at most ``SUB_BATCH``) as Arrow tables, GC paused."""
    with _gc_paused():
        chunk = build_chunk(lo, hi, seed, ref_us, _ids())
        tables = {t: to_table(t, chunk.rows[t]) for t in TABLE_NAMES}
        tables["answer_key"] = key_table("answer_key", chunk.records, chunk.answer_key)
        tables["keep_tokens"] = key_table("keep_tokens", chunk.records, chunk.keep_tokens)
        counts = chunk.counts
        del chunk
    return tables, counts


def _merge(parts: list[tuple[dict[str, pa.Table], Counts]]) -> tuple[dict[str, pa.Table], Counts]:
    counts = Counts()
    for _, c in parts:
        counts.add(c)
    return {n: pa.concat_tables([t[n] for t, _ in parts]) for n in OUTPUTS}, counts


def chunk_tables(start: int, stop: int, seed: int, ref_us: int,
                 sub_batch: int = SUB_BATCH) -> tuple[dict[str, pa.Table], Counts]:
    """Cases ``start .. stop-1`` as one Arrow table per output, plus their counts."""
    return _merge([_batch_tables(lo, min(lo + sub_batch, stop), seed, ref_us)
                   for lo in range(start, stop, sub_batch)])


def _batch_to_files(lo: int, hi: int, seed: int, ref_us: int, folder: str) -> Counts:
    """Worker side: build a sub-batch and leave it as Arrow IPC files in ``folder``.

    Files, not pickles: pickling Arrow tables costs several copies and
    hundreds of MB of extra memory; an IPC file is one write, and the writer
    process maps it back without copying.
    """
    tables, counts = _batch_tables(lo, hi, seed, ref_us)
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        with pa.OSFile(str(base / f"{name}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return counts


def _read_files(folder: Path) -> dict[str, pa.Table]:
    tables = {}
    for name in OUTPUTS:
        with pa.memory_map(str(folder / f"{name}.arrow")) as source:
            tables[name] = pa.ipc.open_file(source).read_all()
    return tables


def iter_chunks(cases: int, chunk_cases: int, seed: int, ref_us: int, workers: int = 1,
                scratch: Path | None = None, *, sub_batch: int = SUB_BATCH,
                ) -> Iterator[tuple[dict[str, pa.Table], Counts]]:
    """Yield every chunk (tables and counts) in order.

    With ``workers > 1`` the unit of work is a sub-batch, not a chunk, so
    all workers stay busy until the end whatever the chunk size. Sub-batches
    go through IPC files in ``scratch`` (at most ``2 * workers`` in flight),
    are removed once their chunk is yielded, and the folder is removed at
    the end.
    """
    bounds = [(s, min(s + chunk_cases, cases)) for s in range(0, cases, chunk_cases)]
    if workers <= 1 or cases <= sub_batch:
        for start, stop in bounds:
            yield chunk_tables(start, stop, seed, ref_us, sub_batch)
        return
    if scratch is None:
        raise ValueError("iter_chunks: workers > 1 needs a scratch folder for chunk files")
    batches = iter([(i, lo, min(lo + sub_batch, stop))
                    for i, (start, stop) in enumerate(bounds)
                    for lo in range(start, stop, sub_batch)])
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:

            def submit(chunk: int, lo: int, hi: int) -> tuple[int, Path, Future]:
                folder = scratch / f"cases-{lo:010d}"
                return chunk, folder, pool.submit(_batch_to_files, lo, hi, seed, ref_us, str(folder))

            pending = deque(submit(*b) for b in _take(batches, 2 * workers))
            parts: list[tuple[dict[str, pa.Table], Counts]] = []
            folders: list[Path] = []
            while pending:
                chunk, folder, future = pending.popleft()
                counts = future.result()
                parts.append((_read_files(folder), counts))
                folders.append(folder)
                pending.extend(submit(*b) for b in _take(batches, 1))
                if not pending or pending[0][0] != chunk:
                    yield _merge(parts)
                    parts = []
                    for f in folders:
                        shutil.rmtree(f)
                    folders = []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _take(it: Iterator, n: int) -> list:
    out = []
    for item in it:
        out.append(item)
        if len(out) == n:
            break
    return out
