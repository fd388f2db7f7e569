"""The ``case_vector_pipeline`` flow: one task per stage, lineage after each.

A run owns ``<home>/runs/<run_id>/``: a DuckDB work file, one Parquet
checkpoint per stage and ``manifest.json``, rewritten after every stage, that
records what is done. ``resume_run_id`` continues a failed run from its last
good checkpoint with the same window. Only one run at a time holds the
pipeline lock in the lineage database.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from blocks.errors import StoreUnavailable
from blocks.load_queue import LoadQueue
from flows.config import PipelineBlocks, load_blocks
from flows.embedding_guard import EmbeddingGuard
from flows.lineage_recording import (
    now_utc,
    record_embedded,
    record_fingerprints,
    record_loaded,
    record_quarantine,
    record_redacted,
    record_selected,
)
from flows.run_state import RunManifest, open_work_db, prune_runs
from schemas.settings import DateWindow
from stages.changes import plan_changes
from stages.checkpoint import open_parquet
from stages.compose import compose_cases, composition_salt
from stages.embed import embed_cases
from stages.errors import NothingToResume, RunLocked
from stages.extract import extract_window, register_checked_views
from stages.load import load_cases
from stages.progress import Progress, SilentProgress
from stages.reconcile import compare_counts, staging_counts

__all__ = ["case_vector_pipeline", "run_pipeline", "acquire_pipeline_lock", "PIPELINE_LOCK"]

log = logging.getLogger(__name__)
PIPELINE_LOCK = "case_vector_pipeline"
_TASK = dict(cache_policy=NO_CACHE, persist_result=False)


@task(name="extract", **_TASK)
def extract_task(con, present, window, run_dir, case_ids=None, lineage=None, settings=None):
    """Select and check the window; with ``lineage``, skip cases whose source fingerprint is known and done."""
    salt = composition_salt(tuple(settings.task_types), settings.max_text_chars) if settings is not None else ""
    return extract_window(con, present, window, run_dir / "extract", case_ids,
                          lineage_state=lineage.lineage_state if lineage is not None else None, salt=salt)


@task(name="compose", **_TASK)
def compose_task(con, run_dir, settings):
    return compose_cases(con, run_dir / "extract", run_dir / "compose.parquet",
                         task_types=tuple(settings.task_types), max_text_chars=settings.max_text_chars)


@task(name="changes", **_TASK)
def changes_task(con, run_dir, lineage, compose_path, force=False):
    import pyarrow as pa

    # lineage state of the composed ids, fetched in chunks (bounded memory)
    parts = [
        lineage.lineage_state(batch.column("case_id").to_pylist()).select(["record_id", "checksum", "status"])
        for batch in open_parquet(compose_path).iter_batches(batch_size=50_000, columns=["case_id"])
    ]
    state = pa.concat_tables(parts) if parts else pa.table(
        {"record_id": pa.array([], pa.string()), "checksum": pa.array([], pa.string()),
         "status": pa.array([], pa.string())})
    return plan_changes(con, compose_path, state, run_dir / "changes.parquet", force=force)


@task(name="redact", **_TASK)
def redact_task(con, run_dir, redactor, settings, progress):
    from stages.redact import redact_cases

    return redact_cases(con, run_dir / "changes.parquet", run_dir / "redact.parquet", redactor,
                        batch_size=settings.batch_size, max_text_chars=settings.max_text_chars, progress=progress)


@task(name="embed", **_TASK)
def embed_task(run_dir, primary, fallback, settings, progress, breaker=None, cache=None):
    return embed_cases(run_dir / "redact.parquet", run_dir / "embed.parquet", primary, fallback,
                       batch_size=settings.batch_size, request_size=settings.embed_batch_size, progress=progress,
                       breaker=breaker, cache=cache)


@task(name="load", **_TASK)
def load_task(run_dir, store, primary, fallback, run_id, settings, progress, queue=None):
    """Load into the store; with ``queue``, an outage queues the loads (``flows.drain`` writes them later)."""
    sizes = {"primary": primary.vector_size}
    if fallback is not None:
        sizes["fallback"] = fallback.vector_size
    with store:
        return load_cases(store, run_dir / "changes.parquet", run_dir / "redact.parquet", run_dir / "embed.parquet",
                          run_dir / "load.parquet", run_id=run_id, batch_size=settings.load_batch_size, progress=progress,
                          queue=queue, vector_sizes=sizes, read_batch_size=settings.batch_size)


@task(name="reconcile_counts", **_TASK)
def reconcile_counts_task(con, present, lineage, store):
    register_checked_views(con, present)
    try:
        with store:
            stored = store.count()
    except StoreUnavailable:  # its loads are queued; the run is not a failure, the count is unknown
        stored = None
    report = compare_counts(staging_counts(con), lineage.stage_status_counts(), stored)
    report.counts["quarantined_open"] = len(lineage.unresolved_failures("extract"))
    return report


def _call(stage_task, *args):
    """Run a stage as a Prefect task inside a flow run, as a plain function outside one.

    Outside a flow (benchmarks, library use) a task call would start a
    temporary Prefect server just to record it; the stage itself needs none.
    """
    if FlowRunContext.get() is not None:
        return stage_task(*args)
    return stage_task.fn(*args)


def _default_window(blocks: PipelineBlocks, start: datetime | None, end: datetime | None) -> DateWindow:
    if start is None:
        last = blocks.lineage.last_successful_run(PIPELINE_LOCK)
        hwm = (last or {}).get("high_water_mark")
        start = (hwm - blocks.settings.overlap) if hwm else blocks.settings.initial_start
    return DateWindow(start=start, end=end or now_utc() + timedelta(seconds=1))


def acquire_pipeline_lock(blocks: PipelineBlocks, owner: str, wait: bool) -> None:
    """Take the pipeline lock for ``owner`` (waiting up to the lock's TTL if ``wait``) or raise ``RunLocked``.

    Every writer of the store takes it (a run, a re-embed), so two never
    write the same case at once.
    """
    deadline = time.monotonic() + blocks.settings.lock_ttl_seconds
    while not blocks.lineage.acquire_lock(PIPELINE_LOCK, owner, blocks.settings.lock_ttl_seconds):
        if not wait or time.monotonic() > deadline:
            raise RunLocked(PIPELINE_LOCK, blocks.lineage.lock_holder(PIPELINE_LOCK))
        time.sleep(2)


def run_pipeline(
    blocks: PipelineBlocks,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    resume_run_id: str | None = None,
    wait_for_lock: bool = False,
    progress: Progress | None = None,
    stop_after: str | None = None,
    case_ids: list[str] | None = None,
    force: bool = False,
) -> dict:
    """Run (or resume) the pipeline with ``blocks``; returns the run summary.

    ``stop_after`` ends the run after the named stage as if it had been
    killed there (the run stays ``running`` in lineage): it is how tests
    and operators rehearse a resume.

    ``case_ids`` (recovery) selects exactly those cases instead of a window,
    ``force`` reprocesses them even when lineage says they are unchanged; such
    a run never moves the high-water mark.
    """
    progress = progress or SilentProgress()
    lineage = blocks.lineage
    lineage.ensure_schema()
    runs_dir = blocks.home / "runs"
    if resume_run_id:
        manifest = RunManifest.load(runs_dir / resume_run_id)
        if manifest is None:
            raise NothingToResume(f"run {resume_run_id!r} has no manifest under {runs_dir}; nothing to resume")
        run_id, window = manifest.run_id, manifest.window
    else:
        run_id = f"{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        window = _default_window(blocks, window_start, window_end)
        manifest = RunManifest.create(runs_dir / run_id, run_id, window,
                                      {"case_ids": case_ids, "force": force} if case_ids is not None else {})
    previous_hwm = (lineage.last_successful_run(PIPELINE_LOCK) or {}).get("high_water_mark")
    acquire_pipeline_lock(blocks, run_id, wait_for_lock)
    try:
        if not resume_run_id:
            lineage.start_run(run_id, flow_name=PIPELINE_LOCK, window_start=window.start, window_end=window.end,
                              parameters={"recovery_cases": len(case_ids) if case_ids is not None else None,
                                          "force": force})
        elif lineage.get_run(run_id) is None:  # a recovery run prepared from another run's checkpoints
            lineage.start_run(run_id, flow_name=PIPELINE_LOCK, window_start=window.start, window_end=window.end,
                              parameters={"recovery_cases": manifest.selection.get("cases"),
                                          "recovery_of": manifest.selection.get("recovery_of"), "force": True})
        summary = _run_stages(blocks, manifest, window, progress, stop_after)
        if summary.get("stopped_after"):
            return summary
        seen = summary["high_water_mark"] and datetime.fromisoformat(summary["high_water_mark"])
        if manifest.is_recovery:  # the watermark belongs to window runs
            seen = None
        hwm = max(h for h in (seen, previous_hwm) if h) if (seen or previous_hwm) else None
        lineage.finish_run(run_id, status="completed", high_water_mark=hwm, summary=summary)
        prune_runs(runs_dir, blocks.settings.retention_days, keep={run_id})
        return summary
    except BaseException as exc:
        lineage.finish_run(run_id, status="failed", summary={"error": type(exc).__name__, "stages": manifest.stages})
        raise
    finally:
        lineage.release_lock(PIPELINE_LOCK, run_id)


def _timed(manifest: RunManifest, name: str, fn, make_stats) -> object:
    """Run a stage unless the manifest says it is done; record its figures."""
    if manifest.done(name):
        return None
    started = time.perf_counter()
    result = fn()
    stats = make_stats(result)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    manifest.complete(name, stats)
    return result


def _run_stages(blocks: PipelineBlocks, manifest: RunManifest, window: DateWindow, progress: Progress,
                stop_after: str | None) -> dict:
    s, lineage, run_id, run_dir = blocks.settings, blocks.lineage, manifest.run_id, manifest.run_dir
    con = open_work_db(run_dir, s.duckdb_memory_limit)
    try:
        present = blocks.staging.register(con)

        def extract():
            forced = manifest.selection.get("force", False)
            res = _call(extract_task, con, present, window, run_dir, manifest.selection.get("case_ids"),
                        None if forced else lineage, s)
            record_quarantine(lineage, res.quarantined, run_id)
            return res

        _timed(manifest, "extract", extract, lambda r: {
            "selected": r.selected_cases + r.skipped_unchanged, "processed": r.selected_cases,
            "quarantined": len(r.quarantined), "quarantined_cases": r.quarantined_cases,
            "orphans": r.orphans, "rows": r.rows, "skipped_unchanged": r.skipped_unchanged,
            "high_water_mark": r.high_water_mark.isoformat() if r.high_water_mark else None})
        stages = ["extract", "compose", "changes", "redact", "embed", "load"]

        def stop(name):
            return stop_after == name

        if stop("extract"):
            return {"run_id": run_id, "stopped_after": "extract"}
        _timed(manifest, "compose", lambda: _call(compose_task, con, run_dir, s),
               lambda r: {"selected": r.rows, "processed": r.rows, "upserts": r.upserts, "deletes": r.deletes})
        if stop("compose"):
            return {"run_id": run_id, "stopped_after": "compose"}

        def changes():
            res = _call(changes_task, con, run_dir, lineage, run_dir / "compose.parquet",
                        manifest.selection.get("force", False))
            record_selected(lineage, res.path, run_id)
            record_fingerprints(lineage, run_dir / "extract" / "fingerprints.parquet", run_dir / "compose.parquet")
            return res

        _timed(manifest, "changes", changes, lambda r: {
            "selected": r.upserts + r.deletes + r.skipped_unchanged + r.skipped_deleted,
            "processed": r.upserts + r.deletes, "upserts": r.upserts, "deleted": r.deletes,
            "skipped_unchanged": r.skipped_unchanged + r.skipped_deleted})
        if stop("changes"):
            return {"run_id": run_id, "stopped_after": "changes"}

        def redact():
            res = _call(redact_task, con, run_dir, blocks.redactor, s, progress)
            record_redacted(lineage, res.path, run_id, res.failed)
            return res

        _timed(manifest, "redact", redact, lambda r: {"processed": r.rows, "failed": len(r.failed),
                                                     "pii_entities_removed": r.entities_removed})
        if stop("redact"):
            return {"run_id": run_id, "stopped_after": "redact"}

        def embed():
            guard = EmbeddingGuard.open(blocks)  # the primary's breaker as the last run left it, and the cache
            try:
                res = _call(embed_task, run_dir, blocks.primary, blocks.fallback, s, progress, guard.breaker,
                            guard.cache)
            finally:
                guard.close(run_id)  # breaker state and outage windows to service_status / service_outages
            record_embedded(lineage, res.path, run_id)
            return res

        _timed(manifest, "embed", embed, lambda r: {
            "processed": r.rows, "primary": r.primary, "fallback": r.fallback, "failed": len(r.failed),
            "primary_calls": r.primary_calls, "short_circuited": r.short_circuited, "breaker_opened": r.breaker_opened,
            "cache_hits": r.cache_hits})
        if stop("embed"):
            return {"run_id": run_id, "stopped_after": "embed"}

        def load():
            res = _call(load_task, run_dir, blocks.store, blocks.primary, blocks.fallback, run_id, s, progress,
                        LoadQueue.under(blocks.home))
            record_loaded(lineage, res.path, run_dir / "changes.parquet", run_id)
            # a case deleted before it was ever loaded has a lineage row only now: give it its fingerprint
            record_fingerprints(lineage, run_dir / "extract" / "fingerprints.parquet", run_dir / "changes.parquet",
                                action="delete")
            return res

        _timed(manifest, "load", load, lambda r: {
            "processed": r.loaded + r.failed + r.deleted + r.queued, "loaded": r.loaded, "failed": r.failed,
            "deleted": r.deleted, "queued": r.queued})
        report = _call(reconcile_counts_task, con, present, lineage, blocks.store)
        return _summary(manifest, window, stages, report)
    finally:
        con.close()


def _summary(manifest: RunManifest, window: DateWindow, stages: list[str], report) -> dict:
    st = manifest.stages
    ext, chg, emb, load = st["extract"], st["changes"], st["embed"], st["load"]
    return {
        "run_id": manifest.run_id,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "selected": st["compose"]["selected"] + ext.get("skipped_unchanged", 0),
        "processed": chg["processed"],
        # unchanged by source fingerprint (before compose) or by checksum (after it)
        "skipped_unchanged": chg["skipped_unchanged"] + ext.get("skipped_unchanged", 0),
        "deleted": load["deleted"],
        "quarantined": ext["quarantined"],
        "orphans": ext["orphans"],
        "failed": st["redact"].get("failed", 0) + emb["failed"] + load["failed"],
        "loaded": load["loaded"],
        "queued": load.get("queued", 0),  # waiting in the load queue (store unavailable); see flows.drain
        "embedded_primary": emb["primary"],
        "embedded_fallback": emb["fallback"],
        "high_water_mark": ext["high_water_mark"],
        "stages": {name: st[name] for name in stages if name in st},
        "reconciliation": report.as_dict(),
    }


@flow(name="case_vector_pipeline", log_prints=True)
def case_vector_pipeline(
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    resume_run_id: str | None = None,
    config_path: str | None = None,
    home: str | None = None,
    staging_path: str | None = None,
    wait_for_lock: bool = False,
    block_names: dict[str, str] | None = None,
) -> dict:
    """Staging -> compose -> redact -> embed -> load for one date window.

    With no window, from the last successful run's high-water mark minus the
    configured overlap up to now. Blocks come from the configuration file;
    ``block_names`` (section -> saved block document, e.g. ``{"store":
    "case-store"}``) loads those sections from the Prefect server instead.
    """
    blocks = load_blocks(Path(config_path) if config_path else None, Path(home) if home else None,
                         Path(staging_path) if staging_path else None, block_names=block_names)
    return run_pipeline(blocks, window_start=window_start, window_end=window_end, resume_run_id=resume_run_id,
                        wait_for_lock=wait_for_lock, progress=_progress_hook.get())


class _ProgressHook:
    """The CLI hands its progress display to the flow without a flow parameter."""

    def __init__(self) -> None:
        self._value: Progress | None = None

    def get(self) -> Progress | None:
        return self._value

    def set(self, value: Progress | None) -> None:
        self._value = value


_progress_hook = _ProgressHook()
