"""Recovery runs: a stuck or lost record continues from the stage it reached.

A record that stopped half way (left in progress, or failed at redact, embed
or load), or that the store lost after it completed, was last worked on by
one run, whose folder usually still holds that run's checkpoints. Redoing it
from staging would repeat the expensive stages (PII removal, paid
embeddings), so recovery uses what the run already produced:

1. Lineage says, per record, which run last touched it (``run_id``) and how
   far it got (``current_stage``); records are grouped by (run, stage
   reached).
2. For each group whose run folder still holds the checkpoints up to that
   stage, a new recovery run is prepared: those checkpoints filtered to the
   group's ids (streamed batch by batch, an Arrow set filter each, so memory
   stays flat however large the old run was) and a manifest that marks the
   carried stages done. The pipeline's resume path then runs only the
   remaining stages: a record stuck after embed is only loaded.
3. Records whose checkpoint is gone (run folder pruned, stage never
   finished, record not in it) are recomposed from staging by one forced
   recovery run, as before this module existed.

Every recovery run says so in its manifest (``RunManifest.is_recovery``), so
it never moves the high-water mark. All runs are prepared before any runs: a
finishing run prunes old run folders, which must not take a later group's
source checkpoints with it. Records queued for the store (``load_pending``)
belong to the load queue's drain, and parked records to a person: recovery
leaves both alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.config import PipelineBlocks
from flows.lineage_recording import LOAD_PENDING, now_utc
from flows.run_state import RunManifest, new_run_id
from schemas.checkpoints import CHECKPOINTS
from stages.checkpoint import CheckpointWriter, open_parquet
from stages.errors import RunLocked

__all__ = ["REACHED", "RecoveryRun", "recover_cases", "prepare_recovery_runs"]

log = logging.getLogger(__name__)

#: lineage ``current_stage`` -> the last pipeline stage whose checkpoint holds
#: that record's finished work (the stage after it is where the record stopped).
REACHED: dict[str, str] = {
    "composed": "changes",  # selected for work; redaction not done
    "redact": "changes",  # redaction failed
    "redacted": "redact",
    "embed": "redact",  # embedding failed
    "embedded": "embed",
    "load": "embed",  # the store refused the write
    "loaded": "embed",  # written, but not confirmed, or since lost by the store
}
#: Checkpoints a resumed run reads, per stage reached (extract and compose are
#: marked done but not copied: no later stage reads them, and they hold PII).
_CARRIED: dict[str, tuple[str, ...]] = {
    "changes": ("changes",),
    "redact": ("changes", "redact"),
    "embed": ("changes", "redact", "embed"),
}
_NEXT = {"changes": "redact", "redact": "embed", "embed": "load"}
#: Left alone: the load queue's drain retries ``load_pending`` records; a
#: ``parked`` record failed too often and waits for a person, even when the
#: diff still finds its old object in the store.
_NOT_RECOVERED = (LOAD_PENDING, "parked")
_LOOKUP_CHUNK = 50_000


@dataclass
class RecoveryRun:
    """A prepared recovery run: its folder holds the filtered checkpoints, not yet continued."""

    run_id: str
    recovery_of: str
    resumed_after: str
    case_ids: list[str]


@dataclass
class _Path:
    cases: int = 0
    recovered: int = 0
    failed: int = 0
    runs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"cases": self.cases, "recovered": self.recovered, "failed": self.failed, "runs": self.runs}


def _reached(lineage, case_ids: Sequence[str]) -> tuple[pa.Table, set[str]]:
    """record_id, run_id and stage reached (null: unknown) of the ids lineage tracks; and the ids left alone."""
    stages = pa.array(list(REACHED), pa.string())
    reached = pa.array(list(REACHED.values()), pa.string())
    parts: list[pa.Table] = []
    queued: set[str] = set()
    for lo in range(0, len(case_ids), _LOOKUP_CHUNK):
        state = lineage.lineage_state(case_ids[lo: lo + _LOOKUP_CHUNK])
        is_queued = pc.is_in(state.column("status"), pa.array(_NOT_RECOVERED, pa.string()))
        queued.update(state.filter(is_queued).column("record_id").to_pylist())
        state = state.filter(pc.invert(is_queued))
        parts.append(pa.table({
            "record_id": state.column("record_id"),
            "run_id": state.column("run_id"),
            "reached": pc.take(reached, pc.index_in(state.column("current_stage"), value_set=stages)),
        }))
    if not parts:
        empty = pa.array([], pa.string())
        return pa.table({"record_id": empty, "run_id": empty, "reached": empty}), queued
    return pa.concat_tables(parts), queued


def _carried(source: RunManifest, reached: str) -> tuple[str, ...]:
    """The longest prefix of the checkpoints up to ``reached`` that the old run finished and still has."""
    out: list[str] = []
    for stage in _CARRIED[reached]:
        if not (source.done(stage) and (source.run_dir / f"{stage}.parquet").exists()):
            break
        out.append(stage)
    return tuple(out)


def _filter_checkpoint(src: Path, dst: Path, stage: str, value_set: pa.Array, batch_size: int) -> int:
    """Copy the rows of ``value_set``'s case ids, in file order (load pairs redact and embed rows by position)."""
    source = open_parquet(src)
    with CheckpointWriter(dst, CHECKPOINTS[stage], source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=batch_size):
            kept = batch.filter(pc.is_in(batch.column("case_id"), value_set=value_set))
            if kept.num_rows:
                writer.write(kept)
        return writer.close().rows


