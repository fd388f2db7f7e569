"""Whole-pipeline throughput and memory, first run and no-change rerun, without Prefect.

Why: the pipeline has two budgets that matter in production. A first load
(or a backfill) must get through 100k+ cases in a sensible time, and the
daily run, when nothing changed, must be cheap (target: < 5 s at 100k beyond
Prefect start-up). This script measures both on the embedded defaults
(Parquet staging, presidio, hashing embedders, DuckDB store, SQLite lineage)
through ``flows.pipeline.run_pipeline``, i.e. the library path without a
Prefect server, so the figures are the pipeline's own.

Usage::

    python benchmarks/bench_pipeline.py --cases 10000 100000 [--out benchmarks/out] [--redact-sample [N]]
    python benchmarks/bench_pipeline.py --cases --replicated 1000000 --redact-sample 10000

Per size: staging is generated once and cached (``<out>/staging-<N>``; its
time is printed, never counted). Then, each in a fresh process so the peak
RSS is that measurement's own:

1. first run, window from 2000-01-01, in a fresh ``<out>/home-<N>``;
2. rerun of the same window with nothing changed (every case skipped);
3. rerun with the default window (last high-water mark minus the overlap),
   which is what a scheduled daily run does;
4. with ``--redact-sample N`` and a size above N: the first run uses a
   pass-through redactor (so it finishes in minutes, not the better part of
   an hour), and the real presidio redact stage is timed on the first N
   upserts of that run's ``changes.parquet``; the whole-run figure is then
   also given as an estimate with redact at the sampled rate.

``--replicated`` sizes take their staging from the generated 100k copied
with every key suffixed (``harness.ensure_replicated_staging``): generating
1M cases takes about 17 minutes, copying under a minute. With
``--redact-sample`` such a run takes about a tenth of an hour per million
cases instead of an hour.

The table is printed and written to ``<out>/pipeline-<date>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date, datetime
from pathlib import Path

from harness import (RssSampler, child_main, code_note, ensure_replicated_staging, ensure_staging, machine_note,
                     markdown_table, run_child)

STAGES = ["extract", "compose", "changes", "redact", "embed", "load"]
#: summary["stages"][name] key holding the rows a stage worked on
ROWS_KEY = {"extract": "selected", "compose": "selected", "changes": "selected",
            "redact": "processed", "embed": "processed", "load": "processed"}
WINDOW_START = datetime(2000, 1, 1)


class PassThroughRedactor:
    """Keeps the text, drops the context columns: the redact stage minus presidio.

    Only for ``--redact-sample``: it lets embed, load and lineage run on the
    full size while presidio is timed on a sample.
    """

    def redact(self, batch):
        import pyarrow as pa

        from schemas.context import CONTEXT_COLUMNS

        keep = [n for n in batch.schema.names if n not in CONTEXT_COLUMNS]
        out = batch.select(keep)
        zeros = pa.array([0] * batch.num_rows, type=pa.int32())
        return out.append_column(pa.field("pii_entities_removed", pa.int32(), nullable=False), zeros)


# ------------------------------------------------------------------ children


def _blocks(spec: dict):
    from flows.config import load_blocks

    return load_blocks(None, Path(spec["home"]), Path(spec["staging"]))


def _stage_in_progress(home: Path):
    """Label for RssSampler: the first stage the newest run's manifest does not list as done."""
    import json

    def label() -> str:
        runs = sorted((home / "runs").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
        if not runs:
            return "start-up"
        done = json.loads(runs[-1].read_text()).get("stages", {})
        return next((s for s in STAGES if s not in done), "reconcile")

    return label


def child_first(spec: dict) -> dict:
    from flows.pipeline import run_pipeline

    shutil.rmtree(spec["home"], ignore_errors=True)
    blocks = _blocks(spec)
    if spec.get("passthrough"):
        blocks.redactor = PassThroughRedactor()
    sampler = RssSampler(_stage_in_progress(Path(spec["home"])))
    sampler.start()
    started = time.perf_counter()
    summary = run_pipeline(blocks, window_start=WINDOW_START)
    total = time.perf_counter() - started
    return {"total_s": total, "summary": summary, "stage_rss_mb": sampler.stop()}


def child_rerun(spec: dict) -> dict:
    from flows.pipeline import run_pipeline

    blocks = _blocks(spec)
    start = WINDOW_START if spec["window"] == "same" else None
    started = time.perf_counter()
    summary = run_pipeline(blocks, window_start=start)
    return {"total_s": time.perf_counter() - started, "summary": summary}


def child_redact_sample(spec: dict) -> dict:
    """The real redact stage (presidio + render + lineage mark) on the first N upserts."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flows.lineage_recording import record_redacted
    from flows.run_state import open_work_db
    from stages.checkpoint import open_parquet
    from stages.redact import redact_cases

    blocks = _blocks(spec)
    run_dir = Path(spec["home"]) / "runs" / spec["run_id"]
    work = Path(spec["home"]) / "redact-sample"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    picked, wanted = [], spec["sample"]
    for batch in open_parquet(run_dir / "changes.parquet").iter_batches(batch_size=10_000):  # not the whole file
        upserts = batch.filter(pc.equal(batch.column("action"), "upsert"))
        picked.append(upserts.slice(0, wanted))
        wanted -= picked[-1].num_rows
        if wanted <= 0:
            break
    pq.write_table(pa.Table.from_batches(picked), work / "changes.parquet")
    del picked
    con = open_work_db(work, blocks.settings.duckdb_memory_limit)
    try:
        started = time.perf_counter()
        res = redact_cases(con, work / "changes.parquet", work / "redact.parquet", blocks.redactor,
                           batch_size=blocks.settings.batch_size, max_text_chars=blocks.settings.max_text_chars)
        redact_s = time.perf_counter() - started
        record_redacted(blocks.lineage, res.path, "bench-redact-sample")  # after the reruns: harmless
        stage_s = time.perf_counter() - started
    finally:
        con.close()
    return {"rows": res.rows, "redact_s": redact_s, "stage_s": stage_s, "entities": res.entities_removed}


# -------------------------------------------------------------------- parent


def _rate(rows: int, seconds: float) -> float | None:
    return rows / seconds if seconds else None


def measure(size: int, out: Path, redact_sample: int | None, replicated: bool = False) -> list[list]:
    script = Path(__file__).resolve()
    logs = out / "logs"
    staging, gen_s = ensure_replicated_staging(out, size) if replicated else ensure_staging(out, size)
    made = "replicated from 100k" if replicated else "generated"
    print(f"[{size}] staging {staging}: " + (f"{made} in {gen_s:.1f} s" if gen_s is not None else "cached"),
          flush=True)
    home = out / (f"home-{size}-replicated" if replicated else f"home-{size}")
    spec = {"cases": size, "staging": str(staging), "home": str(home)}
    size_label = f"{size:,} (replicated 100k)" if replicated else size
    sampled = redact_sample is not None and size > redact_sample
    first = run_child(script, {**spec, "mode": "first", "passthrough": sampled}, logs)
    print(f"[{size}] first run {first['total_s']:.1f} s", flush=True)
    same = run_child(script, {**spec, "mode": "rerun", "window": "same"}, logs)
    print(f"[{size}] rerun (same window) {same['total_s']:.1f} s", flush=True)
    dflt = run_child(script, {**spec, "mode": "rerun", "window": "default"}, logs)
    print(f"[{size}] rerun (default window) {dflt['total_s']:.1f} s", flush=True)

    rows: list[list] = []
    stages = first["summary"]["stages"]
    for name in STAGES:
        n, s = stages[name][ROWS_KEY[name]], stages[name]["seconds"]
        label = f"first run: {name}" + (" (pass-through, no presidio)" if sampled and name == "redact" else "")
        rows.append([size_label, label, n, s, _rate(n, s), first["stage_rss_mb"].get(name)])
    selected = first["summary"]["selected"]
    rows.append([size_label, "first run: whole run", selected, round(first["total_s"], 3),
                 _rate(selected, first["total_s"]), first["rss"]["peak_mb"]])
    if sampled:
        smp = run_child(script, {**spec, "mode": "redact_sample", "run_id": first["summary"]["run_id"],
                                 "sample": redact_sample}, logs)
        per_case = smp["stage_s"] / smp["rows"]
        rows.append([size_label, f"redact, real presidio on a {smp['rows']:,}-case sample", smp["rows"],
                     round(smp["stage_s"], 3), _rate(smp["rows"], smp["stage_s"]), smp["rss"]["peak_mb"]])
        upserts = stages["redact"]["processed"]
        est = first["total_s"] - stages["redact"]["seconds"] + upserts * per_case
        rows.append([size_label, "first run: whole run, ESTIMATED with redact at the sample rate", selected,
                     round(est, 1), _rate(selected, est), None])
    for label, res in (("rerun, same window, nothing changed", same),
                       ("rerun, default window (HWM - overlap)", dflt)):
        summ = res["summary"]
        rows.append([size_label, f"{label} (processed {summ['processed']}, skipped {summ['skipped_unchanged']})",
                     summ["selected"], round(res["total_s"], 3), _rate(summ["selected"], res["total_s"]),
                     res["rss"]["peak_mb"]])
    for name in ("extract", "compose", "changes"):
        n, s = same["summary"]["stages"][name][ROWS_KEY[name]], same["summary"]["stages"][name]["seconds"]
        rows.append([size_label, f"rerun, same window: {name}", n, s, _rate(n, s), None])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--replicated", type=int, nargs="*", default=[],
                        help="also sizes (multiples of 100000) whose staging is the generated 100k copied, "
                             "every key suffixed: 1M without 17 minutes of generation")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--redact-sample", type=int, nargs="?", const=10_000, default=None,
                        help="for sizes above N (default 10000): pass-through redact in the full run, "
                             "presidio timed on an N-case sample")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    before, code = machine_note(), code_note()
    print(f"machine: {before}", flush=True)
    rows = []
    for size in args.cases:
        rows.extend(measure(size, out, args.redact_sample))
    for size in args.replicated:
        rows.extend(measure(size, out, args.redact_sample, replicated=True))
    header = ["size", "stage", "cases", "seconds", "cases/s", "peak RSS MB"]
    table = markdown_table(header, rows)
    text = (f"# Pipeline benchmark\n\nStarted: {before}\n\nFinished: {machine_note()}\n\nCode: {code}\n\n"
            f"Command: `python benchmarks/bench_pipeline.py --cases {' '.join(map(str, args.cases))}"
            f"{'' if not args.replicated else ' --replicated ' + ' '.join(map(str, args.replicated))}"
            f"{'' if args.redact_sample is None else f' --redact-sample {args.redact_sample}'}`\n\n"
            "Stage seconds are `summary['stages'][name]['seconds']` (they include that stage's lineage writes); "
            "whole-run seconds are wall time around `run_pipeline` (schema check, lock, reconcile included). "
            "Peak RSS is per process (own `VmHWM` + largest child's `ru_maxrss`); on a first-run stage row it is the "
            "highest RSS sampled (every 0.2 s) while that stage ran, the process's RSS so far included.\n\n" + table + "\n")
    path = out / f"pipeline-{date.today():%Y-%m-%d}.md"
    path.write_text(text)
    print("\n" + table + f"\n\nwritten to {path}")


if __name__ == "__main__":
    import sys

    if "--child" in sys.argv:
        child_main({"first": child_first, "rerun": child_rerun, "redact_sample": child_redact_sample})
    else:
        main()
