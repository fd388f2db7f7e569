"""Compose stage alone: cases/s and peak memory from 10k to 1M cases.

Why: compose is the one stage that joins all six tables and aggregates every
child row per case in a single DuckDB statement. The design promises it
scales by spilling, not by growing: DuckDB runs under the configured
``duckdb_memory_limit`` (1 GB by default) with a temp directory, so 1M cases
should need no more than about 1.5x the memory of 100k. This script measures
exactly that stage (extract checkpoint -> ``compose.parquet``) in a fresh
process per size, and reports the peak RSS both as a whole and above the
process's baseline after imports.

Usage::

    python benchmarks/bench_compose.py --cases 10000 100000 [--replicated 200000 1000000]
                                       [--memory-limit 1GB] [--repeat N] [--out benchmarks/out]

Staging is shared with ``bench_pipeline.py`` (``<out>/staging-<N>``) and the
extract checkpoint is made once per size (``<out>/compose-<N>/extract``), in
its own process; neither is timed. Generating 1M cases takes far longer than
the 5 minutes we allow a benchmark's set-up (about 17 minutes here), so
``--replicated`` sizes are built instead from the 100k extract checkpoint,
copied with every id suffixed: same per-case shape, N times the rows. A
compose that runs out of DuckDB memory is reported as such in the table,
with the time it took to fail. The table is printed and written to
``<out>/compose-<date>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from harness import (child_main, code_note, copy_with_suffixed_keys, ensure_staging, machine_note, markdown_table,
                     peak_rss_mb, run_child, table_keys)


def _settings():
    from schemas.settings import PipelineSettings

    return PipelineSettings()


def child_extract(spec: dict) -> dict:
    """The extract checkpoint compose reads (whole window), made once per size."""
    from flows.config import load_blocks
    from flows.run_state import open_work_db
    from schemas.settings import DateWindow
    from stages.extract import extract_window

    work = Path(spec["work"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    blocks = load_blocks(None, work / "home", Path(spec["staging"]))
    con = open_work_db(work, blocks.settings.duckdb_memory_limit)
    try:
        present = blocks.staging.register(con)
        window = DateWindow(start=datetime(2000, 1, 1), end=datetime.now() + timedelta(days=3650))
        started = time.perf_counter()
        res = extract_window(con, present, window, work / "extract")
        seconds = time.perf_counter() - started
    finally:
        con.close()
    (work / "work.duckdb").unlink(missing_ok=True)
    (work / "extract" / "_done").write_text(str(res.selected_cases))
    return {"selected": res.selected_cases, "rows": res.rows, "seconds": seconds}


def child_compose(spec: dict) -> dict:
    """compose_cases alone, on a fresh work database, as the pipeline calls it."""
    import duckdb

    from flows.run_state import open_work_db
    from stages.compose import compose_cases

    work = Path(spec["work"])
    run = work / "compose-run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    settings = _settings()
    if spec.get("memory_limit"):
        settings.duckdb_memory_limit = spec["memory_limit"]
    con = open_work_db(run, settings.duckdb_memory_limit)
    _warm_validation(work / "extract")
    baseline = peak_rss_mb()["self_mb"]
    out = {"baseline_mb": baseline, "memory_limit": settings.duckdb_memory_limit, "error": None}
    started = time.perf_counter()
    try:
        res = compose_cases(con, work / "extract", run / "compose.parquet",
                            task_types=tuple(settings.task_types), max_text_chars=settings.max_text_chars)
        out.update(rows=res.rows, parquet_mb=round((run / "compose.parquet").stat().st_size / 2**20, 1))
    except duckdb.OutOfMemoryException as exc:  # a finding to report, not a crash of the benchmark
        out.update(rows=0, parquet_mb=None, error=f"DuckDB OutOfMemoryException: {str(exc).splitlines()[0]}")
    finally:
        out["seconds"] = time.perf_counter() - started
        con.close()
    shutil.rmtree(run, ignore_errors=True)
    return out


def _warm_validation(extract: Path) -> None:
    """Validate a few rows of the extract checkpoint, untimed, as extract has done before compose in a run.

    pandera loads its pandas backends on a process's first validation (about
    0.3 s of imports here); in a run extract pays that, not compose.
    """
    from schemas.checkpoints import extract_schema
    from stages.checkpoint import read_checkpoint

    next(read_checkpoint(extract / "task.parquet", extract_schema("task"), batch_size=10), None)


def replicate_extract(source: Path, target: Path, copies: int) -> None:
    """``copies`` copies of an extract checkpoint, every id suffixed ``-<copy>``: same shape, more cases.

    Stands in for generating sizes whose generation takes too long (1M: about
    17 minutes here); case text repeats, so compression ratios are flattered,
    but compose's joins and aggregates see ``copies`` times the rows.
    """
    from schemas.staging import TABLES
    from stages.row_order import ROW_ORDER_COPY_OPTION
    from stages.sql_text import CHECKPOINT_PARQUET

    target.mkdir(parents=True, exist_ok=True)
    for table in TABLES:  # in the row groups and the row order of a real extract checkpoint (stages.row_order)
        keys = table_keys(table)
        copy_with_suffixed_keys([source / f"{table}.parquet"], target / f"{table}.parquet", keys, copies,
                                f"{CHECKPOINT_PARQUET}, {ROW_ORDER_COPY_OPTION}",
                                order_by=f'"{keys[-1]}", CreatedDate, Id')
    (target / "_done").write_text(str(copies))


def ensure_extract(size: int, out: Path) -> Path:
    """``<out>/compose-<size>``, holding the extract checkpoint of generated staging (made once)."""
    work = out / f"compose-{size}"
    if (work / "extract" / "_done").exists() and _current_layout(work / "extract"):
        return work
    staging, gen_s = ensure_staging(out, size)
    print(f"[{size}] staging {staging}: " + (f"generated in {gen_s:.1f} s" if gen_s is not None else "cached"),
          flush=True)
    ext = run_child(Path(__file__).resolve(), {"mode": "extract", "cases": size, "staging": str(staging),
                                               "work": str(work)}, out / "logs")
    print(f"[{size}] extract checkpoint made in {ext['seconds']:.1f} s (not part of the figures)", flush=True)
    return work


def _current_layout(extract: Path) -> bool:
    """False for a cached checkpoint written before extract split tables into row groups (compose would
    read it on one core) or recorded its row order (compose would sort by a wider key): it is made again."""
    import pyarrow.parquet as pq

    from stages.row_order import children_in_creation_order
    from stages.sql_text import CHECKPOINT_ROW_GROUP

    meta = pq.ParquetFile(extract / "case.parquet").metadata
    return children_in_creation_order(extract) and (meta.num_rows <= CHECKPOINT_ROW_GROUP or meta.num_row_groups > 1)


def measure(size: int, out: Path, memory_limit: str | None = None, replicated: bool = False, repeat: int = 1) -> dict:
    """Compose ``size`` cases ``repeat`` times, each in a fresh process: the fastest run, every run's seconds,
    and the highest peak RSS. On a shared machine one run's time says little; the best of several says
    what the code costs, their spread what the machine did."""
    if not replicated:
        work = ensure_extract(size, out)
    else:
        if size % 100_000:
            raise SystemExit(f"--replicated sizes must be multiples of 100000, got {size}")
        work = out / f"compose-{size}-replicated"
        if not ((work / "extract" / "_done").exists() and _current_layout(work / "extract")):
            replicate_extract(ensure_extract(100_000, out) / "extract", work / "extract", size // 100_000)
        print(f"[{size}] extract checkpoint: {size // 100_000} id-suffixed copies of the 100k one", flush=True)
    runs = []
    for _ in range(repeat):
        res = run_child(Path(__file__).resolve(), {"mode": "compose", "cases": size, "work": str(work),
                                                   "memory_limit": memory_limit}, out / "logs")
        what = res["error"] or f"{res['rows']} cases"
        print(f"[{size}] compose: {what} after {res['seconds']:.1f} s, peak {res['rss']['peak_mb']} MB", flush=True)
        runs.append(res)
    best = min(runs, key=lambda r: (bool(r["error"]), r["seconds"]))
    peak = max(r["rss"]["peak_mb"] for r in runs)
    return {"size": size, "replicated": replicated, **best, "rss": {**best["rss"], "peak_mb": peak},
            "all_seconds": [round(r["seconds"], 2) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--replicated", type=int, nargs="*", default=[],
                        help="also sizes (multiples of 100000) built by replicating the 100k extract checkpoint")
    parser.add_argument("--memory-limit", default=None,
                        help="DuckDB memory_limit for compose (default: PipelineSettings.duckdb_memory_limit)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per size, each in a fresh process; the table shows the fastest and all of them")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    before, code = machine_note(), code_note()
    print(f"machine: {before}", flush=True)
    results = [measure(size, out, args.memory_limit, repeat=args.repeat) for size in args.cases]
    results += [measure(size, out, args.memory_limit, replicated=True, repeat=args.repeat) for size in args.replicated]
    ref = next((r for r in results if r["size"] == 100_000 and not r["error"]), None)
    rows = []
    for r in results:
        above = r["rss"]["peak_mb"] - r["baseline_mb"]
        ratio = r["rss"]["peak_mb"] / ref["rss"]["peak_mb"] if ref else None
        label = f"{r['size']:,}" + (" (replicated 100k)" if r["replicated"] else "")
        outcome = r["error"] or "ok"
        rows.append([label, r["rows"], round(r["seconds"], 2), r["rows"] / r["seconds"] if r["rows"] else None,
                     r["baseline_mb"], r["rss"]["peak_mb"], round(above, 1), ratio, r["parquet_mb"], outcome,
                     " / ".join(map(str, r["all_seconds"]))])
    header = ["size", "cases", "seconds (fastest)", "cases/s", "baseline RSS MB", "peak RSS MB",
              "peak above baseline MB", "peak / peak at 100k", "compose.parquet MB", "outcome", "every run, s"]
    table = markdown_table(header, rows)
    limit = results[0]["memory_limit"] if results else "?"
    text = (f"# Compose benchmark\n\nStarted: {before}\n\nFinished: {machine_note()}\n\nCode: {code}\n\n"
            f"Command: `python benchmarks/bench_compose.py --cases {' '.join(map(str, args.cases))}"
            f"{'' if not args.replicated else ' --replicated ' + ' '.join(map(str, args.replicated))}"
            f"{'' if args.memory_limit is None else ' --memory-limit ' + args.memory_limit}"
            f"{'' if args.repeat == 1 else f' --repeat {args.repeat}'}`\n\n"
            f"`compose_cases` alone (extract checkpoint -> compose.parquet), DuckDB memory_limit {limit}, "
            "one fresh process per size. Baseline = peak RSS after imports and opening the work database.\n\n"
            + table + "\n")
    path = out / f"compose-{date.today():%Y-%m-%d}.md"
    path.write_text(text)
    print("\n" + table + f"\n\nwritten to {path}")


if __name__ == "__main__":
    import sys

    if "--child" in sys.argv:
        child_main({"extract": child_extract, "compose": child_compose})
    else:
        main()