def _carried_stats(run_dir: Path, recovery_of: str, carried: tuple[str, ...], n: int) -> dict[str, dict]:
    """Manifest entries for the stages the recovery run starts with, in the keys the run summary reads."""
    common = {"carried_from": recovery_of, "seconds": 0.0}
    stats = {
        "extract": {**common, "selected": n, "quarantined": 0, "quarantined_cases": 0, "orphans": {}, "rows": {},
                    "high_water_mark": None},
        "compose": {**common, "selected": n, "processed": n, "upserts": n, "deletes": 0},
        "changes": {**common, "selected": n, "processed": n, "upserts": n, "deleted": 0, "skipped_unchanged": 0},
    }
    if "redact" in carried:
        stats["redact"] = {**common, "processed": n, "failed": 0, "pii_entities_removed": 0}
    if "embed" in carried:
        t = pq.read_table(run_dir / "embed.parquet", columns=["primary_model", "fallback_model", "embed_error"])
        stats["embed"] = {**common, "processed": t.num_rows,
                          "primary": t.num_rows - t.column("primary_model").null_count,
                          "fallback": t.num_rows - t.column("fallback_model").null_count,
                          "failed": t.num_rows - t.column("embed_error").null_count,
                          "primary_calls": 0, "short_circuited": 0, "breaker_opened": 0}
    return stats


def _prepare_one(runs_dir: Path, recovery_of: str, reached: str, ids: list[str],
                 batch_size: int) -> tuple[RecoveryRun | None, set[str]]:
    """A recovery run for one group, and the ids it holds (the rest must be recomposed)."""
    source = RunManifest.load(runs_dir / recovery_of)
    carried = _carried(source, reached) if source is not None else ()
    if not carried:
        return None, set()
    run_id = new_run_id(now_utc())
    manifest = RunManifest.create(runs_dir / run_id, run_id, source.window, selection={
        "recovery_of": recovery_of, "resumed_after": carried[-1], "cases": len(ids), "force": True})
    value_set = pa.array(ids, pa.string())
    for stage in carried:
        _filter_checkpoint(source.run_dir / f"{stage}.parquet", manifest.run_dir / f"{stage}.parquet", stage,
                           value_set, batch_size)
    held = set(pq.read_table(manifest.run_dir / f"{carried[-1]}.parquet", columns=["case_id"])
               .column("case_id").to_pylist())
    if not held:
        shutil.rmtree(manifest.run_dir, ignore_errors=True)
        return None, set()
    for stage, stats in _carried_stats(manifest.run_dir, recovery_of, carried, len(held)).items():
        manifest.complete(stage, stats)
    return RecoveryRun(run_id, recovery_of, carried[-1], sorted(held)), held


