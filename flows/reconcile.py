"""The ``case_reconciliation`` flow: prove nothing was lost, repair what can be.

1. Counts across staging, lineage and the store (``stages.reconcile``).
2. A full id and checksum diff of completed lineage against the store
   (``stages.reconcile_diff``): counts can match while content is wrong.
3. Stuck records: not completed, untouched for ``stuck_after``. A record that
   failed recovery ``max_attempts`` times is parked with its reason instead of
   being retried forever.
4. With ``repair``: deletes are re-applied, and missing, stale, untracked and
   stuck cases are recovered (``flows.recovery``): continued from the stage
   they reached using their run's checkpoints, or recomposed from staging
   when the checkpoint is gone, by recovery runs of the pipeline that never
   move the watermark. Without it, report only. The diff is taken again after a repair, so the report says what
   remains.

One ``reconciliation_runs`` row records the details as JSON; the flow then
sends alerts for open problems once per problem (``flows.alerting``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow

from blocks.alert_ledger import AlertLedger
from blocks.errors import StoreUnavailable
from flows.alerting import dispatch_alerts
from flows.config import PipelineBlocks, load_blocks
from flows.lineage_recording import now_utc
from flows.run_state import open_work_db
from stages.extract import extract_window, register_checked_views
from stages.reconcile import Discrepancy, compare_counts, staging_counts
from schemas.context import CONTEXT_COLUMNS
from schemas.settings import DateWindow
from stages.compose import compose_cases
from stages.deep_checks import content_integrity, reservoir_sample, vector_dimensions
from stages.leak_scan import scan_for_leaks
from stages.reconcile_diff import DiffReport, diff_store_against_lineage, found_ids

__all__ = ["case_reconciliation", "reconcile"]

#: Not completed and not waiting on purpose: ``load_pending`` records sit in the
#: load queue during a store outage and are retried by its drain, not recovered.
_STUCK_STATUSES = ("in_progress", "failed")
_DIFF_SEVERITY = {"missing_from_store": "high", "stale_checksum": "high", "deleted_but_stored": "critical",
                  "untracked_in_store": "medium"}


def _staging_ids(con, where: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT DISTINCT Id FROM chk_case WHERE Id IS NOT NULL AND {where}").fetchall()]


def _diff(con, blocks: PipelineBlocks, store) -> DiffReport:
    deleted = (pa.record_batch([pa.array(ids, pa.string())], names=["case_id"])
               for ids in blocks.lineage.iter_record_ids(["deleted"]))
    staged_deleted = pa.record_batch([pa.array(_staging_ids(con, "coalesce(IsDeleted, false)"), pa.string())],
                                     names=["case_id"])
    return diff_store_against_lineage(con, blocks.lineage.iter_completed_checksums(), store.iter_checksums(),
                                      [*deleted, staged_deleted])


def _stuck(lineage, updated_before) -> list[str]:
    """Records not completed and untouched since ``updated_before``."""
    return [i for ids in lineage.iter_record_ids(_STUCK_STATUSES, updated_before=updated_before) for i in ids]


def _park(blocks: PipelineBlocks, max_attempts: int) -> int:
    parked = 0
    for ids in list(blocks.lineage.iter_record_ids(["failed"], min_retries=max_attempts)):
        parked += blocks.lineage.mark(ids, stage="parked", status="parked",
                                      error_message=f"parked after {max_attempts} failed attempts; see failed_records")
    return parked


def _repair(con, blocks: PipelineBlocks, store, diff: DiffReport, stuck: list[str]) -> dict:
    """Act on the diff and the stuck records; returns what was done, per recovery path."""
    from flows.recovery import recover_cases

    done = {"deleted": 0, "recovered": 0, "recovery_failed": 0, "deferred": None}
    live = set(_staging_ids(con, "NOT coalesce(IsDeleted, false)"))
    to_delete: list[str] = []
    for ids in found_ids(con, "deleted_but_stored"):
        to_delete += ids
    for ids in found_ids(con, "untracked_in_store"):
        to_delete += [i for i in ids if i not in live]
    if to_delete:
        done["deleted"] = store.delete(to_delete)
        blocks.lineage.mark(to_delete, stage="deleted", status="deleted", error_message=None)
    redo: set[str] = set(stuck)
    for kind in ("missing_from_store", "stale_checksum", "untracked_in_store"):
        for ids in found_ids(con, kind):
            redo.update(i for i in ids if i in live)
    redo &= live
    if redo:
        recovery = recover_cases(blocks, sorted(redo))
        paths = (recovery["resumed_from_checkpoint"], recovery["recomposed"])
        done["recovered"] = sum(p["recovered"] for p in paths)
        done["recovery_failed"] = sum(p["failed"] for p in paths)
        done.update(recovery)
    return done


def _count_pending_loads(blocks: PipelineBlocks, report) -> None:
    """Loads waiting in the queue are their own figure (``lineage_pending``, ``load_queue``), not stuck or
    missing; a pending record no queue segment holds would wait forever, so it is a discrepancy."""
    from blocks.load_queue import LoadQueue
    from flows.drain import unqueued_pending

    report.counts["load_queue"] = LoadQueue.under(blocks.home).size().as_dict()
    lost = unqueued_pending(blocks) if report.counts.get("lineage_pending") else []
    report.counts["load_pending_unqueued"] = len(lost)
    if lost:
        report.discrepancies.append(Discrepancy(
            "load_pending_unqueued", "high", 0, len(lost), len(lost),
            f"{len(lost)} cases wait for a load no queue segment holds; rerun them forced, e.g. {', '.join(lost[:5])}"))


def _sample_context(con, blocks: PipelineBlocks, present: set[str], ids: list[str]) -> pa.Table:
    """The staging PII context lists of the sampled cases, composed exactly as the pipeline does."""
    work = blocks.home / "reconcile" / "deep"
    window = DateWindow(start=blocks.settings.initial_start, end=now_utc())
    extract_window(con, present, window, work / "extract", case_ids=ids)
    compose_cases(con, work / "extract", work / "compose.parquet", task_types=tuple(blocks.settings.task_types),
                  max_text_chars=blocks.settings.max_text_chars)
    return pq.read_table(work / "compose.parquet", columns=["case_id", *CONTEXT_COLUMNS])


def _deep(con, blocks: PipelineBlocks, store, sample_size: int | None, present: set[str]) -> dict:
    """Content integrity, vector dimensions and a PII leak scan of a sample (``None``: every object)."""
    ids = reservoir_sample(store.iter_checksums(), sample_size)
    stored, lengths, state = [], [], []
    for lo in range(0, len(ids), 5_000):
        chunk = ids[lo: lo + 5_000]
        stored.append(store.fetch(chunk).select(["case_id", "case_number", "product", "priority", "status", "checksum"]))
        lengths.append(store.vector_lengths(chunk))
        state.append(blocks.lineage.lineage_state(chunk))
    sizes = {"primary": blocks.primary.vector_size}
    if blocks.fallback is not None:
        sizes["fallback"] = blocks.fallback.vector_size
    if not ids:
        return {"integrity": {"sampled": 0, "corrupted": 0, "corruption_rate": 0.0}, "dimensions": {"errors": 0},
                "pii": {"scanned": 0, "leaks": 0, "context_leaks": 0, "case_ids": []}}
    integrity = content_integrity(con, pa.concat_tables(stored), pa.concat_tables(state))
    dims = vector_dimensions(pa.concat_tables(lengths), sizes)
    leaks = scan_for_leaks(store, _sample_context(con, blocks, present, ids), redactor=blocks.redactor, case_ids=ids)
    pii = {"scanned": leaks.scanned, "leaks": leaks.leaks, "context_leaks": leaks.context_leaks,
           "by_entity": leaks.by_entity, "context_by_entity": leaks.context_by_entity,
           "case_ids": list(leaks.case_ids)[:100]}
    return {"integrity": integrity.as_dict(), "dimensions": dims.as_dict(), "pii": pii}


def reconcile(
    blocks: PipelineBlocks,
    *,
    diff: bool = True,
    deep: bool = False,
    sample_size: int | None = 1_000,
    corruption_threshold: float = 0.01,
    repair: bool = False,
    stuck_after: timedelta = timedelta(hours=24),
    max_attempts: int = 3,
    completion_threshold: float = 0.95,
    gap_critical: int = 1000,
) -> dict:
    """Counts, diff, stuck records and (optionally) repair; records one run row."""
    lineage = blocks.lineage
    lineage.ensure_schema()
    started = now_utc()
    work = blocks.home / "reconcile"
    work.mkdir(parents=True, exist_ok=True)
    con = open_work_db(work, blocks.settings.duckdb_memory_limit)
    try:
        present = blocks.staging.register(con)
        register_checked_views(con, present)
        source = staging_counts(con)
        result: dict = {"repair": None}
        store_down: StoreUnavailable | None = None
        # from lineage alone: counted even while the store is down (the diff only reads completed records)
        parked = _park(blocks, max_attempts) if diff else 0
        stuck = _stuck(lineage, started - stuck_after) if diff else []
        try:
            with blocks.store as store:
                diff_report = _diff(con, blocks, store) if diff else None
                if repair and diff_report is not None:
                    result["repair"] = _repair(con, blocks, store, diff_report, stuck)
                    diff_report = _diff(con, blocks, store)
                    stuck = _stuck(lineage, started - stuck_after)
                deep_result = _deep(con, blocks, store, sample_size, present) if deep else None
                stored = store.count()
        except StoreUnavailable as exc:
            # the lineage and staging side still gets counted; what needs the store is reported as not done
            store_down, diff_report, deep_result, stored = exc, None, None, None
        report = compare_counts(source, lineage.stage_status_counts(), stored,
                                completion_threshold=completion_threshold, gap_critical=gap_critical)
    finally:
        con.close()
    if store_down is not None:
        report.discrepancies.append(Discrepancy(
            "store_unavailable", "critical", 0, 0, 0,
            f"the vector store did not answer ({type(store_down).__name__}): its count, the id and checksum "
            "diff, repair and deep checks were skipped; loads queue until it is back (drain)"))
        report.counts["store_unavailable"] = True
    report.counts["quarantined_open"] = len(lineage.unresolved_failures("extract"))
    report.counts["join_coverage"] = lineage.join_coverage()
    _count_pending_loads(blocks, report)
    report.counts["services"] = lineage.service_report(started - stuck_after, primary_model=blocks.primary.model_name)
    if diff_report is not None:
        for kind, n in diff_report.counts.items():
            if n:
                sev = "critical" if kind == "missing_from_store" and n > gap_critical else _DIFF_SEVERITY[kind]
                report.discrepancies.append(Discrepancy(
                    kind, sev, 0, n, n, f"{n} cases, e.g. {', '.join(diff_report.sample_ids[kind][:5])}"))
        report.counts["diff"] = diff_report.as_dict()
    if diff:
        if stuck:
            report.discrepancies.append(Discrepancy(
                "stuck_records", "medium", 0, len(stuck), len(stuck),
                f"{len(stuck)} records not completed for over {stuck_after}, e.g. {', '.join(stuck[:5])}"))
        report.counts["stuck"] = len(stuck)
        report.counts["parked"] = parked
    if deep_result is not None:
        integrity, dims = deep_result["integrity"], deep_result["dimensions"]
        report.counts["deep"] = deep_result
        report.counts["corruption_rate"] = integrity["corruption_rate"]
        if integrity["corruption_rate"] > corruption_threshold:
            report.discrepancies.append(Discrepancy(
                "content_corruption", "high", corruption_threshold, integrity["corruption_rate"], integrity["corrupted"],
                f"{integrity['corrupted']} of {integrity['sampled']} sampled objects differ from staging or lineage "
                f"({integrity['by_field']}), e.g. {', '.join(integrity['sample_ids'][:5])}"))
        pii = deep_result["pii"]
        report.counts["pii_leaks"] = pii["leaks"]
        report.counts["pii_leak_ids"] = pii["case_ids"]
        if pii["leaks"]:
            report.discrepancies.append(Discrepancy(
                "pii_leakage", "critical", 0, pii["leaks"], pii["leaks"],
                f"{pii['leaks']} personal-data findings ({pii['context_leaks']} of the cases' own context values) "
                f"in {len(pii['case_ids'])} stored cases, e.g. {', '.join(pii['case_ids'][:5])}"))
        if dims["errors"]:
            report.discrepancies.append(Discrepancy(
                "embedding_dimension_error", "high", 0, dims["errors"], dims["errors"],
                f"{dims['errors']} objects with a wrong-sized or no vector, e.g. {', '.join(dims['sample_ids'][:5])}"))
    result.update(report.as_dict())
    recovered = (result["repair"] or {}).get("recovered", 0) + (result["repair"] or {}).get("deleted", 0)
    result["run_id"] = run_id = str(uuid.uuid4())
    lineage.record_reconciliation({
        "run_id": run_id,
        "run_type": "weekly_deep" if deep else ("daily" if diff else "counts"),
        "start_time": started,
        "end_time": now_utc(),
        "status": "completed",
        "source_count": source["source_cases"],
        "staging_count": report.counts["lineage_tracked"],
        "transformed_count": sum(v for k, v in report.counts["lineage_by_stage"].items()
                                 if k in ("redacted", "embedded", "loaded")),
        "weaviate_count": report.counts["store_count"],
        "discrepancies_found": len(report.discrepancies),
        "records_recovered": recovered,
        "error_details": {"discrepancies": result["discrepancies"], "repair": result["repair"],
                          "diff": report.counts.get("diff")},
    })
    result["_report"] = report
    return result


@flow(name="case_reconciliation")
def case_reconciliation(
    config_path: str | None = None,
    home: str | None = None,
    repair: bool = False,
    stuck_after_hours: float = 24.0,
    deep: bool = False,
    sample_size: int | None = 1_000,
    block_names: dict[str, str] | None = None,
) -> dict:
    """Daily reconciliation (counts, id/checksum diff, stuck records, optional repair); ``deep`` weekly.

    ``block_names`` (section -> saved block document) loads those sections from the Prefect server.
    """
    from flows.reconcile_report import publish_markdown

    blocks = load_blocks(Path(config_path) if config_path else None, Path(home) if home else None,
                         block_names=block_names)
    thresholds = blocks.alert_settings
    result = reconcile(blocks, repair=repair, stuck_after=timedelta(hours=stuck_after_hours), deep=deep,
                       sample_size=sample_size, completion_threshold=thresholds.completion_rate_min,
                       gap_critical=thresholds.record_gap_max, corruption_threshold=thresholds.corruption_rate_max)
    result.pop("_report")
    result["alerts"] = dispatch_alerts(result, blocks.alert_channels, AlertLedger(blocks.lineage), thresholds,
                                       run_id=result["run_id"]).as_dict()
    publish_markdown(result)
    return result
