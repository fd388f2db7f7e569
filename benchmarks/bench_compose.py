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

    python benchmarks/bench_compose.py --cases 10000 100000 1000000 [--out benchmarks/out]

Staging is shared with ``bench_pipeline.py`` (``<out>/staging-<N>``) and the
extract checkpoint is made once per size (``<out>/compose-<N>/extract``), in
its own process; neither is timed. Generating 1M cases takes minutes: the
generation time is printed so it can be judged, and a size is only run when
asked for. The table is printed and written to ``<out>/compose-<date>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from harness import child_main, ensure_staging, machine_note, markdown_table, peak_rss_mb, run_child


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
    from flows.run_state import open_work_db
    from stages.compose import compose_cases

    work = Path(spec["work"])
    run = work / "compose-run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    settings = _settings()
    con = open_work_db(run, settings.duckdb_memory_limit)
    baseline = peak_rss_mb()["self_mb"]
    try:
        started = time.perf_counter()
        res = compose_cases(con, work / "extract", run / "compose.parquet",
                            task_types=tuple(settings.task_types), max_text_chars=settings.max_text_chars)
        seconds = time.perf_counter() - started
    finally:
        con.close()
    size_mb = (run / "compose.parquet").stat().st_size / 2**20
    shutil.rmtree(run, ignore_errors=True)
    return {"rows": res.rows, "seconds": seconds, "baseline_mb": baseline, "parquet_mb": round(size_mb, 1),
            "memory_limit": settings.duckdb_memory_limit}


def measure(size: int, out: Path) -> dict:
    script = Path(__file__).resolve()
    staging, gen_s = ensure_staging(out, size)
    print(f"[{size}] staging {staging}: " + (f"generated in {gen_s:.1f} s" if gen_s is not None else "cached"),
          flush=True)
    work = out / f"compose-{size}"
    if not (work / "extract" / "_done").exists():
        ext = run_child(script, {"mode": "extract", "cases": size, "staging": str(staging), "work": str(work)},
                        out / "logs")
        print(f"[{size}] extract checkpoint made in {ext['seconds']:.1f} s (not part of the figures)", flush=True)
    res = run_child(script, {"mode": "compose", "cases": size, "work": str(work)}, out / "logs")
    print(f"[{size}] compose {res['rows']} cases in {res['seconds']:.1f} s, peak {res['rss']['peak_mb']} MB",
          flush=True)
    return {"size": size, "gen_s": gen_s, **res}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    before = machine_note()
    print(f"machine: {before}", flush=True)
    results = [measure(size, out) for size in args.cases]
    ref = next((r for r in results if r["size"] == 100_000), None)
    rows = []
    for r in results:
        above = r["rss"]["peak_mb"] - r["baseline_mb"]
        ratio = r["rss"]["peak_mb"] / ref["rss"]["peak_mb"] if ref else None
        rows.append([r["size"], r["rows"], round(r["seconds"], 2), r["rows"] / r["seconds"], r["baseline_mb"],
                     r["rss"]["peak_mb"], round(above, 1), ratio, r["parquet_mb"]])
    header = ["size", "cases", "seconds", "cases/s", "baseline RSS MB", "peak RSS MB", "peak above baseline MB",
              "peak / peak at 100k", "compose.parquet MB"]
    table = markdown_table(header, rows)
    limit = results[0]["memory_limit"] if results else "?"
    text = (f"# Compose benchmark\n\nStarted: {before}\n\nFinished: {machine_note()}\n\n"
            f"Command: `python benchmarks/bench_compose.py --cases {' '.join(map(str, args.cases))}`\n\n"
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