def prepare_recovery_runs(blocks: PipelineBlocks, case_ids: Sequence[str]) -> tuple[list[RecoveryRun], list[str]]:
    """Recovery runs prepared from the old runs' checkpoints, and the ids left to recompose from staging."""
    state, queued = _reached(blocks.lineage, list(case_ids))
    known = state.filter(pc.and_(pc.is_valid(state.column("run_id")), pc.is_valid(state.column("reached"))))
    groups = known.group_by(["run_id", "reached"]).aggregate([("record_id", "list")]).sort_by(
        [("run_id", "ascending"), ("reached", "ascending")])
    runs: list[RecoveryRun] = []
    held: set[str] = set()
    for run_id, reached, ids in zip(*(groups.column(c).to_pylist() for c in ("run_id", "reached", "record_id_list"))):
        run, got = _prepare_one(blocks.home / "runs", run_id, reached, sorted(ids), blocks.settings.batch_size)
        if run is not None:
            runs.append(run)
            held |= got
    recompose = sorted(set(case_ids) - held - queued)
    return runs, recompose


def _mark_failed(blocks: PipelineBlocks, run: RecoveryRun, error: str) -> None:
    """Count a failed recovery run against its records (so they are parked after N attempts)."""
    state = blocks.lineage.lineage_state(run.case_ids)
    open_ids = state.filter(pc.not_equal(state.column("status"), "completed")).column("record_id").to_pylist()
    blocks.lineage.mark(open_ids, stage=_NEXT[run.resumed_after], status="failed", increment_retry=True,
                        error_message=f"recovery run {run.run_id} failed: {error}")


def recover_cases(blocks: PipelineBlocks, case_ids: Sequence[str]) -> dict:
    """Recover ``case_ids``: from their run's checkpoints where possible, from staging otherwise.

    Returns per path (``resumed_from_checkpoint``, ``recomposed``) the cases
    sent, recovered (loaded or deleted), failed and the recovery run ids;
    ``deferred`` when another run holds the pipeline lock (nothing more is
    started; prepared runs not started are removed); ``errors`` names the
    exception type of each recovery run that failed.
    """
    from flows.pipeline import run_pipeline  # the pipeline imports config; keep this module importable alone

    resumed, recomposed = _Path(), _Path()
    out: dict = {"deferred": None, "errors": []}
    runs, recompose = prepare_recovery_runs(blocks, case_ids)
    resumed.cases, recomposed.cases = sum(len(r.case_ids) for r in runs), len(recompose)
    pending = list(runs)
    try:
        while pending:
            run = pending[0]
            try:
                summary = run_pipeline(blocks, resume_run_id=run.run_id)
            except RunLocked:
                raise
            except Exception as exc:  # noqa: BLE001 - one group's failure must not stop the others
                resumed.failed += len(run.case_ids)
                out["errors"].append(f"{run.run_id} (from {run.recovery_of} after {run.resumed_after}): "
                                     f"{type(exc).__name__}")
                _mark_failed(blocks, run, type(exc).__name__)
            else:
                resumed.recovered += summary["loaded"] + summary["deleted"]
                resumed.failed += summary["failed"]
            resumed.runs.append(run.run_id)
            pending.pop(0)
        if recompose:
            try:
                summary = run_pipeline(blocks, case_ids=recompose, force=True)
            except RunLocked:
                raise
            except Exception as exc:  # noqa: BLE001
                recomposed.failed += len(recompose)
                out["errors"].append(f"recompose of {len(recompose)} cases: {type(exc).__name__}")
            else:
                recomposed.recovered += summary["loaded"] + summary["deleted"]
                recomposed.failed += summary["failed"]
                recomposed.runs.append(summary["run_id"])
    except RunLocked as exc:
        out["deferred"] = str(exc)
        for run in pending:  # never started: nothing in lineage refers to them
            shutil.rmtree(blocks.home / "runs" / run.run_id, ignore_errors=True)
    log.info("recovery: %d cases resumed from checkpoints in %d runs (%d recovered), %d recomposed (%d recovered)",
             resumed.cases, len(resumed.runs), resumed.recovered, recomposed.cases, recomposed.recovered)
    out["resumed_from_checkpoint"] = resumed.as_dict()
    out["recomposed"] = recomposed.as_dict()
    return out
